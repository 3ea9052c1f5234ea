"""The secret in a rating link: only whoever received the link (the applicant) can rate the case."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any


def rating_token(secret: str, application_id: str) -> str:
    digest = hmac.new(secret.encode(), f"rating:{application_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def token_ok(secret: str, application_id: str, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(rating_token(secret, application_id), str(token))


def rating_path(secret: str, application_id: str) -> str:
    return f"/danh-gia/{application_id}?t={rating_token(secret, application_id)}"


def rating_url(settings: Any, application_id: str) -> str:
    return str(settings.base_url).rstrip("/") + rating_path(settings.secret_key, application_id)

"""Sessions, CSRF protection and the current citizen."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import Request

from portal.errors import CsrfFailed
from portal.web.bodies import read_form

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def csrf_token(request: Request) -> str:
    if "session" not in request.scope:
        return ""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


def require_session_token(request: Request) -> None:
    """Before the body is read: a session without a CSRF token cannot pass ``verify_csrf``, so its
    state-changing request is refused unread (portal/routing.py calls this)."""
    if not request.session.get("csrf"):
        raise CsrfFailed()


async def verify_csrf(request: Request) -> None:
    """Router dependency: every state-changing web request must carry the session's token."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get("X-CSRF-Token")
    if not sent:
        form = await read_form(request)
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise CsrfFailed()


def login_citizen(request: Request, citizen_id: int, name: str) -> None:
    # a new session on login: defeats session fixation
    request.session.clear()
    request.session["citizen_id"] = citizen_id
    request.session["citizen_name"] = name
    request.session["csrf"] = secrets.token_urlsafe(32)


def logout(request: Request) -> None:
    request.session.clear()


def current_citizen_id(request: Request) -> int | None:
    if "session" not in request.scope:
        return None
    value = request.session.get("citizen_id")
    return int(value) if value is not None else None


def current_citizen_summary(request: Request) -> dict[str, Any] | None:
    cid = current_citizen_id(request)
    if cid is None:
        return None
    return {"id": cid, "name": request.session.get("citizen_name", "")}


def remember_draft(request: Request, application_id: str, token: str) -> None:
    """Anonymous drafts are reachable from the same browser without the link."""
    drafts = dict(request.session.get("drafts", {}))
    drafts[application_id] = token
    request.session["drafts"] = dict(list(drafts.items())[-10:])


def draft_token(request: Request, application_id: str) -> str | None:
    value = request.query_params.get("t") or request.session.get("drafts", {}).get(application_id)
    return str(value) if value else None

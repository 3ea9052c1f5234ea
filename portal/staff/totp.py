"""TOTP (RFC 6238, pyotp) for staff: the secret encrypted at rest, codes checked once, recovery codes.

- The secret is stored encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from
  ``PORTAL_SECRET_KEY`` by HKDF-SHA256 with its own label: a copy of the database alone yields no
  secret. Changing the app secret makes every enrolment unreadable (the admin resets 2FA).
- A code is accepted for the current 30-s time step or the one before/after (clock drift), and only
  for a step later than the member's last accepted one: a code seen once (over a shoulder, in a
  proxy log) cannot be used again.
- Recovery codes: 10 random codes of 10 base-32 characters (50 bits each), shown once, stored as
  SHA-256 digests, each good once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

STEP_SECONDS = 30
DRIFT_STEPS = 1  # one step either side
RECOVERY_CODES = 10
ISSUER = "Cổng DVC Giáo dục"
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def _fernet(app_secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"portal staff totp secret v1").derive(
        app_secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def new_secret() -> str:
    return pyotp.random_base32()  # 32 base-32 characters: 160 bits


def encrypt_secret(app_secret: str, secret: str) -> str:
    return _fernet(app_secret).encrypt(secret.encode()).decode()


def decrypt_secret(app_secret: str, stored: str) -> str | None:
    """None when the stored value cannot be read with this key (the app secret changed)."""
    try:
        return _fernet(app_secret).decrypt(stored.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def time_step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS).at(step * STEP_SECONDS)


def matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to, if it is valid now and later than ``last_step``; else None."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    current = time_step(now)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        # compare every candidate (no early exit) so the time taken says nothing about which matched
        if hmac.compare_digest(code_at(secret, step), code) and found is None:
            found = step
    if found is None or (last_step is not None and found <= last_step):
        return None
    return found


def provisioning_uri(secret: str, login: str) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=login, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The enrolment QR code as inline SVG (no image request, nothing from elsewhere)."""
    return str(segno.make(uri, error="m").svg_inline(scale=4, border=2, title="Mã QR đăng ký xác thực"))


def grouped(secret: str) -> str:
    """``ABCD EFGH …``: the secret as a person types it into an app."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalise_recovery(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def recovery_hash(code: str) -> str:
    return hashlib.sha256(normalise_recovery(code).encode()).hexdigest()

"""Citizen accounts: registration and login with argon2 and rate limiting."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from portal.applications import forms
from portal.config import Settings
from portal.db import utcnow
from portal.errors import ValidationFailed
from portal.models import Citizen
from portal.ratelimit import LoginGuard, RateLimiter
from workflows import validators

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("không-dùng")
MAX_LOGIN_LENGTH = 254  # the longest e-mail address


class AccountService:
    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.limiter = RateLimiter(session)

    def get(self, citizen_id: int) -> Citizen | None:
        return self.session.get(Citizen, citizen_id)

    def _find(self, login: str) -> Citizen | None:
        phone, email = _identity(login)
        if phone is None and email is None:
            return None
        conds = [Citizen.phone == phone] if phone else []
        if email:
            conds.append(Citizen.email == email)
        return self.session.scalars(select(Citizen).where(or_(*conds))).first()

    def register(self, *, full_name: str, phone: str, email: str, password: str, password2: str) -> Citizen:
        errors: dict[str, str] = {}
        clean: dict[str, str] = {}
        for key, raw in (("full_name", full_name), ("phone", phone), ("email", email)):
            value, error = forms.validate_applicant_field(key, raw)
            if error:
                errors[key] = error
            clean[key] = str(value or "")
        if len(password) < 8:
            errors["password"] = "Mật khẩu phải có ít nhất 8 ký tự."  # noqa: S105 - a message, not a secret
        elif password != password2:
            errors["password2"] = "Hai mật khẩu bạn nhập không giống nhau."
        if (
            "phone" not in errors
            and self.session.scalars(select(Citizen).where(Citizen.phone == clean["phone"])).first()
        ):
            errors["phone"] = "Số điện thoại này đã được đăng ký; vui lòng đăng nhập."
        if (
            clean.get("email")
            and "email" not in errors
            and self.session.scalars(select(Citizen).where(Citizen.email == clean["email"].lower())).first()
        ):
            errors["email"] = "Thư điện tử này đã được đăng ký; vui lòng đăng nhập."
        if errors:
            raise ValidationFailed(fields=errors)
        citizen = Citizen(
            full_name=clean["full_name"],
            phone=clean["phone"],
            email=(clean["email"].lower() or None),
            password_hash=_hasher.hash(password),
        )
        self.session.add(citizen)
        self.session.flush()
        return citizen

    def login(self, login: str, password: str, *, client_ip: str) -> Citizen:
        """Check a password; every attempt is counted before the check and forgiven only when it
        succeeds, so a failure always counts whatever happens to the request afterwards."""
        phone, email = _identity(login)
        guard = LoginGuard(self.limiter, self.settings, "login", phone or email or "", client_ip)
        guard.check()
        guard.count_attempt()
        citizen = self._find(login)
        try:
            _hasher.verify(citizen.password_hash if citizen else _DUMMY_HASH, password)
            ok = citizen is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or citizen is None:
            raise ValidationFailed(
                "Số điện thoại/thư điện tử hoặc mật khẩu không đúng.",
                fields={"login": "Số điện thoại/thư điện tử hoặc mật khẩu không đúng."},
            )
        guard.succeeded()
        if _hasher.check_needs_rehash(citizen.password_hash):
            citizen.password_hash = _hasher.hash(password)
        citizen.last_login_at = utcnow()
        return citizen


def _identity(login: str) -> tuple[str | None, str | None]:
    """(normalised phone, lower-case e-mail) that a login string can name; each spelling of one
    phone number gives the same key, and anything longer than an identity names nobody."""
    login = login.strip().lower()[:MAX_LOGIN_LENGTH]
    try:
        return validators.phone(login), None
    except validators.InvalidValue:
        pass
    return None, (login if "@" in login else None)

"""Staff accounts: login (argon2, rate limited), and the admin's create / roles / deactivate / reset."""

from __future__ import annotations

import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from portal.config import Settings
from portal.db import utcnow
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.ratelimit import LoginGuard, RateLimiter
from portal.staff.models import STAFF_ROLES, StaffMember, StaffRole
from portal.staff.repository import StaffRepository
from workflows.definitions import Registry

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("không-dùng")
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,99}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
BAD_LOGIN = "Tên đăng nhập hoặc mật khẩu không đúng."


def hash_password(password: str) -> str:
    return _hasher.hash(password)


class StaffService:
    def __init__(self, repo: StaffRepository, settings: Settings, registry: Registry) -> None:
        self.repo = repo
        self.settings = settings
        self.registry = registry
        self.limiter = RateLimiter(repo.session)

    # -- login -------------------------------------------------------------------------------

    def login(self, login: str, password: str, *, client_ip: str) -> StaffMember:
        """Every attempt counts as a failure until the password checks out (see ``LoginGuard``)."""
        login = login.strip().lower()[:254]
        guard = LoginGuard(self.limiter, self.settings, "staff-login", login, client_ip)
        guard.check()
        guard.count_attempt()
        member = self.repo.by_login(login) if login else None
        try:
            _hasher.verify(member.password_hash if member else _DUMMY_HASH, password)
            ok = member is not None and member.active
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or member is None:
            raise ValidationFailed(BAD_LOGIN, fields={"login": BAD_LOGIN})
        guard.succeeded()
        if _hasher.check_needs_rehash(member.password_hash):
            member.password_hash = _hasher.hash(password)
        member.last_login_at = utcnow()
        return member

    # -- administration ----------------------------------------------------------------------

    def _check(self, *, full_name: str, email: str, agency_id: str, roles: list[str]) -> dict[str, str]:
        errors: dict[str, str] = {}
        if not full_name.strip():
            errors["full_name"] = "Vui lòng nhập họ và tên."
        if email and not _EMAIL.match(email):
            errors["email"] = "Thư điện tử không hợp lệ."
        if agency_id not in self.registry.agencies:
            errors["agency_id"] = "Vui lòng chọn cơ quan."
        unknown = [r for r in roles if r not in STAFF_ROLES]
        if not roles or unknown:
            errors["roles"] = "Vui lòng chọn ít nhất một vai trò."
        return errors

    def create(
        self, *, login: str, full_name: str, email: str, agency_id: str, roles: list[str], password: str
    ) -> StaffMember:
        login = login.strip().lower()
        email = email.strip().lower()
        errors = self._check(full_name=full_name, email=email, agency_id=agency_id, roles=roles)
        if not _LOGIN.match(login):
            errors["login"] = "Tên đăng nhập gồm 3–100 ký tự: chữ thường không dấu, số, dấu . _ @ -."
        elif self.repo.by_login(login) is not None:
            errors["login"] = "Tên đăng nhập này đã được dùng."
        if len(password) < 8:
            errors["password"] = "Mật khẩu phải có ít nhất 8 ký tự."  # noqa: S105 (a message)
        if errors:
            raise ValidationFailed(fields=errors)
        member = StaffMember(
            login=login,
            full_name=full_name.strip()[:100],
            email=email or None,
            agency_id=agency_id,
            password_hash=_hasher.hash(password),
            active=True,
            session_epoch=1,
            role_rows=[StaffRole(role=r) for r in dict.fromkeys(roles)],
        )
        return self.repo.add(member)

    def get(self, staff_id: int) -> StaffMember:
        member = self.repo.get(staff_id)
        if member is None:
            raise NotFound("Không tìm thấy cán bộ.")
        return member

    def update(
        self, member: StaffMember, *, full_name: str, email: str, roles: list[str], by: StaffMember
    ) -> None:
        email = email.strip().lower()
        errors = self._check(full_name=full_name, email=email, agency_id=member.agency_id, roles=roles)
        if member.id == by.id and "admin" not in roles:
            errors["roles"] = "Không thể tự bỏ vai trò quản trị của chính mình."
        if errors:
            raise ValidationFailed(fields=errors)
        member.full_name = full_name.strip()[:100]
        member.email = email or None
        wanted = list(dict.fromkeys(roles))
        member.role_rows = [r for r in member.role_rows if r.role in wanted] + [
            StaffRole(role=r) for r in wanted if r not in member.roles
        ]
        self.repo.session.flush()

    def set_active(self, member: StaffMember, active: bool, *, by: StaffMember) -> None:
        if member.id == by.id and not active:
            raise Conflict("Không thể tự khoá tài khoản của chính mình.")
        member.active = active
        member.deactivated_at = None if active else utcnow()
        member.session_epoch += 1  # ends the member's open sessions

    def reset_password(self, member: StaffMember) -> str:
        """A new random password, shown once to the admin; open sessions end."""
        password = secrets.token_urlsafe(9)
        member.password_hash = _hasher.hash(password)
        member.session_epoch += 1
        return password

"""Staff sign-in security: who needs a second factor, TOTP enrolment and codes, server-side sessions.

Nothing here commits; the route's unit of work does. Times come from the app's clock
(``app.state.clock``), never the wall clock, so tests move time by hand.
"""

from __future__ import annotations

import hashlib
import secrets
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.config import Settings
from portal.errors import Conflict, ValidationFailed
from portal.ratelimit import LoginGuard, RateLimiter
from portal.staff import totp
from portal.staff.models import StaffMember, StaffSession
from portal.staff.repository import StaffRepository
from workflows.definitions import Registry

SIGNING_EFFECT = "issue_result"
BAD_CODE = "Mã xác thực không đúng hoặc đã hết hạn."
REPLAYED_CODE = "Mã xác thực này đã được dùng; vui lòng chờ mã mới trên ứng dụng."


def two_factor_roles(settings: Settings, registry: Registry) -> frozenset[str]:
    """``PORTAL_STAFF_TOTP_ROLES`` plus every role that signs a result in some workflow (an action
    with the ``issue_result`` effect): a new procedure whose signer is another role is covered
    without anyone remembering to change a setting."""
    return frozenset(settings.staff_totp_roles) | _signing_roles(registry)


# every staff request may ask (a session without a second factor): read the definitions once per registry
_SIGNING: weakref.WeakKeyDictionary[Registry, frozenset[str]] = weakref.WeakKeyDictionary()


def _signing_roles(registry: Registry) -> frozenset[str]:
    found = _SIGNING.get(registry)
    if found is None:
        found = _SIGNING[registry] = frozenset(
            role
            for code in registry.codes()
            for definition in registry.versions(code)
            for action in definition.workflow.actions
            if SIGNING_EFFECT in action.effects
            for role in action.roles
        )
    return found


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Enrolment:
    secret: str
    uri: str
    qr_svg: str

    @property
    def grouped(self) -> str:
        return totp.grouped(self.secret)


class StaffSecurity:
    def __init__(
        self,
        repo: StaffRepository,
        settings: Settings,
        registry: Registry,
        clock: Callable[[], datetime],
    ) -> None:
        self.repo = repo
        self.settings = settings
        self.registry = registry
        self.clock = clock
        self.limiter = RateLimiter(repo.session, clock=lambda: clock().timestamp())

    # -- who needs a second factor ------------------------------------------------------------

    def required_roles(self) -> frozenset[str]:
        return two_factor_roles(self.settings, self.registry)

    def needs_two_factor(self, member: StaffMember) -> bool:
        """Enrolled members always give a code; members holding a required role must enrol."""
        return member.totp_enabled_at is not None or member.has_role(*self.required_roles())

    # -- enrolment ------------------------------------------------------------------------------

    def enrolment(self, member: StaffMember) -> Enrolment:
        """The secret being enrolled (the same one on every reload until confirmed), as QR and text."""
        if member.totp_enabled_at is not None:
            raise Conflict("Tài khoản đã đăng ký xác thực hai bước.")
        secret = self._secret(member)
        if secret is None:
            secret = totp.new_secret()
            member.totp_secret_enc = totp.encrypt_secret(self.settings.secret_key, secret)
            member.totp_last_step = None
            self.repo.session.flush()
        uri = totp.provisioning_uri(secret, member.login)
        return Enrolment(secret=secret, uri=uri, qr_svg=totp.qr_svg(uri))

    def confirm_enrolment(self, member: StaffMember, code: str, *, client_ip: str) -> list[str]:
        """Checks a first code; then two-factor is on and the recovery codes (returned, shown once)
        are stored as digests."""
        if member.totp_enabled_at is not None:
            raise Conflict("Tài khoản đã đăng ký xác thực hai bước.")
        guard = self._guard(member, client_ip)
        secret = self._secret(member)
        step = totp.matching_step(secret, code, self.clock(), member.totp_last_step) if secret else None
        if step is None or not self.repo.claim_totp_step(member.id, step):
            raise ValidationFailed(BAD_CODE, fields={"code": BAD_CODE})
        guard.succeeded()
        member.totp_enabled_at = self.clock()
        codes = totp.new_recovery_codes()
        self.repo.replace_recovery_codes(member.id, [totp.recovery_hash(c) for c in codes])
        return codes

    # -- the code step --------------------------------------------------------------------------

    def verify(self, member: StaffMember, code: str, *, client_ip: str) -> str:
        """``"totp"`` or ``"recovery"`` when ``code`` is good (and now used); a wrong, expired or
        replayed code raises ``ValidationFailed``; too many raise ``RateLimited``."""
        guard = self._guard(member, client_ip)
        cleaned = "".join(code.split())
        secret = self._secret(member)
        if cleaned.isdigit():
            step = totp.matching_step(secret, cleaned, self.clock(), None) if secret else None
            if step is None:
                raise ValidationFailed(BAD_CODE, fields={"code": BAD_CODE})
            if not self.repo.claim_totp_step(member.id, step):  # that step or a later one was used
                raise ValidationFailed(REPLAYED_CODE, fields={"code": REPLAYED_CODE})
            guard.succeeded()
            return "totp"
        if cleaned and self.repo.use_recovery_code(member.id, totp.recovery_hash(cleaned), self.clock()):
            guard.succeeded()
            return "recovery"
        raise ValidationFailed(BAD_CODE, fields={"code": BAD_CODE})

    def _guard(self, member: StaffMember, client_ip: str) -> LoginGuard:
        guard = LoginGuard(self.limiter, self.settings, "staff-2fa", member.login, client_ip)
        guard.check()
        guard.count_attempt()
        return guard

    def _secret(self, member: StaffMember) -> str | None:
        if not member.totp_secret_enc:
            return None
        return totp.decrypt_secret(self.settings.secret_key, member.totp_secret_enc)

    def reset(self, member: StaffMember, *, by: StaffMember) -> None:
        """The admin's reset: the member enrols again at the next sign-in; their sessions end."""
        member.totp_secret_enc = None
        member.totp_enabled_at = None
        member.totp_last_step = None
        self.repo.replace_recovery_codes(member.id, [])
        self.repo.revoke_sessions(member.id, self.clock(), by=by.id)

    def recovery_codes_left(self, member: StaffMember) -> int:
        return self.repo.unused_recovery_codes(member.id)

    # -- sessions -------------------------------------------------------------------------------

    def start_session(self, member: StaffMember, *, client_ip: str, user_agent: str, two_factor: bool) -> str:
        """A new session row; returns the token for the cookie (only its digest is stored)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        self.repo.add_session(
            StaffSession(
                token_hash=token_hash(token),
                staff_id=member.id,
                created_at=now,
                last_seen_at=now,
                client_ip=client_ip[:64],
                user_agent=user_agent[:255] or None,
                two_factor=two_factor,
            )
        )
        member.last_login_at = now
        return token

    def _limits(self, now: datetime) -> tuple[datetime, datetime]:
        """(seen after, created after): a session outside either bound has ended."""
        return (
            now - timedelta(seconds=self.settings.staff_session_idle_seconds),
            now - timedelta(seconds=self.settings.staff_session_max_seconds),
        )

    def current(self, token: str) -> tuple[StaffSession, StaffMember] | None:
        """The session and member for a cookie's token, if the session is still good (not revoked,
        not idle too long, not too old, the member active, a second factor given if now needed);
        ``last_seen_at`` is written at most once a minute (or a quarter of the idle time)."""
        row = self.repo.session_by_token(token_hash(token))
        if row is None or row.revoked_at is not None:
            return None
        now = self.clock()
        seen_after, created_after = self._limits(now)
        if row.last_seen_at <= seen_after or row.created_at <= created_after:
            return None
        member = self.repo.get(row.staff_id)
        if member is None or not member.active:
            return None
        if not row.two_factor and self.needs_two_factor(member):
            return None  # a role needing two-factor was given since: sign in again, with a code
        throttle = min(60, max(1, self.settings.staff_session_idle_seconds // 4))
        if (now - row.last_seen_at).total_seconds() >= throttle:
            row.last_seen_at = now
        return row, member

    def end(self, token: str) -> None:
        row = self.repo.session_by_token(token_hash(token))
        if row is not None and row.revoked_at is None:
            row.revoked_at = self.clock()
            row.revoked_by = row.staff_id

    def open_sessions(self, staff_id: int | None = None) -> list[tuple[StaffSession, StaffMember]]:
        seen_after, created_after = self._limits(self.clock())
        return self.repo.open_sessions(seen_after=seen_after, created_after=created_after, staff_id=staff_id)

    def revoke(self, session_id: int, *, by: StaffMember) -> StaffSession | None:
        row = self.repo.get_session(session_id)
        if row is None or row.revoked_at is not None:
            return None
        row.revoked_at = self.clock()
        row.revoked_by = by.id
        return row

    def revoke_all(self, member: StaffMember, *, by: StaffMember, keep: int | None = None) -> int:
        return self.repo.revoke_sessions(member.id, self.clock(), by=by.id, keep=keep)

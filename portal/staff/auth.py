"""Staff sessions (own session keys, separate from citizens') and per-page role checks.

A signed-in staff member's cookie holds a random token; the ``staff_sessions`` row with its digest
says whether the session still holds (not revoked by the admin or by the member, not idle longer than
``PORTAL_STAFF_SESSION_IDLE_SECONDS``, not older than ``PORTAL_STAFF_SESSION_MAX_SECONDS``): one
indexed lookup per request. Between the password and the second factor the cookie holds only a
"pending" marker, which no page but the code step reads.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from portal.deps import DbSession, client_ip
from portal.errors import Forbidden, PortalError
from portal.staff.models import StaffMember, StaffSession
from portal.staff.repository import StaffRepository
from portal.staff.security import StaffSecurity

STAFF_SID, STAFF_EPOCH = "staff_sid", "staff_epoch"
# half signed in: the password checked, the second factor not yet ({"id", "epoch", "at"})
STAFF_PENDING = "staff_pending"


class StaffLoginRequired(PortalError):
    """Raised by the staff dependency; the handler of :func:`portal.staff.web.install` redirects to the
    login page."""

    status = 401
    code = "staff_login_required"
    message = "Vui lòng đăng nhập bằng tài khoản cán bộ."


def security_for(request: Request, session: Session) -> StaffSecurity:
    state = request.app.state
    return StaffSecurity(StaffRepository(session), state.settings, state.registry, state.clock)


def login_staff(request: Request, security: StaffSecurity, member: StaffMember, *, two_factor: bool) -> None:
    token = security.start_session(
        member,
        client_ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
        two_factor=two_factor,
    )
    request.session.clear()  # a fresh session on login defeats fixation
    request.session[STAFF_SID] = token
    request.session[STAFF_EPOCH] = member.session_epoch
    request.session["csrf"] = secrets.token_urlsafe(32)


def set_pending(request: Request, member: StaffMember, at: float, next_path: str = "") -> None:
    request.session.clear()
    request.session[STAFF_PENDING] = {
        "id": member.id,
        "epoch": member.session_epoch,
        "at": int(at),
        "next": next_path[:300],
    }
    request.session["csrf"] = secrets.token_urlsafe(32)


def pending_member(request: Request, security: StaffSecurity) -> StaffMember | None:
    """The member who gave the right password and now owes a code, while that is fresh."""
    pending: Any = request.session.get(STAFF_PENDING) if "session" in request.scope else None
    if not isinstance(pending, dict) or not isinstance(pending.get("id"), int):
        return None
    age = security.clock().timestamp() - float(pending.get("at") or 0)
    if not 0 <= age <= security.settings.staff_totp_pending_seconds:
        return None
    member = security.repo.get(pending["id"])
    if member is None or not member.active or member.session_epoch != pending.get("epoch"):
        return None
    return member


def logout_staff(request: Request, session: Session | None = None) -> None:
    token = request.session.get(STAFF_SID) if "session" in request.scope else None
    if session is not None and isinstance(token, str):
        security_for(request, session).end(token)
    request.session.clear()


def get_staff(request: Request, session: DbSession) -> StaffMember:
    token = request.session.get(STAFF_SID) if "session" in request.scope else None
    found = security_for(request, session).current(token) if isinstance(token, str) else None
    if found is None or request.session.get(STAFF_EPOCH) != found[1].session_epoch:
        if token is not None:
            request.session.clear()
        raise StaffLoginRequired()
    request.state.staff_session = found[0]
    return found[1]


def current_session(request: Request) -> StaffSession | None:
    row = getattr(request.state, "staff_session", None)
    return row if isinstance(row, StaffSession) else None


CurrentStaff = Annotated[StaffMember, Depends(get_staff)]


def require_role(*roles: str) -> Callable[[StaffMember], StaffMember]:
    """A dependency admitting staff holding any of ``roles`` (a 403 page otherwise)."""

    def check(staff: CurrentStaff) -> StaffMember:
        if not staff.has_role(*roles):
            raise Forbidden("Tài khoản của bạn không có vai trò được phép mở trang này.")
        return staff

    return check

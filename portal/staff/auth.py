"""Staff sessions (own session keys, separate from citizens') and per-page role checks."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from portal.deps import DbSession
from portal.errors import Forbidden, PortalError
from portal.staff.models import StaffMember
from portal.staff.repository import StaffRepository

STAFF_ID, STAFF_EPOCH = "staff_id", "staff_epoch"
# when the staff session started and when it was last used (epoch seconds, inside the signed cookie)
STAFF_SINCE, STAFF_SEEN = "staff_since", "staff_seen"


class StaffLoginRequired(PortalError):
    """Raised by the staff dependency; the handler of :func:`portal.staff.web.install` redirects to the
    login page."""

    status = 401
    code = "staff_login_required"
    message = "Vui lòng đăng nhập bằng tài khoản cán bộ."


def login_staff(request: Request, member: StaffMember) -> None:
    request.session.clear()  # a fresh session on login defeats fixation
    request.session[STAFF_ID] = member.id
    request.session[STAFF_EPOCH] = member.session_epoch
    request.session["csrf"] = secrets.token_urlsafe(32)
    request.session[STAFF_SINCE] = request.session[STAFF_SEEN] = int(time.time())


def logout_staff(request: Request) -> None:
    request.session.clear()


def get_staff(request: Request, session: DbSession) -> StaffMember:
    staff_id = request.session.get(STAFF_ID) if "session" in request.scope else None
    member = StaffRepository(session).get(int(staff_id)) if staff_id is not None else None
    if (
        member is None
        or not member.active
        or request.session.get(STAFF_EPOCH) != member.session_epoch
        or _expired(request)
    ):
        if staff_id is not None:
            logout_staff(request)
        raise StaffLoginRequired()
    request.session[STAFF_SEEN] = int(time.time())
    return member


def _expired(request: Request) -> bool:
    """Staff sessions are short: a cookie copied from an unattended desk stops working after the
    idle time, and any session after a working day (the citizens' cookie lifetime is longer)."""
    settings = request.app.state.settings
    since, seen, now = request.session.get(STAFF_SINCE), request.session.get(STAFF_SEEN), time.time()
    if not isinstance(since, int) or not isinstance(seen, int):
        return True  # a session from before these limits
    return bool(
        now - seen > settings.staff_session_idle_seconds or now - since > settings.staff_session_max_seconds
    )


CurrentStaff = Annotated[StaffMember, Depends(get_staff)]


def require_role(*roles: str) -> Callable[[StaffMember], StaffMember]:
    """A dependency admitting staff holding any of ``roles`` (a 403 page otherwise)."""

    def check(staff: CurrentStaff) -> StaffMember:
        if not staff.has_role(*roles):
            raise Forbidden("Tài khoản của bạn không có vai trò được phép mở trang này.")
        return staff

    return check

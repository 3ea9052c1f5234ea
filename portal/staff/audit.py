"""The admin audit: every administrative action (accounts, roles, two-factor, sessions, schools,
e-mail resends) is one append-only ``staff_admin_audit`` row written in the action's own transaction
— the action and its record commit together or not at all.

Domains call :func:`record` from their admin routes with an action key of :data:`ACTIONS`.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from portal.deps import client_ip
from portal.staff.models import StaffAdminAudit, StaffMember
from portal.staff.repository import StaffRepository


def _(message: str) -> str:
    """Marks a text for extraction (``make i18n-extract``); the audit page translates it when shown."""
    return message


# action key → what the audit page shows (Vietnamese; the page translates through gettext)
ACTIONS: dict[str, str] = {
    "staff.create": _("Tạo tài khoản cán bộ"),
    "staff.update": _("Sửa thông tin, vai trò cán bộ"),
    "staff.lock": _("Khoá tài khoản"),
    "staff.unlock": _("Mở khoá tài khoản"),
    "staff.reset_password": _("Đặt lại mật khẩu"),
    "staff.reset_2fa": _("Đặt lại xác thực hai bước"),
    "session.revoke": _("Thu hồi phiên đăng nhập"),
    "session.revoke_all": _("Thu hồi mọi phiên của cán bộ"),
    "school.create": _("Thêm trường học"),
    "email.resend": _("Gửi lại thư điện tử"),
}


def record(
    request: Request,
    session: Session,
    actor: StaffMember,
    action: str,
    target: str,
    details: dict[str, Any] | None = None,
) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown admin action {action!r}: add it to portal.staff.audit.ACTIONS")
    StaffRepository(session).audit(
        StaffAdminAudit(
            at=request.app.state.clock(),
            actor_id=actor.id,
            actor_login=actor.login,
            action=action,
            target=target[:200],
            client_ip=client_ip(request)[:64],
            details=details or {},
        )
    )

"""Operator pages: the outbox for administrators, and the development mail sink's inbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response

from portal.deps import DbSession, SettingsDep
from portal.errors import NotFound
from portal.notifications import devmail
from portal.notifications.delivery import retry_now
from portal.notifications.repository import OutboxRepository
from portal.routing import Router
from portal.staff import audit
from portal.staff.auth import require_role
from portal.staff.layout import page
from portal.staff.models import StaffMember
from portal.web import security
from portal.web.render import flash, redirect, render

ADMIN_PATH = "/can-bo/quan-tri/thu-dien-tu"


# The back office owns staff sign-in; only its administrators see the outbox.
Admin = Annotated[StaffMember, Depends(require_role("admin"))]

admin_router = Router(dependencies=[Depends(security.verify_csrf)], include_in_schema=False)


@admin_router.get(ADMIN_PATH)
def outbox_page(request: Request, session: DbSession, staff: Admin) -> Response:
    repo = OutboxRepository(session)
    response = page(
        request,
        "notifications/outbox_admin.html",
        staff,
        {"counts": repo.counts(), "rows": repo.needing_attention()},
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@admin_router.post(ADMIN_PATH + "/{email_id}/gui-lai")
def outbox_retry(request: Request, email_id: int, session: DbSession, staff: Admin) -> Response:
    if not retry_now(session, email_id):
        raise NotFound("Không tìm thấy thư cần gửi lại (hoặc thư đã được gửi).")
    audit.record(request, session, staff, "email.resend", f"#{email_id}")
    flash(request, f"Đã xếp thư #{email_id} vào hàng đợi để gửi lại.")
    return redirect(request, ADMIN_PATH)


dev_router = Router(include_in_schema=False)


@dev_router.get("/dev/mail")
def dev_mail(request: Request, settings: SettingsDep) -> Response:
    return render(
        request,
        "notifications/dev_mail.html",
        {"messages": devmail.list_mail(settings.mail_sink_dir), "directory": settings.mail_sink_dir},
    )


@dev_router.get("/dev/sms")
def dev_sms(request: Request, session: DbSession, phone: str = "") -> Response:
    """What the development SMS sink caught (``portal/notifications/sms.py``), newest first."""
    messages = OutboxRepository(session).dev_sms(phone.strip()[:15] or None)
    return render(request, "notifications/dev_sms.html", {"messages": messages, "phone": phone[:15]})


@dev_router.get("/dev/mail/{name}")
def dev_mail_message(request: Request, name: str, settings: SettingsDep) -> Response:
    message = devmail.get_mail(settings.mail_sink_dir, name)
    if message is None:
        raise NotFound()
    return render(request, "notifications/dev_mail_message.html", {"m": message})


@dev_router.get("/dev/mail/{name}/html")
def dev_mail_html(name: str, settings: SettingsDep) -> Response:
    message = devmail.get_mail(settings.mail_sink_dir, name)
    if message is None or message.html is None:
        raise NotFound()
    # shown as sent, but sandboxed: no scripts, no requests to other origins
    return HTMLResponse(
        message.html,
        headers={
            "Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
        },
    )

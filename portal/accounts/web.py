"""The citizen's phone: ask for a one-time code, type it in, and the phone is verified."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from portal import i18n
from portal.accounts.phone import PhoneVerificationService, SmsNotSent, mask_phone
from portal.deps import Accounts, DbSession, Form, lookup_client
from portal.errors import RateLimited, ValidationFailed
from portal.models import Citizen
from portal.routing import Router
from portal.web import security
from portal.web.render import flash, redirect, render, safe_target

PATH = "/tai-khoan/so-dien-thoai"

router = Router(dependencies=[Depends(security.verify_csrf)], include_in_schema=False)


async def get_phone_service(request: Request, session: DbSession) -> PhoneVerificationService:
    services = request.app.state.services
    return PhoneVerificationService(session, services.settings, sms=services.sms, clock=services.clock)


Phones = Annotated[PhoneVerificationService, Depends(get_phone_service)]


def _citizen(request: Request, accounts: Any) -> Citizen | None:
    cid = security.current_citizen_id(request)
    citizen: Citizen | None = accounts.get(cid) if cid is not None else None
    return citizen


def _login_first(request: Request) -> Response:
    return redirect(request, f"/dang-nhap?next={PATH}")


def _page(
    request: Request,
    citizen: Citizen,
    phones: PhoneVerificationService,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    next_: str = "",
) -> Response:
    pending = phones.pending(citizen)
    ctx = {
        "me": citizen,
        "pending": pending,
        "pending_to": mask_phone(pending.phone) if pending else "",
        "values": {"phone": citizen.phone, "code": "", **(values or {})},
        "errors": errors or {},
        "next": safe_target(next_ or request.query_params.get("next", ""), ""),
        "ttl_minutes": max(1, phones.settings.phone_code_ttl_seconds // 60),
    }
    return render(request, "citizen/phone.html", ctx, status=status)


@router.get(PATH)
def phone_page(request: Request, accounts: Accounts, phones: Phones) -> Response:
    citizen = _citizen(request, accounts)
    if citizen is None:
        return _login_first(request)
    return _page(request, citizen, phones)


@router.post(PATH + "/gui-ma")
def send_code(request: Request, accounts: Accounts, phones: Phones, form: Form) -> Response:
    citizen = _citizen(request, accounts)
    if citizen is None:
        return _login_first(request)
    return _send(request, citizen, phones, form)


def _send(request: Request, citizen: Citizen, phones: PhoneVerificationService, form: FormData) -> Response:
    raw = str(form.get("phone") or "")[:40]
    values = {"phone": raw}
    next_ = safe_target(str(form.get("next") or ""), "")
    # answered, never raised: a counted send must be committed with this request
    try:
        sent = phones.send_code(citizen, raw, client=lookup_client(request))
    except ValidationFailed as exc:
        return _page(request, citizen, phones, values=values, errors=exc.fields, status=422, next_=next_)
    except (RateLimited, SmsNotSent) as exc:
        errors = {"phone": exc.message}
        return _page(request, citizen, phones, values=values, errors=errors, status=exc.status, next_=next_)
    if sent is None:
        flash(request, i18n.gettext("Số điện thoại của bạn đã được xác minh."))
    else:
        flash(
            request,
            i18n.gettext("Đã gửi mã xác minh đến số {phone}.").format(phone=mask_phone(sent.phone)),
        )
    return redirect(request, PATH + (f"?{urlencode({'next': next_})}" if next_ else ""))


@router.post(PATH + "/xac-minh")
def confirm_code(request: Request, accounts: Accounts, phones: Phones, form: Form) -> Response:
    citizen = _citizen(request, accounts)
    if citizen is None:
        return _login_first(request)
    return _confirm(request, citizen, phones, form)


def _confirm(
    request: Request, citizen: Citizen, phones: PhoneVerificationService, form: FormData
) -> Response:
    raw = str(form.get("code") or "")[:40]
    next_ = str(form.get("next") or "")
    try:
        phones.confirm(citizen, raw)
    except ValidationFailed as exc:  # answered: the wrong attempt it counted is committed
        values = {"code": raw}
        return _page(request, citizen, phones, values=values, errors=exc.fields, status=422, next_=next_)
    flash(request, i18n.gettext("Số điện thoại {phone} đã được xác minh.").format(phone=citizen.phone))
    return redirect(request, safe_target(next_, "/tai-khoan/ho-so"))

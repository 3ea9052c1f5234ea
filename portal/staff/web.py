"""Staff login and logout under /can-bo, and the redirect to the login page for every staff page.

:func:`install` is called by ``portal.app.create_app``: the staff pages of every domain rely on it
(their ``require_role`` dependencies raise :class:`~portal.staff.auth.StaffLoginRequired`).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from portal.deps import DbSession, Form, client_ip
from portal.errors import Conflict, RateLimited, ValidationFailed
from portal.routing import Router
from portal.staff.auth import (
    STAFF_PENDING,
    STAFF_SID,
    CurrentStaff,
    StaffLoginRequired,
    current_session,
    login_staff,
    logout_staff,
    pending_member,
    security_for,
    set_pending,
)
from portal.staff.layout import page
from portal.staff.models import CASE_ROLES, StaffMember
from portal.staff.repository import StaffRepository
from portal.staff.security import StaffSecurity
from portal.staff.service import StaffService
from portal.web import security
from portal.web.render import flash, is_htmx, redirect

router = Router(prefix="/can-bo", dependencies=[Depends(security.verify_csrf)], include_in_schema=False)

CODE_PATH, ENROL_PATH = "/can-bo/xac-thuc", "/can-bo/xac-thuc/dang-ky"


def staff_service(request: Request, session: DbSession) -> StaffService:
    return StaffService(StaffRepository(session), request.app.state.settings, request.app.state.registry)


def staff_security(request: Request, session: DbSession) -> StaffSecurity:
    return security_for(request, session)


Staff = Annotated[StaffService, Depends(staff_service)]
Security = Annotated[StaffSecurity, Depends(staff_security)]


def home_for(staff: StaffMember) -> str:
    if staff.has_role(*CASE_ROLES):
        return "/can-bo/ho-so"
    if staff.has_role("admin"):
        return "/can-bo/quan-tri/can-bo"
    return "/can-bo/trang-chu"


def _target(raw: object, member: StaffMember) -> str:
    target = raw if isinstance(raw, str) else ""
    if not (target.startswith("/can-bo/") and not target.startswith("//")):
        return home_for(member)
    return target


@router.get("")
@router.get("/")
def staff_root(request: Request, checks: Security) -> Response:
    token = request.session.get(STAFF_SID)
    found = checks.current(token) if isinstance(token, str) else None
    return redirect(request, home_for(found[1]) if found is not None else "/can-bo/dang-nhap")


@router.get("/dang-nhap")
def login_form(request: Request, next: str = "") -> Response:
    return page(request, "staff/login.html", None, {"values": {"next": next}, "errors": {}})


@router.post("/dang-nhap")
def login(request: Request, service: Staff, checks: Security, form: Form) -> Response:
    # a plain def: argon2 (~0.1-0.5 s) and the database run in the thread pool, not on the event loop
    values = {"login": str(form.get("login") or ""), "next": str(form.get("next") or "")}
    try:
        member = service.login(values["login"], str(form.get("password") or ""), client_ip=client_ip(request))
    except ValidationFailed as exc:
        return page(request, "staff/login.html", None, {"values": values, "errors": exc.fields}, status=422)
    except RateLimited as exc:
        return page(
            request,
            "staff/login.html",
            None,
            {"values": values, "errors": {"login": exc.message}},
            status=429,
        )
    if checks.needs_two_factor(member):
        # half signed in: the cookie names the member and nothing reads it but the code step
        set_pending(request, member, checks.clock().timestamp(), values["next"])
        return redirect(request, CODE_PATH if member.totp_enabled_at is not None else ENROL_PATH)
    login_staff(request, checks, member, two_factor=False)
    return redirect(request, _target(values["next"], member))


def _pending_or_login(request: Request, checks: StaffSecurity) -> StaffMember | None:
    member = pending_member(request, checks)
    if member is None:
        request.session.pop(STAFF_PENDING, None)
    return member


@router.get("/xac-thuc")
def code_form(request: Request, checks: Security) -> Response:
    member = _pending_or_login(request, checks)
    if member is None:
        return redirect(request, "/can-bo/dang-nhap")
    if member.totp_enabled_at is None:
        return redirect(request, ENROL_PATH)
    return page(request, "staff/two_factor.html", None, {"member": member, "errors": {}})


@router.post("/xac-thuc")
def code_check(request: Request, checks: Security, form: Form) -> Response:
    member = _pending_or_login(request, checks)
    if member is None:
        flash(request, "Phiên đăng nhập đã hết hạn; vui lòng nhập lại mật khẩu.")
        return redirect(request, "/can-bo/dang-nhap")
    if member.totp_enabled_at is None:
        return redirect(request, ENROL_PATH)
    try:
        how = checks.verify(member, str(form.get("code") or "")[:40], client_ip=client_ip(request))
    except ValidationFailed as exc:
        ctx = {"member": member, "errors": exc.fields}
        return page(request, "staff/two_factor.html", None, ctx, status=422)
    except RateLimited as exc:
        ctx = {"member": member, "errors": {"code": exc.message}}
        return page(request, "staff/two_factor.html", None, ctx, status=429)
    target = _target(request.session.get(STAFF_PENDING, {}).get("next"), member)
    login_staff(request, checks, member, two_factor=True)
    if how == "recovery":
        left = checks.recovery_codes_left(member)
        flash(request, f"Bạn đã dùng một mã khôi phục; còn {left} mã chưa dùng.")
    return redirect(request, target)


def _enrol_page(
    request: Request, checks: StaffSecurity, member: StaffMember, errors: dict[str, str], status: int = 200
) -> Response:
    enrolment = checks.enrolment(member)
    ctx = {"member": member, "enrolment": enrolment, "errors": errors}
    return page(request, "staff/two_factor_enrol.html", None, ctx, status=status)


@router.get("/xac-thuc/dang-ky")
def enrol_form(request: Request, checks: Security) -> Response:
    member = _pending_or_login(request, checks)
    if member is None:
        return redirect(request, "/can-bo/dang-nhap")
    if member.totp_enabled_at is not None:
        return redirect(request, CODE_PATH)
    return _enrol_page(request, checks, member, {})


@router.post("/xac-thuc/dang-ky")
def enrol_confirm(request: Request, checks: Security, form: Form) -> Response:
    member = _pending_or_login(request, checks)
    if member is None:
        flash(request, "Phiên đăng nhập đã hết hạn; vui lòng nhập lại mật khẩu.")
        return redirect(request, "/can-bo/dang-nhap")
    try:
        code = str(form.get("code") or "")[:40]
        codes = checks.confirm_enrolment(member, code, client_ip=client_ip(request))
    except ValidationFailed as exc:
        return _enrol_page(request, checks, member, exc.fields, status=422)
    except RateLimited as exc:
        return _enrol_page(request, checks, member, {"code": exc.message}, status=429)
    except Conflict:
        return redirect(request, CODE_PATH)
    target = _target(request.session.get(STAFF_PENDING, {}).get("next"), member)
    login_staff(request, checks, member, two_factor=True)
    # shown in this answer only (no-store; never in the cookie, which is signed, not encrypted)
    return page(request, "staff/recovery_codes.html", member, {"codes": codes, "target": target})


@router.post("/dang-xuat")
def logout(request: Request, session: DbSession) -> Response:
    logout_staff(request, session)
    return redirect(request, "/can-bo/dang-nhap")


@router.get("/trang-chu")
def staff_home(request: Request, staff: CurrentStaff) -> Response:
    return page(request, "staff/home.html", staff)


@router.get("/tai-khoan/phien")
def my_sessions(request: Request, staff: CurrentStaff, checks: Security) -> Response:
    ctx = {
        "sessions": checks.open_sessions(staff.id),
        "this_session": current_session(request),
        "two_factor_on": staff.totp_enabled_at is not None,
        "codes_left": checks.recovery_codes_left(staff) if staff.totp_enabled_at else 0,
    }
    return page(request, "staff/my_sessions.html", staff, ctx)


@router.post("/tai-khoan/phien/dang-xuat-khac")
def sign_out_others(request: Request, staff: CurrentStaff, checks: Security) -> Response:
    this = current_session(request)
    ended = checks.revoke_all(staff, by=staff, keep=this.id if this else None)
    flash(request, f"Đã đăng xuất {ended} phiên khác.")
    return redirect(request, "/can-bo/tai-khoan/phien")


def install(app: FastAPI) -> None:
    """The redirect to the login page from any staff page opened without a staff session."""

    async def to_login(request: Request, exc: Exception) -> Response:
        target = request.url.path if request.method == "GET" else "/can-bo/ho-so"
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": "/can-bo/dang-nhap"})
        return RedirectResponse(f"/can-bo/dang-nhap?next={quote(target)}", status_code=303)

    app.add_exception_handler(StaffLoginRequired, to_login)

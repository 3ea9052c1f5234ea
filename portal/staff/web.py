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
from portal.errors import RateLimited, ValidationFailed
from portal.routing import Router
from portal.staff.auth import CurrentStaff, StaffLoginRequired, login_staff, logout_staff
from portal.staff.layout import page
from portal.staff.models import CASE_ROLES, StaffMember
from portal.staff.repository import StaffRepository
from portal.staff.service import StaffService
from portal.web import security
from portal.web.render import is_htmx, redirect

router = Router(prefix="/can-bo", dependencies=[Depends(security.verify_csrf)], include_in_schema=False)


def staff_service(request: Request, session: DbSession) -> StaffService:
    return StaffService(StaffRepository(session), request.app.state.settings, request.app.state.registry)


Staff = Annotated[StaffService, Depends(staff_service)]


def home_for(staff: StaffMember) -> str:
    if staff.has_role(*CASE_ROLES):
        return "/can-bo/ho-so"
    if staff.has_role("admin"):
        return "/can-bo/quan-tri/can-bo"
    return "/can-bo/trang-chu"


@router.get("")
@router.get("/")
def staff_root(request: Request, session: DbSession) -> Response:
    staff_id = request.session.get("staff_id")
    member = StaffRepository(session).get(int(staff_id)) if staff_id is not None else None
    return redirect(
        request, home_for(member) if member is not None and member.active else "/can-bo/dang-nhap"
    )


@router.get("/dang-nhap")
def login_form(request: Request, next: str = "") -> Response:
    return page(request, "staff/login.html", None, {"values": {"next": next}, "errors": {}})


@router.post("/dang-nhap")
def login(request: Request, service: Staff, form: Form) -> Response:
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
    login_staff(request, member)
    target = values["next"]
    if not (target.startswith("/can-bo/") and not target.startswith("//")):
        target = home_for(member)
    return redirect(request, target)


@router.post("/dang-xuat")
def logout(request: Request) -> Response:
    logout_staff(request)
    return redirect(request, "/can-bo/dang-nhap")


@router.get("/trang-chu")
def staff_home(request: Request, staff: CurrentStaff) -> Response:
    return page(request, "staff/home.html", staff)


def install(app: FastAPI) -> None:
    """The redirect to the login page from any staff page opened without a staff session."""

    async def to_login(request: Request, exc: Exception) -> Response:
        target = request.url.path if request.method == "GET" else "/can-bo/ho-so"
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": "/can-bo/dang-nhap"})
        return RedirectResponse(f"/can-bo/dang-nhap?next={quote(target)}", status_code=303)

    app.add_exception_handler(StaffLoginRequired, to_login)

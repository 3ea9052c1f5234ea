"""Sign-in with the electronic identity: start (redirect to the provider), the callback, and linking
a password account. The start and the callback await the provider over the network (``async def``);
the callback's database work runs in the thread pool (docs/architecture.md, "When is a handler async").
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from portal import i18n
from portal.deps import DbSession
from portal.identity.oidc import IdentityError, OidcClient, Pending
from portal.identity.service import IdentityService
from portal.routing import Router
from portal.web import security
from portal.web.render import external_redirect, flash, redirect, render, safe_target

log = logging.getLogger("portal.identity")

router = Router(dependencies=[Depends(security.verify_csrf)], include_in_schema=False)

SESSION_KEY = "oidc"  # the flow in progress: state, nonce, PKCE verifier, purpose (signed cookie)
ACCOUNT_PAGE = "/tai-khoan/ho-so"


async def get_identity_service(session: DbSession) -> IdentityService:
    return IdentityService(session)  # builds the object only: no query on the event loop


Identities = Annotated[IdentityService, Depends(get_identity_service)]


def _client(request: Request) -> OidcClient | None:
    return request.app.state.oidc_client  # type: ignore[no-any-return]


def _login_error(request: Request, message: str, status: int = 400) -> Response:
    settings = request.app.state.settings
    ctx: dict[str, Any] = {
        "values": {},
        "errors": {"idp": message},
        "password_sign_in": settings.password_sign_in,
    }
    return render(request, "citizen/login.html", ctx, status=status)


async def _start(request: Request, client: OidcClient, flow: dict[str, Any]) -> Response:
    try:
        url, pending = await client.start()
    except IdentityError as exc:
        log.warning("identity sign-in could not start: %s", exc.reason)
        return _login_error(request, exc.message, status=503)
    request.session[SESSION_KEY] = {**pending.as_dict(), **flow}
    return external_redirect(request, url)


@router.get("/dang-nhap/dinh-danh")
async def start_sign_in(request: Request, next: str = "") -> Response:
    client = _client(request)
    if client is None:
        return _login_error(
            request, i18n.gettext("Đăng nhập bằng định danh điện tử chưa được cấu hình."), 503
        )
    return await _start(request, client, {"purpose": "login", "next": safe_target(next, ACCOUNT_PAGE)})


@router.get("/tai-khoan/lien-ket-dinh-danh")
async def start_link(request: Request) -> Response:
    cid = security.current_citizen_id(request)
    if cid is None:
        return redirect(request, "/dang-nhap?next=/tai-khoan/ho-so")
    client = _client(request)
    if client is None:
        return _login_error(
            request, i18n.gettext("Đăng nhập bằng định danh điện tử chưa được cấu hình."), 503
        )
    return await _start(request, client, {"purpose": "link", "citizen_id": cid, "next": ACCOUNT_PAGE})


@router.get("/dang-nhap/dinh-danh/ket-qua")
async def callback(request: Request, identities: Identities) -> Response:
    client = _client(request)
    if client is None:
        return _login_error(
            request, i18n.gettext("Đăng nhập bằng định danh điện tử chưa được cấu hình."), 503
        )
    # single use: whatever happens next, this state, nonce and verifier are gone
    flow = request.session.pop(SESSION_KEY, None)
    flow = flow if isinstance(flow, dict) else {}
    params = {k: v for k, v in request.query_params.items()}
    now = request.app.state.services.clock
    try:
        identity = await client.finish(Pending.from_dict(flow), params, now=now)
        if flow.get("purpose") == "link":
            cid = security.current_citizen_id(request)
            if cid is None or cid != flow.get("citizen_id"):
                raise IdentityError(
                    "link finished in another session", "Vui lòng đăng nhập lại rồi liên kết."
                )
            citizen = await run_in_threadpool(identities.link, cid, identity, now=now())
        else:
            citizen = await run_in_threadpool(identities.sign_in, identity, now=now())
    except IdentityError as exc:
        log.warning("identity sign-in refused: %s", exc.reason)
        if flow.get("purpose") == "link" and security.current_citizen_id(request) is not None:
            flash(request, exc.message)
            return redirect(request, ACCOUNT_PAGE)
        return _login_error(request, exc.message)
    drafts = request.session.get("drafts", {})
    security.login_citizen(request, citizen.id, citizen.full_name)  # a new session (no fixation)
    request.session["drafts"] = drafts
    if flow.get("purpose") == "link":
        flash(request, i18n.gettext("Đã liên kết tài khoản với định danh điện tử."))
    return redirect(request, safe_target(str(flow.get("next") or ""), ACCOUNT_PAGE))

"""Application factory: settings, database, definitions, middleware, routes, error pages."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from portal import i18n, ratelimit
from portal.api import openapi
from portal.composition import MODULES, build_services
from portal.config import ROOT, Settings, get_settings, is_loopback
from portal.errors import Conflict, NotFound, PortalError, ValidationFailed
from portal.templating import env
from portal.web.bodies import BodyLimit, PayloadTooLarge
from portal.web.render import CasePages, SharedPages, render

log = logging.getLogger("portal")


class LanguageMiddleware:
    """Picks vi/en from ?lang=, then the 'lang' cookie, then the default; sets the context."""

    def __init__(self, app: ASGIApp, default: str) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lang = self.default
        cookie = _cookie(scope, "lang")
        if cookie in i18n.LANGUAGES:
            lang = cookie
        token = i18n.current_lang.set(lang)
        try:
            await self.app(scope, receive, send)
        finally:
            i18n.current_lang.reset(token)


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _, v = part.strip().partition("=")
                if k == name:
                    return str(v)
    return None


# Pages load scripts and styles from /static only (htmx is vendored; no inline code, no eval).
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'{form_targets}"
)
# /api/docs: the vendored Swagger UI (portal/api/openapi.py) styles elements inline; scripts stay 'self'.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
HSTS = b"max-age=31536000"


def fixed_headers(csp: str, *, hsts: bool) -> list[tuple[bytes, bytes]]:
    """What `SecurityHeaders` adds to a non-static answer with none of its own, for an answer made in
    front of it (the providers' IPN, portal/payments_app/ipn.py)."""
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
        (b"cache-control", b"no-store"),
        (b"content-security-policy", csp.encode()),
    ]
    return [*headers, (b"strict-transport-security", HSTS)] if hsts else headers


class SecurityHeaders:
    """Headers for every answer, unless the handler set its own.

    - ``Cache-Control: no-store`` on everything but /static: pages, PDFs and JSON may carry personal
      data or sit behind a session or a link token, and one rule cannot forget a route.
    - A Content-Security-Policy (``PAGE_CSP``) and, in production, HSTS.
    """

    def __init__(self, app: ASGIApp, *, csp: str, hsts: bool) -> None:
        self.app = app
        self.csp = csp.encode()
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        static = path.startswith("/static/")
        csp = DOCS_CSP.encode() if path == "/api/docs" else self.csp

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {k.lower() for k, _ in headers}
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"same-origin"))
                headers.append((b"x-frame-options", b"DENY"))
                if not static and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", csp))
                if self.hsts:
                    headers.append((b"strict-transport-security", HSTS))
            await send(message)

        await self.app(scope, receive, send_with_headers)


class LoopbackOnly:
    """Development mode answers only this machine: it serves /dev/mail, the payment sandbox and
    accepts the public development secrets. Behind a proxy, uvicorn puts the forwarded client here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client") or ("", 0)
            if not is_loopback(str(client[0])):
                response = Response(
                    i18n.gettext(
                        "Chế độ phát triển chỉ phục vụ chính máy này (PORTAL_ENVIRONMENT=development)."
                    ),
                    status_code=403,
                    media_type="text/plain; charset=utf-8",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _form_targets(settings: Settings) -> str:
    """Origins a form may lead to besides ours: the payment gateway (a form POST answered by a
    redirect to it is subject to form-action)."""
    from urllib.parse import urlsplit

    from payments.vnpay import SANDBOX_PAY_URL

    urls = [settings.vnpay_pay_url] if settings.vnpay_pay_url else []
    if settings.environment != "production":
        urls.append(SANDBOX_PAY_URL)
    origins = {f"{p.scheme}://{p.netloc}" for p in map(urlsplit, urls) if p.scheme and p.netloc}
    return "".join(f" {o}" for o in sorted(origins))


def create_app(settings: Settings | None = None, *, clock: Callable[[], datetime] | None = None) -> FastAPI:
    """``clock``: "now" for pages that show deadlines against today (the staff queues); Vietnam's time
    by default. Tests pass a fixed one rather than read the wall clock."""
    settings = settings or get_settings()
    settings.check_servable()
    services = build_services(settings, clock=clock)
    app = FastAPI(
        title="Cổng dịch vụ công ngành Giáo dục",
        version="1.0",
        description="JSON API v1 of the education e-services portal. Errors: "
        '`{"error": {"code", "message", "fields"}}` with Vietnamese messages.',
        docs_url=None,  # /api/docs is served from vendored Swagger UI by portal.api.openapi
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.services = services
    # the parts the pages read most, under their own names (the same objects as in ``services``)
    app.state.settings = settings
    app.state.db = services.db
    app.state.registry = services.registry
    app.state.catalogue = services.catalogue
    app.state.calendar = services.calendar
    app.state.files = services.files
    app.state.clock = services.clock
    app.state.shared_pages = SharedPages()
    app.state.case_pages = CasePages()  # the tracking page per case version (portal/web/citizen.py)
    if settings.redis_url:
        namespace = ratelimit.redis_namespace(settings.secret_key, settings.database_url)
        ratelimit.use_redis(services.db.sessions, ratelimit.RedisCounters(settings.redis_url, namespace))

    # innermost: its 413 page has the session and the language like any other page
    app.add_middleware(
        BodyLimit,
        portal=app,
        default=settings.max_body_bytes,
        uploads=settings.max_upload_body_bytes,
        too_large=_portal_error_response,
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="portal_session",
        max_age=14 * 24 * 3600,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.add_middleware(LanguageMiddleware, default=settings.default_language)
    csp, hsts = PAGE_CSP.format(form_targets=_form_targets(settings)), settings.environment == "production"
    app.add_middleware(SecurityHeaders, csp=csp, hsts=hsts)
    app.state.fixed_headers = fixed_headers(csp, hsts=hsts)  # answers made in front of the middleware
    app.mount("/static", StaticFiles(directory=str(ROOT / "portal" / "static")), name="static")

    _install_error_handlers(app)
    for module in MODULES:
        if module.install is not None:
            module.install(app, services)
        for router in module.routers(settings):
            app.include_router(router)
        env.globals.update(module.template_globals)
        env.filters.update(module.template_filters)
    openapi.install(app)
    if settings.environment == "development":  # outermost: before anything a module put in front
        app.add_middleware(LoopbackOnly)
    return app


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path in ("/healthz", "/openapi.json")


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    try:
        return render(
            request,
            "errors/error.html",
            {"status": status, "title": title, "message": message},
            status=status,
        )
    except Exception:  # the error page must never fail in turn
        log.exception("error page failed")
        return Response(f"{status} — {message}", status_code=status, media_type="text/plain; charset=utf-8")


def _portal_error_response(request: Request, exc: PortalError) -> Response:
    if _wants_json(request):
        body: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if exc.fields:
            body["fields"] = exc.fields
        return JSONResponse({"error": body}, status_code=exc.status)
    titles = {
        404: i18n.gettext("Không tìm thấy trang"),
        403: i18n.gettext("Không được phép"),
        429: i18n.gettext("Quá nhiều yêu cầu"),
        409: i18n.gettext("Xung đột dữ liệu"),
        401: i18n.gettext("Cần đăng nhập"),
        413: i18n.gettext("Dữ liệu gửi lên quá lớn"),
    }
    title = titles.get(exc.status) or i18n.gettext("Có lỗi xảy ra")
    return _error_page(request, exc.status, title, exc.message)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PortalError)
    async def portal_error(request: Request, exc: PortalError) -> Response:
        return _portal_error_response(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return await portal_error(request, NotFound())
        if exc.status_code == 413:  # a chunked body passed the cap while it was being read
            limit = request.scope.get(MAX_BODY_SIZE_SCOPE_KEY, request.app.state.settings.max_body_bytes)
            return await portal_error(request, PayloadTooLarge(int(limit)))
        if _wants_json(request):
            return _api_http_error(exc)
        response = _error_page(request, exc.status_code, i18n.gettext("Có lỗi xảy ra"), str(exc.detail))
        response.headers.update(exc.headers or {})  # e.g. Allow on a 405
        return response

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = {".".join(str(p) for p in e["loc"][1:]) or "body": _vi_validation(e) for e in exc.errors()}
        if _wants_json(request):
            return JSONResponse(
                {
                    "error": {
                        "code": "validation_error",
                        "message": "Dữ liệu gửi lên không hợp lệ.",
                        "fields": fields,
                    }
                },
                status_code=422,
            )
        return _error_page(
            request, 400, i18n.gettext("Yêu cầu không hợp lệ"), i18n.gettext("Dữ liệu gửi lên không hợp lệ.")
        )

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> Response:
        kind = db_error_kind(exc)
        # never the statement or its parameters: they carry what people typed
        log.error(
            "database error %s (%s) on %s %s",
            type(exc.orig).__name__,
            _sqlstate(exc),
            request.method,
            request.url.path,
        )
        if kind == "conflict":
            return await portal_error(request, Conflict())
        if kind == "invalid":
            return await portal_error(
                request,
                ValidationFailed("Dữ liệu gửi lên có ký tự hoặc độ dài không hợp lệ; vui lòng kiểm tra lại."),
            )
        if kind == "unexpected":
            return await unexpected(request, exc)
        message = "Hệ thống đang tạm gián đoạn kết nối cơ sở dữ liệu; vui lòng thử lại sau ít phút."
        if _wants_json(request):
            return JSONResponse(
                {"error": {"code": "service_unavailable", "message": message}},
                status_code=503,
                headers={"Retry-After": "60"},
            )
        response = _error_page(request, 503, i18n.gettext("Hệ thống tạm gián đoạn"), message)
        response.headers["Retry-After"] = "60"
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        message = "Đã có lỗi ngoài ý muốn; dữ liệu bạn đã lưu vẫn được giữ. Vui lòng thử lại."
        if _wants_json(request):
            return JSONResponse({"error": {"code": "internal_error", "message": message}}, status_code=500)
        return _error_page(request, 500, i18n.gettext("Có lỗi xảy ra"), message)


def db_error_kind(exc: DBAPIError) -> str:
    """Only a database that cannot be reached is "down" (503, retry later). A constraint the data
    broke is a conflict (409), a value the column cannot hold is invalid input (422), anything
    else a defect (500)."""
    if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
        state = _sqlstate(exc)
        # PostgreSQL reports some data problems as OperationalError too (e.g. statement timeout
        # is 57014, still "try later"); SQLite's "database is locked" is contention: try later
        return "invalid" if state.startswith("22") else "down"
    if isinstance(exc, IntegrityError):
        return "conflict"
    if isinstance(exc, DataError):
        return "invalid"
    return "unexpected"


def _sqlstate(exc: DBAPIError) -> str:
    return str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "sqlite_errorname", None) or "-")


def _api_http_error(exc: StarletteHTTPException) -> Response:
    """The API's errors are documented and Vietnamese, including the ones Starlette raises itself."""
    if exc.status_code == 400:
        # a body that cannot be read at all (not UTF-8, broken multipart): the same documented 422
        # as a body that is not valid JSON, not an undocumented English 400
        message = "Không đọc được nội dung yêu cầu: JSON phải được mã hoá UTF-8 (hoặc multipart hợp lệ)."
        return JSONResponse(
            {
                "error": {
                    "code": "validation_error",
                    "message": "Dữ liệu gửi lên không hợp lệ.",
                    "fields": {"body": message},
                }
            },
            status_code=422,
        )
    code, message = _HTTP_ERRORS.get(exc.status_code, (f"http_{exc.status_code}", str(exc.detail)))
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=exc.status_code, headers=exc.headers
    )


_HTTP_ERRORS = {
    405: ("method_not_allowed", "Địa chỉ này không nhận phương thức HTTP đó; xem tiêu đề Allow."),
}


def _vi_validation(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return "Thiếu thông tin bắt buộc."
    if kind == "string_too_long":
        return f"Tối đa {error.get('ctx', {}).get('max_length')} ký tự."
    if kind == "string_pattern_mismatch":
        return "Không đúng định dạng; xem mô tả của trường này trong /openapi.json."
    if kind == "json_invalid":
        return "Không phải JSON hợp lệ."
    if "string" in kind:
        return "Phải là chuỗi ký tự."
    if "int" in kind:
        return "Phải là số nguyên."
    return "Giá trị không hợp lệ."

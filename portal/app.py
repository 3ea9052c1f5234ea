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
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from portal import i18n
from portal.applications.storage import FileStore
from portal.catalogue import Catalogue
from portal.config import ROOT, Settings, get_settings
from portal.db import Database
from portal.errors import NotFound, PortalError
from workflows.calendar import load_calendar
from workflows.calendar import now as vn_now
from workflows.definitions import load_registry

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
                    return v
    return None


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"same-origin"))
                headers.append((b"x-frame-options", b"DENY"))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings | None = None, *, clock: Callable[[], datetime] | None = None) -> FastAPI:
    """``clock``: "now" for pages that show deadlines against today (the staff queues); Vietnam's time
    by default. Tests pass a fixed one rather than read the wall clock."""
    settings = settings or get_settings()
    registry = load_registry(settings.definitions_dir)
    app = FastAPI(
        title="Cổng dịch vụ công ngành Giáo dục",
        version="1.0",
        description="JSON API v1 of the education e-services portal. Errors: "
        '`{"error": {"code", "message", "fields"}}` with Vietnamese messages.',
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.db = Database(settings.database_url, pool_size=settings.db_pool_size)
    app.state.registry = registry
    app.state.catalogue = Catalogue(registry)
    app.state.calendar = load_calendar(
        settings.calendar_file,
        extra_holidays=settings.extra_holidays,
        swapped_working_days=settings.swapped_working_days,
    )
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    app.state.files = FileStore(settings.upload_dir)
    app.state.clock = clock or vn_now

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="portal_session",
        max_age=14 * 24 * 3600,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.add_middleware(LanguageMiddleware, default=settings.default_language)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(ROOT / "portal" / "static")), name="static")

    from portal.api import v1
    from portal.web import citizen, health

    app.include_router(health.router)
    app.include_router(v1.router)
    app.include_router(citizen.router)
    _install_error_handlers(app)
    for hook in _extension_hooks():
        hook(app)
    return app


def _extension_hooks() -> list[Any]:
    """Other domains (back office, payments, assistant) register their routers here."""
    from portal import extensions

    return list(extensions.HOOKS)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path in ("/healthz", "/openapi.json")


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    from portal.web.render import render

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


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PortalError)
    async def portal_error(request: Request, exc: PortalError) -> Response:
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
        }
        title = titles.get(exc.status) or i18n.gettext("Có lỗi xảy ra")
        return _error_page(request, exc.status, title, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return await portal_error(request, NotFound())
        if _wants_json(request):
            return JSONResponse(
                {"error": {"code": f"http_{exc.status_code}", "message": str(exc.detail)}},
                status_code=exc.status_code,
            )
        return _error_page(request, exc.status_code, i18n.gettext("Có lỗi xảy ra"), str(exc.detail))

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

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def database_down(request: Request, exc: Exception) -> Response:
        log.error("database error: %s", exc)
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


def _vi_validation(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return "Thiếu thông tin bắt buộc."
    if "string" in kind:
        return "Phải là chuỗi ký tự."
    if "int" in kind:
        return "Phải là số nguyên."
    return "Giá trị không hợp lệ."

"""Request bodies: a size limit on every request, read in full before any handler work, forms parsed
with limits, uploaded files read no further than their limit.

Why the body is read first: on SQLite a transaction takes the database's single write lock
(``BEGIN IMMEDIATE``, see ``portal/db.py``). A handler that touched the database and then awaited a
slow client's body held that lock for as long as the client cared to dawdle, and every other writer
waited — security review finding #3. ``portal.routing.UnitOfWorkRoute`` therefore reads (and for
forms parses) the body before FastAPI resolves any dependency; ``BodyLimit`` caps what it may read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import iter_route_contexts
from starlette.datastructures import FormData, Headers, UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from portal.errors import PortalError

# Form parsing limits (Starlette's defaults are 1000 files, 1000 fields, 1 MB per text field).
# The largest real forms: an application with its documents (< 20 files), a class's fee notice
# (two fields per pupil), a feedback text (a few thousand characters).
MAX_FORM_FILES = 20
MAX_FORM_FIELDS = 500
MAX_FIELD_BYTES = 64 * 1024

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})
_ACCEPTS_FILES = "portal_accepts_files"

F = TypeVar("F", bound=Callable[..., Any])


class BadForm(PortalError):
    status = 400
    code = "bad_form"
    message = (
        f"Biểu mẫu gửi lên không hợp lệ (mỗi lần gửi tối đa {MAX_FORM_FILES} tệp, {MAX_FORM_FIELDS} trường, "
        f"{MAX_FIELD_BYTES // 1024} KB cho mỗi trường chữ). Vui lòng tải lại trang và gửi lại."
    )


class PayloadTooLarge(PortalError):
    status = 413
    code = "payload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"Dữ liệu gửi lên quá lớn: mỗi lần gửi tối đa {limit / 1024 / 1024:.3g} MB. "
            "Vui lòng chọn tệp nhỏ hơn, hoặc gửi từng tệp một (có thể lưu nháp rồi đính kèm tiếp)."
        )


def accepts_files(endpoint: F) -> F:
    """Marks a route that takes uploads: its body may reach ``PORTAL_MAX_UPLOAD_BODY_BYTES``."""
    setattr(endpoint, _ACCEPTS_FILES, True)
    return endpoint


class BodyLimit:
    """Caps every request body: ``default`` bytes, or ``uploads`` on routes marked ``accepts_files``.

    A declared Content-Length over the cap is answered 413 at once, unread; a chunked body is counted
    as it arrives (Starlette's ``RequestBodyLimitMiddleware``) and refused as soon as it passes the cap.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        portal: FastAPI,
        default: int,
        uploads: int,
        too_large: Callable[[Request, PortalError], Response],
    ) -> None:
        self.app = app
        self.portal = portal
        self.default = default
        self.uploads = uploads
        self.too_large = too_large
        self._upload_paths: list[tuple[re.Pattern[str], set[str]]] | None = None

    def _limit(self, scope: Scope) -> int:
        if self._upload_paths is None:  # routes are all registered by the first request
            self._upload_paths = [
                (route.path_regex, set(route.methods or ()))
                for route in iter_route_contexts(self.portal.routes)
                if getattr(route.endpoint, _ACCEPTS_FILES, False)
            ]
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        method = scope["method"]
        for regex, methods in self._upload_paths:
            if method in methods and regex.match(path):
                return self.uploads
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else None
        if headers is None or ("content-length" not in headers and "transfer-encoding" not in headers):
            await self.app(scope, receive, send)  # no body (HTTP/1.1): nothing to limit
            return
        limit = self._limit(scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            # no "Connection: close": closing on unread data resets the connection, and the client
            # (a browser still uploading) would lose this answer; uvicorn discards the rest of the
            # body until its keep-alive timeout
            response = self.too_large(Request(scope, receive), PayloadTooLarge(limit))
            await response(scope, receive, send)
            return
        await RequestBodyLimitMiddleware(self.app, max_body_size=limit)(scope, receive, send)


async def read_form(request: Request) -> FormData:
    """The request's form, parsed once (Starlette caches it) with the portal's limits."""
    try:
        return await request.form(
            max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES
        )
    except HTTPException as exc:
        if exc.status_code == 400:  # Starlette's MultiPartException: too many parts, a part too big...
            raise BadForm() from exc
        raise


async def read_body(request: Request) -> None:
    """Receive the whole body now (forms: parse it), before any dependency or handler runs."""
    if request.method in SAFE_METHODS:
        return
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type in _FORM_TYPES:
        form = await read_form(request)
        stack = request.scope.get("fastapi_middleware_astack")
        if stack is not None:  # spooled upload files are deleted once the response is sent
            stack.push_async_callback(form.close)
    else:
        await request.body()


def read_upload(upload: UploadFile, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of an uploaded file: enough to know it is too big, never the whole
    of an oversized one. Blocking file I/O: call it from a plain ``def`` handler (the thread pool)."""
    upload.file.seek(0)
    return upload.file.read(max(limit, 0) + 1)

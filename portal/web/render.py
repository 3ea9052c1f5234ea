"""Page rendering: the request context, HTMX fragments, redirects and flash messages.

The Jinja environment itself (filters, i18n) is :data:`portal.templating.env`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2_fragments import render_block

from portal import i18n
from portal.templating import env


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def base_context(request: Request) -> dict[str, Any]:
    from portal.web.security import csrf_token, current_citizen_summary

    return {
        "request": request,
        "lang": i18n.current_lang.get(),
        "csrf_token": csrf_token(request),
        "citizen": current_citizen_summary(request),
        "settings": request.app.state.settings,
        "flash": request.session.pop("flash", None) if "session" in request.scope else None,
        "path": request.url.path,
        "htmx": is_htmx(request),
    }


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    block: str | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    ctx = base_context(request)
    ctx.update(context or {})
    if block is not None:
        html = render_block(env, template, block, ctx)
    else:
        html = env.get_template(template).render(ctx)
    response = HTMLResponse(html, status_code=status, headers=headers)
    response.headers["Vary"] = "HX-Request, Cookie"
    return response


def safe_target(url: str, fallback: str = "/") -> str:
    """``url`` when it is a path on this site, else ``fallback``.

    Browsers read ``/\\host`` and ``/<tab>/host`` as ``//host`` (another site), so a target must be
    a plain absolute path: no scheme, no host, no backslash, no control or space characters.
    """
    parts = urlsplit(url)
    if (
        not url.startswith("/")
        or url.startswith("//")
        or parts.scheme
        or parts.netloc
        or "\\" in url
        or any(ord(c) < 0x21 or ord(c) == 0x7F for c in url)
    ):
        return fallback
    return url


def redirect(request: Request, url: str) -> Response:
    """303 for plain forms; HX-Redirect for HTMX requests (so the whole page changes).

    Every target is checked here (``safe_target``): a caller passing user input cannot send the
    browser to another site, whichever of the two paths the request takes.
    """
    return _redirect(request, safe_target(url))


def external_redirect(request: Request, url: str) -> Response:
    """To another site (the payment gateway): only for URLs the server built, never user input."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("external_redirect needs an absolute http(s) URL")
    return _redirect(request, url)


def _redirect(request: Request, url: str) -> Response:
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url, "Vary": "HX-Request"})
    return RedirectResponse(url, status_code=303, headers={"Vary": "HX-Request"})


def flash(request: Request, message: str) -> None:
    request.session["flash"] = message

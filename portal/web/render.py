"""Page rendering: the request context, HTMX fragments, redirects and flash messages.

The Jinja environment itself (filters, i18n) is :data:`portal.templating.env`.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2.runtime import Context
from jinja2_fragments import render_block
from markupsafe import escape

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
    return _response(_html(template, ctx, block), status=status, headers=headers)


def _html(template: str, ctx: dict[str, Any], block: str | None) -> str:
    if block is not None:
        return str(render_block(env, template, block, ctx))
    return env.get_template(template).render(ctx)


def _response(html: str, *, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    response = HTMLResponse(html, status_code=status, headers=headers)
    response.headers["Vary"] = "HX-Request, Cookie"
    return response


class SharedPages:
    """Rendered pages that are the same for every visitor (the catalogue, a procedure's page), kept
    per worker, without any session's bits.

    A page is rendered once per key — template, block, language, path, HTMX or not, and what the
    caller says its content depends on (the definitions in force, the search words) — with no
    citizen, no flash message and a placeholder for the CSRF token; each request then only puts its
    own session's token in. A visitor who is signed in or has a flash message waiting gets the page
    rendered for them alone, as before. The placeholder is random per process, so no text a visitor
    types can be mistaken for it on purpose. At most ``max_entries`` pages, least recently used out.
    """

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self.placeholder = f"csrf-placeholder-{secrets.token_hex(16)}"
        self._pages: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> str | None:
        with self._lock:
            html = self._pages.get(key)
            if html is not None:
                self._pages.move_to_end(key)
            return html

    def put(self, key: Hashable, html: str) -> None:
        with self._lock:
            self._pages[key] = html
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_entries:
                self._pages.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pages)


def render_shared(
    request: Request,
    template: str,
    key: Hashable,
    context: Callable[[], dict[str, Any]],
    *,
    block: str | None = None,
) -> HTMLResponse:
    """``render`` for a page whose content depends only on ``key`` and the language (see
    ``SharedPages``); ``context`` is called only when the page has to be rendered."""
    from portal.web.security import csrf_token, current_citizen_summary

    pages: SharedPages = request.app.state.shared_pages
    personal = current_citizen_summary(request) is not None or (
        "session" in request.scope and "flash" in request.session
    )
    if personal:
        return render(request, template, context(), block=block)
    token = csrf_token(request)
    page_key = (template, block, i18n.current_lang.get(), request.url.path, is_htmx(request), key)
    html = pages.get(page_key)
    if html is None:
        ctx = base_context(request)
        ctx.update(context())
        ctx.update(csrf_token=pages.placeholder, citizen=None, flash=None)
        html = _html(template, ctx, block)
        pages.put(page_key, html)
    return _response(html.replace(pages.placeholder, token))


class Freshness:
    """Until when a rendering stays true although nothing it was keyed by changes (a rating's edit
    window closes with time, not with a write). Template helpers report it through ``expires_at``."""

    def __init__(self) -> None:
        self.until: datetime | None = None

    def expires(self, at: datetime) -> None:
        if self.until is None or at < self.until:
            self.until = at


def expires_at(template_context: Context | Mapping[str, Any], at: datetime) -> None:
    """For a template helper (``@pass_context``): what it rendered stops being true at ``at``, so a
    cached copy of the page must not be served from then on (``CasePages``). Without a cache: nothing."""
    freshness = template_context.get("freshness")
    if isinstance(freshness, Freshness):
        freshness.expires(at)


class CasePages:
    """Renderings of one case's page for its applicant (the tracking page), kept per worker.

    Keyed by what the caller passes: the case's id and ``change_version`` (which every change of the
    case bumps in its own transaction, ``portal.cases.events.note_change``), the language and HTMX
    or not. The caller serves an entry only after checking code + phone: this class knows nothing
    of who may see what. An entry holds no session's bits and nothing the visitor typed: the CSRF
    token and the typed values are placeholders (random per process) each request fills in. It
    holds the case's page (status, history) — so at most ``max_entries`` entries, least recently
    used out, each for at most ``ttl`` seconds, and never past its ``Freshness``.
    """

    def __init__(
        self, max_entries: int = 256, ttl: float = 300.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self.monotonic = monotonic
        self.placeholder = f"case-placeholder-{secrets.token_hex(16)}"
        self._pages: OrderedDict[Hashable, tuple[str, float, datetime | None]] = OrderedDict()
        self._lock = threading.Lock()

    def slot(self, name: str) -> str:
        """The placeholder for one of the values a request fills in (the CSRF token, a typed value)."""
        return f"{self.placeholder}-{name}-"

    def get(self, key: Hashable, now: datetime) -> str | None:
        with self._lock:
            entry = self._pages.get(key)
            if entry is None:
                return None
            html, stored_at, valid_until = entry
            if self.monotonic() - stored_at >= self.ttl or (valid_until is not None and now >= valid_until):
                del self._pages[key]
                return None
            self._pages.move_to_end(key)
            return html

    def put(self, key: Hashable, html: str, valid_until: datetime | None = None) -> None:
        with self._lock:
            self._pages[key] = (html, self.monotonic(), valid_until)
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_entries:
                self._pages.popitem(last=False)

    def fill(self, html: str, values: Mapping[str, str]) -> str:
        """Each request's own values into a cached page (escaped, as the template would have)."""
        for name, value in values.items():
            html = html.replace(self.slot(name), str(escape(value)))
        return html

    def __len__(self) -> int:
        return len(self._pages)


def render_case_page(
    request: Request,
    template: str,
    key: Hashable,
    context: Callable[[Mapping[str, str]], dict[str, Any]],
    *,
    typed: Mapping[str, str],
    now: datetime,
) -> HTMLResponse:
    """``render`` for a case's page shown to someone who has just proved code + phone (the caller
    checked them): cached in ``CasePages`` under ``key`` and the language, HTMX or not.

    ``context(values)`` builds the page's context with ``values`` for what the visitor typed (name →
    text); it is called only to render. A signed-in visitor, or one with a flash message waiting, gets
    the page rendered for them alone (their name and message are in it), as ``render_shared`` does."""
    from portal.web.security import csrf_token, current_citizen_summary

    pages: CasePages = request.app.state.case_pages
    personal = current_citizen_summary(request) is not None or (
        "session" in request.scope and "flash" in request.session
    )
    if personal:
        return render(request, template, context(typed))
    page_key = (template, i18n.current_lang.get(), is_htmx(request), key)
    html = pages.get(page_key, now)
    if html is None:
        freshness = Freshness()
        ctx = base_context(request)
        ctx.update(context({name: pages.slot(name) for name in typed}))
        ctx.update(csrf_token=pages.slot("csrf"), citizen=None, flash=None, freshness=freshness)
        html = _html(template, ctx, None)
        pages.put(page_key, html, freshness.until)
    return _response(pages.fill(html, {"csrf": csrf_token(request), **typed}))


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

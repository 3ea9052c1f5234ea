"""Official documents rendered from templates to PDF (WeasyPrint).

Font: every document embeds Tinos (Times New Roman metrics, as Decree 30/2020/NĐ-CP asks), vendored
in portal/static/vendor/fonts/tinos and declared in templates/documents/_document.css, so the layout —
and the page count the tests assert — is the same on every machine whatever fonts it has.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import segno

from portal.config import ROOT
from portal.templating import TEMPLATES_DIR, env

# What a document may load: our stylesheets/images and template assets. Nothing else, so a template
# that ever emits user data unescaped cannot make WeasyPrint fetch URLs (SSRF) or read local files.
ASSET_DIRS: tuple[Path, ...] = (ROOT / "portal" / "static", TEMPLATES_DIR)


def _url_fetcher() -> Any:
    from weasyprint.urls import URLFetcher

    class BundledAssetsOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            parts = urlsplit(url)
            if parts.scheme == "data":
                return super().fetch(url, headers)
            if parts.scheme == "file" and parts.netloc in ("", "localhost"):
                path = Path(url2pathname(parts.path)).resolve()
                if any(path.is_relative_to(d.resolve()) for d in ASSET_DIRS) and path.is_file():
                    return super().fetch(url, headers)
            raise ValueError(f"documents load bundled assets only, not {url[:100]!r}")

    return BundledAssetsOnly(allowed_protocols=("file", "data"), allow_redirects=False)


def qr_svg(data: str, *, scale: int = 3) -> str:
    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="svg", scale=scale, xmldecl=False, svgns=True, border=2)
    return buffer.getvalue().decode()


def render_pdf(template: str, context: dict[str, Any]) -> bytes:
    from weasyprint import HTML  # heavy import, only when a PDF is made

    html = env.get_template(template).render(context)
    return HTML(  # type: ignore[no-any-return]
        string=html, base_url=str(TEMPLATES_DIR) + "/", url_fetcher=_url_fetcher()
    ).write_pdf()


def receipt_pdf(context: dict[str, Any]) -> bytes:
    ctx = dict(context)
    ctx["qr"] = qr_svg(ctx["tracking_url"])
    return render_pdf("documents/receipt.html", ctx)

"""Official documents rendered from templates to PDF (WeasyPrint).

Fonts: the PDF templates ask for fonts that carry Vietnamese glyphs
(Noto Sans / DejaVu Sans, installed by `make`), so diacritics render.
"""

from __future__ import annotations

import io
from typing import Any

import segno

from portal.web.render import env


def qr_svg(data: str, *, scale: int = 3) -> str:
    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="svg", scale=scale, xmldecl=False, svgns=True, border=2)
    return buffer.getvalue().decode()


def render_pdf(template: str, context: dict[str, Any]) -> bytes:
    from weasyprint import HTML  # heavy import, only when a PDF is made

    html = env.get_template(template).render(context)
    return HTML(string=html, base_url=".").write_pdf()  # type: ignore[no-any-return]


def receipt_pdf(context: dict[str, Any]) -> bytes:
    ctx = dict(context)
    ctx["qr"] = qr_svg(ctx["tracking_url"])
    return render_pdf("documents/receipt.html", ctx)

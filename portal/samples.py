"""Sample dossier content for demo data, benches and tests: a small valid PDF and a plausible
value for a form field.

Shared by :mod:`portal.demo` and :mod:`portal.quality.seed` (and used by bench/ and tests/), so
neither seeding module imports the other.
"""

from __future__ import annotations


def tiny_pdf(title: str) -> bytes:
    """A valid one-page PDF, so demo attachments open in any viewer."""
    text = title.encode("latin-1", "replace")
    stream = b"BT /F1 14 Tf 72 760 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def demo_value(field: object) -> str:
    """A plausible demo value for a form field (a definition's ``Field``), chosen by its type."""
    ftype = getattr(field, "type").value  # noqa: B009
    options = getattr(field, "options")  # noqa: B009
    return {
        "select": options[0].value if options else "",
        "date": "2010-05-20",
        "number": str(getattr(field, "min", None) or 1),
        "cccd": "079210012345",
        "student": "079210012345",
        "phone": "0912345678",
        "email": "demo@example.vn",
    }.get(ftype, "Thông tin mẫu")

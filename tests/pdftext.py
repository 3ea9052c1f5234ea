"""PDF text for assertions that no font, line wrap or column width can change.

``pdftotext -raw`` keeps the order in which WeasyPrint wrote the text (the document's order, a
table cell's lines together); every assertion then compares with all whitespace removed, so a name
wrapped across two lines of a narrow cell ("Phạm Thu / Hà") is still found, on any installed font.
"""

from __future__ import annotations

import re
import subprocess

_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    return _SPACE.sub("", text)


class PdfText:
    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.squashed = squash(raw)

    def __contains__(self, phrase: object) -> bool:
        return isinstance(phrase, str) and squash(phrase) in self.squashed

    def count(self, phrase: str) -> int:
        return self.squashed.count(squash(phrase))

    def upper(self) -> PdfText:
        return PdfText(self.raw.upper())

    def search(self, pattern: str) -> re.Match[str] | None:
        """``re.search`` over the squashed text (write patterns without spaces)."""
        return re.search(pattern, self.squashed)

    def __repr__(self) -> str:
        return f"PdfText({self.raw[:400]!r})"


def pdf_text(content: bytes) -> PdfText:
    assert content.startswith(b"%PDF"), content[:50]
    out = subprocess.run(["pdftotext", "-raw", "-", "-"], input=content, capture_output=True, check=True)
    return PdfText(out.stdout.decode())


def pdf_pages(content: bytes) -> int:
    """The page count (``pdfinfo``, poppler-utils). The documents embed their font (the vendored Tinos,
    portal/static/vendor/fonts/tinos), so this does not depend on the fonts a machine has installed."""
    assert content.startswith(b"%PDF"), content[:50]
    out = subprocess.run(["pdfinfo", "-"], input=content, capture_output=True, check=True).stdout.decode()
    match = re.search(r"^Pages:\s+(\d+)", out, re.M)
    assert match, out
    return int(match.group(1))

"""ASCII folding for text sent to gateways and banks ("không dấu, không ký tự đặc biệt")."""

from __future__ import annotations

import re
import unicodedata

_OUTSIDE_SAFE = re.compile(r"[^A-Za-z0-9 .,:_-]")
_SPACES = re.compile(r"\s+")


def to_ascii(text: str, max_length: int | None = None) -> str:
    """Remove Vietnamese diacritics (đ->d, Đ->D), drop anything outside [A-Za-z0-9 .,:_-].

    >>> to_ascii("Thanh toán lệ phí hồ sơ #HS-01 (Đợt 2)")
    'Thanh toan le phi ho so HS-01 Dot 2'
    """
    # đ/Đ are letters of their own, NFD does not decompose them.
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = _SPACES.sub(" ", stripped)
    folded = _SPACES.sub(" ", _OUTSIDE_SAFE.sub("", stripped)).strip()
    if max_length is not None:
        folded = folded[:max_length].rstrip()
    return folded

"""Vietnamese text helpers shared by search, validators and payment memos.

Search must find "Chuyển trường" when a citizen types "chuyen truong", so
every comparison goes through :func:`fold`, which removes tone and vowel
marks, maps đ→d and lowercases.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lowercase, accent-free form of ``text`` ("Chuyển Trường" → "chuyen truong")."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.lower()).strip()


def tokens(text: str) -> list[str]:
    """Folded word tokens, punctuation removed."""
    return [t for t in re.split(r"[^0-9a-z.]+", fold(text)) if t]

"""Vietnamese text normalisation shared by the tokenizer and the actions.

Pure standard library so it can be imported (and unit-tested) without Rasa.
"""

from __future__ import annotations

import re
import unicodedata

# Old-style ("hoà", "thuý") vs modern ("hòa", "thúy") tone placement: in the
# two-vowel rhymes oa, oe, uy at the end of a syllable the tone mark sits on the
# first vowel in modern spelling. Users type both; folding them keeps lookups
# and featurisation stable.
_TONES = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook, dot below
_NOT_LETTER_AHEAD = r"(?![^\W\d_]|[\u0300-\u036f])"  # no letter, no further mark
# o + a/e at the end of a syllable ("hoà", "khoẻ"), u + y except after q ("thuý"
# but not "quý", where qu is the onset).
_OLD_OA = re.compile(r"([oO])([aAeE])([" + _TONES + r"])" + _NOT_LETTER_AHEAD)
_OLD_UY = re.compile(r"(?<![qQ])([uU])([yY])([" + _TONES + r"])" + _NOT_LETTER_AHEAD)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def modern_tone_placement(text: str) -> str:
    """Move the tone mark of word-final oa/oe/uy onto the first vowel ("hoà" -> "hòa").

    "quý" keeps the mark on y (qu is an onset), and rhymes followed by a final
    consonant ("hoàng", "khuyến") are already unambiguous and left alone.
    """
    decomposed = unicodedata.normalize("NFD", text)
    swap = lambda m: m.group(1) + m.group(3) + m.group(2)  # noqa: E731
    moved = _OLD_UY.sub(swap, _OLD_OA.sub(swap, decomposed))
    return unicodedata.normalize("NFC", moved)


def canonical_text(text: str) -> str:
    """NFC + modern tone placement, case kept. Same length as the NFC text."""
    return modern_tone_placement(nfc(text))


def normalize(text: str) -> str:
    """NFC, lower case, modern tone placement: canonical accented form."""
    return modern_tone_placement(nfc(text).lower())


def fold(text: str) -> str:
    """Accent-folded lower-case form: "Hoà Bình, Đà Nẵng" -> "hoa binh, da nang"."""
    decomposed = unicodedata.normalize("NFD", normalize(text))
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return stripped.replace("đ", "d").replace("Đ", "d")

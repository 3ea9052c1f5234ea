"""Masking personal data in chat transcripts shown to staff.

One pass over the text with one regex of alternatives, so a case code's digits are never
mistaken for a phone number and a phone typed straight after a case code is still masked.
"""

from __future__ import annotations

import re

from workflows.validators import mask_cccd

_CASE = r"(?P<case>[A-Za-z]\d{2}(?:\.\d{2}){1,3}-\d{6}-\d{4})(?P<glued>\d+)?"
_EMAIL = r"(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
# +84 / 84 / 0, then 8–10 more digits, optionally grouped by spaces, dots or dashes
_PHONE = r"(?P<phone>(?<![\w.+])(?:\+84|84|0)(?:[\s.-]?\d){8,10}(?![\s.-]?\d))"
# CCCD grouped by three (before phones: "079 185 012 345" is not a phone)
_GROUPED_ID = r"(?P<grouped>(?<![\d.])\d{3}[\s.]\d{3}[\s.]\d{3}[\s.]\d{3}(?![\s.]?\d))"
# CCCD (12 digits), old ID cards (9), and any other long run of digits
_DIGITS = r"(?P<digits>(?<!\d)\d{9,}(?!\d))"

_PATTERN = re.compile("|".join((_CASE, _EMAIL, _GROUPED_ID, _PHONE, _DIGITS)))


def mask_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    if len(digits) <= 5:
        return "*" * len(digits)
    return ("+" if value.startswith("+") else "") + digits[:3] + "*" * (len(digits) - 5) + digits[-2:]


def mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}"


def _replace(match: re.Match[str]) -> str:
    if match.group("case"):
        glued = match.group("glued") or ""
        return match.group("case") + ("*" * len(glued))
    if match.group("email"):
        return mask_email(match.group("email"))
    if match.group("phone"):
        return mask_phone(match.group("phone"))
    digits = re.sub(r"\D", "", match.group("grouped") or match.group("digits"))
    return mask_cccd(digits) if len(digits) in (9, 12) else mask_phone(digits)


def mask_personal_data(text: str | None) -> str:
    """CCCD → ``workflows.validators.mask_cccd``; phones, e-mails and long digit runs masked."""
    return _PATTERN.sub(_replace, text or "")

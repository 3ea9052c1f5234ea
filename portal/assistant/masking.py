"""Masking personal data in chat transcripts shown to staff.

One pass over the text with one regex of alternatives, so a case code's digits are never
mistaken for a phone number and a phone typed straight after a case code is still masked.
Used for what staff see and for what is stored (:mod:`portal.assistant.service`).
"""

from __future__ import annotations

import re

from workflows.validators import mask_cccd

_CASE = r"(?P<case>[A-Za-z]\d{2}(?:\.\d{2}){1,3}-\d{6}-\d{4})(?P<glued>\d+)?"
_EMAIL = r"(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
# the value of a secret in a link: draft resume (t), receipt/student (k), any *token*
_LINK_PARAM = r"(?P<secret_name>[?&](?:t|k|token|access_token)=)(?P<secret>[^&#\s\"'<>]+)"
# amounts ("1.750.000 đồng") are not phone numbers
_MONEY = r"(?P<money>\d{1,3}(?:[.,]\d{3})+(?:\s?(?:đồng|đ|VNĐ|VND)\b))"
# A number as people type it: digits with up to three separators between them (spaces, dots,
# dashes, brackets), optionally after "+" or "(": "079-185-012-345", "0791 8501 2345",
# "(091) 234-5678", "+84 912 345 678", "0 9 1 2 3 4 5 6 7 8". Separators are dropped before
# deciding what it is, so no spelling of an id or a phone slips through.
_NUMBER = r"(?P<number>(?<!\d)[+(]?\d(?:[\s.()\-]{0,3}\d)*)"

_PATTERN = re.compile("|".join((_CASE, _EMAIL, _LINK_PARAM, _MONEY, _NUMBER)))
_SHORTEST = 9  # old ID cards; anything shorter (dates, amounts, class numbers) is left alone


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
    if match.group("secret"):
        return match.group("secret_name") + "***"
    if match.group("money"):
        return match.group("money")
    number = match.group("number")
    digits = re.sub(r"\D", "", number)
    if len(digits) < _SHORTEST:
        return number
    if len(digits) == 9 or (len(digits) == 12 and not number.startswith("+") and digits[:2] != "84"):
        return mask_cccd(digits)  # CMND (9 digits) or CCCD (12, never a phone: those start 84)
    return mask_phone(number)


def mask_personal_data(text: str | None) -> str:
    """CCCD → ``workflows.validators.mask_cccd``; phones, e-mails, long digit runs and link
    secrets masked, whatever separators were typed between the digits."""
    return _PATTERN.sub(_replace, text or "")

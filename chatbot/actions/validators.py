"""Strict validation of what users type into forms. Pure functions."""

from __future__ import annotations

import re
import unicodedata

from components.vietnamese_text import fold, nfc, normalize

# Mobile prefixes by carrier (domain.md §5); kept as data.
MOBILE_PREFIXES = ("03", "05", "07", "08", "09")

_CASE_CODE = re.compile(r"\b([A-Za-z]\d{2}(?:\.\d{1,3}){1,4}-\d{6}-\d{4})\b")
_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$")
_STUDENT_CODE = re.compile(r"^[A-Z]{0,4}\d{6,12}$")

# Words that never occur in a person's name. Checked on the accented form when
# the user typed accents ("Minh", "Dung", "Huy" are names; "mình", "đúng",
# "hủy" are not) and on a short ASCII list otherwise.
_NOT_NAME_ACCENTED = {
    "có",
    "không",
    "vâng",
    "dạ",
    "ạ",
    "đúng",
    "sai",
    "rồi",
    "hủy",
    "thôi",
    "khỏi",
    "gì",
    "sao",
    "đâu",
    "nào",
    "chưa",
    "được",
    "mình",
    "tôi",
    "bạn",
    "nhé",
    "nha",
    "ơi",
    "à",
    "ừ",
    "ừm",
    "ok",
    "oke",
    "okie",
    "chào",
    "xin",
    "cảm",
    "ơn",
    "biết",
    "bot",
    "hello",
    "hi",
    "alo",
    "test",
    "bỏ",
    "qua",
    "muốn",
    "cần",
    "làm",
}
_NOT_NAME_ASCII = {  # no common name syllables here ("dung", "huy", "lam", "a")
    "ok",
    "oke",
    "okie",
    "ko",
    "k",
    "j",
    "dc",
    "ad",
    "nhe",
    "nha",
    "roi",
    "khong",
    "co",
    "chua",
    "duoc",
    "toi",
    "ban",
    "oi",
    "u",
    "um",
    "uh",
    "gi",
    "nao",
    "chao",
    "biet",
    "bot",
    "hello",
    "hi",
    "alo",
    "test",
    "muon",
}
_NOT_NAME_PHRASES = (
    "bao nhieu",
    "bao lau",
    "le phi",
    "giay to",
    "thu tuc",
    "ho so",
    "o dau",
    "the nao",
    "lam sao",
    "duoc khong",
    "la gi",
    "nguoi that",
    "cam on",
    "xin chao",
    "hoc phi",
    "tra cuu",
    "dang ky",
    "nop ",
    "chuyen truong",
    "van bang",
    "khong biet",
    "ko biet",
)
_NAME_PREFIXES = (
    "ho va ten la",
    "ho va ten",
    "ho ten la",
    "ho ten",
    "ten toi la",
    "ten minh la",
    "ten em la",
    "ten chau la",
    "ten cua toi la",
    "ten la",
    "toi ten la",
    "toi ten",
    "minh ten la",
    "minh ten",
    "em ten la",
    "em ten",
    "toi la",
    "minh la",
    "em la",
    "chau la",
    "ten",
)


def normalize_phone(text: str) -> str | None:
    """ "0912 345 678", "+84 912345678" -> "0912345678"; None if not a VN mobile."""
    digits = re.sub(r"[\s.\-()]", "", text or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if re.fullmatch(r"\d{10}", digits) and digits[:2] in MOBILE_PREFIXES:
        return digits
    return None


def find_case_code(text: str) -> str | None:
    match = _CASE_CODE.search(text or "")
    return match.group(1).upper() if match else None


def normalize_email(text: str) -> str | None:
    candidate = (text or "").strip().strip(".,;").lower()
    return candidate if _EMAIL.match(candidate) else None


def normalize_student_code(text: str) -> str | None:
    candidate = re.sub(r"[\s\-]", "", (text or "").upper())
    for prefix in ("MAHS", "MAHOCSINH", "MÃHS"):
        if candidate.startswith(prefix) and _STUDENT_CODE.match(candidate[len(prefix) :]):
            candidate = candidate[len(prefix) :]
    return candidate if _STUDENT_CODE.match(candidate) else None


# The code on a school's fee notice (the portal's payments_app.models: 8 characters, no I/O/0/1).
_LINK_CODE = re.compile(r"[A-HJ-NP-Z2-9]{8}")


def normalize_link_code(text: str) -> str | None:
    """"abcd-2345", "ABCD 2345", "mã ABCD2345" → "ABCD2345"; None when it cannot be one."""
    words = re.sub(r"[\-.]", "", (text or "").upper()).split()
    joined = "".join(words)
    if _LINK_CODE.fullmatch(joined):
        return joined
    candidates = [w for w in words if _LINK_CODE.fullmatch(w)]
    return candidates[0] if len(candidates) == 1 else None


def normalize_full_name(text: str) -> str | None:
    """A person's full name, title-cased, or None.

    Strict on purpose (chatbot.md: "có" must not become a name): 2-7 words of
    letters only, none of them a yes/no/question word.
    """
    text = nfc(" ".join((text or "").split())).strip(" .,!;:")
    folded = fold(text)
    for prefix in _NAME_PREFIXES:
        if folded.startswith(prefix + " ") or folded.startswith(prefix + ":"):
            cut = len(prefix)
            text, folded = text[cut:].lstrip(" :,"), folded[cut:].lstrip(" :,")
            break
    words = text.split()
    if not 2 <= len(words) <= 7:
        return None
    if any(not all(unicodedata.category(c).startswith("L") for c in w) for w in words):
        return None
    if any(len(w) > 12 for w in words):
        return None
    stoplist = _NOT_NAME_ASCII if text.isascii() else _NOT_NAME_ACCENTED
    if any(normalize(word) in stoplist for word in words):
        return None
    padded = f" {folded} "
    if any(f" {p.strip()} " in padded for p in _NOT_NAME_PHRASES):
        return None
    return " ".join(w[:1].upper() + w[1:].lower() for w in words)

"""Validators for Vietnamese identifiers (domain.md §5).

Each returns the normalised value or raises :class:`InvalidValue` carrying a
Vietnamese message meant for the field the user typed it into.
"""

from __future__ import annotations

import re
from datetime import date

from workflows.calendar import today as vn_today

# Birth-registration province codes of the 12-digit personal ID (Circular
# 07/2016/TT-BCA, 63 provinces). Kept as data: new codes are a one-line change.
PROVINCE_CODES: frozenset[str] = frozenset(
    {
        "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019",
        "020", "022", "024", "025", "026", "027", "030", "031", "033", "034", "035", "036",
        "037", "038", "040", "042", "044", "045", "046", "048", "049", "051", "052", "054",
        "056", "058", "060", "062", "064", "066", "067", "068", "070", "072", "074", "075",
        "077", "079", "080", "082", "083", "084", "086", "087", "089", "091", "092", "093",
        "094", "095", "096",
    }
)  # fmt: skip

# Mobile prefixes by carrier (Viettel, Mobifone, Vinaphone, Vietnamobile, Gmobile, iTel, Reddi...).
MOBILE_PREFIXES: frozenset[str] = frozenset(
    {
        "032", "033", "034", "035", "036", "037", "038", "039",
        "052", "055", "056", "058", "059",
        "070", "076", "077", "078", "079",
        "081", "082", "083", "084", "085", "086", "087", "088", "089",
        "090", "091", "092", "093", "094", "096", "097", "098", "099",
    }
)  # fmt: skip

# century+sex digit → first year of the century
_CENTURY = {"0": 1900, "1": 1900, "2": 2000, "3": 2000, "4": 2100, "5": 2100, "6": 2200, "7": 2200}


class InvalidValue(ValueError):
    """A value the user typed is not acceptable; ``message`` is Vietnamese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def cccd(value: str, *, birth_date: date | None = None, today: date | None = None) -> str:
    raw = re.sub(r"[\s.-]", "", value or "")
    if not (raw.isascii() and raw.isdigit()) or len(raw) != 12:  # "٠٧٩…" is digits to isdigit()
        raise InvalidValue("Số định danh cá nhân (CCCD) phải gồm đúng 12 chữ số.")
    if raw[:3] not in PROVINCE_CODES:
        raise InvalidValue(f"Mã tỉnh «{raw[:3]}» ở 3 chữ số đầu của CCCD không tồn tại.")
    year = _CENTURY[raw[3]] + int(raw[4:6]) if raw[3] in _CENTURY else None
    if year is None:
        raise InvalidValue("Chữ số thứ 4 của CCCD (thế kỷ và giới tính) không hợp lệ.")
    today = today or vn_today()
    if year > today.year:
        raise InvalidValue("Năm sinh mã hoá trong CCCD nằm ở tương lai; vui lòng kiểm tra lại.")
    if birth_date is not None and birth_date.year != year:
        raise InvalidValue(f"CCCD cho biết năm sinh {year}, không khớp với ngày sinh {birth_date:%d/%m/%Y}.")
    return raw


def cccd_birth_year(value: str) -> int:
    return _CENTURY[value[3]] + int(value[4:6])


def phone(value: str) -> str:
    """Normalise a Vietnamese phone number to 10 digits starting with 0."""
    raw = re.sub(r"[\s.()-]", "", value or "")
    # "+84 28 3891 5039" (landline, 12 digits without the +) and "(+84) 0912..." are common too.
    if raw.startswith("+84"):
        raw = "0" + raw[3:].lstrip("0")
    elif raw.startswith("84") and (len(raw) == 11 or (len(raw) == 12 and raw[2] == "2")):
        raw = "0" + raw[2:]
    if not raw:
        raise InvalidValue("Vui lòng nhập số điện thoại.")
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidValue("Số điện thoại chỉ được gồm chữ số, ví dụ 0912345678.")
    if len(raw) == 10 and raw[:3] in MOBILE_PREFIXES:
        return raw
    if len(raw) == 11 and raw.startswith("02"):
        return raw  # landline: 0 + 2-digit area code... e.g. 028 + 8 digits
    if len(raw) == 10:
        raise InvalidValue(f"Đầu số «{raw[:3]}» không phải đầu số di động Việt Nam.")
    raise InvalidValue("Số điện thoại di động phải gồm 10 chữ số, bắt đầu bằng 0 (hoặc +84).")


def mask_cccd(value: str) -> str:
    if len(value) < 6:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 6) + value[-3:]


def mask_name(full_name: str) -> str:
    """'Nguyễn Văn An' → 'Nguyễn V. A.' (enough to recognise, not to identify)."""
    parts = full_name.split()
    if len(parts) <= 1:
        return full_name[:1] + "***"
    return " ".join([parts[0], *[p[0] + "." for p in parts[1:]]])


# -- the same rules as regular expressions, for the published API schema -------------------------
# Python ``re`` semantics (``\s`` is Unicode whitespace, as ``str.strip`` and the validators use).
# Each pattern matches exactly the values its validator accepts; tests hold them together.


def _spaced(atoms: list[str], sep: str) -> str:
    """The atoms in order with ``sep`` (separators the validator drops) allowed around each one."""
    return sep + "".join(f"{a}{sep}" for a in atoms)


def _digits(count: int, sep: str) -> str:
    return f"(?:[0-9]{sep}){{{count}}}"


def phone_pattern() -> str:
    """What :func:`phone` accepts: mobile or landline, optional +84/84, separators ``space . ( ) -``."""
    sep = r"[\s.()\-]*"
    by_second: dict[str, list[str]] = {}
    for prefix in sorted(MOBILE_PREFIXES):
        by_second.setdefault(prefix[1], []).append(prefix[2])
    mobile_head = "|".join(f"{d}{sep}[{''.join(rest)}]{sep}" for d, rest in sorted(by_second.items()))
    mobile = f"(?:{mobile_head}){_digits(7, sep)}"  # the 9 digits after the leading 0
    landline = f"2{sep}{_digits(9, sep)}"  # the 10 digits after the leading 0
    national = f"0{sep}(?:{mobile}|{landline})"
    plus84 = rf"\+{sep}8{sep}4{sep}(?:0{sep})*(?:{mobile}|{landline})"
    bare84 = f"8{sep}4{sep}(?:{mobile}|{landline})"
    return f"^{sep}(?:{national}|{plus84}|{bare84})$"


def cccd_pattern(today: date | None = None) -> str:
    """What :func:`cccd` accepts on ``today``: 12 digits, a province code, a birth year not in the future."""
    sep = r"[\s.\-]*"
    year = (today or date.today()).year
    provinces = "|".join(sep.join(code) for code in sorted(PROVINCE_CODES))
    centuries = []
    for digit, first in sorted(_CENTURY.items()):
        if first + 99 <= year:
            centuries.append(f"{digit}{sep}{_digits(2, sep)}")
        elif first <= year:
            centuries.append(f"{digit}{sep}{number_range_pattern(0, year - first, sep=sep, width=2)}")
    return f"^{sep}(?:{provinces}){sep}(?:{'|'.join(centuries)}){_digits(6, sep)}$"


def number_range_pattern(low: int, high: int, *, sep: str = "", width: int | None = None) -> str:
    """Non-negative integers ``low..high`` written with ``width`` digits (zero-padded), or with any
    number of leading zeros when ``width`` is None; ``sep`` may stand after every digit."""
    assert 0 <= low <= high
    if width is not None:
        return _fixed_range(str(low).zfill(width), str(high).zfill(width), sep)
    parts = []
    for digits in range(len(str(low)), len(str(high)) + 1):
        lo, hi = max(low, 10 ** (digits - 1) if digits > 1 else 0), min(high, 10**digits - 1)
        if lo <= hi:
            parts.append(_fixed_range(str(lo), str(hi), sep))
    return f"(?:0{sep})*(?:{'|'.join(parts)})"


def _fixed_range(lo: str, hi: str, sep: str) -> str:
    if not lo:
        return ""
    if lo[0] == hi[0]:
        return f"{lo[0]}{sep}{_fixed_range(lo[1:], hi[1:], sep)}"
    rest = len(lo) - 1
    parts = [f"{lo[0]}{sep}{_fixed_range(lo[1:], '9' * rest, sep)}"]
    if int(hi[0]) - int(lo[0]) > 1:
        parts.append(f"[{int(lo[0]) + 1}-{int(hi[0]) - 1}]{sep}{_digits(rest, sep) if rest else ''}")
    parts.append(f"{hi[0]}{sep}{_fixed_range('0' * rest, hi[1:], sep)}")
    return f"(?:{'|'.join(parts)})"

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
    if not raw.isdigit() or len(raw) != 12:
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
    if not raw.isdigit():
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

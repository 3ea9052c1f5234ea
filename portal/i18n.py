"""Vietnamese first, English second: gettext catalogs, money and date formats.

Source strings are Vietnamese; ``portal/locale/en`` translates them. The
current language lives in a context variable set per request.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

from workflows.calendar import VN_TZ

LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("vi", "en")
current_lang: ContextVar[str] = ContextVar("current_lang", default="vi")


@lru_cache
def translations(lang: str) -> NullTranslations:
    if lang == "vi":
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [lang], domain="messages")


def gettext(message: str) -> str:
    return translations(current_lang.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_lang.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return str(translations(current_lang.get()).pgettext(context, message))


_ = gettext


def money(amount: int | None) -> str:
    """1500000 → '1.500.000 ₫' (integer đồng, Vietnamese grouping)."""
    if amount is None:
        return ""
    return f"{amount:,}".replace(",", ".") + " ₫"


def fmt_date(value: date | datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(VN_TZ).date()
    return f"{value:%d/%m/%Y}"


def fmt_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return f"{value.astimezone(VN_TZ):%H:%M %d/%m/%Y}"


WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def fmt_day_long(value: date | None) -> str:
    if value is None:
        return ""
    names = WEEKDAYS_EN if current_lang.get() == "en" else WEEKDAYS_VI
    return f"{names[value.weekday()]}, {value:%d/%m/%Y}"

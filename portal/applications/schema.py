"""The rules of ``forms.check_value`` as JSON Schema, for ``/openapi.json`` and the procedure API.

A client fills a form without guessing: each value's schema accepts exactly what the server
accepts in a draft (``POST /api/v1/applications``): blank, or a valid value. Whether a field must be
filled before submission is the field's ``required``. Patterns use Python ``re`` semantics (``\\s``
is Unicode whitespace, as ``str.strip`` in the server); values are checked after stripping, and
``maxLength`` counts the value as sent. Rules that depend on today's date (a birth year in a
personal ID, a date in the past) are written for ``today``: the schema is rebuilt every day.
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import date
from typing import Any

from portal.applications.forms import (
    APPLICANT_FIELDS,
    DATE_SYNTAX,
    FIRST_YEAR,
    LAST_YEAR,
    NAME_SYNTAX,
    ApplicantField,
)
from workflows import validators
from workflows.definitions import Definition, FieldType, FormField

NO_NUL = r"^[^\x00]*$"
BLANK = r"^\s*$"


def applicant_field_schema(spec: ApplicantField, today: date) -> dict[str, Any]:
    schema = value_schema(spec.type, spec.max_length, None, today)
    if spec.key == "full_name":
        schema["pattern"] = _or_blank(rf"^\s*{NAME_SYNTAX}\s*$")
        schema["description"] = "Letters, spaces and ' . - between words"
    return schema


def form_field_schema(spec: FormField, today: date) -> dict[str, Any]:
    return value_schema(spec.type, spec.max_length, spec, today)


def value_schema(ftype: FieldType, max_length: int, spec: FormField | None, today: date) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "maxLength": max_length}
    if ftype in (FieldType.CCCD, FieldType.STUDENT):
        schema["pattern"] = _or_blank(validators.cccd_pattern(today))
        schema["description"] = "12-digit personal ID: province code, century/sex digit, birth year not ahead"
    elif ftype is FieldType.PHONE:
        schema["pattern"] = _or_blank(validators.phone_pattern())
        schema["description"] = "Vietnamese mobile (10 digits) or landline (02x…), optionally +84"
    elif ftype is FieldType.EMAIL:
        schema["anyOf"] = [{"pattern": BLANK}, {"format": "email"}]
    elif ftype is FieldType.DATE:
        low, high = date_bounds(spec.date_range if spec else "any", today)
        schema["pattern"] = _or_blank(date_pattern(low, high))
        schema["description"] = f"dd/mm/yyyy or yyyy-mm-dd, from {low:%d/%m/%Y} to {high:%d/%m/%Y}"
    elif ftype is FieldType.NUMBER:
        minimum, maximum = (spec.min, spec.max) if spec else (None, None)
        schema["pattern"] = _or_blank(number_pattern(minimum, maximum))
        schema["description"] = (
            "Whole number"
            + (f" from {minimum}" if minimum is not None else "")
            + (f" to {maximum}" if maximum is not None else "")
        )
    elif ftype is FieldType.SELECT and spec is not None:
        options = "|".join(re.escape(o.value) for o in spec.options)
        schema["pattern"] = _or_blank(rf"^\s*(?:{options})\s*$")
        schema["description"] = "One of: " + ", ".join(o.value for o in spec.options)
    else:
        schema["pattern"] = NO_NUL
    return schema


def _or_blank(pattern: str) -> str:
    return f"{BLANK}|{pattern}"


def date_bounds(date_range: str, today: date) -> tuple[date, date]:
    first, last = date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31)
    if date_range == "past":
        return first, min(today, last)
    if date_range == "future":
        return max(today, first), last
    return first, last


def number_pattern(low: int | None, high: int | None) -> str:
    """What ``check_value`` accepts for a number: digits with '.' anywhere (thousands), leading zeros."""
    sep = r"\.*"
    if low is not None and low >= 1:
        if high is None:
            width = len(str(low))
            longer = f"[1-9]{sep}(?:[0-9]{sep}){{{width},}}"
            same = validators.number_range_pattern(low, 10**width - 1, sep=sep, width=width)
            core = f"(?:0{sep})*(?:{same}|{longer})"
        else:
            core = validators.number_range_pattern(low, high, sep=sep)
        return rf"^\s*{sep}{core}\s*$"
    # no lower bound above zero in any definition so far: the syntax, with the range in the description
    return rf"^\s*{sep}-?{sep}(?:[0-9]{sep})+\s*$"


def date_pattern(low: date, high: date) -> str:
    """Every calendar date from ``low`` to ``high`` in the two syntaxes ``forms.parse_date`` reads."""
    assert DATE_SYNTAX[0].startswith("([0-9]{4})-")  # the shapes written below
    iso, dmy = [], []
    for years, months, days in _date_blocks(low, high):
        iso.append(f"{years}-(?:{months})-(?:{days})")
        dmy.append(f"(?:{days})[/.-](?:{months})[/.-]{years}")
    return rf"^\s*(?:{'|'.join(iso + dmy)})\s*$"


def _date_blocks(low: date, high: date) -> list[tuple[str, str, str]]:
    """(years, months, days) regex triples covering exactly the dates low..high."""
    blocks: list[tuple[str, str, str]] = []
    if low.year == high.year:
        return _partial_year(low.year, low, high)
    blocks += _partial_year(low.year, low, date(low.year, 12, 31))
    first, last = low.year + 1, high.year - 1
    if first <= last:
        years = validators.number_range_pattern(first, last, width=4)
        blocks += [
            (years, _numbers([1, 3, 5, 7, 8, 10, 12]), _day_range(1, 31)),
            (years, _numbers([4, 6, 9, 11]), _day_range(1, 30)),
            (years, _numbers([2]), _day_range(1, 28)),
        ]
        leap = [str(y) for y in range(first, last + 1) if monthrange(y, 2)[1] == 29]
        if leap:
            blocks.append((f"(?:{'|'.join(leap)})", _numbers([2]), _day_range(29, 29)))
    blocks += _partial_year(high.year, date(high.year, 1, 1), high)
    return blocks


def _partial_year(year: int, start: date, end: date) -> list[tuple[str, str, str]]:
    by_days: dict[tuple[int, int], list[int]] = {}  # months with the same days share one block
    for month in range(start.month, end.month + 1):
        first = start.day if month == start.month else 1
        last = end.day if month == end.month else monthrange(year, month)[1]
        by_days.setdefault((first, last), []).append(month)
    return [(str(year), _numbers(months), _day_range(*days)) for days, months in by_days.items()]


def _numbers(values: list[int]) -> str:
    return "|".join(f"0?{v}" if v < 10 else str(v) for v in values)


def _day_range(first: int, last: int) -> str:
    parts = []
    if first <= 9:
        parts.append(f"0?[{first}-{min(last, 9)}]")
    for tens in (1, 2, 3):
        lo, hi = max(first, tens * 10), min(last, tens * 10 + 9)
        if lo <= hi:
            parts.append(f"{tens}[{lo % 10}-{hi % 10}]")
    return "|".join(parts)


def applicant_schema(today: date) -> dict[str, Any]:
    return {
        "type": "object",
        "title": "ApplicantIn",
        "description": "The applicant; every value may be blank in a draft and is checked when given.",
        "properties": {f.key: applicant_field_schema(f, today) for f in APPLICANT_FIELDS},
    }


def fields_schema(definition: Definition, today: date) -> dict[str, Any]:
    return {
        "type": "object",
        "title": f"Fields {definition.code}",
        "description": f"Form fields of {definition.code} v{definition.version} ({definition.name.vi}); "
        "other keys are ignored",
        "properties": {f.key: form_field_schema(f, today) for f in definition.fields},
        "additionalProperties": {"type": "string"},
    }

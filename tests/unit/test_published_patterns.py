"""The patterns published in /openapi.json accept exactly what the server's validators accept.

Fixed-seed samples around each rule (separators, +84, province codes, century digits, leap days,
ranges, leading zeros, dots): a pattern that drifts from its validator fails here.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import date

import pytest

from portal.applications import forms
from portal.applications.schema import form_field_schema
from workflows import validators
from workflows.definitions import FieldType, FormField, Text

TODAY = date(2026, 12, 2)
SAMPLES = 20_000


def _accepts(check: Callable[[str], object], value: str) -> bool:
    try:
        check(value)
    except validators.InvalidValue:
        return False
    return True


def _disagreements(pattern: str, accepts: Callable[[str], bool], values: list[str]) -> list[str]:
    compiled = re.compile(pattern)
    return [v for v in values if bool(compiled.search(v)) != accepts(v)]


def test_phone_pattern_is_the_phone_validator() -> None:
    rnd = random.Random(1)
    values = [
        "0912345678",
        "+84 912 345 678",
        "(+84) 0912.345.678",
        "84912345678",
        "02838915039",
        "٠٩١٢٣٤٥٦٧٨",
    ]
    for _ in range(SAMPLES):
        body = "".join(rnd.choice("0123456789 .()-\t") for _ in range(rnd.randint(0, 14)))
        values.append(rnd.choice(["", "0", "+84", "84", "+840", "09", "03", "02"]) + body)
    assert _disagreements(validators.phone_pattern(), lambda v: _accepts(validators.phone, v), values) == []


def test_cccd_pattern_is_the_cccd_validator() -> None:
    rnd = random.Random(2)
    values = ["079185012345", "079 185 012 345", "079-226-012-345", "079227012345", "999185012345"]
    for _ in range(SAMPLES):
        digits = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(10, 13)))
        if rnd.random() < 0.8:
            digits = rnd.choice(sorted(validators.PROVINCE_CODES)) + digits[3:]
        values.append("".join(c + rnd.choice(["", "", " ", ".", "-"]) for c in digits))
    pattern = validators.cccd_pattern(TODAY)
    assert (
        _disagreements(pattern, lambda v: _accepts(lambda x: validators.cccd(x, today=TODAY), v), values)
        == []
    )


def _field_accepts(spec: FormField) -> Callable[[str], bool]:
    def accepts(value: str) -> bool:
        _, error = forms.check_value(
            spec.type,
            value,
            label=spec.label,
            required=False,
            max_length=spec.max_length,
            spec=spec,
            today=TODAY,
        )
        return error is None

    return accepts


@pytest.mark.parametrize("date_range", ["past", "future", "any"])
def test_date_pattern_is_the_date_check(date_range: str) -> None:
    spec = FormField(key="d", type=FieldType.DATE, label=Text(vi="Ngày"), date_range=date_range)  # type: ignore[arg-type]
    rnd = random.Random(3)
    values = ["29/02/2024", "29/02/2025", "2026-12-02", "3/12/2026", " 1.1.1900 ", "31/12/2100", "01/01/2101"]
    for _ in range(SAMPLES):
        year = rnd.choice([rnd.randint(1890, 2110), 2025, 2026, 2027, 1900, 2100, 2000])
        month, day = rnd.randint(0, 13), rnd.randint(0, 32)
        if rnd.random() < 0.4:
            values.append(f"{year}-{month:0{rnd.randint(1, 2)}d}-{day:0{rnd.randint(1, 2)}d}")
        else:
            values.append(
                f"{day:0{rnd.randint(1, 2)}d}{rnd.choice('/.-')}{month:02d}{rnd.choice('/.-')}{year}"
            )
    schema = form_field_schema(spec, TODAY)
    assert _disagreements(schema["pattern"], _field_accepts(spec), values) == []


@pytest.mark.parametrize(("low", "high"), [(1, 10), (1976, 2026), (5, 99), (1, 2000), (1, None)])
def test_number_pattern_is_the_number_check(low: int, high: int | None) -> None:
    spec = FormField(key="n", type=FieldType.NUMBER, label=Text(vi="Số"), min=low, max=high)
    rnd = random.Random(4)
    values = ["", " ", ".", "-1", "1 2", "1a", "1.000", "٣"]
    for _ in range(SAMPLES):
        text = str(rnd.choice([rnd.randint(-5, 3000), rnd.randint(0, 30), rnd.randint(0, 10**6)]))
        if rnd.random() < 0.3:
            text = "0" * rnd.randint(1, 3) + text
        if rnd.random() < 0.3:
            cut = rnd.randint(0, len(text))
            text = text[:cut] + "." * rnd.randint(1, 2) + text[cut:]
        values.append(f" {text} " if rnd.random() < 0.1 else text)
    schema = form_field_schema(spec, TODAY)
    assert _disagreements(schema["pattern"], _field_accepts(spec), values) == []

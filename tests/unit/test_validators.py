"""Personal ID (CCCD) and phone validators, and masking of personal data in lists."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from workflows import validators
from workflows.validators import InvalidValue, cccd, cccd_birth_year, mask_cccd, mask_name, phone

TODAY = date(2026, 3, 2)


# -- CCCD ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("079203001234", "079203001234"),  # HCMC, male born 2003
        ("079 203 001 234", "079203001234"),
        ("079.203.001.234", "079203001234"),
        ("001-185-123456", "001185123456"),  # Hà Nội, female born 1985
        (" 096304000001 ", "096304000001"),  # Cà Mau, female born 2004
    ],
)
def test_valid_cccd_is_normalised(typed: str, normalised: str) -> None:
    assert cccd(typed, today=TODAY) == normalised


@pytest.mark.parametrize(
    ("typed", "fragment"),
    [
        ("07920300123", "12 chữ số"),  # 11 digits
        ("0792030012345", "12 chữ số"),  # 13 digits
        ("07920300123A", "12 chữ số"),
        ("", "12 chữ số"),
        ("000203001234", "Mã tỉnh «000»"),
        ("003203001234", "Mã tỉnh «003»"),  # gap in the province list
        ("097203001234", "Mã tỉnh «097»"),
        ("079803001234", "Chữ số thứ 4"),  # century digit 8 does not exist
        ("079230001234", "tương lai"),  # born 2030
    ],
)
def test_invalid_cccd_is_refused_in_vietnamese(typed: str, fragment: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        cccd(typed, today=TODAY)
    assert fragment in caught.value.message
    assert str(caught.value) == caught.value.message


def test_cccd_birth_year_must_match_the_date_of_birth() -> None:
    assert cccd("079203001234", birth_date=date(2003, 5, 1), today=TODAY) == "079203001234"
    with pytest.raises(InvalidValue, match="không khớp với ngày sinh 01/05/2004"):
        cccd("079203001234", birth_date=date(2004, 5, 1), today=TODAY)
    with pytest.raises(InvalidValue, match="năm sinh 1903"):
        cccd("079003001234", birth_date=date(2003, 5, 1), today=TODAY)  # century digit says 1900s


def test_cccd_this_year_is_not_the_future() -> None:
    assert cccd("079226001234", today=TODAY) == "079226001234"
    with pytest.raises(InvalidValue):
        cccd("079227001234", today=TODAY)


def test_without_a_today_the_date_is_vietnams_not_the_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    """00:30 on 1/1/2027 in Vietnam is still 31/12/2026 on a UTC server: a newborn's CCCD and a
    birth date of 1/1/2027 are not in the future (date.today() said they were)."""
    from portal.applications.forms import check_value
    from workflows import calendar
    from workflows.definitions import FieldType, FormField

    new_year = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)
    monkeypatch.setattr(calendar, "now", lambda: new_year.astimezone(calendar.VN_TZ))
    assert cccd("079227001234") == "079227001234"
    born = FormField(key="ngay_sinh", type=FieldType.DATE, label="Ngày sinh", date_range="past")
    assert check_value(FieldType.DATE, "01/01/2027", label=born.label, required=True, spec=born) == (
        "2027-01-01",
        None,
    )


@pytest.mark.parametrize(
    ("number", "year"), [("079203001234", 2003), ("079185001234", 1985), ("079099001234", 1999)]
)
def test_cccd_birth_year(number: str, year: int) -> None:
    assert cccd_birth_year(number) == year


def test_province_codes_are_data() -> None:
    assert "079" in validators.PROVINCE_CODES and "001" in validators.PROVINCE_CODES
    assert len(validators.PROVINCE_CODES) == 63


# -- phones --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("0912345678", "0912345678"),
        ("0912 345 678", "0912345678"),
        ("0912.345.678", "0912345678"),
        ("+84912345678", "0912345678"),
        ("+84 912 345 678", "0912345678"),
        ("84912345678", "0912345678"),
        ("(+84) 0912345678", "0912345678"),
        ("0381234567", "0381234567"),  # Viettel 03x
        ("0561234567", "0561234567"),  # Vietnamobile 05x
        ("0771234567", "0771234567"),  # Mobifone 07x
        ("0851234567", "0851234567"),  # Vinaphone 08x
        ("028 3891 5039", "02838915039"),  # HCMC landline
        ("(028) 3891-5039", "02838915039"),
        ("+84 28 3891 5039", "02838915039"),
        ("84 28 3891 5039", "02838915039"),
    ],
)
def test_valid_phone_is_normalised(typed: str, normalised: str) -> None:
    assert phone(typed) == normalised


@pytest.mark.parametrize(
    ("typed", "fragment"),
    [
        ("0112345678", "Đầu số «011»"),
        ("0212345678", "Đầu số «021»"),  # a landline prefix with a mobile length
        ("091234567", "10 chữ số"),  # 9 digits
        ("09123456789", "10 chữ số"),  # 11 digits, not a landline
        ("0283891503", "Đầu số «028»"),  # landline missing a digit
        ("0912abc678", "chỉ được gồm chữ số"),
        ("", "Vui lòng nhập"),
        ("  ", "Vui lòng nhập"),
    ],
)
def test_invalid_phone_is_refused_in_vietnamese(typed: str, fragment: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        phone(typed)
    assert fragment in caught.value.message


def test_mobile_prefixes_are_data() -> None:
    assert "091" in validators.MOBILE_PREFIXES
    assert "028" not in validators.MOBILE_PREFIXES


# -- masks ---------------------------------------------------------------------


def test_mask_cccd_keeps_three_digits_each_side() -> None:
    assert mask_cccd("079203001234") == "079******234"
    assert mask_cccd("123456789") == "123***789"  # legacy 9-digit CMND
    assert mask_cccd("12345") == "*****"
    assert "203001" not in mask_cccd("079203001234")


def test_mask_name() -> None:
    assert mask_name("Nguyễn Văn An") == "Nguyễn V. A."
    assert mask_name("Trần Thị Thu Hà") == "Trần T. T. H."
    assert mask_name("An") == "A***"
    assert mask_name("") == "***"

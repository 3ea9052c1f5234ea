"""The Tết day `make test-dates` fakes is the next one, never one in the past."""

from datetime import date

from tests.tet_day import faketime_spec, next_tet


def test_next_tet_on_or_after_a_day() -> None:
    assert next_tet(date(2026, 12, 2)) == date(2027, 2, 6)
    assert next_tet(date(2027, 2, 6)) == date(2027, 2, 6)
    assert next_tet(date(2027, 2, 7)) == date(2028, 1, 26)


def test_the_spec_is_an_absolute_libfaketime_start() -> None:
    assert faketime_spec(date(2027, 2, 6)).startswith("@2027-02-0")

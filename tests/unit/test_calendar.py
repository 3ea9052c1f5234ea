"""Working-day calendar: holidays, swaps, the 15:00 same-day cutoff and receipt after hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from workflows.calendar import VN_TZ, WorkingCalendar, load_calendar

CAL = WorkingCalendar()


def vn(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(n) for n in range((end - start).days + 1)]


# -- holidays and weekends -----------------------------------------------------


def test_tet_2026_is_closed() -> None:
    for day in days(date(2026, 2, 16), date(2026, 2, 20)):
        assert not CAL.is_working_day(day), day
    assert CAL.is_working_day(date(2026, 2, 13))  # Friday before
    assert CAL.is_working_day(date(2026, 2, 23))  # Monday after
    assert CAL.next_working_day(date(2026, 2, 13)) == date(2026, 2, 23)
    assert CAL.holiday_name(date(2026, 2, 17)) is not None


def test_tet_2027_is_closed() -> None:
    for day in days(date(2027, 2, 4), date(2027, 2, 10)):
        assert not CAL.is_working_day(day), day
    assert CAL.next_working_day(date(2027, 2, 3)) == date(2027, 2, 11)


def test_weekends_are_closed_and_weekdays_open() -> None:
    assert [CAL.is_working_day(d) for d in days(date(2026, 3, 2), date(2026, 3, 8))] == [
        True, True, True, True, True, False, False,
    ]  # fmt: skip


def test_fixed_holidays() -> None:
    for day in (date(2026, 1, 1), date(2026, 4, 30), date(2026, 5, 1), date(2026, 9, 2)):
        assert not CAL.is_working_day(day), day


def test_library_swap_makes_a_saturday_a_working_day() -> None:
    assert date(2026, 8, 22).weekday() == 5
    assert CAL.is_working_day(date(2026, 8, 22))
    assert not CAL.is_working_day(date(2026, 8, 31))  # the Monday given in exchange
    assert CAL.next_working_day(date(2026, 8, 21)) == date(2026, 8, 22)


# -- configured days -----------------------------------------------------------


def write_calendar(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "calendar.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_configured_extra_holiday_and_swapped_day(tmp_path: Path) -> None:
    path = write_calendar(
        tmp_path,
        """
same_day_cutoff: "15:00"
extra_holidays:
  - {date: 2026-03-10, name: "Nghỉ bù (thử)"}
swapped_working_days:
  - {date: 2026-03-14, name: "Làm bù (thử)"}
""",
    )
    cal = load_calendar(path)
    assert not cal.is_working_day(date(2026, 3, 10))  # a Tuesday
    assert cal.holiday_name(date(2026, 3, 10)) == "Nghỉ bù (thử)"
    assert cal.is_working_day(date(2026, 3, 14))  # a Saturday
    assert cal.next_working_day(date(2026, 3, 9)) == date(2026, 3, 11)
    assert cal.next_working_day(date(2026, 3, 13)) == date(2026, 3, 14)
    assert CAL.is_working_day(date(2026, 3, 10))  # the default calendar is unaffected


def test_days_given_by_settings_add_to_the_file(tmp_path: Path) -> None:
    path = write_calendar(tmp_path, "extra_holidays:\nswapped_working_days:\n")  # keys without items
    cal = load_calendar(path, extra_holidays=[date(2026, 6, 1)], swapped_working_days=[date(2026, 6, 6)])
    assert not cal.is_working_day(date(2026, 6, 1))
    assert cal.is_working_day(date(2026, 6, 6))


def test_configured_cutoff_and_office_hours(tmp_path: Path) -> None:
    hours = 'office_hours:\n  morning: "08:00-12:00"\n  afternoon: "13:00-16:30"\n'
    path = write_calendar(tmp_path, 'same_day_cutoff: "16:00"\n' + hours)
    cal = load_calendar(path)
    assert cal.same_day_cutoff == time(16, 0)
    assert cal.office_hours.closing == time(16, 30)
    assert cal.due_date(vn(2026, 3, 4, 15, 30), working_days=None, same_day=True) == date(2026, 3, 4)
    assert cal.effective_receipt_day(vn(2026, 3, 4, 16, 45)) == date(2026, 3, 5)


def test_shipped_calendar_file_loads() -> None:
    cal = load_calendar()
    assert cal.same_day_cutoff == time(15, 0)
    assert cal.is_working_day(date(2026, 8, 22))


# -- same-day cutoff -----------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (vn(2026, 3, 4, 14, 59), date(2026, 3, 4)),  # Wednesday, before the cutoff
        (vn(2026, 3, 4, 15, 0), date(2026, 3, 5)),  # exactly 15:00 is after the cutoff
        (vn(2026, 3, 6, 15, 30), date(2026, 3, 9)),  # Friday afternoon → Monday
        (vn(2026, 3, 7, 10, 0), date(2026, 3, 9)),  # Saturday → Monday
        (vn(2026, 2, 13, 15, 30), date(2026, 2, 23)),  # Friday before Tết → after Tết
        (vn(2026, 8, 22, 9, 0), date(2026, 8, 22)),  # working Saturday counts
    ],
)
def test_same_day_cutoff(received: datetime, due: date) -> None:
    assert CAL.due_date(received, working_days=None, same_day=True) == due


def test_cutoff_uses_vietnam_time() -> None:
    utc = datetime(2026, 3, 4, 8, 30, tzinfo=UTC)  # 15:30 in Hồ Chí Minh City
    assert CAL.due_date(utc, working_days=None, same_day=True) == date(2026, 3, 5)
    utc_morning = datetime(2026, 3, 4, 7, 59, tzinfo=UTC)  # 14:59
    assert CAL.due_date(utc_morning, working_days=None, same_day=True) == date(2026, 3, 4)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.due_date(datetime(2026, 3, 4, 9, 0), working_days=3)


# -- working-day limits --------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "working_days", "due"),
    [
        (vn(2026, 3, 2, 9, 0), 1, date(2026, 3, 3)),  # Monday morning
        (vn(2026, 3, 2, 16, 59), 1, date(2026, 3, 3)),  # before closing
        (vn(2026, 3, 2, 17, 0), 1, date(2026, 3, 4)),  # after closing → counts from Tuesday
        (vn(2026, 3, 8, 10, 0), 1, date(2026, 3, 10)),  # Sunday → counts from Monday
        (vn(2026, 3, 6, 9, 0), 5, date(2026, 3, 13)),  # over a weekend
        (vn(2026, 2, 11, 9, 0), 5, date(2026, 2, 25)),  # over Tết 2026
        (vn(2027, 2, 3, 9, 0), 3, date(2027, 2, 15)),  # over Tết 2027
        (vn(2026, 8, 20, 9, 0), 3, date(2026, 8, 24)),  # the working Saturday 22/8 counts
        (vn(2026, 8, 27, 9, 0), 3, date(2026, 9, 4)),  # 31/8 (swapped), 1–2/9 (National Day) do not
    ],
)
def test_due_date_in_working_days(received: datetime, working_days: int, due: date) -> None:
    assert CAL.due_date(received, working_days=working_days) == due


def test_effective_receipt_day() -> None:
    assert CAL.effective_receipt_day(vn(2026, 3, 2, 7, 0)) == date(2026, 3, 2)
    assert CAL.effective_receipt_day(vn(2026, 3, 2, 17, 30)) == date(2026, 3, 3)
    assert CAL.effective_receipt_day(vn(2026, 3, 8, 10, 0)) == date(2026, 3, 9)
    assert CAL.effective_receipt_day(vn(2026, 2, 17, 10, 0)) == date(2026, 2, 23)


def test_working_days_between() -> None:
    assert CAL.working_days_between(date(2026, 3, 2), date(2026, 3, 9)) == 5
    assert CAL.working_days_between(date(2026, 3, 2), date(2026, 3, 2)) == 0
    assert CAL.working_days_between(date(2026, 3, 6), date(2026, 3, 9)) == 1  # Fri → Mon
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 23)) == 1  # across Tết
    assert CAL.working_days_between(date(2026, 3, 9), date(2026, 3, 2)) == -5


def test_add_working_days_refuses_negative() -> None:
    assert CAL.add_working_days(date(2026, 3, 2), 0) == date(2026, 3, 2)
    with pytest.raises(ValueError):
        CAL.add_working_days(date(2026, 3, 2), -1)

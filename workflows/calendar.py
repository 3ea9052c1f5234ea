"""Working-day calendar: the single place where deadlines are computed.

Public holidays (Tết, Hùng Kings, 30/4, 1/5, 2/9, New Year and the
government's substitute days) come from the maintained ``holidays``
library; on top of it each deployment configures extra days off and swapped
working days (``workflows/calendar.yaml``), because the government declares
swaps every year and they must not wait for a library release.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import yaml

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CALENDAR_FILE = Path(__file__).with_name("calendar.yaml")


@dataclass(frozen=True)
class OfficeHours:
    morning: tuple[time, time] = (time(7, 30), time(11, 30))
    afternoon: tuple[time, time] = (time(13, 30), time(17, 0))

    @property
    def closing(self) -> time:
        return self.afternoon[1]

    def text(self) -> str:
        m, a = self.morning, self.afternoon
        return f"Thứ Hai – Thứ Sáu: sáng {m[0]:%H:%M}–{m[1]:%H:%M}, chiều {a[0]:%H:%M}–{a[1]:%H:%M}"


@dataclass
class WorkingCalendar:
    extra_holidays: dict[date, str] = field(default_factory=dict)
    swapped_working_days: set[date] = field(default_factory=set)
    same_day_cutoff: time = time(15, 0)
    office_hours: OfficeHours = field(default_factory=OfficeHours)

    def __post_init__(self) -> None:
        self._public = holidays.country_holidays("VN")

    def holiday_name(self, day: date) -> str | None:
        if day in self.extra_holidays:
            return self.extra_holidays[day]
        name = self._public.get(day)
        return str(name) if name else None

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_holidays:
            return False
        if day in self.swapped_working_days:
            return True
        self._public.get(day)  # populates the year, so weekend_workdays is filled
        if day in self._public.weekend_workdays:
            return True
        if day.weekday() >= 5:
            return False
        return day not in self._public

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after ``day`` (``day`` itself is not counted)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    def effective_receipt_day(self, received_at: datetime) -> date:
        """Dossiers received on a day off or after closing count from the next working day."""
        local = _to_local(received_at)
        day = local.date()
        if self.is_working_day(day) and local.time() < self.office_hours.closing:
            return day
        return self.next_working_day(day)

    def due_date(self, received_at: datetime, *, working_days: int | None, same_day: bool = False) -> date:
        """Appointment date for a dossier received at ``received_at``.

        Same-day procedures received before the cutoff (15:00) on a working day
        are due that day, otherwise on the next working day. Otherwise the time
        limit runs in working days from the day after the (effective) receipt day.
        """
        local = _to_local(received_at)
        if same_day:
            if self.is_working_day(local.date()) and local.time() < self.same_day_cutoff:
                return local.date()
            return self.next_working_day(local.date())
        if working_days is None:
            raise ValueError("a time limit needs working_days or same_day")
        return self.add_working_days(self.effective_receipt_day(received_at), working_days)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        if end < start:
            return -self.working_days_between(end, start)
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


def _to_local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times must be timezone-aware")
    return moment.astimezone(VN_TZ)


def now() -> datetime:
    return datetime.now(VN_TZ)


def today() -> date:
    """The date in Vietnam. Not ``date.today()``: that is the server's zone (UTC in production),
    a day behind Vietnam from 00:00 to 07:00 ICT."""
    return now().date()


def load_calendar(
    path: Path | None = None,
    *,
    extra_holidays: Iterable[date] = (),
    swapped_working_days: Iterable[date] = (),
) -> WorkingCalendar:
    """Build the calendar from ``calendar.yaml`` plus days given by settings."""
    data = yaml.safe_load((path or CALENDAR_FILE).read_text(encoding="utf-8")) or {}
    # ``extra_holidays:`` with only commented-out items parses as None, hence ``or []``.
    extra_items = data.get("extra_holidays") or []
    extra = {_as_date(item["date"]): str(item.get("name", "Ngày nghỉ")) for item in extra_items}
    extra.update({d: "Ngày nghỉ bổ sung" for d in extra_holidays})
    swapped = {_as_date(item["date"]) for item in data.get("swapped_working_days") or []}
    swapped.update(swapped_working_days)
    hours = data.get("office_hours") or {}
    office = OfficeHours(
        morning=_span(hours.get("morning", "07:30-11:30")),
        afternoon=_span(hours.get("afternoon", "13:30-17:00")),
    )
    cutoff = time.fromisoformat(str(data.get("same_day_cutoff", "15:00")))
    return WorkingCalendar(extra, swapped, cutoff, office)


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _span(text: str) -> tuple[time, time]:
    start, end = text.split("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())

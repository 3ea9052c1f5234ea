"""Print a libfaketime start time on the first day of Tết (Lunar New Year), for ``make test-dates``.

The day is the next Tết on or after today (the machine's real date), taken from the ``holidays``
library's Vietnamese calendar, so the run never silently moves into the past. The time is
10:00 in Vietnam, printed in this machine's local time zone, which is how libfaketime reads an
absolute ``@YYYY-MM-DD HH:MM:SS``.

    faketime -f "$(python -m tests.tet_day)" pytest …
"""

from __future__ import annotations

import sys
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import holidays

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FIRST_DAY = "Lunar New Year"  # the library's en_US name of mùng 1 Tết (the other days are numbered)


def next_tet(on_or_after: date) -> date:
    for year in (on_or_after.year, on_or_after.year + 1):
        days = holidays.country_holidays("VN", years=year, language="en_US")
        found = [d for d, name in days.items() if name == FIRST_DAY]
        if len(found) != 1 or not (1 <= found[0].month <= 2):
            raise SystemExit(f"no unique '{FIRST_DAY}' in January/February {year} in the holidays library")
        if found[0] >= on_or_after:
            return found[0]
    raise AssertionError("unreachable")


def faketime_spec(day: date, at: time = time(10, 0)) -> str:
    local = datetime.combine(day, at, VN_TZ).astimezone()  # the machine's local zone
    return local.strftime("@%Y-%m-%d %H:%M:%S")


def main() -> int:
    # the real date: run this outside faketime (make test-dates does)
    print(faketime_spec(next_tet(date.today())))
    return 0


if __name__ == "__main__":
    sys.exit(main())

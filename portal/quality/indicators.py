"""Decision 766/QĐ-TTg indicators from counters, and the score of the groups the portal can measure.

Pure: the inputs are the monthly counters (``quality_monthly``) plus the open
cases' counts judged today. Every rate is ``None`` when its denominator is 0.

* base (cases counted) = received − withdrawn (withdrawn or stopped cases);
* late = closed late (clock's ``counted_late``) + open cases late today
  (overdue, or asked to supplement more than once); on time = base − late;
* on-time rate = on time ÷ base; late rate = late ÷ base;
* online rate = received online ÷ received (full score from 50 %);
* online-payment rate = fee-bearing cases paid online ÷ fee-bearing cases;
* digitisation rate = cases with a result whose input files were attached and
  whose result was issued electronically ÷ cases with a result (full score from 80 %);
* complaint rate = counted cases with a complaint or an unsatisfied rating ÷ base;
* satisfaction = 100 % − (late rate + complaint rate), floored at 0 (full score from 90 %);
* average processing time = working days (pauses excluded) ÷ decided cases.

Score (100 points in five groups): transparency (18) is about publishing
procedures and cannot be measured from case data, so it is left out; the other
four are scored as below, and the total is given both as points out of the
measured maximum (82 when every group has data) and scaled to 100.

* progress / results (20) = 20 × on-time rate;
* online provision (22) = 22 × mean of min(online rate ÷ 50 %, 1) and, when
  any case bears a fee, the online-payment rate;
* digitisation (22) = 22 × min(digitisation rate ÷ 80 %, 1);
* satisfaction (18) = 18 × min(satisfaction ÷ 90 %, 1).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from portal.quality.models import MONTHLY_COUNTERS

ONLINE_TARGET = 0.5
DIGITISATION_TARGET = 0.8
SATISFACTION_TARGET = 0.9
GROUP_POINTS = {"transparency": 18, "progress": 20, "online": 22, "digitisation": 22, "satisfaction": 18}
MEASURED_GROUPS = ("progress", "online", "digitisation", "satisfaction")


@dataclass
class Counts:
    received: int = 0
    online: int = 0
    withdrawn: int = 0
    decided: int = 0
    decided_late: int = 0
    processing_days: int = 0
    results: int = 0
    results_digitised: int = 0
    with_attachments: int = 0
    fee_bearing: int = 0
    paid_online: int = 0
    complaint_or_unsatisfied: int = 0
    ratings: int = 0
    rated_very_satisfied: int = 0
    rated_satisfied: int = 0
    rated_unsatisfied: int = 0
    open: int = 0  # still being processed (backlog), judged today
    open_late: int = 0  # ... late by the 766 rule today
    overdue: int = 0  # ... past their due date today

    def add(self, row: dict[str, Any]) -> Counts:
        for f in fields(self):
            if f.name in row and row[f.name] is not None:
                setattr(self, f.name, getattr(self, f.name) + int(row[f.name]))
        return self

    def __add__(self, other: Counts) -> Counts:
        return Counts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


assert set(MONTHLY_COUNTERS) <= {f.name for f in fields(Counts)}


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Score:
    points: dict[str, float | None]  # per group; None when the group has no data

    @property
    def total(self) -> float:
        return sum(p for p in self.points.values() if p is not None)

    @property
    def measured_max(self) -> int:
        return sum(GROUP_POINTS[g] for g, p in self.points.items() if p is not None)

    @property
    def out_of_100(self) -> float | None:
        return self.total / self.measured_max * 100 if self.measured_max else None


@dataclass(frozen=True)
class Indicators:
    counts: Counts = field(default_factory=Counts)

    @property
    def base(self) -> int:
        return self.counts.received - self.counts.withdrawn

    @property
    def late(self) -> int:
        return self.counts.decided_late + self.counts.open_late

    @property
    def on_time(self) -> int:
        return self.base - self.late

    @property
    def on_time_rate(self) -> float | None:
        return _rate(self.on_time, self.base)

    @property
    def late_rate(self) -> float | None:
        return _rate(self.late, self.base)

    @property
    def desk(self) -> int:
        return self.counts.received - self.counts.online

    @property
    def online_rate(self) -> float | None:
        return _rate(self.counts.online, self.counts.received)

    @property
    def online_payment_rate(self) -> float | None:
        return _rate(self.counts.paid_online, self.counts.fee_bearing)

    @property
    def digitisation_rate(self) -> float | None:
        return _rate(self.counts.results_digitised, self.counts.results)

    @property
    def attachment_rate(self) -> float | None:
        return _rate(self.counts.with_attachments, self.counts.received)

    @property
    def complaint_rate(self) -> float | None:
        return _rate(self.counts.complaint_or_unsatisfied, self.base)

    @property
    def satisfaction(self) -> float | None:
        if not self.base:
            return None
        return max(0.0, 1.0 - (self.late_rate or 0.0) - (self.complaint_rate or 0.0))

    @property
    def avg_processing_days(self) -> float | None:
        return _rate(self.counts.processing_days, self.counts.decided)

    @property
    def rated_satisfied_rate(self) -> float | None:
        c = self.counts
        return _rate(c.rated_very_satisfied + c.rated_satisfied, c.ratings)

    @property
    def score(self) -> Score:
        online_parts = [
            p for p in (_capped(self.online_rate, ONLINE_TARGET), self.online_payment_rate) if p is not None
        ]
        points: dict[str, float | None] = {
            "progress": None if self.on_time_rate is None else GROUP_POINTS["progress"] * self.on_time_rate,
            "online": GROUP_POINTS["online"] * sum(online_parts) / len(online_parts)
            if online_parts
            else None,
            "digitisation": _points("digitisation", _capped(self.digitisation_rate, DIGITISATION_TARGET)),
            "satisfaction": _points("satisfaction", _capped(self.satisfaction, SATISFACTION_TARGET)),
        }
        return Score(points)


def _capped(rate: float | None, target: float) -> float | None:
    return None if rate is None else min(rate / target, 1.0)


def _points(group: str, fraction: float | None) -> float | None:
    return None if fraction is None else GROUP_POINTS[group] * fraction


def combine(
    monthly: Iterable[dict[str, Any]],
    open_rows: Iterable[dict[str, Any]],
    key: Callable[[dict[str, Any]], Hashable],
) -> dict[Hashable, Counts]:
    """Counts per ``key(row)`` (e.g. month, agency, procedure, or one total) from both kinds of rows."""
    grouped: dict[Hashable, Counts] = {}
    for row in (*monthly, *open_rows):
        grouped.setdefault(key(row), Counts()).add(row)
    return grouped

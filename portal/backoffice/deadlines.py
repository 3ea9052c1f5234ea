"""A case's deadline from its history, with :class:`workflows.engine.DeadlineClock`.

The clock's pause/resume/stop events are recorded in each transition's
``details["clock"]``. The resulting due date (later moved by an apology
letter's new date) is stored in ``applications.effective_due_date`` on every
transition, so queues can sort and filter by it; lists derive the status from
that stored date with the clock's own rule (:func:`status_for_due`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from portal.models import Application, CaseEvent
from workflows.calendar import VN_TZ, WorkingCalendar
from workflows.definitions import Definition
from workflows.engine import ClockEvent, DeadlineClock, DeadlineStatus

STATUS_LABELS = {
    DeadlineStatus.ON_TIME: "Trong hạn",
    DeadlineStatus.DUE_SOON: "Sắp đến hạn",
    DeadlineStatus.OVERDUE: "Quá hạn",
}


@dataclass(frozen=True)
class CaseDeadline:
    due: date
    status: DeadlineStatus
    paused: bool
    stopped: bool
    remaining_working_days: int
    paused_working_days: int
    supplement_requests: int
    apology_date: date | None
    counted_late: bool  # Decision 766: overdue, or supplement asked for more than once

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]


def clock_events(events: Iterable[CaseEvent], extra: ClockEvent | None = None) -> list[ClockEvent]:
    found = [
        ClockEvent(e.details["clock"], e.at)
        for e in events
        if e.details and e.details.get("clock") in ("pause", "resume", "stop")
    ]
    if extra is not None:
        found.append(extra)
    return found


def apology_date(events: Iterable[CaseEvent], extra: date | None = None) -> date | None:
    dates = [
        date.fromisoformat(e.details["new_date"]) for e in events if e.details and e.details.get("new_date")
    ]
    if extra is not None:
        dates.append(extra)
    return max(dates) if dates else None


def clock_for(
    app: Application, definition: Definition, calendar: WorkingCalendar, events: Iterable[ClockEvent]
) -> DeadlineClock:
    assert app.submitted_at is not None, "only submitted cases have a deadline"
    return DeadlineClock.for_time_limit(definition.time_limit, calendar, app.submitted_at, events)


def status_for_due(calendar: WorkingCalendar, due: date, today: date) -> DeadlineStatus:
    """:meth:`DeadlineClock.status`'s rule applied to a known due date (lists, apology dates)."""
    if today > due:
        return DeadlineStatus.OVERDUE
    if calendar.working_days_between(today, due) <= 1:
        return DeadlineStatus.DUE_SOON
    return DeadlineStatus.ON_TIME


def deadline_of(
    app: Application, definition: Definition, calendar: WorkingCalendar, events: list[CaseEvent], at: datetime
) -> CaseDeadline:
    clock = clock_for(app, definition, calendar, clock_events(events))
    due = clock.due_date(at)
    status = clock.status(at)
    moved = apology_date(events)
    if moved is not None and moved > due:
        due = moved
        moment = min(at, clock.stopped_at() or at)
        status = status_for_due(calendar, due, moment.astimezone(VN_TZ).date())
    today = min(at, clock.stopped_at() or at).astimezone(VN_TZ).date()
    return CaseDeadline(
        due=due,
        status=status,
        paused=clock.is_paused(at),
        stopped=clock.stopped_at() is not None,
        remaining_working_days=calendar.working_days_between(today, due),
        paused_working_days=clock.paused_working_days(at),
        supplement_requests=clock.supplement_requests,
        apology_date=moved,
        counted_late=clock.supplement_requests > 1 or status is DeadlineStatus.OVERDUE,
    )


def effective_due_date(
    app: Application,
    definition: Definition,
    calendar: WorkingCalendar,
    events: list[CaseEvent],
    extra_clock: ClockEvent | None,
    new_date: date | None,
    at: datetime,
) -> date:
    """The due date to store after a transition (clock with the new event, or the apology's date)."""
    due = clock_for(app, definition, calendar, clock_events(events, extra_clock)).due_date(at)
    moved = apology_date(events, new_date)
    return moved if moved is not None and moved > due else due

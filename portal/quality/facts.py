"""A case's quality facts from its history, and what one case adds to its month's counters.

Pure functions (no database): :func:`case_facts` reads the case, its history
(:class:`~portal.models.CaseEvent` rows) and a few yes/no facts looked up
elsewhere; the deadline rules are the engine's :class:`DeadlineClock`
(supplement pauses excluded, more than one supplement request = late).

Rules (Decision 766/QĐ-TTg, as implemented here):

* a case belongs to the month it was received (Vietnam time);
* *decided* = closed with a result or a refusal; *withdrawn* covers any other
  final outcome (withdrawn by the applicant, processing stopped) and leaves
  the on-time and satisfaction denominators;
* *late* = the clock's ``counted_late`` when the case closed (due date with
  supplement pauses excluded, ignoring the new date of an apology letter,
  which is itself an admission of lateness); open cases are judged on the day
  the dashboard is read (see :mod:`portal.quality.indicators`);
* processing time = working days from the effective receipt day to the
  closing day, minus the working days spent waiting for a supplement.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from portal.quality.models import MONTHLY_COUNTERS, RESULT, SATISFACTION_LEVELS, UNSATISFIED
from workflows.calendar import VN_TZ, WorkingCalendar
from workflows.definitions import Definition
from workflows.engine import ClockEvent, DeadlineClock

DECIDED = ("result", "refused")
INVITE_EFFECT = "invite_rating"


@dataclass(frozen=True)
class Lookups:
    """Facts about a case kept by other domains (attachments, signing, payments, ratings, feedback)."""

    has_attachments: bool = False
    e_result: bool = False
    paid_online: bool = False
    rating: str | None = None
    complaint: bool = False


def clock_events(events: Iterable[Any]) -> list[ClockEvent]:
    """The pause/resume/stop marks transitions record in ``details["clock"]``."""
    return [
        ClockEvent(e.details["clock"], e.at)
        for e in events
        if e.details and e.details.get("clock") in ("pause", "resume", "stop")
    ]


def invites_rating(definition: Definition, events: Iterable[Any]) -> bool:
    """True once an action whose workflow effects include ``invite_rating`` was taken."""
    for event in events:
        effects = (event.details or {}).get("effects")
        if effects is None:
            try:
                effects = definition.workflow.action(event.kind).effects
            except KeyError:
                continue
        if INVITE_EFFECT in effects:
            return True
    return False


def month_of(moment: datetime) -> date:
    local = moment.astimezone(VN_TZ)
    return date(local.year, local.month, 1)


def case_facts(
    app: Any,
    events: Sequence[Any],
    definition: Definition,
    calendar: WorkingCalendar,
    lookups: Lookups,
    *,
    now: datetime,
) -> dict[str, Any]:
    """The ``quality_case_facts`` row of a submitted case (``app`` is an Application)."""
    received = app.submitted_at
    clock = DeadlineClock.for_time_limit(definition.time_limit, calendar, received, clock_events(events))
    try:
        state = definition.workflow.state(app.status)
    except KeyError:
        state = None
    final = bool(state is not None and state.final)
    closed_at: datetime | None = None
    outcome: str | None = None
    if final:
        assert state is not None
        outcome = state.outcome or "stopped"
        closing = [e.at for e in events if e.to_state == app.status]
        closed_at = clock.stopped_at() or (closing[-1] if closing else None) or app.closed_at or now
    late: bool | None = None
    processing_days: int | None = None
    paused_since: date | None = None
    if closed_at is not None:
        due = clock.due_date(closed_at)
        if outcome in DECIDED:
            late = clock.counted_late(closed_at)
            elapsed = calendar.working_days_between(
                calendar.effective_receipt_day(received), closed_at.astimezone(VN_TZ).date()
            )
            processing_days = max(elapsed - clock.paused_working_days(closed_at), 0)
    elif clock.is_paused(now):
        # an open pause: the clock keeps the status it had when the pause began
        start = max(e.at for e in clock_events(events) if e.kind == "pause")
        paused_since = start.astimezone(VN_TZ).date()
        due = clock.due_date(start)
    else:
        due = clock.due_date(now)
    rating = lookups.rating if lookups.rating in SATISFACTION_LEVELS else None
    return {
        "application_id": app.id,
        "agency_id": app.agency_id or "",
        "procedure_code": app.procedure_code,
        "month": month_of(received),
        "received_at": received,
        "channel": app.channel or "online",
        "due_date": due,
        "paused_since": paused_since,
        "supplement_requests": clock.supplement_requests,
        "closed_at": closed_at,
        "outcome": outcome,
        "late": late,
        "processing_days": processing_days,
        "fee_bearing": (app.fee_amount or 0) > 0,
        "paid_online": bool(lookups.paid_online and (app.fee_amount or 0) > 0),
        "has_attachments": lookups.has_attachments,
        "e_result": lookups.e_result,
        "rating": rating,
        "complaint": lookups.complaint,
    }


def bucket(facts: dict[str, Any]) -> tuple[str, str, date]:
    return facts["agency_id"], facts["procedure_code"], facts["month"]


def contribution(facts: dict[str, Any] | None) -> dict[str, int]:
    """What one case adds to each counter of its month (all zero for no case)."""
    if facts is None:
        return dict.fromkeys(MONTHLY_COUNTERS, 0)
    outcome = facts.get("outcome")
    decided = outcome in DECIDED
    withdrawn = outcome is not None and not decided
    rating = facts.get("rating")
    fee = bool(facts.get("fee_bearing"))
    result = outcome == RESULT
    values = {
        "received": 1,
        "online": facts.get("channel") == "online",
        "withdrawn": withdrawn,
        "decided": decided,
        "decided_late": decided and bool(facts.get("late")),
        "processing_days": (facts.get("processing_days") or 0) if decided else 0,
        "results": result,
        "results_digitised": result and bool(facts.get("has_attachments")) and bool(facts.get("e_result")),
        "with_attachments": bool(facts.get("has_attachments")),
        "fee_bearing": fee,
        "paid_online": fee and bool(facts.get("paid_online")),
        "complaint_or_unsatisfied": not withdrawn and (bool(facts.get("complaint")) or rating == UNSATISFIED),
        "ratings": rating is not None,
        "rated_very_satisfied": rating == "rat_hai_long",
        "rated_satisfied": rating == "hai_long",
        "rated_unsatisfied": rating == UNSATISFIED,
    }
    return {k: int(v) for k, v in values.items()}


def deltas(
    old: dict[str, Any] | None, new: dict[str, Any] | None
) -> list[tuple[tuple[str, str, date], dict[str, int]]]:
    """Counter changes per month bucket when a case's facts go from ``old`` to ``new``."""
    changes: dict[tuple[str, str, date], dict[str, int]] = {}
    for facts, sign in ((old, -1), (new, 1)):
        if facts is None:
            continue
        key = bucket(facts)
        acc = changes.setdefault(key, dict.fromkeys(MONTHLY_COUNTERS, 0))
        for name, value in contribution(facts).items():
            acc[name] += sign * value
    return sorted(((k, v) for k, v in changes.items() if any(v.values())), key=lambda kv: kv[0])

"""Deadline alerts: flag cases due within one working day or overdue, e-mail the specialist and the head.

Runs from the worker (``portal/worker.py`` JOBS, hourly); one alert per case per
day (a ``deadline_alerts`` row, shown as a flag in the queues; the e-mails carry
a dedupe key per case, recipient and day), so running it again changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from portal.backoffice.deadlines import deadline_of
from portal.backoffice.effects import DefaultEffects, Effects
from portal.backoffice.queues import WorkflowIndex
from portal.backoffice.repository import AlertRepository, CaseRepository, QueueRepository
from portal.models import Application, CaseEvent
from portal.services import Services
from portal.staff.models import StaffMember
from portal.staff.repository import StaffRepository
from workflows.calendar import VN_TZ, WorkingCalendar
from workflows.calendar import now as vn_now
from workflows.definitions import Registry
from workflows.engine import DeadlineStatus

log = logging.getLogger("portal.backoffice.jobs")


@dataclass(frozen=True)
class Flagged:
    case_code: str
    level: str
    recipients: tuple[str, ...]


def _recipients(session: Session, app: Application, events: list[CaseEvent]) -> list[StaffMember]:
    """The case's holder, the specialist who last worked on it, and every head of the agency."""
    staff = StaffRepository(session)
    people: dict[int, StaffMember] = {}
    ids = [app.assignee_id] if app.assignee_id else []
    for e in reversed(events):
        if (
            e.actor_kind == "staff"
            and (e.details or {}).get("role") == "chuyen_vien"
            and (e.actor_id or "").isdigit()
        ):
            ids.append(int(e.actor_id or 0))
            break
        if (e.details or {}).get("assignee_id"):
            ids.append(int(e.details["assignee_id"]))
    for staff_id in ids:
        member = staff.get(staff_id)
        if member is not None and member.active:
            people[member.id] = member
    for head in staff.with_role(app.agency_id or "", "lanh_dao"):
        people[head.id] = head
    return list(people.values())


def flag_deadlines(
    session: Session,
    registry: Registry,
    calendar: WorkingCalendar,
    effects: Effects,
    base_url: str,
    *,
    at: datetime | None = None,
) -> list[Flagged]:
    moment = at or vn_now()
    today = moment.astimezone(VN_TZ).date()
    index = WorkflowIndex(registry)
    queues, cases, alerts = QueueRepository(session), CaseRepository(session), AlertRepository(session)
    flagged: list[Flagged] = []
    after = ""
    while True:
        batch = queues.due_by(calendar.next_working_day(today), sorted(index.paused), after_id=after)
        if not batch:
            break
        after = batch[-1].id
        for app in batch:
            definition = registry.get(app.procedure_code, app.definition_version)
            events = cases.events(app.id)
            deadline = deadline_of(app, definition, calendar, events, moment)  # the clock has the last word
            if deadline.paused or deadline.status is DeadlineStatus.ON_TIME:
                continue
            people = _recipients(session, app, events)
            if not alerts.record(app.id, today, deadline.status.value, len(people), moment):
                continue  # already flagged today
            for person in people:
                if not person.email:
                    continue
                effects.enqueue_email(
                    session,
                    to=person.email,
                    template="deadline_alert",
                    context={
                        "case_code": app.case_code,
                        "procedure_name": definition.name.vi,
                        "applicant_name": app.applicant_name,
                        "status": deadline.label,
                        "due_date": deadline.due,
                        "comment": f"{deadline.label}: hạn trả kết quả {deadline.due:%d/%m/%Y}.",
                        "link": f"{base_url.rstrip('/')}/can-bo/ho-so/{app.id}",
                        "level": deadline.status.value,
                        "staff_name": person.full_name,
                    },
                    case_id=app.id,
                    dedupe_key=f"deadline:{app.id}:{today.isoformat()}:{person.id}",
                )
            flagged.append(
                Flagged(app.case_code or app.id, deadline.status.value, tuple(p.login for p in people))
            )
    return flagged


def run_deadline_alerts(services: Services) -> None:
    """``portal worker`` job: flag the cases near or past their deadline, in one transaction."""
    settings = services.settings
    effects = DefaultEffects(settings, services.catalogue, services.mailer)
    with services.db.sessions() as session:
        flagged = flag_deadlines(
            session, services.registry, services.calendar, effects, str(settings.base_url)
        )
        session.commit()
    log.info("deadline alerts: %d case(s) flagged", len(flagged))

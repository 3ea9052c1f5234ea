"""All SQL of the back office: queues (keyset pages), optimistic case updates, audit log."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.backoffice.models import CaseAccessLog, DeadlineAlert
from portal.cases.events import record_event
from portal.db import utcnow
from portal.models import Application, CaseEvent

# -- queues -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Position after the last row of a page: the (effective_due_date, id) sort key."""

    due: date
    id: str

    def encode(self) -> str:
        raw = f"{self.due.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str | None) -> Cursor | None:
        if not token:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            day, _, case_id = raw.partition("|")
            if not case_id or len(case_id) > 36:
                return None
            return cls(date.fromisoformat(day), case_id)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None


@dataclass(frozen=True)
class QueueFilter:
    agency_id: str
    open_only: bool = True
    assignee_id: int | None = None
    unassigned: bool = False
    statuses: tuple[str, ...] = ()  # empty: any
    exclude_statuses: tuple[str, ...] = ()
    procedure_code: str | None = None
    due_from: date | None = None  # inclusive bounds on effective_due_date
    due_to: date | None = None
    case_code: str | None = None
    cccd: str | None = None
    name_folded: str | None = None  # substring of the accent-free applicant name


QUEUE_COLUMNS = (
    Application.id,
    Application.case_code,
    Application.procedure_code,
    Application.definition_version,
    Application.status,
    Application.applicant_name,
    Application.applicant_cccd,
    Application.submitted_at,
    Application.effective_due_date,
    Application.assignee_id,
    Application.closed_at,
    Application.lock_version,
)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class QueueRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _conditions(self, f: QueueFilter) -> list[ColumnElement[bool]]:
        c = Application
        where: list[ColumnElement[bool]] = [c.agency_id == f.agency_id, c.effective_due_date.is_not(None)]
        if f.open_only:
            where.append(c.closed_at.is_(None))  # with the line above: the partial indexes' predicate
        if f.unassigned:
            where.append(c.assignee_id.is_(None))
        elif f.assignee_id is not None:
            where.append(c.assignee_id == f.assignee_id)
        if len(f.statuses) == 1:
            where.append(c.status == f.statuses[0])
        elif f.statuses:
            where.append(c.status.in_(f.statuses))
        if f.exclude_statuses:
            where.append(c.status.not_in(f.exclude_statuses))
        if f.procedure_code:
            where.append(c.procedure_code == f.procedure_code)
        if f.due_from is not None:
            where.append(c.effective_due_date >= f.due_from)
        if f.due_to is not None:
            where.append(c.effective_due_date <= f.due_to)
        if f.case_code:
            where.append(c.case_code == f.case_code)
        if f.cccd:
            where.append(c.applicant_cccd == f.cccd)
        if f.name_folded:
            where.append(c.applicant_name_folded.like(f"%{_escape_like(f.name_folded)}%", escape="\\"))
        return where

    def page(self, f: QueueFilter, *, after: Cursor | None = None, limit: int = 25) -> list[Any]:
        """``limit + 1`` rows at most (the extra one says there is a next page), deadline first."""
        where = self._conditions(f)
        if after is not None:
            where.append(tuple_(Application.effective_due_date, Application.id) > tuple_(after.due, after.id))
        # keys first (an index-only scan that also filters on the index's INCLUDE columns), then the rows
        keys = (
            select(Application.id)
            .where(and_(*where))
            .order_by(Application.effective_due_date, Application.id)
            .limit(limit + 1)
            .subquery()
        )
        stmt = (
            select(*QUEUE_COLUMNS)
            .join(keys, keys.c.id == Application.id)
            .order_by(Application.effective_due_date, Application.id)
        )
        return list(self.session.execute(stmt))

    def count(self, f: QueueFilter) -> int:
        return int(
            self.session.scalar(select(func.count()).select_from(Application).where(*self._conditions(f)))
            or 0
        )

    def open_counts(
        self,
        agency_id: str,
        *,
        staff_id: int,
        owned: Sequence[str],
        paused: Sequence[str],
        overdue_before: date,
        soon_until: date,
    ) -> list[Any]:
        """Every sidebar count in one pass over the agency's open cases (an index-only scan on PostgreSQL).

        One row per (status, procedure) with: all, mine, unassigned-and-mine-to-take, overdue, due soon.
        """
        c = Application
        running = c.status.not_in(paused) if paused else c.status.is_not(None)
        stmt = (
            select(
                c.status,
                c.procedure_code,
                func.count().label("n"),
                func.count().filter(c.assignee_id == staff_id).label("mine"),
                func.count()
                .filter(c.assignee_id.is_(None), c.status.in_(owned or ("",)))
                .label("unassigned"),
                func.count().filter(c.effective_due_date < overdue_before, running).label("overdue"),
                func.count()
                .filter(c.effective_due_date >= overdue_before, c.effective_due_date <= soon_until, running)
                .label("due_soon"),
            )
            .where(*self._conditions(QueueFilter(agency_id)))
            .group_by(c.status, c.procedure_code)
        )
        return list(self.session.execute(stmt))

    def alerts_on(self, day: date, ids: Sequence[str]) -> dict[str, str]:
        if not ids:
            return {}
        stmt = select(DeadlineAlert.application_id, DeadlineAlert.level).where(
            DeadlineAlert.day == day, DeadlineAlert.application_id.in_(ids)
        )
        return {row.application_id: row.level for row in self.session.execute(stmt)}

    def due_by(
        self, last_day: date, exclude_statuses: Sequence[str], *, after_id: str = "", limit: int = 500
    ) -> list[Application]:
        """Open cases due on or before ``last_day`` (all agencies), for the deadline job, by id pages."""
        stmt = (
            select(Application)
            .where(
                Application.closed_at.is_(None),
                Application.effective_due_date.is_not(None),
                Application.effective_due_date <= last_day,
                Application.status.not_in(exclude_statuses),
                Application.id > after_id,
            )
            .order_by(Application.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))


# -- cases: optimistic updates, history --------------------------------------------------------


class CaseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, application_id: str) -> Application | None:
        return self.session.get(Application, application_id)

    def events(self, application_id: str) -> list[CaseEvent]:
        stmt = select(CaseEvent).where(CaseEvent.application_id == application_id).order_by(CaseEvent.id)
        return list(self.session.scalars(stmt))

    def apply(self, application_id: str, expected_version: int, values: dict[str, Any]) -> bool:
        """UPDATE … SET lock_version = lock_version + 1 WHERE id = … AND lock_version = expected.

        False when another transaction changed the case first (nothing is written then). On
        PostgreSQL a concurrent writer waits for the row lock, then sees the new version and
        matches no row, so of two simultaneous actions exactly one succeeds.
        """
        stmt = (
            update(Application)
            .where(Application.id == application_id, Application.lock_version == expected_version)
            .values(**values, lock_version=Application.lock_version + 1, updated_at=utcnow())
            .returning(Application.lock_version)
            .execution_options(synchronize_session=False)
        )
        if self.session.execute(stmt).first() is None:
            return False
        app = self.session.get(Application, application_id)
        if app is not None:
            self.session.refresh(app)
        return True

    def add_event(self, event: CaseEvent) -> CaseEvent:
        record_event(self.session, event)
        self.session.flush()
        return event


# -- audit log, alerts ------------------------------------------------------------------------------


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def log(self, entry: CaseAccessLog) -> None:
        self.session.execute(
            insert(CaseAccessLog).values(
                at=entry.at or utcnow(),
                staff_id=entry.staff_id,
                staff_login=entry.staff_login,
                application_id=entry.application_id,
                case_code=entry.case_code,
                what=entry.what,
                client_ip=entry.client_ip,
            )
        )

    def page(
        self,
        *,
        before_id: int | None = None,
        case_code: str | None = None,
        staff_login: str | None = None,
        limit: int = 50,
    ) -> list[CaseAccessLog]:
        stmt = select(CaseAccessLog).order_by(CaseAccessLog.id.desc()).limit(limit + 1)
        if before_id is not None:
            stmt = stmt.where(CaseAccessLog.id < before_id)
        if case_code:
            stmt = stmt.where(CaseAccessLog.case_code == case_code)
        if staff_login:
            stmt = stmt.where(CaseAccessLog.staff_login == staff_login)
        return list(self.session.scalars(stmt))

    def for_case(self, application_id: str) -> list[CaseAccessLog]:
        stmt = (
            select(CaseAccessLog)
            .where(CaseAccessLog.application_id == application_id)
            .order_by(CaseAccessLog.id)
        )
        return list(self.session.scalars(stmt))


class AlertRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, application_id: str, day: date, level: str, recipients: int, at: datetime) -> bool:
        """Insert the day's alert for a case; False if it was already flagged that day."""
        dialect = self.session.get_bind().dialect.name
        ins = postgresql.insert if dialect == "postgresql" else sqlite.insert
        row = ins(DeadlineAlert).values(
            application_id=application_id, day=day, level=level, recipients=recipients, created_at=at
        )
        stmt = row.on_conflict_do_nothing(
            index_elements=[DeadlineAlert.application_id, DeadlineAlert.day]
        ).returning(DeadlineAlert.id)
        # RETURNING, not rowcount: through the ORM, PostgreSQL reported 1 for a skipped row
        return self.session.execute(stmt).first() is not None


__all__ = [
    "AlertRepository",
    "AuditRepository",
    "CaseRepository",
    "Cursor",
    "QueueFilter",
    "QueueRepository",
]

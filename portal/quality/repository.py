"""All SQL of the quality domain: case facts and monthly roll-ups, ratings, feedback, lookups.

Other domains' tables (signed results) are read by name through the shared
metadata, imported lazily: the quality pages work whether or not those domains
are installed.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, and_, case, delete, exists, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.cases.events import record_event
from portal.db import Base, utcnow
from portal.models import Application, Attachment, CaseEvent
from portal.quality.models import (
    FB_REFUSED,
    MONTHLY_COUNTERS,
    CaseFacts,
    Feedback,
    FeedbackEvent,
    MonthlyQuality,
    Rating,
)

FACT_COLUMNS = tuple(c.name for c in CaseFacts.__table__.columns if c.name != "updated_at")


def _table(module: str, name: str) -> Table | None:
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module.startswith(exc.name):
            raise
        return None
    return Base.metadata.tables.get(name)


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


@dataclass(frozen=True)
class Filters:
    """Which cases a dashboard reads: months [start, end] and optionally one agency / procedure."""

    start: date
    end: date
    agency_id: str | None = None
    procedure_code: str | None = None


class QualityRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def is_postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    # -- the case and what other domains know about it ---------------------------------------

    def application(self, application_id: str) -> Application | None:
        return self.session.get(Application, application_id)

    def application_as_stored(self, application_id: str) -> Application | None:
        """The case as the database has it now (another domain may have updated it with Core SQL)."""
        return self.session.get(Application, application_id, populate_existing=True)

    def application_by_code(self, case_code: str) -> Application | None:
        return self.session.scalars(select(Application).where(Application.case_code == case_code)).first()

    def events(self, application_id: str) -> list[CaseEvent]:
        stmt = select(CaseEvent).where(CaseEvent.application_id == application_id).order_by(CaseEvent.id)
        return list(self.session.scalars(stmt))

    def add_case_event(self, event: CaseEvent) -> None:
        record_event(self.session, event)

    def has_attachments(self, application_id: str) -> bool:
        stmt = select(
            exists().where(Attachment.application_id == application_id, Attachment.removed_at.is_(None))
        )
        return bool(self.session.scalar(stmt))

    def has_e_result(self, application_id: str) -> bool:
        table = _table("portal.signing.models", "result_documents")
        if table is None:
            return False
        stmt = select(exists().where(table.c.application_id == application_id, table.c.revoked_at.is_(None)))
        return bool(self.session.scalar(stmt))

    def rating_level(self, application_id: str) -> str | None:
        return self.session.scalar(select(Rating.overall).where(Rating.application_id == application_id))

    def has_complaint(self, application_id: str) -> bool:
        stmt = select(
            exists().where(Feedback.application_id == application_id, Feedback.status != FB_REFUSED)
        )
        return bool(self.session.scalar(stmt))

    # -- facts and roll-ups ------------------------------------------------------------------------

    def lock_facts(self, application_id: str) -> dict[str, Any] | None:
        """The case's facts row, locked until the transaction ends (so two refreshes never race)."""
        stmt = select(*[CaseFacts.__table__.c[n] for n in FACT_COLUMNS]).where(
            CaseFacts.application_id == application_id
        )
        if self.is_postgres:
            stmt = stmt.with_for_update()
        row = self.session.execute(stmt).mappings().first()
        return dict(row) if row is not None else None

    def facts(self, application_id: str) -> CaseFacts | None:
        return self.session.get(CaseFacts, application_id)

    def save_facts(self, values: dict[str, Any]) -> None:
        row = {**values, "updated_at": utcnow()}
        stmt = _insert(self.session)(CaseFacts).values(**row)
        stmt = stmt.on_conflict_do_update(
            index_elements=[CaseFacts.application_id],
            set_={k: stmt.excluded[k] for k in row if k != "application_id"},
        )
        self.session.execute(stmt)

    def mark_invited(self, application_id: str, at: datetime) -> None:
        self.session.execute(
            update(CaseFacts).where(CaseFacts.application_id == application_id).values(invited_at=at)
        )

    def add_to_month(self, key: tuple[str, str, date], delta: dict[str, int]) -> None:
        agency_id, procedure_code, month = key
        stmt = _insert(self.session)(MonthlyQuality).values(
            agency_id=agency_id, procedure_code=procedure_code, month=month, **delta
        )
        table = MonthlyQuality.__table__
        stmt = stmt.on_conflict_do_update(
            index_elements=[MonthlyQuality.agency_id, MonthlyQuality.procedure_code, MonthlyQuality.month],
            set_={k: table.c[k] + stmt.excluded[k] for k in delta},
        )
        self.session.execute(stmt)

    def rebuild_months(self) -> int:
        """Recompute every monthly roll-up from the facts (repair; bulk loads). Returns rows written."""
        self.session.execute(delete(MonthlyQuality))
        f = CaseFacts.__table__.c
        decided = f.outcome.in_(("result", "refused"))
        withdrawn = and_(f.outcome.is_not(None), f.outcome.not_in(("result", "refused")))

        def count(condition: Any) -> Any:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        columns = {
            "received": func.count(),
            "online": count(f.channel == "online"),
            "withdrawn": count(withdrawn),
            "decided": count(decided),
            "decided_late": count(and_(decided, f.late.is_(True))),
            "processing_days": func.coalesce(func.sum(case((decided, f.processing_days), else_=0)), 0),
            "results": count(f.outcome == "result"),
            "results_digitised": count(
                and_(f.outcome == "result", f.has_attachments.is_(True), f.e_result.is_(True))
            ),
            "with_attachments": count(f.has_attachments.is_(True)),
            "fee_bearing": count(f.fee_bearing.is_(True)),
            "paid_online": count(and_(f.fee_bearing.is_(True), f.paid_online.is_(True))),
            "complaint_or_unsatisfied": count(
                and_(
                    or_(f.outcome.is_(None), decided),
                    or_(f.complaint.is_(True), f.rating == "khong_hai_long"),
                )
            ),
            "ratings": count(f.rating.is_not(None)),
            "rated_very_satisfied": count(f.rating == "rat_hai_long"),
            "rated_satisfied": count(f.rating == "hai_long"),
            "rated_unsatisfied": count(f.rating == "khong_hai_long"),
        }
        assert set(columns) == set(MONTHLY_COUNTERS)
        source = select(
            f.agency_id, f.procedure_code, f.month, *[columns[n].label(n) for n in MONTHLY_COUNTERS]
        ).group_by(f.agency_id, f.procedure_code, f.month)
        self.session.execute(
            insert(MonthlyQuality).from_select(
                ["agency_id", "procedure_code", "month", *MONTHLY_COUNTERS], source
            )
        )
        return int(self.session.scalar(select(func.count()).select_from(MonthlyQuality)) or 0)

    def submitted_case_ids(self, *, after: str = "", limit: int = 1000) -> list[str]:
        stmt = (
            select(Application.id)
            .where(
                Application.status != "draft", Application.submitted_at.is_not(None), Application.id > after
            )
            .order_by(Application.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    # -- dashboard reads ---------------------------------------------------------------------------

    def monthly(self, filters: Filters) -> list[dict[str, Any]]:
        m = MonthlyQuality.__table__.c
        stmt = select(*m).where(m.month >= filters.start, m.month <= filters.end)
        if filters.agency_id:
            stmt = stmt.where(m.agency_id == filters.agency_id)
        if filters.procedure_code:
            stmt = stmt.where(m.procedure_code == filters.procedure_code)
        return [dict(r) for r in self.session.execute(stmt).mappings()]

    def open_cases(self, filters: Filters, today: date) -> list[dict[str, Any]]:
        """Open cases per bucket: how many, how many late by the 766 rule today, how many overdue."""
        f = CaseFacts.__table__.c
        overdue = or_(
            and_(f.paused_since.is_(None), f.due_date < today),
            and_(f.paused_since.is_not(None), f.paused_since > f.due_date),
        )
        late = or_(f.supplement_requests > 1, overdue)
        stmt = (
            select(
                f.agency_id,
                f.procedure_code,
                f.month,
                func.count().label("open"),
                func.sum(case((late, 1), else_=0)).label("open_late"),
                func.sum(case((overdue, 1), else_=0)).label("overdue"),
            )
            .where(f.closed_at.is_(None), f.month >= filters.start, f.month <= filters.end)
            .group_by(f.agency_id, f.procedure_code, f.month)
        )
        if filters.agency_id:
            stmt = stmt.where(f.agency_id == filters.agency_id)
        if filters.procedure_code:
            stmt = stmt.where(f.procedure_code == filters.procedure_code)
        return [dict(r) for r in self.session.execute(stmt).mappings()]

    def known_agencies(self) -> list[str]:
        return list(self.session.scalars(select(MonthlyQuality.agency_id).distinct()))

    # -- ratings -------------------------------------------------------------------------------------

    def rating(self, application_id: str) -> Rating | None:
        return self.session.scalars(select(Rating).where(Rating.application_id == application_id)).first()

    def add_rating(self, rating: Rating) -> Rating | None:
        """Insert the case's rating; None when another one was inserted first (one rating per case)."""
        try:
            with self.session.begin_nested():
                self.session.add(rating)
                self.session.flush()
        except IntegrityError:
            return None
        return rating

    def ratings_for_agency(
        self, agency_id: str, *, limit: int = 50, before_id: int | None = None
    ) -> list[Any]:
        """The agency's cases' ratings, newest first, with case code and procedure (no personal data)."""
        stmt = (
            select(Rating, Application.case_code, Application.procedure_code, Application.definition_version)
            .join(Application, Application.id == Rating.application_id)
            .where(Rating.agency_id == agency_id)
            .order_by(Rating.id.desc())
            .limit(limit)
        )
        if before_id is not None:
            stmt = stmt.where(Rating.id < before_id)
        return list(self.session.execute(stmt))

    # -- feedback ----------------------------------------------------------------------------------------

    def feedback(self, feedback_id: int) -> Feedback | None:
        return self.session.get(Feedback, feedback_id)

    def feedback_by_code(self, code: str) -> Feedback | None:
        return self.session.scalars(select(Feedback).where(Feedback.code == code)).first()

    def code_taken(self, code: str) -> bool:
        return bool(self.session.scalar(select(exists().where(Feedback.code == code))))

    def add_feedback(self, feedback: Feedback) -> Feedback:
        self.session.add(feedback)
        self.session.flush()
        return feedback

    def add_feedback_event(self, event: FeedbackEvent) -> None:
        self.session.add(event)

    def feedback_events(self, feedback_id: int) -> list[FeedbackEvent]:
        stmt = (
            select(FeedbackEvent).where(FeedbackEvent.feedback_id == feedback_id).order_by(FeedbackEvent.id)
        )
        return list(self.session.scalars(stmt))

    def feedback_queue(self, agency_id: str, statuses: Sequence[str], *, limit: int = 100) -> list[Any]:
        stmt = (
            select(Feedback, Application.case_code)
            .outerjoin(Application, Application.id == Feedback.application_id)
            .where(Feedback.agency_id == agency_id, Feedback.status.in_(statuses))
            .order_by(Feedback.resolve_due, Feedback.id)
            .limit(limit)
        )
        return list(self.session.execute(stmt))

    def feedback_counts(self, agency_id: str) -> dict[str, int]:
        stmt = (
            select(Feedback.status, func.count())
            .where(Feedback.agency_id == agency_id)
            .group_by(Feedback.status)
        )
        return {status: int(n) for status, n in self.session.execute(stmt)}

    def feedback_overdue(self, agency_id: str, open_statuses: Iterable[str], today: date) -> int:
        stmt = select(func.count()).where(
            Feedback.agency_id == agency_id,
            Feedback.status.in_(list(open_statuses)),
            Feedback.resolve_due < today,
        )
        return int(self.session.scalar(stmt) or 0)


__all__ = ["Filters", "QualityRepository"]

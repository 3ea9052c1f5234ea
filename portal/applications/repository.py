"""All SQL about applications, attachments, history and case-code sequences."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from portal.cases.events import record_event
from portal.models import Application, Attachment, CaseEvent, CaseSequence


class ApplicationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, application_id: str) -> Application | None:
        return self.session.get(Application, application_id)

    def get_for_update(self, application_id: str) -> Application | None:
        stmt = select(Application).where(Application.id == application_id)
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def lock(self, app: Application) -> None:
        """Re-read ``app`` under a row lock (PostgreSQL; SQLite's write lock is taken at BEGIN):
        a second request for the same row waits here and then sees what the first one committed."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.refresh(app, with_for_update=True)

    def by_case_code(self, case_code: str) -> Application | None:
        stmt = (
            select(Application)
            .where(Application.case_code == case_code)
            .options(selectinload(Application.events))
        )
        return self.session.scalars(stmt).first()

    def tracking_row(self, case_code: str) -> tuple[str, str, int] | None:
        """(id, applicant's phone, change_version) of the case with this code: one round trip, no
        ORM object — all the tracking page needs to check the phone and find its rendering."""
        cases = Application.__table__.c
        stmt = select(cases.id, cases.applicant_phone, cases.change_version).where(
            cases.case_code == case_code
        )
        if self.session.in_transaction():  # e.g. the lookup was counted in the database
            row = self.session.execute(stmt).first()
        else:
            # The request's first statement and a read on its own: in autocommit, so no BEGIN and no
            # COMMIT round trip (a later write in this session would commit at once: there is none).
            conn = self.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            row = conn.execute(stmt).first()
        return None if row is None else (row[0], row[1] or "", int(row[2] or 0))

    def by_idempotency_key(self, key: str) -> Application | None:
        return self.session.scalars(select(Application).where(Application.idempotency_key == key)).first()

    def for_citizen(self, citizen_id: int, limit: int = 100) -> list[Application]:
        stmt = (
            select(Application)
            .where(Application.citizen_id == citizen_id)
            .order_by(Application.created_at.desc())
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def add(self, application: Application) -> Application:
        self.session.add(application)
        self.session.flush()
        return application

    def add_event(self, event: CaseEvent) -> CaseEvent:
        return record_event(self.session, event)

    def events(self, application_id: str) -> list[CaseEvent]:
        stmt = select(CaseEvent).where(CaseEvent.application_id == application_id).order_by(CaseEvent.id)
        return list(self.session.scalars(stmt))

    def add_attachment(self, attachment: Attachment) -> Attachment:
        self.session.add(attachment)
        self.session.flush()
        return attachment

    def attachments(self, application_id: str) -> list[Attachment]:
        stmt = (
            select(Attachment)
            .where(Attachment.application_id == application_id, Attachment.removed_at.is_(None))
            .order_by(Attachment.created_at, Attachment.id)
        )
        return list(self.session.scalars(stmt))

    def attachment(self, application_id: str, attachment_id: str) -> Attachment | None:
        stmt = select(Attachment).where(
            Attachment.id == attachment_id,
            Attachment.application_id == application_id,
            Attachment.removed_at.is_(None),
        )
        return self.session.scalars(stmt).first()

    def next_case_number(self, agency_id: str, day: date) -> int:
        """Atomically take the next number of the agency's daily sequence.

        The upsert takes a row lock held until the transaction ends, so two
        concurrent submissions never share a number, and a rolled-back
        submission gives its number back (no gaps).
        """
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        row = insert(CaseSequence).values(agency_id=agency_id, day=day, last_value=1)
        stmt = row.on_conflict_do_update(
            index_elements=[CaseSequence.agency_id, CaseSequence.day],
            set_={"last_value": CaseSequence.last_value + 1},
        ).returning(CaseSequence.last_value)
        return int(self.session.execute(stmt).scalar_one())

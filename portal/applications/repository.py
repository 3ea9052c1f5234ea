"""All SQL about applications, attachments, history and case-code sequences."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from portal.cases.events import record_event
from portal.models import Application, Attachment, CaseEvent, CaseSequence, Citizen

_LOCKED = "applications_locked"  # session.info key: (transaction, ids of the applications it locked)


class ApplicationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        # documents with files, read with the application under its lock; used once (see below)
        self._documents: dict[str, set[str]] = {}

    def _postgresql(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def citizen(self, citizen_id: int) -> Citizen | None:
        return self.session.get(Citizen, citizen_id)

    def _locked(self) -> set[str]:
        """Ids of the applications the current transaction holds a row lock on."""
        transaction = self.session.get_transaction()
        held = self.session.info.get(_LOCKED)
        if held is None or held[0] is not transaction:
            held = self.session.info[_LOCKED] = (transaction, set())
        return held[1]

    def get(self, application_id: str, *, for_update: bool = False) -> Application | None:
        """The application; ``for_update``: read under a row lock (PostgreSQL; SQLite's write lock is
        taken at BEGIN) for a request that is about to change it, in the same one SELECT as the
        documents it has files for (what a submission checks next: ``attached_document_keys``)."""
        if not for_update:
            return self.session.get(Application, application_id)
        postgresql = self._postgresql()
        keys = (
            select(
                func.string_agg(Attachment.document_key, ",")
                if postgresql
                else func.group_concat(Attachment.document_key, ",")
            )
            .where(Attachment.application_id == Application.id, Attachment.removed_at.is_(None))
            .scalar_subquery()
        )
        stmt = (
            select(Application, keys)
            .where(Application.id == application_id)
            .execution_options(populate_existing=True)
        )
        if postgresql:
            stmt = stmt.with_for_update(of=Application)
        row = self.session.execute(stmt).first()
        if row is None:
            return None
        app, documents = row
        self._locked().add(app.id)
        self._documents[app.id] = set(documents.split(",")) if documents else set()
        return app  # type: ignore[no-any-return]

    def lock(self, app: Application) -> None:
        """Re-read ``app`` under a row lock (PostgreSQL; SQLite's write lock is taken at BEGIN):
        a second request for the same row waits here and then sees what the first one committed.
        Nothing to do when this transaction read it under the lock already (``get(for_update=True)``)."""
        if not self._postgresql() or app.id in self._locked():
            return
        self.session.refresh(app, with_for_update=True)
        self._locked().add(app.id)

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
        """Added to the unit of work; written with the rest of it at the next flush (one INSERT with
        everything the request set on it, not an INSERT then an UPDATE)."""
        self.session.add(application)
        return application

    def add_event(self, event: CaseEvent, *, bump: bool = True) -> CaseEvent:
        return record_event(self.session, event, bump=bump)

    def events(self, application_id: str) -> list[CaseEvent]:
        stmt = select(CaseEvent).where(CaseEvent.application_id == application_id).order_by(CaseEvent.id)
        return list(self.session.scalars(stmt))

    def add_attachment(self, attachment: Attachment) -> Attachment:
        """Added to the unit of work: a form's files are written by one INSERT at the next flush."""
        self.session.add(attachment)
        return attachment

    def is_new(self, application: Application) -> bool:
        """Created in this unit of work and not written yet: it has no rows of its own in the database."""
        return application in self.session.new

    def attachments(self, application_id: str) -> list[Attachment]:
        stmt = (
            select(Attachment)
            .where(Attachment.application_id == application_id, Attachment.removed_at.is_(None))
            .order_by(Attachment.created_at, Attachment.id)
        )
        return list(self.session.scalars(stmt))

    def attached_document_keys(self, application_id: str) -> set[str]:
        """The documents the application has a file for (the keys only: no attachment is loaded).
        Right after ``get(for_update=True)`` they come from that same SELECT (once: a later call reads
        them again, in case files were added or removed since)."""
        known = self._documents.pop(application_id, None)
        if known is not None:
            return known
        stmt = select(Attachment.document_key).where(
            Attachment.application_id == application_id, Attachment.removed_at.is_(None)
        )
        return set(self.session.scalars(stmt))

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

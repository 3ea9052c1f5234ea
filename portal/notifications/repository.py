"""All SQL of the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.notifications.models import FAILED, PENDING, SENDING, SENT, DevSms, OutboxEmail


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def insert(self, values: dict[str, Any]) -> None:
        """Insert unless a row with the same dedupe_key exists (then nothing happens)."""
        dialect = self.session.get_bind().dialect.name
        if dialect in ("postgresql", "sqlite"):
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            stmt = insert(OutboxEmail).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
            self.session.execute(stmt)
            return
        key = values.get("dedupe_key")
        if key is not None and self.session.scalar(
            select(OutboxEmail.id).where(OutboxEmail.dedupe_key == key)
        ):
            return
        self.session.add(OutboxEmail(**values))
        self.session.flush()

    def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[OutboxEmail]:
        """Take due rows for this worker: pending and due, or 'sending' whose lease ran out.

        FOR UPDATE SKIP LOCKED (PostgreSQL) lets concurrent workers take disjoint rows; on
        SQLite the clause is dropped and the IMMEDIATE transaction serialises claimers.
        """
        due = or_(
            and_(OutboxEmail.status == PENDING, OutboxEmail.next_attempt_at <= now),
            and_(OutboxEmail.status == SENDING, OutboxEmail.locked_until < now),
        )
        rows = list(
            self.session.scalars(
                select(OutboxEmail)
                .where(due)
                .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for row in rows:
            row.status = SENDING
            row.locked_until = now + lease
            row.attempts += 1
        self.session.flush()
        return rows

    def get(self, email_id: int) -> OutboxEmail | None:
        return self.session.get(OutboxEmail, email_id)

    def counts(self) -> dict[str, int]:
        rows = self.session.execute(select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status))
        return {status: int(n) for status, n in rows}

    def needing_attention(self, limit: int = 200) -> list[OutboxEmail]:
        """Failed rows and rows that are being retried after an error, newest first."""
        return list(
            self.session.scalars(
                select(OutboxEmail)
                .where(
                    or_(
                        OutboxEmail.status == FAILED,
                        and_(OutboxEmail.status != SENT, OutboxEmail.last_error.is_not(None)),
                    )
                )
                .order_by(OutboxEmail.created_at.desc())
                .limit(limit)
            )
        )

    def for_case(self, case_id: str) -> list[OutboxEmail]:
        return list(
            self.session.scalars(
                select(OutboxEmail).where(OutboxEmail.case_id == case_id).order_by(OutboxEmail.id)
            )
        )

    def dev_sms(self, phone: str | None = None, limit: int = 100) -> list[DevSms]:
        """The development SMS sink's messages, newest first (to one number when given)."""
        stmt = select(DevSms).order_by(DevSms.id.desc()).limit(limit)
        if phone:
            stmt = stmt.where(DevSms.to_phone == phone)
        return list(self.session.scalars(stmt))

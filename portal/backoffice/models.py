"""Back-office tables: the case-access audit log and deadline alerts.

Staff and their roles are the staff kernel's (:mod:`portal.staff.models`).

The case columns the queues sort and filter by (``assignee_id``,
``effective_due_date``, ``applicant_name_folded``) live on
:class:`portal.models.Application` itself, so a queue page is one indexed
range scan of one table.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import AwareDateTime, Base, utcnow


class CaseAccessLog(Base):
    """Append-only: who looked at which case's personal data, when (DB triggers refuse changes)."""

    __tablename__ = "case_access_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    staff_id: Mapped[int] = mapped_column(Integer)
    staff_login: Mapped[str] = mapped_column(String(100))
    application_id: Mapped[str] = mapped_column(String(36))
    case_code: Mapped[str | None] = mapped_column(String(48))
    what: Mapped[str] = mapped_column(String(60))  # case page, attachment <id>, document <kind>
    client_ip: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_case_access_log_application", "application_id", "id"),
        Index("ix_case_access_log_staff", "staff_id", "id"),
    )


class DeadlineAlert(Base):
    """One row per case per day the deadline job flagged it (the queue shows the flag)."""

    __tablename__ = "deadline_alerts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    application_id: Mapped[str] = mapped_column(String(36))
    day: Mapped[date] = mapped_column(Date)
    level: Mapped[str] = mapped_column(String(10))  # due_soon | overdue
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("application_id", "day", name="uq_deadline_alerts_case_day"),)

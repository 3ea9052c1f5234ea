"""Back-office tables: staff and their roles, the case-access audit log, deadline alerts.

The case columns the queues sort and filter by (``assignee_id``,
``effective_due_date``, ``applicant_name_folded``) live on
:class:`portal.models.Application` itself, so a queue page is one indexed
range scan of one table.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import AwareDateTime, Base, utcnow

# Staff roles (workflow role keys); "admin" manages staff and reads the audit log.
STAFF_ROLES = ("tiep_nhan", "chuyen_vien", "lanh_dao", "van_thu", "ke_toan", "admin")
# Roles that work on cases (queues, case pages); the accountant and the admin do not.
CASE_ROLES = ("tiep_nhan", "chuyen_vien", "lanh_dao", "van_thu")


class StaffMember(Base):
    """A civil servant (cán bộ) of one agency, with one or more roles."""

    __tablename__ = "staff_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    agency_id: Mapped[str] = mapped_column(String(32), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # bumped on password reset / deactivation: sessions holding an older value are logged out
    session_epoch: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    deactivated_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    role_rows: Mapped[list[StaffRole]] = relationship(
        cascade="all, delete-orphan", order_by="StaffRole.role", lazy="selectin"
    )

    @property
    def roles(self) -> list[str]:
        return [r.role for r in self.role_rows]

    def has_role(self, *roles: str) -> bool:
        return any(r.role in roles for r in self.role_rows)


class StaffRole(Base):
    __tablename__ = "staff_roles"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


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

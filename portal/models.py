"""Core tables: citizens, applications (cases), attachments, case history, sequences.

Other domains (back office, payments, ratings) keep their models next to their
code and import :class:`portal.db.Base`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.db import AwareDateTime, Base, utcnow


def new_id() -> str:
    return str(uuid.uuid4())


class Citizen(Base):
    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    full_name: Mapped[str] = mapped_column(String(100))
    # None for an account created by the identity provider (it has no password either)
    phone: Mapped[str | None] = mapped_column(String(15), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    cccd: Mapped[str | None] = mapped_column(String(12))  # as typed by the citizen (not verified)
    password_hash: Mapped[str] = mapped_column(String(255))  # "": no password sign-in
    # the personal identification number (số định danh cá nhân) verified by the identity provider,
    # with the birth date from the same token: they key and fill the account (portal/identity)
    pid: Mapped[str | None] = mapped_column(String(12), unique=True)
    birth_date: Mapped[date | None] = mapped_column(Date)
    identity_verified_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    language: Mapped[str] = mapped_column(String(2), default="vi")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    # set when the citizen proved the phone above with a one-time code (portal/accounts/phone.py);
    # cleared when the phone changes. Only a verified phone stands for the citizen (school fees).
    phone_verified_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    @property
    def phone_verified(self) -> bool:
        return self.phone_verified_at is not None

    @validates("phone")
    def _phone_changed(self, _key: str, value: str) -> str:
        """A new phone is unproven: whoever changes the phone also loses the old one's verification."""
        if self.phone is not None and value != self.phone:
            self.phone_verified_at = None
        return value


_OPEN = "closed_at IS NULL AND effective_due_date IS NOT NULL"
# Staff queues: keyset pages ordered by (effective_due_date, id); partial indexes hold open cases only.
_QUEUE_INDEXES = (
    Index(
        "ix_applications_open_due",
        "agency_id",
        "effective_due_date",
        "id",
        postgresql_where=text(_OPEN),
        sqlite_where=text(_OPEN),
        # INCLUDE (PostgreSQL): filters and the sidebar counts are answered from the index alone
        postgresql_include=["status", "applicant_name_folded", "procedure_code", "assignee_id"],
    ),
    Index(
        "ix_applications_open_assignee",
        "agency_id",
        "assignee_id",
        "effective_due_date",
        "id",
        postgresql_where=text(_OPEN),
        sqlite_where=text(_OPEN),
        postgresql_include=["status"],
    ),
    Index(
        "ix_applications_open_procedure",
        "agency_id",
        "procedure_code",
        "effective_due_date",
        "id",
        postgresql_where=text(_OPEN),
        sqlite_where=text(_OPEN),
        postgresql_include=["status"],
    ),
    Index("ix_applications_status_due", "agency_id", "status", "effective_due_date", "id"),
    Index("ix_applications_cccd", "applicant_cccd"),
)


class Application(Base):
    """A dossier (hồ sơ): a draft until submitted, then a case with a case code."""

    __tablename__ = "applications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    procedure_code: Mapped[str] = mapped_column(String(20))
    definition_version: Mapped[int] = mapped_column(Integer)
    agency_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(40), default="draft")
    case_code: Mapped[str | None] = mapped_column(String(48), unique=True)
    channel: Mapped[str] = mapped_column(String(10), default="online")

    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id"))
    access_token_hash: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)

    applicant_name: Mapped[str] = mapped_column(String(100), default="")
    applicant_cccd: Mapped[str] = mapped_column(String(12), default="")
    applicant_phone: Mapped[str] = mapped_column(String(15), default="")
    applicant_email: Mapped[str] = mapped_column(String(254), default="")
    applicant_address: Mapped[str] = mapped_column(String(300), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    fee_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    due_date: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    # back office (portal/backoffice): queue keys, maintained on submission and on every transition
    assignee_id: Mapped[int | None] = mapped_column(Integer)  # staff_members.id of the current holder
    effective_due_date: Mapped[date | None] = mapped_column(Date)  # due date, supplement pauses excluded
    applicant_name_folded: Mapped[str] = mapped_column(String(100), default="", server_default="")  # search
    # bumped by every change of the case (portal.cases.events.note_change, in the change's transaction):
    # what a rendering of the case for its applicant (the tracking page) is keyed by
    change_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="application",
        order_by="Attachment.created_at",
        primaryjoin="and_(Attachment.application_id == Application.id, Attachment.removed_at.is_(None))",
        viewonly=True,
    )
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="application", order_by="CaseEvent.id", viewonly=True
    )

    __mapper_args__ = {"version_id_col": lock_version}
    __table_args__ = (
        Index("ix_applications_citizen", "citizen_id", "created_at"),
        Index("ix_applications_agency_status_due", "agency_id", "status", "due_date"),
        Index("ix_applications_phone", "applicant_phone"),
        *_QUEUE_INDEXES,
    )

    @property
    def is_draft(self) -> bool:
        return self.status == "draft"


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    document_key: Mapped[str] = mapped_column(String(60))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[str] = mapped_column(String(20), default="citizen")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    application: Mapped[Application] = relationship(back_populates="attachments", viewonly=True)


class CaseEvent(Base):
    """Immutable history of a case: who did what, when, from which state to which."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    actor_kind: Mapped[str] = mapped_column(String(20))  # citizen | staff | system
    actor_id: Mapped[str | None] = mapped_column(String(40))
    actor_name: Mapped[str | None] = mapped_column(String(100))
    from_state: Mapped[str | None] = mapped_column(String(40))
    to_state: Mapped[str | None] = mapped_column(String(40))
    comment: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    public: Mapped[bool] = mapped_column(Boolean, default=True)

    application: Mapped[Application] = relationship(back_populates="events", viewonly=True)


class CaseSequence(Base):
    """Per-agency daily counter behind the NNNN part of a case code."""

    __tablename__ = "case_sequences"

    agency_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


class RateLimitHit(Base):
    __tablename__ = "rate_limit_hits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    # when the window ends (epoch seconds): rows past it are pruned by the retention job
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True, default=0, server_default="0")


__all__ = [
    "Application",
    "Attachment",
    "CaseEvent",
    "CaseSequence",
    "Citizen",
    "RateLimitHit",
    "UniqueConstraint",
]

"""Which identity-provider account (issuer + subject) signs into which citizen account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import AwareDateTime, Base, utcnow


class CitizenIdentity(Base):
    """One provider's account of a citizen. The same person may come through several providers
    (VNeID directly, the national portal's SSO): each has its row, all on the account with that PID."""

    __tablename__ = "citizen_identities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    __table_args__ = (UniqueConstraint("issuer", "subject"),)

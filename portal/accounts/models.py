"""One-time codes that prove a citizen holds a phone (``portal/accounts/phone.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import AwareDateTime, Base, utcnow


class PhoneVerification(Base):
    """A code sent by SMS to ``phone`` for ``citizen_id``. Only its HMAC is stored (``code_hash``); it
    is good until ``expires_at``, for ``max attempts`` wrong entries, and once (``consumed_at``).
    Sending a new code supersedes the open one (``superseded_at``)."""

    __tablename__ = "phone_verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"))
    phone: Mapped[str] = mapped_column(String(15))  # normalised (workflows.validators.phone)
    code_hash: Mapped[str] = mapped_column(String(64))  # hex HMAC-SHA256, see phone.code_hash
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(AwareDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # wrong entries so far
    consumed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())  # used: never again
    superseded_at: Mapped[datetime | None] = mapped_column(AwareDateTime())  # a newer code was sent

    __table_args__ = (Index("ix_phone_verifications_citizen", "citizen_id", "id"),)

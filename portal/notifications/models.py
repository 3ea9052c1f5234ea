"""The e-mail outbox: rows written in the same transaction as the change that causes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import AwareDateTime, Base, utcnow

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


class OutboxEmail(Base):
    """One message to send. The worker claims it (status 'sending' + a lease), sends, then marks it.

    Rendered at enqueue time, so what is sent is what the change produced (and is auditable).
    """

    __tablename__ = "outbox_emails"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    to_address: Mapped[str] = mapped_column(String(254))
    template: Mapped[str] = mapped_column(String(60))
    lang: Mapped[str] = mapped_column(String(2), default="vi")
    case_id: Mapped[str | None] = mapped_column(String(48))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(AwareDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    __table_args__ = (
        Index("ix_outbox_emails_due", "status", "next_attempt_at"),
        Index("ix_outbox_emails_case", "case_id"),
    )

    @property
    def message_id(self) -> str:
        """Stable per row: a receiver (or a test sink) can spot a duplicate delivery."""
        return f"<outbox-{self.id}@dichvucong.portal>"


class DevSms(Base):
    """A text message caught by the development SMS sink (``/dev/sms``); never used in production."""

    __tablename__ = "dev_sms_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    to_phone: Mapped[str] = mapped_column(String(15), index=True)
    body: Mapped[str] = mapped_column(Text)

"""The case-change outbox (see :mod:`portal.cases`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import AwareDateTime, Base, utcnow


class CaseChange(Base):
    """A case changed in a committed transaction; consumed (and deleted) by ``portal.cases.changes.drain``.

    No foreign key: a row must never hold up (or be held up by) the case's own writes, and a draft
    erased by retention leaves rows that the consumers simply skip."""

    __tablename__ = "case_changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    application_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)

"""Signed result documents (văn bản kết quả giải quyết TTHC) issued for a case."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import AwareDateTime, Base, utcnow


def new_document_id() -> str:
    return str(uuid.uuid4())


class ResultDocument(Base):
    """One signed PDF. A re-issue revokes the previous one; rows are never deleted."""

    __tablename__ = "result_documents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_document_id)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    signer_name: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    __table_args__ = (Index("ix_result_documents_application", "application_id", "issued_at"),)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

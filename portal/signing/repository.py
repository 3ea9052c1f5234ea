"""All SQL of the signing domain."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.signing.models import ResultDocument


class ResultDocumentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, document_id: str) -> ResultDocument | None:
        return self.session.get(ResultDocument, document_id)

    def current_for(self, application_id: str) -> ResultDocument | None:
        """The latest document of a case that has not been revoked."""
        return self.session.scalars(
            select(ResultDocument)
            .where(ResultDocument.application_id == application_id, ResultDocument.revoked_at.is_(None))
            .order_by(ResultDocument.issued_at.desc())
            .limit(1)
        ).first()

    def active_for(self, application_id: str) -> list[ResultDocument]:
        return list(
            self.session.scalars(
                select(ResultDocument).where(
                    ResultDocument.application_id == application_id, ResultDocument.revoked_at.is_(None)
                )
            )
        )

    def add(self, document: ResultDocument) -> ResultDocument:
        self.session.add(document)
        self.session.flush()
        return document

"""All SQL of the retention jobs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, exists, or_, select
from sqlalchemy.orm import Session

from portal.assistant.models import ChatMessage, Conversation
from portal.models import Application, Attachment


class RetentionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- drafts ---------------------------------------------------------------------------------

    def expired_drafts(
        self, *, anonymous_before: datetime, account_before: datetime, limit: int
    ) -> list[Application]:
        """Drafts not changed (nor given a file) since their cutoff, and not yet erased."""

        def idle_since(cutoff: datetime) -> ColumnElement[bool]:
            newer_file = exists().where(
                Attachment.application_id == Application.id, Attachment.created_at >= cutoff
            )
            return and_(Application.updated_at < cutoff, ~newer_file)

        stmt = (
            select(Application)
            .where(
                Application.status == "draft",
                Application.case_code.is_(None),
                Application.submitted_at.is_(None),
                # an erased draft has neither: it belongs to nobody and no link opens it
                or_(Application.citizen_id.is_not(None), Application.access_token_hash.is_not(None)),
                or_(
                    and_(Application.citizen_id.is_(None), idle_since(anonymous_before)),
                    and_(Application.citizen_id.is_not(None), idle_since(account_before)),
                ),
            )
            .order_by(Application.updated_at, Application.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def all_attachments(self, application_id: str) -> list[Attachment]:
        """Every file of an application, the removed ones included (their files are still stored)."""
        return list(
            self.session.scalars(select(Attachment).where(Attachment.application_id == application_id))
        )

    def delete_attachments(self, application_id: str) -> None:
        self.session.execute(delete(Attachment).where(Attachment.application_id == application_id))

    # -- assistant transcripts ------------------------------------------------------------------

    def delete_conversations_idle_since(self, before: datetime, *, limit: int) -> int:
        ids = list(
            self.session.scalars(
                select(Conversation.id)
                .where(Conversation.last_message_at < before)
                .order_by(Conversation.last_message_at, Conversation.id)
                .limit(limit)
            )
        )
        if ids:
            self.session.execute(delete(ChatMessage).where(ChatMessage.conversation_id.in_(ids)))
            self.session.execute(delete(Conversation).where(Conversation.id.in_(ids)))
        return len(ids)

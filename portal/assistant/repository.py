"""All SQL of the assistant: conversations, messages, ratings, call-back requests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.assistant.models import (
    CALLBACK_DONE,
    CALLBACK_OPEN,
    OUTGOING,
    CallbackRequest,
    ChatMessage,
    Conversation,
)
from portal.models import Application


@dataclass(frozen=True)
class ConversationRow:
    conversation: Conversation
    helpful: int
    unhelpful: int


class ConversationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _insert(self) -> Any:
        dialect = self.session.get_bind().dialect.name
        return postgresql.insert if dialect == "postgresql" else sqlite.insert

    def ensure(self, conversation_id: str, *, citizen_id: int | None, lang: str, at: datetime) -> None:
        """Create the conversation unless it exists (two tabs may send their first message at once)."""
        stmt = (
            self._insert()(Conversation)
            .values(
                id=conversation_id,
                citizen_id=citizen_id,
                lang=lang,
                started_at=at,
                last_message_at=at,
                message_count=0,
            )
            .on_conflict_do_nothing(index_elements=[Conversation.id])
        )
        self.session.execute(stmt)

    def get(self, conversation_id: str) -> Conversation | None:
        return self.session.get(Conversation, conversation_id)

    def rollback(self) -> None:
        self.session.rollback()

    def add_messages(self, conversation_id: str, messages: Sequence[ChatMessage], at: datetime) -> None:
        self.session.add_all(messages)
        self.session.flush()
        self.session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(message_count=Conversation.message_count + len(messages), last_message_at=at)
        )

    def messages(self, conversation_id: str, *, limit: int = 200) -> list[ChatMessage]:
        """The last ``limit`` messages, oldest first."""
        rows = self.session.scalars(
            select(ChatMessage)
            .where(ChatMessage.conversation_id == conversation_id)
            .order_by(ChatMessage.id.desc())
            .limit(limit)
        ).all()
        return list(reversed(rows))

    def bot_message(self, conversation_id: str, message_id: int) -> ChatMessage | None:
        return self.session.scalar(
            select(ChatMessage).where(
                ChatMessage.id == message_id,
                ChatMessage.conversation_id == conversation_id,
                ChatMessage.direction == OUTGOING,
            )
        )

    def rate(self, message: ChatMessage, rating: str, at: datetime) -> None:
        message.rating = rating
        message.rated_at = at
        self.session.flush()

    def route(self, conversation_id: str, agency_id: str) -> None:
        """Give an unrouted conversation to an agency (the first routed call-back from it decides)."""
        self.session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id, Conversation.agency_id.is_(None))
            .values(agency_id=agency_id)
        )

    def recent(
        self,
        *,
        before: tuple[datetime, str] | None = None,
        only_unhelpful: bool = False,
        limit: int = 50,
        agency_id: str | None = None,
    ) -> list[ConversationRow]:
        """Conversations by last activity, newest first (keyset pages), with their rating counts.
        ``agency_id``: only those routed to that agency; None: all of them (the central desk)."""
        helpful = func.count(ChatMessage.id).filter(ChatMessage.rating == "helpful")
        unhelpful = func.count(ChatMessage.id).filter(ChatMessage.rating == "unhelpful")
        ratings = (
            select(
                ChatMessage.conversation_id.label("cid"),
                helpful.label("helpful"),
                unhelpful.label("unhelpful"),
            )
            .where(ChatMessage.rating.is_not(None))
            .group_by(ChatMessage.conversation_id)
            .subquery()
        )
        stmt = (
            select(Conversation, func.coalesce(ratings.c.helpful, 0), func.coalesce(ratings.c.unhelpful, 0))
            .outerjoin(ratings, ratings.c.cid == Conversation.id)
            .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
            .limit(limit)
        )
        if before is not None:
            at, cid = before
            stmt = stmt.where(
                or_(
                    Conversation.last_message_at < at,
                    and_(Conversation.last_message_at == at, Conversation.id < cid),
                )
            )
        if only_unhelpful:
            stmt = stmt.where(ratings.c.unhelpful > 0)
        if agency_id is not None:
            stmt = stmt.where(Conversation.agency_id == agency_id)
        return [ConversationRow(c, int(h), int(u)) for c, h, u in self.session.execute(stmt).all()]


class CallbackRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, callback: CallbackRequest) -> CallbackRequest:
        self.session.add(callback)
        self.session.flush()
        return callback

    def get(self, callback_id: str) -> CallbackRequest | None:
        return self.session.get(CallbackRequest, callback_id)

    def by_idempotency_key(self, key: str) -> CallbackRequest | None:
        return self.session.scalar(select(CallbackRequest).where(CallbackRequest.idempotency_key == key))

    def agency_of_case(self, case_code: str) -> str | None:
        """The agency handling a submitted case (None: no such case)."""
        return self.session.scalar(
            select(Application.agency_id).where(Application.case_code == case_code.strip().upper())
        )

    @staticmethod
    def _scoped(stmt: Any, agency_id: str | None) -> Any:
        """An agency's desk sees the requests routed to it; None (the central desk) sees all of them."""
        return stmt if agency_id is None else stmt.where(CallbackRequest.agency_id == agency_id)

    def open(self, *, agency_id: str | None = None, limit: int = 200) -> list[CallbackRequest]:
        """Open requests, oldest first: the longest-waiting caller is phoned first."""
        stmt = self._scoped(select(CallbackRequest).where(CallbackRequest.status == CALLBACK_OPEN), agency_id)
        return list(
            self.session.scalars(stmt.order_by(CallbackRequest.created_at, CallbackRequest.id).limit(limit))
        )

    def done(self, *, agency_id: str | None = None, limit: int = 50) -> list[CallbackRequest]:
        stmt = self._scoped(select(CallbackRequest).where(CallbackRequest.status == CALLBACK_DONE), agency_id)
        return list(
            self.session.scalars(
                stmt.order_by(CallbackRequest.done_at.desc(), CallbackRequest.id).limit(limit)
            )
        )

    def count_open(self, *, agency_id: str | None = None) -> int:
        stmt = self._scoped(
            select(func.count()).select_from(CallbackRequest).where(CallbackRequest.status == CALLBACK_OPEN),
            agency_id,
        )
        return int(self.session.scalar(stmt) or 0)

    def mark_done(self, callback_id: str, *, staff_id: int, staff_name: str, note: str, at: datetime) -> bool:
        """Close an open request; False when it was already closed (by someone else, a moment ago)."""
        closed = self.session.execute(
            update(CallbackRequest)
            .where(CallbackRequest.id == callback_id, CallbackRequest.status == CALLBACK_OPEN)
            .values(
                status=CALLBACK_DONE,
                done_at=at,
                done_by_id=staff_id,
                done_by_name=staff_name,
                staff_note=note,
            )
            .returning(CallbackRequest.id)
        ).first()
        return closed is not None

"""Rules of the assistant: what is sent to Rasa, what is stored, ratings, call-back requests.

Never commits: the request is the unit of work.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.assistant.masking import mask_personal_data
from portal.assistant.models import (
    ANSWER,
    EMPTY,
    INCOMING,
    OUTGOING,
    RATINGS,
    UNAVAILABLE,
    CallbackRequest,
    ChatMessage,
)
from portal.assistant.relay import BotMessage
from portal.assistant.repository import CallbackRepository, ConversationRepository, ConversationRow
from portal.db import utcnow
from portal.errors import Conflict, NotFound, ValidationFailed
from workflows.validators import InvalidValue
from workflows.validators import phone as normalise_phone

MAX_MESSAGE = 1000
OFFERED_KEEP = 24  # payload fingerprints of recently offered buttons kept in the session

# Stored for staff; the citizen sees the translated notice of the template.
UNAVAILABLE_TEXT = "Trợ lý ảo đang tạm thời gián đoạn, chưa trả lời được câu hỏi này."
EMPTY_TEXT = "Trợ lý ảo chưa có câu trả lời cho câu hỏi này."


def new_conversation_id() -> str:
    return str(uuid.uuid4())


def fingerprint(payload: str) -> str:
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Turn:
    shown: str  # what the transcript shows as the citizen's message
    sent: str  # what Rasa receives
    payload: str | None  # the button payload, when a button was pressed


def prepare_turn(text: str, payload: str, offered: list[str]) -> Turn | None:
    """The citizen's message as Rasa will see it.

    A button payload (``/intent{"slot": "value"}``) bypasses Rasa's NLU and sets slots, so only
    payloads the bot itself just offered are passed on; anything else, and typed text that looks
    like a payload, is sent as plain text with the leading slashes removed.
    """
    payload = payload.strip()[:500]
    if payload:
        if fingerprint(payload) in offered:
            return Turn(shown=payload, sent=payload, payload=payload)  # shown: the title, see record_turn
        text = payload
    text = " ".join(text.split())[:MAX_MESSAGE]
    plain = text.lstrip("/").strip()
    if not plain:
        return None
    return Turn(shown=text, sent=plain, payload=None)


def offered_payloads(answer: list[BotMessage] | None, previous: list[str]) -> list[str]:
    new = [fingerprint(b.payload) for m in (answer or []) for b in m.buttons]
    return (previous + new)[-OFFERED_KEEP:] if new else previous[-OFFERED_KEEP:]


class ChatService:
    def __init__(self, repo: ConversationRepository) -> None:
        self.repo = repo

    def history(self, conversation_id: str | None, *, limit: int = 100) -> list[ChatMessage]:
        return self.repo.messages(conversation_id, limit=limit) if conversation_id else []

    def record_turn(
        self,
        conversation_id: str,
        *,
        citizen_id: int | None,
        lang: str,
        turn: Turn,
        answer: list[BotMessage] | None,
        at: datetime | None = None,
    ) -> list[ChatMessage]:
        """Store the citizen's message and the bot's answer (``None``: Rasa was unavailable).

        What is stored is masked (phones, ids, e-mails, link secrets): transcripts are kept for
        weeks and read by staff. The returned rows carry the stored ids but the text as sent, so
        the citizen sees this one answer (and its links) unmasked, once.
        """
        at = at or utcnow()
        self.repo.ensure(conversation_id, citizen_id=citizen_id, lang=lang, at=at)
        shown = self._button_title(conversation_id, turn.payload) if turn.payload else turn.shown
        rows = self._rows(conversation_id, shown, turn, answer, at)
        stored = [_masked(row) for row in rows]
        self.repo.add_messages(conversation_id, stored, at)
        for row, saved in zip(rows, stored, strict=True):
            row.id = saved.id
        return rows

    def unsaved_turn(self, turn: Turn, answer: list[BotMessage] | None) -> list[ChatMessage]:
        """The turn as messages that are not stored (the database failed): shown, never rateable."""
        rows = self._rows("", turn.shown, turn, answer, utcnow())
        for row in rows:
            row.rateable = False
        return rows

    def abandon_turn(self) -> None:
        """Undo a failed attempt to store a turn, so the request can still answer."""
        self.repo.rollback()

    @staticmethod
    def _rows(
        conversation_id: str, shown: str, turn: Turn, answer: list[BotMessage] | None, at: datetime
    ) -> list[ChatMessage]:
        rows = [
            ChatMessage(
                conversation_id=conversation_id,
                direction=INCOMING,
                kind=ANSWER,
                text=shown,
                payload=turn.payload,
                buttons=[],
                at=at,
            )
        ]
        if answer is None:
            rows.append(
                ChatMessage(
                    conversation_id=conversation_id,
                    direction=OUTGOING,
                    kind=UNAVAILABLE,
                    text=UNAVAILABLE_TEXT,
                    buttons=[],
                    at=at,
                )
            )
        elif not answer:
            rows.append(
                ChatMessage(
                    conversation_id=conversation_id,
                    direction=OUTGOING,
                    kind=EMPTY,
                    text=EMPTY_TEXT,
                    buttons=[],
                    at=at,
                )
            )
        else:
            rows += [
                ChatMessage(
                    conversation_id=conversation_id,
                    direction=OUTGOING,
                    kind=ANSWER,
                    text=m.text,
                    at=at,
                    buttons=[{"title": b.title, "payload": b.payload} for b in m.buttons],
                )
                for m in answer
            ]
            rows[-1].rateable = True  # one rating per answer: on its last message
        return rows

    def _button_title(self, conversation_id: str, payload: str) -> str:
        stored = mask_personal_data(payload)  # buttons are stored masked
        for message in reversed(self.repo.messages(conversation_id, limit=20)):
            for button in message.buttons or []:
                if button.get("payload") in (payload, stored):
                    return str(button.get("title") or payload)
        return payload

    def rate(self, conversation_id: str | None, message_id: int, rating: str) -> ChatMessage:
        if rating not in RATINGS:
            raise ValidationFailed(fields={"rating": "Vui lòng chọn «Có ích» hoặc «Chưa có ích»."})
        message = self.repo.bot_message(conversation_id, message_id) if conversation_id else None
        if message is None or not message.rateable:
            raise NotFound("Không tìm thấy câu trả lời này trong cuộc trò chuyện của bạn.")
        self.repo.rate(message, rating, utcnow())
        return message


def _masked(row: ChatMessage) -> ChatMessage:
    """The copy of a message that is stored."""
    return ChatMessage(
        conversation_id=row.conversation_id,
        direction=row.direction,
        kind=row.kind,
        text=mask_personal_data(row.text),
        payload=mask_personal_data(row.payload) if row.payload else None,
        buttons=[
            {"title": mask_personal_data(b.get("title")), "payload": mask_personal_data(b.get("payload"))}
            for b in (row.buttons or [])
        ],
        at=row.at,
        rateable=bool(row.rateable),
    )


@dataclass(frozen=True)
class MaskedMessage:
    id: int
    direction: str
    kind: str
    text: str
    buttons: list[dict[str, str]]
    at: datetime
    rating: str | None


class TranscriptService:
    """What staff may read: conversations with personal data masked (again: rows stored before
    masking at write time existed are masked on the way out)."""

    def __init__(self, repo: ConversationRepository) -> None:
        self.repo = repo

    def recent(
        self,
        *,
        before: tuple[datetime, str] | None,
        only_unhelpful: bool,
        limit: int = 50,
        agency_id: str | None = None,
    ) -> list[ConversationRow]:
        return self.repo.recent(
            before=before, only_unhelpful=only_unhelpful, limit=limit, agency_id=agency_id
        )

    def transcript(
        self, conversation_id: str, *, agency_id: str | None = None
    ) -> tuple[Any, list[MaskedMessage]]:
        """``agency_id``: the reader's agency (None: the central desk, which reads every conversation)."""
        conversation = self.repo.get(conversation_id)
        if conversation is None or (agency_id is not None and conversation.agency_id != agency_id):
            raise NotFound("Không tìm thấy cuộc trò chuyện.")
        messages = [
            MaskedMessage(
                id=m.id,
                direction=m.direction,
                kind=m.kind,
                text=mask_personal_data(m.text),
                buttons=[
                    {
                        "title": mask_personal_data(b.get("title")),
                        "payload": mask_personal_data(b.get("payload")),
                    }
                    for b in (m.buttons or [])
                ],
                at=m.at,
                rating=m.rating,
            )
            for m in self.repo.messages(conversation_id, limit=1000)
        ]
        return conversation, messages


class CallbackService:
    def __init__(self, repo: CallbackRepository, conversations: ConversationRepository) -> None:
        self.repo = repo
        self.conversations = conversations

    def request(
        self,
        *,
        full_name: Any,
        phone: Any,
        note: Any,
        conversation_id: Any,
        trusted: bool,
        idempotency_key: str | None = None,
        case_code: Any = None,
        agency_id: str | None = None,
    ) -> tuple[CallbackRequest, bool]:
        """A call-back request; returns (request, created). ``trusted``: the assistant's service token.
        It goes to the desk of the agency handling ``case_code`` when that case exists, else to
        ``agency_id`` (checked by the caller against the catalogue), else to the central desk only."""
        name, raw_phone = _text(full_name), _text(phone)
        note_text, conv = _text(note), _text(conversation_id)
        errors: dict[str, str] = {}
        # lengths as sent (what the API schema's maxLength means); NUL cannot be stored in PostgreSQL
        if not name:
            errors["full_name"] = "Vui lòng nhập họ và tên."
        elif _length(full_name) > 100:
            errors["full_name"] = "Họ và tên không được dài quá 100 ký tự."
        elif "\x00" in name:
            errors["full_name"] = "Họ và tên có ký tự không hợp lệ."
        try:
            normalised = normalise_phone(raw_phone)
        except InvalidValue as exc:
            errors["phone"] = exc.message
            normalised = ""
        if _length(note) > 2000:
            errors["note"] = "Ghi chú không được dài quá 2.000 ký tự."
        elif "\x00" in note_text:
            errors["note"] = "Ghi chú có ký tự không hợp lệ."
        if _length(conversation_id) > 64 or "\x00" in conv:
            errors["conversation_id"] = "Mã cuộc trò chuyện không hợp lệ."
        if errors:
            raise ValidationFailed(fields=errors)
        if idempotency_key:
            existing = self.repo.by_idempotency_key(idempotency_key)
            if existing is not None:
                if existing.phone != normalised:
                    raise Conflict("Khoá Idempotency-Key đã được dùng cho một yêu cầu gọi lại khác.")
                return existing, False
        citizen_id = None
        if trusted and conv:
            conversation = self.conversations.get(conv)
            citizen_id = conversation.citizen_id if conversation is not None else None
        code = _text(case_code)
        routed = (self.repo.agency_of_case(code) if code and len(code) <= 40 else None) or agency_id
        if trusted and conv and routed:
            self.conversations.route(conv, routed)  # its transcript goes with it
        callback = CallbackRequest(
            id=str(uuid.uuid4()),
            full_name=name,
            phone=normalised,
            note=note_text,
            agency_id=routed,
            # only the assistant's own sender ids are trusted to point at a transcript
            conversation_id=(conv or None) if trusted else None,
            citizen_id=citizen_id,
            source="assistant" if trusted else "public",
            idempotency_key=idempotency_key or None,
            created_at=utcnow(),
        )
        return self.repo.add(callback), True

    def mark_done(
        self, callback_id: str, *, staff_id: int, staff_name: str, note: str, agency_id: str | None = None
    ) -> None:
        """``agency_id``: the staff member's agency (None: the central desk, which handles any)."""
        callback = self.repo.get(callback_id)
        if callback is None or (agency_id is not None and callback.agency_id != agency_id):
            raise NotFound("Không tìm thấy yêu cầu gọi lại.")
        note = note.strip()
        if len(note) > 1000:
            raise ValidationFailed(fields={"note": "Ghi chú không được dài quá 1.000 ký tự."})
        if not self.repo.mark_done(
            callback_id, staff_id=staff_id, staff_name=staff_name, note=note, at=utcnow()
        ):
            raise Conflict("Yêu cầu này đã được đánh dấu xử lý xong trước đó.")


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str) else 0

"""Citizen side of the assistant: the widget's HTMX endpoints and the plain /chat page (works without JS).

A chat turn waits for Rasa for up to ``rasa_timeout_seconds``. It must not hold a database
transaction meanwhile (on SQLite that is the write lock, on PostgreSQL a pooled connection), so
nothing touches the database before the relay call except the rate limiter, which is its own short
unit of work (its hit must count even when the turn then fails). The turn itself is stored after
Rasa answered, in the request's unit of work.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from markupsafe import Markup, escape
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from portal import i18n
from portal.assistant.relay import AssistantUnavailable, BotMessage
from portal.assistant.repository import ConversationRepository
from portal.assistant.service import ChatService, new_conversation_id, offered_payloads, prepare_turn
from portal.deps import DbSession, Form, client_ip, lookup_client
from portal.errors import NotFound, ValidationFailed
from portal.ratelimit import RateLimiter
from portal.routing import Router
from portal.web import security
from portal.web.render import is_htmx, redirect, render

log = logging.getLogger("portal.assistant")

router = Router(dependencies=[Depends(security.verify_csrf)], include_in_schema=False)

CONVERSATION = "assistant_conversation"  # session key: the server-generated conversation (Rasa sender) id
OFFERED = "assistant_offered"  # session key: fingerprints of the button payloads the bot offered
LOG_ID = "assistant-log"


@dataclass(frozen=True)
class ChatLimits:
    per_conversation: int = 60
    per_ip: int = 600
    window_seconds: int = 600


def chat_service(session: DbSession) -> ChatService:
    return ChatService(ConversationRepository(session))


Chats = Annotated[ChatService, Depends(chat_service)]


@router.get("/chat")
def chat_page(request: Request, chats: Chats) -> Response:
    messages = chats.history(request.session.get(CONVERSATION))
    if is_htmx(request) and request.headers.get("HX-Target") == LOG_ID:
        return render(request, "assistant/chat.html", {"messages": messages, "greeting": True}, block="log")
    return render(request, "assistant/chat.html", {"messages": messages, "greeting": True})


@router.post("/chat")
async def chat_turn(request: Request, chats: Chats) -> Response:
    form = await request.form()
    offered = [str(x) for x in request.session.get(OFFERED, [])]
    turn = prepare_turn(str(form.get("message") or ""), str(form.get("payload") or ""), offered)
    if turn is None:  # nothing typed
        return Response(status_code=204) if is_htmx(request) else redirect(request, "/chat")
    # never a browser-supplied id: the conversation id is generated here and lives in the signed session
    conversation_id = str(request.session.get(CONVERSATION) or new_conversation_id())
    request.session[CONVERSATION] = conversation_id
    try:
        if await run_in_threadpool(_over_limit, request, conversation_id):
            return _limited(request)
    except SQLAlchemyError:  # the database is down: Rasa may still answer
        log.exception("chat rate limiter failed")
    citizen_id = security.current_citizen_id(request)
    lang = i18n.current_lang.get()
    answer = await _ask_rasa(request, conversation_id, turn.sent, citizen_id, lang)
    request.session[OFFERED] = offered_payloads(answer, offered)
    try:
        rows = await run_in_threadpool(
            chats.record_turn, conversation_id, citizen_id=citizen_id, lang=lang, turn=turn, answer=answer
        )
    except SQLAlchemyError:
        # show the answer anyway (not stored, so not rateable) rather than an error page
        log.exception("could not store a chat turn")
        await run_in_threadpool(chats.abandon_turn)
        notice = i18n.gettext(
            "Cuộc trò chuyện tạm thời không lưu được; câu trả lời dưới đây chỉ hiển thị một lần."
        )
        ctx = {"messages": chats.unsaved_turn(turn, answer), "notice": notice}
        if is_htmx(request):
            return render(request, "assistant/chat.html", ctx, block="log")
        return render(request, "assistant/chat.html", ctx)
    if is_htmx(request):
        return render(request, "assistant/chat.html", {"messages": rows}, block="log")
    return redirect(request, f"/chat#m-{rows[-1].id}")


async def _ask_rasa(
    request: Request, conversation_id: str, text: str, citizen_id: int | None, lang: str
) -> list[BotMessage] | None:
    settings = request.app.state.settings
    metadata = {
        "user_id": citizen_id,
        "lang": lang,
        "portal_base_url": str(settings.base_url),
        # who the assistant acts for: its lookups count against this person's limits (opaque key)
        "end_user": lookup_client(request),
    }
    try:
        return await request.app.state.assistant_relay.send(conversation_id, text, metadata)  # type: ignore[no-any-return]
    except AssistantUnavailable:
        return None
    except Exception:  # the widget must never turn into an error page
        log.exception("assistant relay failed")
        return None


def _over_limit(request: Request, conversation_id: str) -> bool:
    limits: ChatLimits = request.app.state.assistant_limits
    with request.app.state.db.sessions() as session:
        limiter = RateLimiter(session)
        per_conversation = limiter.hit(f"chat:{conversation_id}", window_seconds=limits.window_seconds)
        per_ip = limiter.hit(f"chat-ip:{client_ip(request)}", window_seconds=limits.window_seconds)
        session.commit()
    return per_conversation > limits.per_conversation or per_ip > limits.per_ip


def _limited(request: Request) -> Response:
    message = i18n.gettext("Bạn đã gửi quá nhiều tin nhắn; vui lòng thử lại sau ít phút.")
    if is_htmx(request):
        return render(
            request, "assistant/chat.html", {"messages": [], "notice": message}, block="log", status=429
        )
    request.session["flash"] = message
    return redirect(request, "/chat")


@router.post("/chat/tin-nhan/{message_id}/danh-gia")
def rate_answer(request: Request, message_id: int, chats: Chats, form: Form) -> Response:
    return _rate_answer(request, message_id, str(form.get("rating") or ""), chats)


def _rate_answer(request: Request, message_id: int, rating: str, chats: ChatService) -> Response:
    try:
        message = chats.rate(request.session.get(CONVERSATION), message_id, rating)
    except (NotFound, ValidationFailed) as exc:
        if not is_htmx(request):
            raise
        return render(
            request, "assistant/_rating.html", {"m": None, "rating_error": exc.message}, status=exc.status
        )
    if is_htmx(request):
        return render(request, "assistant/_rating.html", {"m": message, "thanked": True})
    request.session["flash"] = i18n.gettext("Cảm ơn bạn đã đánh giá câu trả lời.")
    return redirect(request, f"/chat#m-{message.id}")


# -- rendering the bot's text ------------------------------------------------------------------

_URL = re.compile(r"https?://[^\s<>\"']+")


def bot_text(text: Any) -> Markup:
    """Escape, turn http(s) links into links, keep the bot's line breaks."""
    escaped = str(escape(text or ""))

    def link(match: re.Match[str]) -> str:
        url = match.group(0)
        trail = ""
        while url and url[-1] in ".,;:!?)»":
            trail = url[-1] + trail
            url = url[:-1]
        return f'<a href="{url}" rel="noopener noreferrer">{url}</a>{trail}'

    return Markup(_URL.sub(link, escaped).replace("\n", "<br>\n"))  # noqa: S704 - built from escaped text

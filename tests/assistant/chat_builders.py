"""Builders for assistant tests: chat turns over HTMX or plain forms, conversation lookups."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.assistant.models import ChatMessage, Conversation
from tests.builders import csrf


def say(
    client: TestClient, text: str = "", *, htmx: bool = True, payload: str | None = None, **extra: str
) -> Any:
    token = csrf(client, "/chat")
    data = {"message": text, **extra}
    if payload is not None:
        data["payload"] = payload
    headers = {"HX-Request": "true", "HX-Target": "assistant-log", "X-CSRF-Token": token} if htmx else {}
    if not htmx:
        data["csrf_token"] = token
    return client.post("/chat", data=data, headers=headers, follow_redirects=False)


def conversations(app: FastAPI) -> list[Conversation]:
    with app.state.db.sessions() as session:
        return list(session.scalars(select(Conversation).order_by(Conversation.started_at)))


def messages(app: FastAPI, conversation_id: str | None = None) -> list[ChatMessage]:
    with app.state.db.sessions() as session:
        stmt = select(ChatMessage).order_by(ChatMessage.id)
        if conversation_id:
            stmt = stmt.where(ChatMessage.conversation_id == conversation_id)
        return list(session.scalars(stmt))


def rating_forms(html: str) -> list[str]:
    return re.findall(r'action="(/chat/tin-nhan/\d+/danh-gia)"', html)

"""Server-side relay to Rasa's REST channel. The browser never talks to Rasa.

``RasaRelay.send`` posts ``{"sender", "message", "metadata"}`` to
``{rasa_url}/webhooks/rest/webhook`` and returns the bot's messages, or raises
:class:`AssistantUnavailable` for anything other than a well-formed answer (timeout,
connection refused, HTTP error, invalid JSON, unexpected shape). The httpx transport
is injectable: tests pass an ``httpx.MockTransport`` that plays Rasa.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger("portal.assistant")

MAX_BOT_MESSAGES = 20
MAX_TEXT = 4000
MAX_BUTTONS = 12
MAX_PAYLOAD = 500


class AssistantUnavailable(Exception):
    """Rasa (or its action server) did not give a usable answer."""


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class BotMessage:
    text: str
    buttons: list[Button] = field(default_factory=list)


class RasaRelay:
    def __init__(
        self, base_url: str, *, timeout_seconds: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.url = base_url.rstrip("/") + "/webhooks/rest/webhook"
        # connect quickly or not at all; the read budget covers NLU + the custom actions
        self.timeout = httpx.Timeout(timeout_seconds, connect=min(2.0, timeout_seconds))
        self.transport = transport
        # one pooled client per event loop (an AsyncClient must not cross loops)
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = httpx.AsyncClient(
                timeout=self.timeout,
                transport=self.transport,
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                headers={"User-Agent": "eservices-portal/1"},
            )
        return client

    async def send(self, sender: str, message: str, metadata: dict[str, Any]) -> list[BotMessage]:
        body = {"sender": sender, "message": message, "metadata": metadata}
        try:
            response = await self._client().post(self.url, json=body)
        except httpx.HTTPError as exc:  # timeouts, refused connections, protocol errors
            log.warning("rasa unreachable: %s: %s", type(exc).__name__, exc)
            raise AssistantUnavailable(type(exc).__name__) from exc
        if response.status_code != 200:
            log.warning("rasa answered HTTP %s", response.status_code)
            raise AssistantUnavailable(f"HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            log.warning("rasa answered invalid JSON")
            raise AssistantUnavailable("invalid JSON") from exc
        return parse_messages(data)

    async def aclose(self) -> None:
        for client in list(self._clients.values()):
            await client.aclose()


def parse_messages(data: Any) -> list[BotMessage]:
    """Rasa's REST answer: a list of ``{recipient_id, text?, buttons?, image?, custom?}``."""
    if not isinstance(data, list):
        raise AssistantUnavailable("answer is not a list")
    messages: list[BotMessage] = []
    for item in data[:MAX_BOT_MESSAGES]:
        if not isinstance(item, dict):
            raise AssistantUnavailable("message is not an object")
        text = item.get("text")
        if text is not None and not isinstance(text, str):
            raise AssistantUnavailable("text is not a string")
        text = (text or "")[:MAX_TEXT]
        if (
            not text
            and isinstance(item.get("image"), str)
            and item["image"].startswith(("https://", "http://"))
        ):
            text = item["image"]  # shown as a link; we do not embed third-party images
        buttons = _buttons(item.get("buttons"))
        if text or buttons:  # "custom" payloads and empty messages are not shown
            messages.append(BotMessage(text=text, buttons=buttons))
    return messages


def _buttons(raw: Any) -> list[Button]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise AssistantUnavailable("buttons is not a list")
    buttons = []
    for b in raw[:MAX_BUTTONS]:
        if not isinstance(b, dict) or not all(isinstance(b.get(k), str) for k in ("title", "payload")):
            raise AssistantUnavailable("button without title/payload")
        if b["title"].strip() and b["payload"].strip():
            buttons.append(Button(title=b["title"][:200], payload=b["payload"][:MAX_PAYLOAD]))
    return buttons

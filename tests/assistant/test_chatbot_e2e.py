"""The real assistant end to end: portal relay → Rasa → action server → portal API → answer.

Skipped unless CHATBOT_E2E=1. Start Rasa and the action server first (`make chatbot-run`).
CHATBOT_E2E_RASA_URL (default http://127.0.0.1:5005) is Rasa's REST channel; the action server
calls the portal at its PORTAL_API_URL, given here as CHATBOT_E2E_PORTAL_URL (default
http://127.0.0.1:8000): if nothing answers there, this test serves the portal on that port.
"""

from __future__ import annotations

import html
import os
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from portal.app import create_app
from portal.assistant.relay import RasaRelay
from portal.config import Settings
from tests.assistant.chat_builders import conversations, say

pytestmark = pytest.mark.chatbot

RASA_URL = os.environ.get("CHATBOT_E2E_RASA_URL", "http://127.0.0.1:5005")
PORTAL_URL = os.environ.get("CHATBOT_E2E_PORTAL_URL", "http://127.0.0.1:8000")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


@pytest.fixture
def portal_for_actions(app: FastAPI, settings: Settings) -> Iterator[str]:
    """The portal the action server calls: the one already running there, or one served here."""
    if _answers(f"{PORTAL_URL}/healthz"):
        yield PORTAL_URL
        return
    import uvicorn

    parts = urlsplit(PORTAL_URL)
    assert parts.hostname == "127.0.0.1" and parts.port, (
        "CHATBOT_E2E_PORTAL_URL must be http://127.0.0.1:<port>"
    )
    served = create_app(settings.model_copy(update={"base_url": PORTAL_URL}))
    server = uvicorn.Server(uvicorn.Config(served, host="127.0.0.1", port=parts.port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield PORTAL_URL
    server.should_exit = True
    thread.join(timeout=10)
    served.state.db.dispose()


@pytest.fixture
def real_rasa(app: FastAPI) -> Iterator[None]:
    if not _answers(RASA_URL + "/"):
        pytest.fail(f"Rasa is not answering at {RASA_URL}: start it with `make chatbot-run`")
    previous = app.state.assistant_relay
    app.state.assistant_relay = RasaRelay(RASA_URL, timeout_seconds=30)
    yield
    app.state.assistant_relay = previous


def test_documents_of_the_diploma_copy_procedure(
    app: FastAPI, client: TestClient, portal_for_actions: str, real_rasa: Any
) -> None:
    response = say(client, "cho hoi lam lai bang tot nghiep can giay to gi")
    assert response.status_code == 200
    text = html.unescape(response.text)
    assert "tạm thời gián đoạn" not in text, "Rasa did not answer"
    definition = app.state.catalogue.get("1.005092", app.state.clock().date())  # the app's today
    assert definition is not None
    names = [d.name.get("vi") for d in definition.documents]
    missing = [n for n in names if n not in text]
    assert not missing, f"documents of 1.005092 missing from the answer: {missing}\n{text[:3000]}"
    assert definition.name.get("vi") in text
    [conversation] = conversations(app)
    assert conversation.message_count >= 2

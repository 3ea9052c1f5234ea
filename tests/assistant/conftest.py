"""Assistant fixtures: a fake Rasa behind the relay's injectable transport, staff clients."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from portal.assistant.relay import RasaRelay
from portal.assistant.web import ChatLimits
from tests.backoffice.staff_builders import PASSWORD, create_staff, login


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "chatbot: needs the real Rasa + action server + portal (set CHATBOT_E2E=1 to run)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CHATBOT_E2E") == "1":
        return
    skip = pytest.mark.skip(reason="needs the running assistant: `make chatbot-run`, then CHATBOT_E2E=1")
    for item in items:
        if item.get_closest_marker("chatbot"):
            item.add_marker(skip)


class FakeRasa:
    """Plays Rasa's REST channel: records each request, answers as ``mode`` says."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.mode = "ok"
        self.replies: list[dict[str, Any]] = [
            {"recipient_id": "x", "text": "Xin chào! Mình giúp gì được bạn?"}
        ]

    def say(self, *messages: dict[str, Any]) -> None:
        self.replies = list(messages)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/webhooks/rest/webhook"
        self.requests.append(json.loads(request.content))
        if self.mode == "timeout":
            raise httpx.ReadTimeout("read timed out", request=request)
        if self.mode == "refused":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if self.mode == "500":
            return httpx.Response(500, text="Internal Server Error")
        if self.mode == "garbage":
            return httpx.Response(
                200, content=b"<html>proxy error</html>", headers={"content-type": "text/html"}
            )
        if self.mode == "shape":
            return httpx.Response(200, json={"unexpected": "object"})
        if self.mode == "bad_buttons":
            return httpx.Response(200, json=[{"text": "ok", "buttons": [{"title": 3}]}])
        return httpx.Response(
            200, json=[{"recipient_id": self.requests[-1]["sender"], **m} for m in self.replies]
        )

    @property
    def last(self) -> dict[str, Any]:
        return self.requests[-1]


@pytest.fixture
def rasa(app: FastAPI) -> Iterator[FakeRasa]:
    fake = FakeRasa()
    previous = app.state.assistant_relay
    app.state.assistant_relay = RasaRelay(
        "http://rasa.test:5005", timeout_seconds=2.0, transport=httpx.MockTransport(fake)
    )
    yield fake
    app.state.assistant_relay = previous


@pytest.fixture
def limits(app: FastAPI) -> Iterator[Callable[[ChatLimits], None]]:
    previous = app.state.assistant_limits

    def set_limits(value: ChatLimits) -> None:
        app.state.assistant_limits = value

    yield set_limits
    app.state.assistant_limits = previous


@pytest.fixture
def staff_client(app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    """``staff_client("tiep_nhan")`` → a client logged in as a staff member holding that role."""
    clients: list[TestClient] = []

    def make(role: str) -> TestClient:
        with app.state.db.sessions() as session:
            member = create_staff(session, f"cb-{role}-{len(clients)}", f"Cán bộ {role}", [role])
            session.commit()
            login_name = member.login
        c = TestClient(app, base_url="http://testserver")
        c.__enter__()
        login(c, login_name, PASSWORD)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)

"""The relay on real sockets: its timeouts are real, refused connections are caught, answers are checked."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from portal.assistant.relay import AssistantUnavailable, BotMessage, Button, RasaRelay, parse_messages


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers (a hung Rasa or action server)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    server.close()


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    """asyncio.run on its own thread: Playwright's sync API may leave a running loop on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_hung_rasa_times_out_after_the_configured_seconds(silent_server: str) -> None:
    relay = RasaRelay(silent_server, timeout_seconds=0.5)
    start = time.monotonic()
    with pytest.raises(AssistantUnavailable, match="ReadTimeout"):
        _run(relay.send("s", "xin chào", {}))
    assert 0.4 < time.monotonic() - start < 3


def test_connection_refused() -> None:
    relay = RasaRelay(f"http://127.0.0.1:{_closed_port()}", timeout_seconds=1)
    with pytest.raises(AssistantUnavailable, match="ConnectError"):
        _run(relay.send("s", "xin chào", {}))


def test_posts_to_the_rest_webhook() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[{"recipient_id": "s", "text": "chào"}])

    relay = RasaRelay("http://rasa:5005/", timeout_seconds=3, transport=httpx.MockTransport(handler))
    assert _run(relay.send("s", "xin chào", {"lang": "vi"})) == [BotMessage("chào")]
    assert str(seen[0].url) == "http://rasa:5005/webhooks/rest/webhook"
    assert relay.timeout.read == 3 and relay.timeout.connect == 2


def test_parse_messages() -> None:
    assert parse_messages(
        [
            {"recipient_id": "s", "text": "a", "buttons": [{"title": "Có", "payload": "/affirm"}]},
            {"recipient_id": "s", "custom": {"x": 1}},
            {"recipient_id": "s", "image": "https://example.vn/a.png"},
        ]
    ) == [BotMessage("a", [Button("Có", "/affirm")]), BotMessage("https://example.vn/a.png")]
    assert parse_messages([]) == []
    for garbage in (
        {"text": "a"},
        ["a"],
        [{"text": 1}],
        [{"text": "a", "buttons": "x"}],
        [{"text": "a", "buttons": [{"title": "t"}]}],
    ):
        with pytest.raises(AssistantUnavailable):
            parse_messages(garbage)

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

CHATBOT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(CHATBOT_DIR))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rasa_sdk import Tracker  # noqa: E402
from rasa_sdk.executor import CollectingDispatcher  # noqa: E402

import actions.common  # noqa: E402

from fake_portal import FakePortal  # noqa: E402


@pytest.fixture
def portal(monkeypatch: pytest.MonkeyPatch) -> FakePortal:
    fake = FakePortal()
    monkeypatch.setattr(actions.common, "_transport_factory", fake.transport)
    monkeypatch.setenv("PORTAL_API_URL", "http://portal.test")
    monkeypatch.setenv("PORTAL_SERVICE_TOKEN", "svc-token")
    monkeypatch.delenv("PORTAL_PUBLIC_URL", raising=False)
    return fake


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def make_tracker(
    text: str = "",
    intent: str | None = None,
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    active_loop: str | None = None,
    requested_slot: str | None = None,
) -> Tracker:
    all_slots: dict[str, Any] = {"form_retries": 0.0}
    all_slots.update(slots or {})
    if requested_slot:
        all_slots["requested_slot"] = requested_slot
    return Tracker(
        sender_id="test-user",
        slots=all_slots,
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": 0.99} if intent else {},
            "entities": entities or [],
            "metadata": metadata or {},
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def entity(text: str, raw: str, value: str | None = None, name: str = "procedure") -> dict[str, Any]:
    start = text.index(raw)
    return {"entity": name, "start": start, "end": start + len(raw), "value": value or raw}


def texts(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}

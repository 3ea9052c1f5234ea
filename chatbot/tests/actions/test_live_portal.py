"""Against a real portal: set CHATBOT_LIVE_PORTAL_URL (and PORTAL_SERVICE_TOKEN).

    CHATBOT_LIVE_PORTAL_URL=http://127.0.0.1:8000 \\
      chatbot/.venv/bin/python -m pytest chatbot/tests/actions/test_live_portal.py

Skipped otherwise: CI has no portal running next to the chatbot venv.
"""

import os

import pytest

from actions.procedures import ActionProcedureInfo
from actions.services import ActionCreateApplication

from conftest import entity, make_tracker, texts

LIVE = os.environ.get("CHATBOT_LIVE_PORTAL_URL")
pytestmark = pytest.mark.skipif(not LIVE, reason="CHATBOT_LIVE_PORTAL_URL not set")


@pytest.fixture(autouse=True)
def live_portal(monkeypatch):
    monkeypatch.setenv("PORTAL_API_URL", LIVE or "")


async def test_key_demo_against_the_portal(dispatcher):
    text = "cho hoi lam lai bang tot nghiep can giay to gi"
    tracker = make_tracker(text, "ask_documents", [entity(text, "lam lai bang tot nghiep", "1.005092")])
    await ActionProcedureInfo().run(dispatcher, tracker, {})
    answer = texts(dispatcher)
    assert "Cấp bản sao văn bằng" in answer and "• " in answer


async def test_ambiguous_name_offers_portal_choices(dispatcher):
    text = "van bang can gi"
    tracker = make_tracker(text, "ask_documents", [entity(text, "van bang")])
    await ActionProcedureInfo().run(dispatcher, tracker, {})
    assert len(dispatcher.messages[0].get("buttons") or []) >= 2


async def test_portal_validation_message_reaches_the_user(dispatcher):
    tracker = make_tracker(
        slots={
            "procedure": "2.002481",
            "full_name": "Nguyễn Văn An",
            "phone": "0123",
            "application_confirmed": True,
        }
    )
    await ActionCreateApplication().run(dispatcher, tracker, {})
    assert texts(dispatcher)  # the portal's own Vietnamese message

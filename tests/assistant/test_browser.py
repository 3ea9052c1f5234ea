"""The widget in Chromium: keyboard, focus, live region, axe; and /chat with JavaScript disabled."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from portal.app import create_app
from portal.assistant.relay import RasaRelay
from portal.config import Settings
from tests.browser.conftest import CHROMIUM_ARGS, axe_violations, chromium_path, describe
from tests.conftest import _free_port

pytestmark = pytest.mark.browser


def _fake_rasa(request: httpx.Request) -> httpx.Response:
    message = json.loads(request.content)["message"]
    if message.startswith("/ask_fee"):
        return httpx.Response(200, json=[{"recipient_id": "x", "text": "Thủ tục này không thu lệ phí."}])
    return httpx.Response(
        200,
        json=[
            {
                "recipient_id": "x",
                "text": "Hồ sơ gồm:\n• Đơn đề nghị\n• Căn cước công dân",
                "buttons": [{"title": "Phí, lệ phí", "payload": '/ask_fee{"procedure": "1.005092"}'}],
            }
        ],
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for this module only: Playwright's sync API keeps an event loop running on the main
    thread until it stops, which would break later asyncio-based tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def chat_server(app: Any, settings: Settings) -> Iterator[str]:
    """The portal with a fake Rasa, on a real socket; stopped with its connections closed after the test
    (on SQLite the harness resets the database by copying a file over it)."""
    import uvicorn

    port = _free_port()
    served = create_app(settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"}))
    served.state.assistant_relay = RasaRelay(
        "http://rasa.test", timeout_seconds=2, transport=httpx.MockTransport(_fake_rasa)
    )
    server = uvicorn.Server(uvicorn.Config(served, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    served.state.db.dispose()


def test_widget_by_keyboard(browser: Any, chat_server: str) -> None:
    context = browser.new_context(
        base_url=chat_server, locale="vi-VN", viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto("/thu-tuc")
    toggle = page.get_by_role("button", name="Hỏi trợ lý ảo")
    toggle.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Trợ lý ảo")
    dialog.wait_for(state="visible")
    assert page.evaluate("document.activeElement.id") == "assistant-input"  # focus moved into the dialog
    page.keyboard.type("làm lại bằng tốt nghiệp cần giấy tờ gì")
    page.keyboard.press("Enter")
    log = page.locator("#assistant-log")
    log.get_by_text("Căn cước công dân").wait_for()
    assert page.input_value("#assistant-input") == ""
    assert log.get_attribute("aria-live") == "polite"
    assert not axe_violations(page), describe(axe_violations(page))
    # a suggested button sends its payload; the reply appears in the same log
    log.get_by_role("button", name="Phí, lệ phí").click()
    log.get_by_text("không thu lệ phí").wait_for()
    # rating swaps just the small form
    log.get_by_role("button", name="Có ích").last.click()
    log.get_by_text("Cảm ơn bạn đã đánh giá.").wait_for()
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    # history is loaded when the panel opens on the next page
    page.goto("/")
    page.get_by_role("button", name="Hỏi trợ lý ảo").click()
    page.locator("#assistant-log").get_by_text("không thu lệ phí").wait_for()
    context.close()


def test_chat_without_javascript(browser: Any, chat_server: str) -> None:
    context = browser.new_context(base_url=chat_server, java_script_enabled=False)
    page = context.new_page()
    page.goto("/")
    # the popover opens without any script
    page.get_by_role("button", name="Hỏi trợ lý ảo").click()
    page.fill("#assistant-input", "làm lại bằng tốt nghiệp")
    page.get_by_role("button", name="Gửi").click()
    page.wait_for_url("**/chat#m-*")
    assert "Căn cước công dân" in page.content()
    page.get_by_role("button", name="Phí, lệ phí").click()
    assert "không thu lệ phí" in page.content()
    page.get_by_role("button", name="Chưa có ích").last.click()
    assert "Cảm ơn bạn đã đánh giá câu trả lời." in page.content()
    context.close()

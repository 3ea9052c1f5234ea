"""A specialist processes a case in Chromium: log in, find it in the queue, appraise it, see the new state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.backoffice.staff_builders import PASSWORD, act, create_staff, login
from tests.builders import submit_transfer

pytestmark = pytest.mark.browser
AXE = Path(__file__).parent.parent / "browser" / "vendor" / "axe-4.10.2.min.js"


@pytest.fixture
def browser_page() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page()
        yield page
        browser.close()


def _serious_violations(page: Any) -> list[str]:
    page.evaluate(AXE.read_text(encoding="utf-8"))  # not a <script>: the CSP refuses inline scripts
    result = page.evaluate(
        "async () => JSON.stringify(await axe.run(document, {resultTypes: ['violations']}))"
    )
    return [
        f"{v['id']}: {v['help']}"
        for v in json.loads(result)["violations"]
        if v["impact"] in ("serious", "critical") and v["id"] != "color-contrast"
    ]


def test_specialist_appraises_a_case_in_the_browser(
    app: FastAPI, client: TestClient, live_portal: str, browser_page: Any
) -> None:
    with app.state.db.sessions() as session:
        reception = create_staff(session, "tiepnhan", "Phạm Thu Hà", ["tiep_nhan"])
        specialist = create_staff(session, "chuyenvien", "Võ Minh Tuấn", ["chuyen_vien"])
        create_staff(session, "lanhdao", "Nguyễn Quốc Bảo", ["lanh_dao"])
        session.commit()
        assert reception.id and specialist.id
    app_id, code = submit_transfer(client)
    with TestClient(app) as officer:
        login(officer, "tiepnhan", PASSWORD)
        assert act(officer, app_id, "accept", assignee=str(specialist.id)).status_code == 303

    page = browser_page
    page.goto(f"{live_portal}/can-bo/ho-so")
    assert "/can-bo/dang-nhap" in page.url
    page.get_by_label("Tên đăng nhập").fill("chuyenvien")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_portal}/can-bo/ho-so")
    page.get_by_role("link", name="Hồ sơ của tôi").click()
    assert _serious_violations(page) == []
    page.get_by_role("link", name=code).click()
    page.wait_for_url(f"{live_portal}/can-bo/ho-so/{app_id}")
    assert page.locator(".state-label").inner_text() == "Chuyên viên đang thẩm định"
    assert _serious_violations(page) == []

    box = page.locator("#action-appraise")
    box.locator("summary").click()
    box.get_by_role("button", name="Trình lãnh đạo phê duyệt").click()  # no comment yet: refused
    assert "Vui lòng nhập ý kiến xử lý." in page.locator(".error-summary").inner_text()
    box = page.locator("#action-appraise")
    box.get_by_label("Ý kiến xử lý").fill("Hồ sơ hợp lệ, đề nghị lãnh đạo phê duyệt")
    box.get_by_label("Giao cho (không bắt buộc)").select_option(label="Nguyễn Quốc Bảo (Lãnh đạo)")
    box.get_by_role("button", name="Trình lãnh đạo phê duyệt").click()
    page.wait_for_selector(".notice-success")
    assert "Đã thực hiện «Trình lãnh đạo phê duyệt»" in page.locator(".notice-success").inner_text()
    assert page.locator(".state-label").inner_text() == "Chờ lãnh đạo phê duyệt"
    assert "Hồ sơ hợp lệ, đề nghị lãnh đạo phê duyệt" in page.locator(".history").inner_text()
    assert page.locator("#action-appraise").count() == 0


def test_a_head_enrols_in_two_factor_and_signs_in_with_a_code_in_the_browser(
    app: FastAPI, live_portal: str, browser_page: Any
) -> None:
    """The head (who signs results) must enrol: QR code and secret, a first code, the recovery
    codes once; later sign-ins take a code; a wrong code and a replayed one are refused."""
    from portal.staff import totp

    with app.state.db.sessions() as session:
        create_staff(session, "lanhdao", "Nguyễn Quốc Bảo", ["lanh_dao"])
        session.commit()

    def code(secret: str, steps_ahead: int = 0) -> str:
        # what the phone shows: the code at the app's clock (the served app's is the same clock)
        return totp.code_at(secret, totp.time_step(app.state.clock()) + steps_ahead)

    page = browser_page
    errors: list[str] = []  # script errors and CSP refusals (a 422 answer's "failed to load" is expected)
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)

    def password() -> None:
        page.goto(f"{live_portal}/can-bo/dang-nhap")
        page.get_by_label("Tên đăng nhập").fill("lanhdao")
        page.get_by_label("Mật khẩu").fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()

    password()
    page.wait_for_url(f"{live_portal}/can-bo/xac-thuc/dang-ky")
    assert page.locator(".totp-qr svg").is_visible()  # inline SVG, nothing loaded from elsewhere
    assert _serious_violations(page) == []
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert len(secret) == 32
    page.get_by_label("Mã xác thực").fill(code(secret))
    page.get_by_role("button", name="Xác nhận và bật xác thực hai bước").click()
    page.wait_for_selector("#recovery-codes")
    assert page.locator("#recovery-codes li").count() == 10
    page.get_by_role("link", name="Tôi đã lưu các mã, tiếp tục").click()
    page.wait_for_url(f"{live_portal}/can-bo/ho-so")
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(f"{live_portal}/can-bo/dang-nhap")

    # a later sign-in: the password, then a code
    password()
    page.wait_for_url(f"{live_portal}/can-bo/xac-thuc")
    assert _serious_violations(page) == []
    good = code(secret, steps_ahead=1)  # the next step's code (the clock may be a little behind)
    page.get_by_label("Mã xác thực").fill(f"{(int(good[0]) + 1) % 10}{good[1:]}")
    page.get_by_role("button", name="Xác nhận").click()
    page.wait_for_selector(".error-summary")
    assert "Mã xác thực không đúng hoặc đã hết hạn." in page.locator(".error-summary").inner_text()
    assert page.url == f"{live_portal}/can-bo/xac-thuc"
    page.get_by_label("Mã xác thực").fill(good)
    page.get_by_role("button", name="Xác nhận").click()
    page.wait_for_url(f"{live_portal}/can-bo/ho-so")
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(f"{live_portal}/can-bo/dang-nhap")

    # the same code again (seen over a shoulder): refused
    password()
    page.wait_for_url(f"{live_portal}/can-bo/xac-thuc")
    page.get_by_label("Mã xác thực").fill(good)
    page.get_by_role("button", name="Xác nhận").click()
    page.wait_for_selector(".error-summary")
    assert "đã được dùng" in page.locator(".error-summary").inner_text()
    page.goto(f"{live_portal}/can-bo/ho-so")
    assert "/can-bo/dang-nhap" in page.url  # half signed in opens nothing
    assert errors == []  # no CSP refusals, no script errors
    assert [url for url in missing if not url.endswith("/favicon.ico")] == []

"""A parent pays two invoices in Chromium: look up both children, pay once on the VNPay sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from tests.payments_app.builders import invoice_status, link_code_of, school_world

pytestmark = pytest.mark.browser
AXE = Path(__file__).parent.parent / "browser" / "vendor" / "axe-4.10.2.min.js"


@pytest.fixture
def page() -> Iterator[Any]:
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
        yield browser.new_page()
        browser.close()


def _serious_violations(page: Any) -> list[str]:
    page.evaluate(AXE.read_text(encoding="utf-8"))  # not a <script>: the CSP refuses inline scripts
    found = json.loads(
        page.evaluate("async () => JSON.stringify(await axe.run(document, {resultTypes: ['violations']}))")
    )
    return [
        f"{v['id']}: {v['help']}"
        for v in found["violations"]
        if v["impact"] in ("serious", "critical") and v["id"] != "color-contrast"
    ]


PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_parent_pays_two_invoices_in_chromium(
    app: FastAPI, live_portal: str, page: Any, viewport: dict[str, int] | None
) -> None:
    if viewport:
        page.set_viewport_size(viewport)
    world = school_world(app)
    refs = [world["by_code"][code][0] for code in ("7901000001", "7901000003")]
    page.goto(f"{live_portal}/hoc-phi")
    for code in ("7901000001", "7901000003"):
        page.fill("#student_code", code)
        code_on_notice = link_code_of(app, code)
        page.fill("#link_code", f"{code_on_notice[:4]}-{code_on_notice[4:]}")
        page.get_by_role("button", name="Tra cứu").click()
        page.wait_for_url(f"{live_portal}/hoc-phi")
    assert page.locator("h2", has_text="Nguyễn Minh An").count() == 1
    assert page.locator("h2", has_text="Nguyễn Minh Khang").count() == 1
    assert _serious_violations(page) == []
    for ref in refs:
        assert page.is_checked(f"#chon-{ref}")
    if viewport:
        # the fee list fits the phone (it was 490–510 px wide), one card per invoice with its column names
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        assert page.locator("td[data-label]").first.is_visible()
        # the assistant's button is in the flow at the end, not floating over the pay button
        toggle = page.locator(".assistant-toggle").bounding_box()
        pay = page.get_by_role("button", name="Thanh toán các khoản đã chọn qua VNPay").bounding_box()
        assert toggle and pay and toggle["y"] >= pay["y"] + pay["height"]
        assert (
            page.evaluate("getComputedStyle(document.querySelector('.assistant-toggle')).position")
            == "static"
        )
    # tapping an invoice's name toggles its checkbox (it used to open the invoice)
    page.locator(f"label[for='chon-{refs[0]}']").click()
    assert not page.is_checked(f"#chon-{refs[0]}")
    page.locator(f"label[for='chon-{refs[0]}']").click()
    assert page.is_checked(f"#chon-{refs[0]}")
    page.get_by_role("button", name="Thanh toán các khoản đã chọn qua VNPay").click()
    page.wait_for_url("**/dev/vnpay/paymentv2/vpcpay.html**")
    assert page.inner_text("#amount") == "3.100.000 ₫"
    page.check("#outcome-00")
    page.get_by_role("button", name="Xác nhận").click()
    page.wait_for_url("**/thanh-toan/vnpay/ket-qua**")
    # the IPN may arrive just after the browser: the page polls until it does
    page.wait_for_selector("text=Thanh toán thành công", timeout=15_000)
    assert page.get_attribute("#payment-state", "data-state") == "paid"
    assert _serious_violations(page) == []
    assert [invoice_status(app, ref) for ref in refs] == ["paid", "paid"]
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải biên lai (PDF)").click()
    assert download.value.suggested_filename.startswith("bien-lai-HP")

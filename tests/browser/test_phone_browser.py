"""Chromium: register, receive the code in the development SMS sink (/dev/sms), type it, verified."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI

from tests.browser.conftest import axe_violations, describe

pytestmark = pytest.mark.browser


def test_register_then_verify_the_phone_with_the_sms_code(app: FastAPI, page: Any, live_server: str) -> None:
    # `app`: the database is reset for this test (the live server shares it)
    page.goto("/dang-ky")
    page.fill("#full_name", "Lê Thị Phụ Huynh")
    page.fill("#phone", "0912 345 678")
    page.fill("#password", "matkhau-an-toan")
    page.fill("#password2", "matkhau-an-toan")
    page.get_by_role("button", name="Đăng ký").click()
    page.wait_for_url("**/tai-khoan/ho-so")
    banner = page.locator("#verify-phone-banner")
    assert "0912345678" in banner.inner_text() and "chưa được xác minh" in banner.inner_text()

    banner.get_by_role("link", name="Xác minh số điện thoại").click()
    page.wait_for_url("**/tai-khoan/so-dien-thoai")
    assert page.get_attribute("#phone-status", "data-verified") == "false"
    assert page.input_value("#phone") == "0912345678"
    page.get_by_role("button", name="Gửi mã").click()
    page.wait_for_url("**/tai-khoan/so-dien-thoai")
    assert "Đã gửi mã xác minh đến số 0912***678." in page.locator("[role=status]").inner_text()
    assert axe_violations(page) == [], describe(axe_violations(page))

    # the development sink, as a developer opens it in another tab
    sink = page.context.new_page()
    sink.goto(f"{live_server}/dev/sms?phone=0912345678")
    body = sink.locator("#sms .sms-body").first.inner_text()
    sink.close()
    found = re.search(r"\b(\d{6})\b", body)
    assert found, body
    code = found.group(1)

    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    page.fill("#code", wrong)
    page.get_by_role("button", name="Xác minh", exact=True).click()
    assert "Mã xác minh không đúng; bạn còn 4 lần thử." in page.locator("#code-error").inner_text()
    assert page.input_value("#code") == wrong  # what was typed stays
    assert page.get_attribute("#code", "aria-invalid") == "true"
    assert axe_violations(page) == [], describe(axe_violations(page))

    page.fill("#code", code)
    page.get_by_role("button", name="Xác minh", exact=True).click()
    page.wait_for_url("**/tai-khoan/ho-so")
    assert "Số điện thoại 0912345678 đã được xác minh." in page.locator("[role=status]").inner_text()
    assert page.locator("#verify-phone-banner").count() == 0
    page.goto("/tai-khoan/so-dien-thoai")
    assert page.get_attribute("#phone-status", "data-verified") == "true"
    assert page.locator("#code").count() == 0  # the code is spent: no code form any more

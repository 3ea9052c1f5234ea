"""In Chromium: a citizen signs in through the development identity provider, applies, and the
applicant block is the identity token's (name, PID, birth date), read-only; the pages pass axe."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from portal.samples import tiny_pdf
from tests.browser.conftest import axe_violations, browser, describe, page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_sign_in_with_the_identity_provider_and_apply_in_chromium(page: Any, tmp_path: Path) -> None:  # noqa: F811
    page.goto("/dang-nhap")
    assert not axe_violations(page), describe(axe_violations(page))
    page.get_by_role("link", name="Đăng nhập bằng VNeID / định danh điện tử").click()

    # the development provider's page: pick a demo citizen and consent
    page.wait_for_url(re.compile(r"/dev/oidc/authorize\?"))
    assert not axe_violations(page), describe(axe_violations(page))
    page.get_by_label("Lê Hoàng Nam — 001090004567 — 1990-11-02").check()
    page.get_by_role("button", name="Đồng ý chia sẻ thông tin và đăng nhập").click()
    page.wait_for_url(re.compile(r"/tai-khoan/ho-so$"))
    assert "001090004567" in page.inner_text("main")

    page.goto("/thu-tuc/chuyen-truong-thcs/nop-ho-so")
    assert not axe_violations(page), describe(axe_violations(page))
    assert page.input_value("#applicant_full_name") == "Lê Hoàng Nam"
    assert page.input_value("#applicant_cccd") == "001090004567"
    assert page.input_value("#applicant_birth_date") == "02/11/1990"
    for locked in ("#applicant_full_name", "#applicant_cccd", "#applicant_birth_date"):
        assert not page.is_editable(locked)

    page.select_option("#agency_id", "H29.41.04")
    page.fill("#applicant_phone", "0987654321")
    page.fill("#applicant_address", "12 Lê Văn Khương, phường Thới An")
    page.fill("#f_student_name", "Lê Minh Khang")
    page.fill("#f_student_birth_date", "14/03/2012")
    page.select_option("#f_grade", "7")
    page.fill("#f_school_from", "THCS Nguyễn Huệ")
    page.fill("#f_school_to", "THCS Phan Bội Châu")
    page.fill("#f_reason", "Gia đình chuyển nơi ở")
    for key in ("don_de_nghi", "hoc_ba", "giay_gioi_thieu"):
        path = tmp_path / f"{key}.pdf"
        path.write_bytes(tiny_pdf(key))
        page.set_input_files(f"#doc_{key}", str(path))
    page.get_by_role("button", name="Tiếp tục: xem lại hồ sơ").click()
    page.wait_for_url(re.compile(r"/xem-lai"))
    review = page.inner_text("main")
    assert "Lê Hoàng Nam" in review and "001090004567" in review
    page.get_by_role("button", name="Nộp hồ sơ").click()
    page.wait_for_url(re.compile(r"/bien-nhan"))
    assert re.fullmatch(r"H29\.41\.04-\d{6}-\d{4}", page.inner_text("strong.case-code"))
    assert "Lê Hoàng Nam" in page.inner_text("main")

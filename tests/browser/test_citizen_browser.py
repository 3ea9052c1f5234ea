"""A citizen in a real browser: search without diacritics, apply with an attachment, get the receipt."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from portal.samples import tiny_pdf
from tests.browser.conftest import axe_violations, describe

pytestmark = pytest.mark.browser


def _files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for key in ("don_de_nghi", "hoc_ba", "giay_gioi_thieu"):
        path = tmp_path / f"{key}.pdf"
        path.write_bytes(tiny_pdf(key))
        out[key] = path
    return out


def test_apply_in_chromium_and_pages_pass_axe(page: Any, tmp_path: Path) -> None:
    page.goto("/")
    assert not axe_violations(page), describe(axe_violations(page))

    page.fill("#q", "chuyen truong")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"/thu-tuc\?q="))
    assert not axe_violations(page), describe(axe_violations(page))
    page.get_by_role("link", name="Chuyển trường đối với học sinh trung học cơ sở").click()
    page.get_by_role("link", name="Nộp hồ sơ trực tuyến").first.click()
    assert not axe_violations(page), describe(axe_violations(page))

    # inline HTMX validation shows the error at the field without leaving the page
    page.fill("#applicant_phone", "0123")
    page.press("#applicant_phone", "Tab")
    page.wait_for_selector("#applicant_phone-error")
    assert "10 chữ số" in page.inner_text("#field-applicant_phone")

    page.select_option("#agency_id", "H29.41.04")
    page.fill("#applicant_full_name", "Trần Thị Mai")
    page.fill("#applicant_cccd", "079185012345")
    page.fill("#applicant_phone", "0987654321")
    page.fill("#applicant_email", "mai@example.vn")
    page.fill("#applicant_address", "12 Lê Văn Khương, phường Thới An")
    page.fill("#f_student_name", "Nguyễn Minh Khôi")
    page.fill("#f_student_birth_date", "14/03/2012")
    page.select_option("#f_grade", "7")
    page.fill("#f_school_from", "THCS Nguyễn Huệ")
    page.fill("#f_school_to", "THCS Phan Bội Châu")
    page.fill("#f_reason", "Gia đình chuyển nơi ở")
    for key, path in _files(tmp_path).items():
        page.set_input_files(f"#doc_{key}", str(path))
    page.get_by_role("button", name="Tiếp tục: xem lại hồ sơ").click()
    page.wait_for_url(re.compile(r"/xem-lai"))
    assert "Hồ sơ chưa đủ" not in page.content()
    page.get_by_role("button", name="Nộp hồ sơ").click()
    page.wait_for_url(re.compile(r"/bien-nhan"))
    assert not axe_violations(page), describe(axe_violations(page))
    code = page.inner_text("strong.case-code")
    assert re.fullmatch(r"H29\.41\.04-\d{6}-\d{4}", code)
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải giấy tiếp nhận (PDF)").click()
    assert download.value.suggested_filename == f"giay-tiep-nhan-{code}.pdf"


def test_form_errors_are_announced_and_linked(page: Any) -> None:
    page.goto("/thu-tuc/chuyen-truong-thcs/nop-ho-so")
    page.fill("#applicant_full_name", "Trần Thị Mai")
    page.get_by_role("button", name="Tiếp tục: xem lại hồ sơ").click()
    page.wait_for_selector(".error-summary")
    assert page.input_value("#applicant_full_name") == "Trần Thị Mai"
    # GOV.UK's pattern: "Lỗi:" in the title, the summary focused, its links in the order of the page
    assert page.title().startswith("Lỗi: ")
    # the focus moves once the deferred script ran (DOMContentLoaded): wait for it, do not race it
    page.wait_for_function("document.activeElement && document.activeElement.id === 'error-summary'")
    targets = page.eval_on_selector_all(".error-summary a", "links => links.map(a => a.hash.slice(1))")
    on_page = page.evaluate(
        "ids => ids.map(id => document.getElementById(id)).filter(Boolean)"
        ".sort((a, b) => a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1)"
        ".map(e => e.id)",
        targets,
    )
    assert targets[0] == "agency_id" and targets == on_page
    # jumping to a field keeps its label in view
    page.click(".error-summary a[href='#applicant_cccd']")
    label = page.locator("label[for='applicant_cccd']").bounding_box()
    # within the viewport (sub-pixel layout may put its top edge a fraction of a pixel above 0)
    assert label and label["y"] >= -1 and label["y"] + label["height"] <= 844
    # a corrected choice loses its stale message before the next submit
    assert page.locator("#agency_id-error").count() == 1
    page.select_option("#agency_id", index=1)
    page.wait_for_selector("#agency_id-error", state="detached")
    assert page.get_attribute("#agency_id", "aria-invalid") is None
    assert not axe_violations(page), describe(axe_violations(page))


def test_no_javascript_flow_still_submits(browser: Any, live_server: str, tmp_path: Path) -> None:
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    page = context.new_page()
    page.goto("/thu-tuc?q=chuyen+truong")
    page.goto("/thu-tuc/chuyen-truong-thcs/nop-ho-so")
    page.select_option("#agency_id", "H29.41.01")
    for selector, value in (
        ("#applicant_full_name", "Lê Văn Hùng"),
        ("#applicant_cccd", "079090001234"),
        ("#applicant_phone", "0909123456"),
        ("#applicant_address", "45 Tô Ký"),
        ("#f_student_name", "Lê Minh An"),
        ("#f_student_birth_date", "01/01/2012"),
        ("#f_school_from", "A"),
        ("#f_school_to", "B"),
        ("#f_reason", "Chuyển nhà"),
    ):
        page.fill(selector, value)
    page.select_option("#f_grade", "8")
    for key, path in _files(tmp_path).items():
        page.set_input_files(f"#doc_{key}", str(path))
    page.get_by_role("button", name="Tiếp tục: xem lại hồ sơ").click()
    page.get_by_role("button", name="Nộp hồ sơ").click()
    assert "Hồ sơ đã được nộp thành công" in page.content()
    context.close()


def test_api_docs_load_from_this_site_only(page: Any, live_server: str) -> None:
    """/api/docs is the vendored Swagger UI (no CDN): it lists the operations under the page CSP,
    and the browser fetches nothing from another origin."""
    elsewhere: list[str] = []
    blocked: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_server) else elsewhere.append(r.url))
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto("/api/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/applications" in p for p in paths), paths
    assert elsewhere == [] and blocked == [], (elsewhere, blocked)

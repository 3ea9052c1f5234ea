"""The citizen's whole journey over HTTP: find, apply, review, submit, receipt, track."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient

from tests.builders import APPLICANT, PNG, TRANSFER, csrf, start_transfer, submit_transfer
from tests.pdftext import pdf_pages, pdf_text


def test_catalogue_search_ignores_diacritics_and_case(client: TestClient) -> None:
    page = client.get("/thu-tuc", params={"q": "CHUYEN truong"})
    assert page.status_code == 200
    assert "Chuyển trường đối với học sinh trung học cơ sở" in page.text
    assert "Chỉnh sửa nội dung văn bằng" not in page.text


def test_catalogue_htmx_returns_only_results_fragment(client: TestClient) -> None:
    page = client.get(
        "/thu-tuc", params={"q": "van bang"}, headers={"HX-Request": "true", "HX-Target": "results"}
    )
    assert page.status_code == 200
    assert page.text.lstrip().startswith('<div id="results"')
    assert "<html" not in page.text
    assert "văn bằng" in page.text.lower()
    assert "HX-Request" in page.headers["vary"]


def test_search_for_nonsense_finds_nothing(client: TestClient) -> None:
    page = client.get("/thu-tuc", params={"q": "dang ky ket hon"})
    assert "Không tìm thấy thủ tục phù hợp" in page.text


def test_procedure_page_shows_documents_limit_fee_level(client: TestClient) -> None:
    page = client.get(f"/thu-tuc/{TRANSFER}")
    assert page.status_code == 200
    for text in ("Học bạ", "ngày làm việc", "Không thu phí", "Toàn trình", "Nộp hồ sơ trực tuyến"):
        assert text in page.text


def test_unknown_procedure_is_a_404_page(client: TestClient) -> None:
    page = client.get("/thu-tuc/khong-ton-tai")
    assert page.status_code == 404
    assert "Không có thủ tục này trong danh mục" in page.text
    assert "Traceback" not in page.text


def test_full_flow_draft_submit_receipt_tracking(client: TestClient) -> None:
    app_id, code = submit_transfer(client)
    assert re.fullmatch(r"H29\.41\.04-\d{6}-0001", code)
    receipt = client.get(f"/ho-so/{app_id}/bien-nhan")
    assert "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" in receipt.text
    assert "Ngày hẹn trả kết quả" in receipt.text
    # what happens next comes first; withdrawing is offered last, after the receipt and tracking
    page = receipt.text
    assert "Việc tiếp theo" in page and "Hãy lưu lại mã hồ sơ" in page
    assert page.index("Việc tiếp theo") < page.index("Tải giấy tiếp nhận (PDF)") < page.index("Rút hồ sơ")

    pdf = client.get(f"/ho-so/{app_id}/bien-nhan.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf_pages(pdf.content) == 1  # the signature block stays with the rest (was 2 pages)
    text = pdf_text(pdf.content)
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text.upper()
    assert code in text
    assert "Trần Thị Mai" in text  # Vietnamese diacritics survive the PDF round trip
    due = text.search(r"ngày(\d{2}/\d{2}/\d{4})")
    assert due and due.group(1) in receipt.text

    other = TestClient(client.app)
    token = csrf(other, "/tra-cuu")
    found = other.post(
        "/tra-cuu", data={"csrf_token": token, "case_code": code.lower(), "phone": "+84987654321"}
    )
    assert found.status_code == 200
    assert "Đã nộp, chờ cán bộ tiếp nhận kiểm tra" in found.text
    assert f"cấp mã {code}" in found.text

    wrong = other.post("/tra-cuu", data={"csrf_token": token, "case_code": code, "phone": "0912000000"})
    assert wrong.status_code == 404
    assert "Không tìm thấy hồ sơ" in wrong.text


def test_invalid_input_keeps_everything_typed_and_uploaded(client: TestClient) -> None:
    response = start_transfer(
        client, applicant_cccd="123", applicant_phone="0123", f_student_birth_date="31/02/2012"
    )
    assert response.status_code == 422
    html = response.text
    assert "Mã tỉnh «123»" in html or "12 chữ số" in html
    assert "Đầu số «012»" in html or "10 chữ số" in html
    assert "Ngày không hợp lệ" in html
    # typed values are still in the form, uploaded files are listed as kept
    assert 'value="Trần Thị Mai"' in html and 'value="0123"' in html and 'value="31/02/2012"' in html
    assert "hoc-ba.pdf" in html and "don.pdf" in html
    # the error summary links to the field ids
    assert 'href="#applicant_cccd"' in html and 'id="applicant_cccd"' in html
    assert 'aria-invalid="true"' in html
    # the form now posts to the stored draft, so correcting it does not create a second one
    action = re.search(r'<form method="post" action="(/ho-so/[^"]+/sua[^"]*)"', html)
    assert action
    token = csrf(client, "/")
    fixed = client.post(
        action.group(1).replace("&amp;", "&"),
        data={
            **APPLICANT,
            "agency_id": "H29.41.04",
            "f_student_name": "Nguyễn Minh Khôi",
            "f_student_birth_date": "14/03/2012",
            "f_grade": "7",
            "f_school_from": "A",
            "f_school_to": "B",
            "f_reason": "Chuyển nhà",
            "csrf_token": token,
            "intent": "review",
        },
        follow_redirects=False,
    )
    assert fixed.status_code == 303 and "/xem-lai" in fixed.headers["location"]


def test_wrong_file_type_and_oversize_are_refused_at_the_field(client: TestClient) -> None:
    token = csrf(client, f"/thu-tuc/{TRANSFER}/nop-ho-so")
    response = client.post(
        f"/thu-tuc/{TRANSFER}/nop-ho-so",
        data={"csrf_token": token, "intent": "save", "applicant_full_name": "Lê Văn Giữ Lại"},
        files=[
            ("doc_don_de_nghi", ("virus.exe", b"MZ\x90\x00", "application/octet-stream")),
            ("doc_hoc_ba", ("fake.pdf", PNG, "application/pdf")),
            ("doc_giay_gioi_thieu", ("big.pdf", b"%PDF-1.4\n" + b"0" * (6 * 1024 * 1024), "application/pdf")),
        ],
    )
    assert response.status_code == 422
    assert "không đúng định dạng; chỉ nhận PDF, JPG, PNG" in response.text
    assert "không phải là tệp PDF hợp lệ" in response.text
    assert "vượt quá giới hạn 5 MB" in response.text
    assert "dung lượng 6.0 MB" in response.text  # the real size, though only 5 MB + 1 byte was read
    assert "Lê Văn Giữ Lại" in response.text  # what the user typed is kept


def test_draft_is_saved_and_resumed_from_the_link_on_another_device(client: TestClient) -> None:
    response = start_transfer(client, intent="save")
    assert response.status_code == 303
    # the link to keep is shown on the page; the redirect itself carries no secret
    assert "?t=" not in response.headers["location"]
    link = re.search(r'class="resume-link" href="([^"]+)"', client.get(response.headers["location"]).text)
    assert link
    resume = link.group(1)
    assert "?t=" in resume
    stranger = TestClient(client.app)
    without_token = stranger.get(resume.split("?")[0])
    assert without_token.status_code == 404
    page = stranger.get(resume)
    assert page.status_code == 200
    assert 'value="Trần Thị Mai"' in page.text and "hoc-ba.pdf" in page.text


def test_other_peoples_drafts_and_receipts_are_not_reachable(client: TestClient) -> None:
    app_id, _ = submit_transfer(client)
    stranger = TestClient(client.app)
    for path in (
        f"/ho-so/{app_id}/bien-nhan",
        f"/ho-so/{app_id}/bien-nhan.pdf",
        f"/ho-so/{app_id}/sua",
        f"/ho-so/{app_id}/bien-nhan?t=forged",
    ):
        assert stranger.get(path).status_code == 404


def test_state_changing_forms_require_csrf(client: TestClient) -> None:
    response = client.post(f"/thu-tuc/{TRANSFER}/nop-ho-so", data={**APPLICANT, "intent": "save"})
    assert response.status_code == 403
    assert "Phiên làm việc đã hết hạn" in response.text
    assert client.post("/tra-cuu", data={"case_code": "X", "phone": "0912345678"}).status_code == 403


def test_submitting_twice_gives_one_case(client: TestClient) -> None:
    app_id, code = submit_transfer(client)
    token = csrf(client, "/")
    again = client.post(f"/ho-so/{app_id}/nop", data={"csrf_token": token}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith(f"/ho-so/{app_id}/bien-nhan")
    assert code in client.get(f"/ho-so/{app_id}/bien-nhan").text


def test_review_lists_missing_documents_and_blocks_submit(client: TestClient) -> None:
    token = csrf(client, f"/thu-tuc/{TRANSFER}/nop-ho-so")
    from tests.builders import TRANSFER_FIELDS

    response = client.post(
        f"/thu-tuc/{TRANSFER}/nop-ho-so",
        data={**APPLICANT, **TRANSFER_FIELDS, "csrf_token": token, "intent": "review"},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert "Vui lòng đính kèm: Học bạ" in response.text


def test_inline_field_check_over_htmx(client: TestClient) -> None:
    token = csrf(client, f"/thu-tuc/{TRANSFER}/nop-ho-so")
    bad = client.post(
        f"/thu-tuc/{TRANSFER}/kiem-tra",
        data={"applicant_phone": "0123"},
        headers={"HX-Request": "true", "HX-Trigger-Name": "applicant_phone", "X-CSRF-Token": token},
    )
    assert bad.status_code == 200
    assert (
        'id="field-applicant_phone"' in bad.text
        and "error-message" in bad.text
        and 'value="0123"' in bad.text
    )
    good = client.post(
        f"/thu-tuc/{TRANSFER}/kiem-tra",
        data={"applicant_phone": "0912 345 678"},
        headers={"HX-Request": "true", "HX-Trigger-Name": "applicant_phone", "X-CSRF-Token": token},
    )
    assert "error-message" not in good.text


def test_register_login_and_my_applications(client: TestClient) -> None:
    token = csrf(client, "/dang-ky")
    bad = client.post(
        "/dang-ky",
        data={
            "csrf_token": token,
            "full_name": "Lan",
            "phone": "0912",
            "email": "x",
            "password": "short",
            "password2": "short",
        },
    )
    assert bad.status_code == 422 and "Mật khẩu phải có ít nhất 8 ký tự" in bad.text
    ok = client.post(
        "/dang-ky",
        data={
            "csrf_token": token,
            "full_name": "Phạm Thị Lan",
            "phone": "0934567890",
            "email": "lan@example.vn",
            "password": "matkhau-an-toan",
            "password2": "matkhau-an-toan",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    _, code = submit_transfer(client)
    mine = client.get("/tai-khoan/ho-so")
    assert code in mine.text

    client.post("/dang-xuat", data={"csrf_token": csrf(client, "/")})
    assert client.get("/tai-khoan/ho-so", follow_redirects=False).status_code == 303
    token = csrf(client, "/dang-nhap")
    login = client.post(
        "/dang-nhap",
        data={"csrf_token": token, "login": "0934 567 890", "password": "matkhau-an-toan"},
        follow_redirects=False,
    )
    assert login.status_code == 303
    assert code in client.get("/tai-khoan/ho-so").text


def test_login_is_rate_limited(client: TestClient) -> None:
    token = csrf(client, "/dang-nhap")
    statuses = [
        client.post(
            "/dang-nhap", data={"csrf_token": token, "login": "0911111111", "password": "sai-mat-khau"}
        ).status_code
        for _ in range(6)
    ]
    assert statuses[:5] == [422] * 5
    assert statuses[5] == 429


def test_language_switch_to_english(client: TestClient) -> None:
    client.get("/ngon-ngu/en?next=/thu-tuc")
    page = client.get("/thu-tuc")
    assert '<html lang="en">' in page.text
    assert "School transfer for lower-secondary pupils" in page.text


def test_money_and_dates_are_vietnamese_formatted() -> None:
    from portal.i18n import fmt_date, money

    assert money(1500000) == "1.500.000 ₫"
    assert fmt_date(date(2026, 2, 5)) == "05/02/2026"

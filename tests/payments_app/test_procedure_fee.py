"""Procedure fees: the diploma-copy procedure (1.005092) charges 2.000 đ per copy, paid at submission."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from portal.payments_app.fees import fee_due_now, result_states
from portal.payments_app.service import payment_status_for_case
from portal.samples import tiny_pdf
from tests.builders import APPLICANT, csrf
from tests.payments_app.builders import attempt, ledger_sum, pay_on_sandbox, txn_ref_of
from tests.payments_app.conftest import pdf_text
from tests.pdftext import pdf_pages

SLUG = "cap-ban-sao-van-bang"
FIELDS = {
    "agency_id": "H29.41.04",
    "f_loai_van_bang": "bang_tn_thcs",
    "f_ho_ten_nguoi_duoc_cap": "Trần Thị Mai",
    "f_ngay_sinh_nguoi_duoc_cap": "12/05/1985",
    "f_truong_tot_nghiep": "THCS Nguyễn Huệ",
    "f_nam_tot_nghiep": "2000",
    "f_quan_he": "ban_than",
    "f_so_ban_sao": "3",
}


def submit_diploma_copy(client: TestClient, copies: int = 3) -> tuple[str, str]:
    token = csrf(client, f"/thu-tuc/{SLUG}/nop-ho-so")
    data = {**APPLICANT, **FIELDS, "f_so_ban_sao": str(copies), "csrf_token": token, "intent": "review"}
    files = [
        ("doc_don_de_nghi", ("don.pdf", tiny_pdf("don"), "application/pdf")),
        ("doc_giay_to_tuy_than", ("cccd.pdf", tiny_pdf("cccd"), "application/pdf")),
    ]
    response = client.post(f"/thu-tuc/{SLUG}/nop-ho-so", data=data, files=files, follow_redirects=False)
    assert response.status_code == 303, response.text[:3000]
    app_id = response.headers["location"].split("/")[2]
    token = csrf(client, response.headers["location"])
    response = client.post(f"/ho-so/{app_id}/nop", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    return app_id, response.headers["location"]


def pay_fee_from_receipt(client: TestClient, receipt_url: str) -> Any:
    page = client.get(receipt_url).text
    assert "Thanh toán lệ phí" in page
    action = re.search(r'<form method="post" action="(/ho-so/[^"]+/le-phi[^"]*)"', page)
    assert action, page
    token = csrf(client, receipt_url)
    return client.post(
        action.group(1).replace("&amp;", "&"), data={"csrf_token": token}, follow_redirects=False
    )


def test_fee_is_paid_at_submission_and_shown_to_staff_and_citizen(app: FastAPI, client: TestClient) -> None:
    app_id, receipt_url = submit_diploma_copy(client, copies=3)
    page = client.get(receipt_url).text
    assert "6.000 ₫" in page and "Chưa thanh toán" in page
    started = pay_fee_from_receipt(client, receipt_url)
    assert started.status_code == 303 and "/dev/vnpay/" in started.headers["location"]
    result = pay_on_sandbox(client, started.headers["location"], "00")
    assert "Thanh toán thành công" in result.text
    txn_ref = txn_ref_of(started.headers["location"])
    assert attempt(app, txn_ref).state == "paid"
    assert ledger_sum(app, application_id=app_id) == 6_000

    with app.state.db.sessions() as session:
        status = payment_status_for_case(session, app_id)  # what the back office calls
    assert (status.required, status.paid, status.amount, status.paid_amount, status.txn_ref) == (
        True,
        True,
        6_000,
        6_000,
        txn_ref,
    )
    page = client.get(receipt_url).text
    assert "Đã thanh toán" in page and "Thanh toán lệ phí</button>" not in page
    receipt = client.get(f"/ho-so/{app_id}/le-phi/bien-lai.pdf")
    assert pdf_pages(receipt.content) == 1
    text = pdf_text(receipt.content)
    assert "BIÊN LAI THU TIỀN" in text and "Sáu nghìn đồng" in text and "Trần Thị Mai" in text
    # the case history (the citizen's timeline) says it was paid
    code = re.search(r'class="case-code">([^<]+)<', page)
    assert code
    token = csrf(client, "/tra-cuu")
    tracked = client.post(
        "/tra-cuu",
        data={"csrf_token": token, "case_code": code.group(1), "phone": APPLICANT["applicant_phone"]},
    ).text
    assert "Đã thanh toán lệ phí 6.000 ₫ qua VNPay" in tracked
    assert 'id="fee-status">Đã thanh toán' in tracked


@pytest.mark.parametrize(
    ("outcome", "state", "label"),
    [
        ("24", "failed", "Chưa thanh toán"),
        ("51", "failed", "Chưa thanh toán"),
        ("11", "expired", "Chưa thanh toán"),
        ("07", "needs_review", "Đang kiểm tra giao dịch"),
    ],
)
def test_every_fee_outcome_is_recorded(
    app: FastAPI, client: TestClient, outcome: str, state: str, label: str
) -> None:
    app_id, receipt_url = submit_diploma_copy(client)
    started = pay_fee_from_receipt(client, receipt_url)
    pay_on_sandbox(client, started.headers["location"], outcome)
    assert attempt(app, txn_ref_of(started.headers["location"])).state == state
    with app.state.db.sessions() as session:
        status = payment_status_for_case(session, app_id)
    assert not status.paid and status.state == state and status.label == label
    assert f'id="fee-status">{label}' in client.get(receipt_url).text
    assert ledger_sum(app, application_id=app_id) == (6_000 if state == "needs_review" else 0)


def test_a_failed_fee_payment_leaves_the_case_unpaid_and_payable(app: FastAPI, client: TestClient) -> None:
    app_id, receipt_url = submit_diploma_copy(client)
    started = pay_fee_from_receipt(client, receipt_url)
    pay_on_sandbox(client, started.headers["location"], "24")
    with app.state.db.sessions() as session:
        status = payment_status_for_case(session, app_id)
    assert not status.paid and status.state == "failed"
    assert "Chưa thanh toán" in client.get(receipt_url).text
    retry = pay_fee_from_receipt(client, receipt_url)
    pay_on_sandbox(client, retry.headers["location"], "00")
    with app.state.db.sessions() as session:
        assert payment_status_for_case(session, app_id).paid


def test_tracking_page_pays_with_case_code_and_phone(app: FastAPI, client: TestClient) -> None:
    _, receipt_url = submit_diploma_copy(client)
    code = re.search(r'class="case-code">([^<]+)<', client.get(receipt_url).text)
    assert code
    other = TestClient(app, base_url="http://testserver")  # another browser: no draft token
    with other:
        token = csrf(other, "/tra-cuu")
        tracked = other.post(
            "/tra-cuu",
            data={"csrf_token": token, "case_code": code.group(1), "phone": APPLICANT["applicant_phone"]},
        )
        assert 'action="/le-phi/thanh-toan"' in tracked.text
        started = other.post(
            "/le-phi/thanh-toan",
            data={"csrf_token": token, "case_code": code.group(1), "phone": APPLICANT["applicant_phone"]},
            follow_redirects=False,
        )
        assert started.status_code == 303
        pay_on_sandbox(other, started.headers["location"], "00")
        receipt = other.post(
            "/le-phi/bien-lai",
            data={"csrf_token": token, "case_code": code.group(1), "phone": APPLICANT["applicant_phone"]},
        )
        assert "Sáu nghìn đồng" in pdf_text(receipt.content)
        wrong = other.post(
            "/le-phi/thanh-toan",
            data={"csrf_token": token, "case_code": code.group(1), "phone": "0909000111"},
            follow_redirects=False,
        )
        assert wrong.status_code == 404


def test_fees_below_vnpay_minimum_are_explained(client: TestClient) -> None:
    _, receipt_url = submit_diploma_copy(client, copies=1)  # 2.000 đ: VNPay takes 5.000 đ or more
    refused = pay_fee_from_receipt(client, receipt_url)
    assert refused.status_code == 409
    assert "5.000 ₫" in refused.text


def test_free_procedures_show_no_fee(client: TestClient) -> None:
    from tests.builders import submit_transfer

    app_id, _ = submit_transfer(client)
    page = client.get(f"/ho-so/{app_id}/bien-nhan").text
    assert 'id="le-phi"' not in page


@pytest.mark.parametrize(
    ("status", "due"),
    [
        ("cho_tiep_nhan", False),
        ("dang_tham_dinh", False),
        ("cho_tra_ket_qua", True),
        ("da_tra_ket_qua", True),
        ("tu_choi", False),
    ],
)
def test_before_result_fees_are_due_when_the_result_exists(app: FastAPI, status: str, due: bool) -> None:
    from portal.models import Application

    definition = app.state.registry.current("1.005092", __import__("datetime").date(2026, 12, 1))
    later = definition.model_copy(
        update={"fee": definition.fee.model_copy(update={"pay_at": "before_result"})}
    )
    assert result_states(later) == {"cho_tra_ket_qua", "da_tra_ket_qua"}
    case = Application(status=status, fee_amount=6_000)
    assert fee_due_now(later, case) is due
    assert fee_due_now(definition, case) is (status not in ("tu_choi",))  # at submission: due at once

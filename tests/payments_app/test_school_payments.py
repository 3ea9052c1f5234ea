"""A parent pays one or several school invoices through the local VNPay sandbox, every outcome."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.payments_app.models import Student, StudentLink
from tests.builders import csrf
from tests.payments_app.builders import (
    PARENT_PHONE,
    attempt,
    invoice_status,
    ledger_sum,
    link_code_of,
    lookup,
    pay_on_sandbox,
    start_school_payment,
    txn_ref_of,
)
from tests.payments_app.conftest import pdf_text
from tests.pdftext import pdf_pages


def _two_children(client: TestClient, world: dict[str, Any]) -> list[str]:
    assert lookup(client, "7901000001").status_code == 303
    assert lookup(client, "7901000003").status_code == 303
    return [world["by_code"]["7901000001"][0], world["by_code"]["7901000003"][0]]


def test_parent_pays_two_invoices_in_one_payment(
    app: FastAPI, client: TestClient, world: dict[str, Any]
) -> None:
    refs = _two_children(client, world)
    page = client.get("/hoc-phi").text
    assert "Nguyễn Minh An" in page and "Nguyễn Minh Khang" in page
    assert "3.100.000 ₫" in page  # 2 × (20 days × 35.000 + 350.000 + 500.000)
    started = start_school_payment(client, refs)
    assert started.status_code == 303
    txn_ref = txn_ref_of(started.headers["location"])
    assert attempt(app, txn_ref).state == "pending"

    result = pay_on_sandbox(client, started.headers["location"], "00")
    assert result.status_code == 200
    assert "Thanh toán thành công" in result.text
    paid = attempt(app, txn_ref)
    assert (paid.state, paid.amount, paid.settled_by) == ("paid", 3_100_000, "ipn")
    assert [invoice_status(app, r) for r in refs] == ["paid", "paid"]
    assert ledger_sum(app, attempt_id=paid.id) == 3_100_000

    receipt = client.get(f"/hoc-phi/hoa-don/{refs[0]}/bien-lai.pdf")
    assert pdf_pages(receipt.content) == 1  # A5 landscape: nothing spills onto a second page
    text = pdf_text(receipt.content)
    assert "BIÊN LAI THU TIỀN" in text and "Nguyễn Minh An" in text
    assert "Một triệu năm trăm năm mươi nghìn đồng" in text
    receipt_link = result.text.split('href="/thanh-toan/')[1].split('"')[0]
    whole = client.get(f"/thanh-toan/{receipt_link}".replace("&amp;", "&"))
    assert whole.status_code == 200
    assert pdf_pages(whole.content) == 1
    text = pdf_text(whole.content)
    assert "Ba triệu một trăm nghìn đồng" in text and "Nguyễn Minh Khang" in text
    # the paid invoices show as paid; nothing left to pay
    page = client.get("/hoc-phi").text
    assert "Đã nộp" in page and "Thanh toán các khoản đã chọn" not in page


@pytest.mark.parametrize(
    ("outcome", "state", "message"),
    [
        ("24", "failed", "Khách hàng hủy giao dịch"),
        ("51", "failed", "Tài khoản không đủ số dư"),
        ("11", "expired", "Đã hết hạn chờ thanh toán"),
    ],
)
def test_unsuccessful_payments_are_recorded_and_change_nothing_else(
    app: FastAPI, client: TestClient, world: dict[str, Any], outcome: str, state: str, message: str
) -> None:
    refs = _two_children(client, world)
    started = start_school_payment(client, refs)
    result = pay_on_sandbox(client, started.headers["location"], outcome)
    assert "Giao dịch không thành công" in result.text and message in result.text
    row = attempt(app, txn_ref_of(started.headers["location"]))
    assert row.state == state and row.response_code == outcome
    assert [invoice_status(app, r) for r in refs] == ["unpaid", "unpaid"]
    assert ledger_sum(app) == 0
    # the parent can try again: a new attempt with a new TxnRef
    again = start_school_payment(client, refs)
    assert txn_ref_of(again.headers["location"]) != row.txn_ref
    pay_on_sandbox(client, again.headers["location"], "00")
    assert [invoice_status(app, r) for r in refs] == ["paid", "paid"]


def test_suspected_fraud_is_held_for_review_then_approved(
    app: FastAPI, client: TestClient, accountant: TestClient, world: dict[str, Any]
) -> None:
    refs = _two_children(client, world)
    started = start_school_payment(client, refs)
    result = pay_on_sandbox(client, started.headers["location"], "07")
    assert "đang được kiểm tra" in result.text
    row = attempt(app, txn_ref_of(started.headers["location"]))
    assert row.state == "needs_review"
    assert [invoice_status(app, r) for r in refs] == ["unpaid", "unpaid"]  # not fulfilled automatically
    assert ledger_sum(app, attempt_id=row.id) == row.amount  # the money was taken: it is in the ledger

    page = accountant.get("/can-bo/thu-phi")
    assert row.txn_ref in page.text
    detail = accountant.get(f"/can-bo/thu-phi/giao-dich/{row.txn_ref}")
    assert "Duyệt giao dịch" in detail.text
    token = csrf(accountant, f"/can-bo/thu-phi/giao-dich/{row.txn_ref}")
    done = accountant.post(
        f"/can-bo/thu-phi/giao-dich/{row.txn_ref}/duyet", data={"csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303
    assert attempt(app, row.txn_ref).state == "paid"
    assert [invoice_status(app, r) for r in refs] == ["paid", "paid"]
    assert ledger_sum(app, attempt_id=row.id) == row.amount  # approval moves no money


def test_paying_twice_for_the_same_invoice_goes_to_review(
    app: FastAPI, client: TestClient, world: dict[str, Any]
) -> None:
    """Two tabs: both attempts succeed at VNPay; the second one is money without a purpose."""
    ref = _two_children(client, world)[0]
    first = start_school_payment(client, [ref])
    second = start_school_payment(client, [ref])
    pay_on_sandbox(client, first.headers["location"], "00")
    pay_on_sandbox(client, second.headers["location"], "00")
    one, two = (
        attempt(app, txn_ref_of(first.headers["location"])),
        attempt(app, txn_ref_of(second.headers["location"])),
    )
    assert one.state == "paid"
    assert two.state == "needs_review" and ref in (two.state_reason or "")
    assert ledger_sum(app) == one.amount + two.amount  # both sums arrived; the second one must be refunded


def test_paid_invoices_cannot_be_paid_again(app: FastAPI, client: TestClient, world: dict[str, Any]) -> None:
    refs = _two_children(client, world)
    pay_on_sandbox(client, start_school_payment(client, refs[:1]).headers["location"], "00")
    again = start_school_payment(client, refs)
    assert again.status_code == 409 and "đã được thanh toán" in again.text


def test_strangers_cannot_pay_or_see_invoices(client: TestClient, world: dict[str, Any]) -> None:
    ref = world["by_code"]["7901000001"][0]
    assert client.get(f"/hoc-phi/hoa-don/{ref}").status_code == 404
    assert start_school_payment(client, [ref]).status_code == 404
    right = link_code_of(client.app, "7901000001")
    other_child = link_code_of(client.app, "7901000002")
    wrong = lookup(client, "7901000001", link_code=other_child)  # another student's code
    assert wrong.status_code == 404
    assert "Mã học sinh và mã liên kết không khớp" in wrong.text
    assert f'value="{other_child}"' in wrong.text and 'aria-invalid="true"' in wrong.text  # kept at the field
    assert client.get(f"/hoc-phi/hoa-don/{ref}").status_code == 404
    assert lookup(client, "7901000001", link_code=right.lower()).status_code == 303
    assert client.get(f"/hoc-phi/hoa-don/{ref}").status_code == 200


def test_lookup_errors_are_vietnamese_and_no_invoice_is_required(
    client: TestClient, world: dict[str, Any]
) -> None:
    token = csrf(client, "/hoc-phi")
    response = client.post("/hoc-phi", data={"csrf_token": token, "student_code": "", "link_code": "12"})
    assert response.status_code == 422
    assert "Vui lòng nhập mã học sinh" in response.text
    assert "Mã liên kết phụ huynh gồm 8 chữ cái và chữ số" in response.text
    assert 'id="link_code" name="link_code" value="12"' in response.text
    empty = client.post("/hoc-phi", data={"csrf_token": token, "student_code": "7901000001", "link_code": ""})
    assert empty.status_code == 422 and "Vui lòng nhập mã liên kết phụ huynh" in empty.text
    assert 'value="7901000001"' in empty.text
    none = start_school_payment(client, [])
    assert none.status_code == 422 and "Vui lòng chọn ít nhất một khoản" in none.text


def _log_in_parent(app: FastAPI, client: TestClient) -> None:
    from portal.demo import DEMO_PASSWORD
    from portal.models import Citizen
    from tests.backoffice.staff_builders import _hash

    with app.state.db.sessions() as session:
        if session.query(Citizen).filter_by(phone=PARENT_PHONE).first() is None:
            session.add(
                Citizen(
                    full_name="Nguyễn Văn An",
                    phone=PARENT_PHONE,
                    email=None,
                    password_hash=_hash(DEMO_PASSWORD),
                )
            )
            session.commit()
    token = csrf(client, "/dang-nhap")
    client.post("/dang-nhap", data={"csrf_token": token, "login": PARENT_PHONE, "password": DEMO_PASSWORD})


def test_a_logged_in_parent_links_their_children_once(
    app: FastAPI, client: TestClient, world: dict[str, Any]
) -> None:
    _log_in_parent(app, client)
    page = client.get("/hoc-phi").text
    assert "Nguyễn Minh An" not in page  # the phone on the student record is no proof
    assert lookup(client, "7901000001").status_code == 303
    assert "Đã liên kết học sinh với tài khoản của bạn." in client.get("/hoc-phi").text
    assert lookup(client, "7901000003").status_code == 303
    # a new session (log out, log in again): the links stay with the account
    client.cookies.clear()
    _log_in_parent(app, client)
    page = client.get("/hoc-phi").text
    assert "Nguyễn Minh An" in page and "Nguyễn Minh Khang" in page
    assert "Trần Bảo Ngọc" not in page  # another parent's child
    with app.state.db.sessions() as session:
        assert session.scalar(select(func.count(StudentLink.id))) == 2
    assert lookup(client, "7901000001").status_code == 303  # entering it again links nothing twice
    with app.state.db.sessions() as session:
        assert session.scalar(select(func.count(StudentLink.id))) == 2


def test_the_link_code_is_on_the_notice_for_parents_and_accountants(
    app: FastAPI, client: TestClient, world: dict[str, Any], accountant: TestClient
) -> None:
    code = link_code_of(app, "7901000001")
    shown = f"{code[:4]}-{code[4:]}"
    lookup(client, "7901000001")
    ref = world["by_code"]["7901000001"][0]
    assert shown in client.get(f"/hoc-phi/hoa-don/{ref}").text
    with app.state.db.sessions() as session:
        class_id = session.scalars(select(Student.class_id).where(Student.code == "7901000001")).one()
    html = accountant.get(f"/can-bo/thu-phi/truong/{world['school_id']}/lop/{class_id}?ky=2026-12").text
    assert shown in html and "Mã liên kết phụ huynh" in html


def test_invoice_page_offers_vietqr_with_the_reference_as_memo(
    client: TestClient, world: dict[str, Any]
) -> None:
    from payments.vietqr import build_vietqr

    ref, amount = world["by_code"]["7901000001"]
    lookup(client, "7901000001")
    page = client.get(f"/hoc-phi/hoa-don/{ref}")
    assert page.status_code == 200
    assert "<svg" in page.text and "113366668888" in page.text and ref in page.text
    payload = build_vietqr("970415", "113366668888", amount, ref)
    assert payload.startswith("000201010212") and f"62{len(ref) + 4:02d}08{len(ref):02d}{ref}" in payload

"""Refunds by an accountant through VNPay: partial then full, never above what is left, with who and why."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.errors import ValidationFailed
from portal.payments_app import flows
from portal.payments_app.models import Refund
from portal.payments_app.reports import ledger_mismatches
from tests.backoffice.staff_builders import PASSWORD, create_staff, login
from tests.builders import csrf
from tests.payments_app.builders import (
    attempt,
    invoice_status,
    ledger_sum,
    lookup,
    pay_on_sandbox,
    start_school_payment,
    txn_ref_of,
)


def _paid(client: TestClient, world: dict[str, Any], outcome: str = "00") -> str:
    codes = ("7901000001", "7901000003")
    for code in codes:
        lookup(client, code)
    started = start_school_payment(client, [world["by_code"][c][0] for c in codes])
    pay_on_sandbox(client, started.headers["location"], outcome)
    return txn_ref_of(started.headers["location"])


def _refund(accountant: TestClient, txn_ref: str, amount: str, reason: str) -> Any:
    token = csrf(accountant, f"/can-bo/thu-phi/giao-dich/{txn_ref}")
    return accountant.post(
        f"/can-bo/thu-phi/giao-dich/{txn_ref}/hoan-tien",
        data={"csrf_token": token, "amount": amount, "reason": reason},
        follow_redirects=False,
    )


def test_partial_then_full_refund_never_above_refundable(
    app: FastAPI, client: TestClient, accountant: TestClient, world: dict[str, Any]
) -> None:
    txn_ref = _paid(client, world)
    row = attempt(app, txn_ref)
    assert row.amount == 3_100_000
    done = _refund(accountant, txn_ref, "1.000.000", "Học sinh nghỉ học 2 tuần, hoàn tiền ăn")
    assert done.status_code == 303
    page = accountant.get(f"/can-bo/thu-phi/giao-dich/{txn_ref}").text
    assert 'id="refundable">2.100.000 ₫' in page and "VNPay đã nhận" in page
    # the accountant reads words, not the stored codes of events, ledger lines and who settled it
    for code in (
        "settled_ipn",
        "started",
        "refund_requested",
        "refund_done",
        "(system)",
        "— payment",
        "— refund",
    ):
        assert code not in page, code
    assert "Kết quả thanh toán do cổng thanh toán báo về" in page and "Yêu cầu hoàn tiền" in page

    too_much = _refund(accountant, txn_ref, "2100001", "Hoàn phần còn lại")
    assert too_much.status_code == 422
    assert "vượt quá số còn có thể hoàn (2.100.000 ₫)" in too_much.text
    no_reason = _refund(accountant, txn_ref, "100000", "")
    assert no_reason.status_code == 422 and "Vui lòng ghi rõ lý do hoàn tiền" in no_reason.text

    assert _refund(accountant, txn_ref, "2100000", "Chuyển trường, hoàn toàn bộ").status_code == 303
    page = accountant.get(f"/can-bo/thu-phi/giao-dich/{txn_ref}").text
    assert "Hoàn tiền</h2>" not in page  # nothing left to refund: no form
    assert _refund(accountant, txn_ref, "1", "Thử hoàn thêm").status_code == 422

    with app.state.db.sessions() as session:
        refunds = list(session.scalars(select(Refund).where(Refund.attempt_id == row.id).order_by(Refund.id)))
        assert [(r.amount, r.state, r.full, r.requested_by) for r in refunds] == [
            (1_000_000, "done", False, "Trương Văn Phúc"),
            (2_100_000, "done", False, "Trương Văn Phúc"),
        ]
        assert refunds[0].reason == "Học sinh nghỉ học 2 tuần, hoàn tiền ăn"
        assert ledger_mismatches(session) == []
    assert ledger_sum(app, attempt_id=row.id) == 0
    # refunded in full: the invoices are to be paid again
    assert [invoice_status(app, world["by_code"][c][0]) for c in ("7901000001", "7901000003")] == [
        "unpaid"
    ] * 2
    state = client.get("/dev/vnpay/_sandbox/transactions").json()
    sandbox = next(t for t in state["transactions"] if t["txn_ref"] == txn_ref)
    assert sandbox["refundable_x100"] == 0  # VNPay's side agrees


def test_a_full_refund_in_one_go_is_a_vnpay_full_refund(
    app: FastAPI, client: TestClient, accountant: TestClient, world: dict[str, Any]
) -> None:
    txn_ref = _paid(client, world)
    assert _refund(accountant, txn_ref, "3100000", "Thu nhầm, hoàn toàn bộ").status_code == 303
    state = client.get("/dev/vnpay/_sandbox/transactions").json()
    sandbox = next(t for t in state["transactions"] if t["txn_ref"] == txn_ref)
    assert [r["transaction_type"] for r in sandbox["refunds"]] == ["02"]


def test_vnpay_refusing_a_refund_releases_the_amount(
    app: FastAPI, client: TestClient, accountant: TestClient, world: dict[str, Any]
) -> None:
    txn_ref = _paid(client, world, "07")  # held for review: VNPay's original is not a 00 success
    assert _refund(accountant, txn_ref, "3100000", "Giao dịch nghi ngờ, hoàn trả khách").status_code == 303
    page = accountant.get(f"/can-bo/thu-phi/giao-dich/{txn_ref}").text
    assert "Không thành công" in page and 'id="refundable">3.100.000 ₫' in page
    assert ledger_sum(app, attempt_id=attempt(app, txn_ref).id) == 3_100_000


def test_accountants_of_other_agencies_and_other_roles_cannot_refund(
    app: FastAPI, client: TestClient, world: dict[str, Any]
) -> None:
    txn_ref = _paid(client, world)
    with app.state.db.sessions() as session:
        create_staff(session, "ketoan2", "Kế toán phường khác", ["ke_toan"], agency="H29.41.01")
        create_staff(session, "chuyenvien", "Võ Minh Tuấn", ["chuyen_vien"])
        session.commit()
    with TestClient(app, base_url="http://testserver") as other:
        login(other, "ketoan2", PASSWORD)
        assert other.get(f"/can-bo/thu-phi/giao-dich/{txn_ref}").status_code == 404
    with TestClient(app, base_url="http://testserver") as officer:
        login(officer, "chuyenvien", PASSWORD)
        assert officer.get(f"/can-bo/thu-phi/giao-dich/{txn_ref}").status_code == 403
    anonymous = client.get(f"/can-bo/thu-phi/giao-dich/{txn_ref}", follow_redirects=False)
    assert anonymous.status_code == 303 and "/can-bo/dang-nhap" in anonymous.headers["location"]


@pytest.mark.postgres
def test_concurrent_refunds_never_exceed_the_payment(
    app: FastAPI, client: TestClient, world: dict[str, Any]
) -> None:
    txn_ref = _paid(client, world)
    attempt_id = attempt(app, txn_ref).id
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def ask() -> None:
        barrier.wait()
        try:
            asyncio.run(
                flows.refund(
                    app.state.db,
                    app.state.payments_gateway,
                    attempt_id,
                    1_000_000,
                    "Hoàn tiền đồng thời",
                    staff_id=None,
                    staff_name="Kế toán",
                )
            )
            outcomes.append("ok")
        except ValidationFailed:
            outcomes.append("refused")

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["ok", "ok", "ok", "refused"]  # 3 × 1.000.000 fit in 3.100.000, a 4th does not
    with app.state.db.sessions() as session:
        total = sum(r.amount for r in session.scalars(select(Refund).where(Refund.attempt_id == attempt_id)))
    assert total == 3_000_000

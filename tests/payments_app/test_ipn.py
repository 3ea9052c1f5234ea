"""VNPay's IPN: the right RspCode in every case, state changed once and only by a verified notification."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from payments.vnpay_codec import SECURE_HASH, sign_params
from portal.payments_app.gateway import DEV_HASH_SECRET, DEV_TMN_CODE, IPN_PATH
from portal.payments_app.models import LedgerEntry, PaymentEvent
from tests.payments_app.builders import (
    attempt,
    invoice_status,
    ledger_count,
    lookup,
    pay_on_sandbox,
    start_school_payment,
    txn_ref_of,
)


def _pending(client: TestClient, world: dict[str, Any], codes: tuple[str, ...] = ("7901000001",)) -> str:
    for code in codes:
        assert lookup(client, code).status_code == 303
    started = start_school_payment(client, [world["by_code"][c][0] for c in codes])
    assert started.status_code == 303
    return str(started.headers["location"])


def signed_ipn(
    txn_ref: str,
    amount: int,
    *,
    code: str = "00",
    status: str = "00",
    tmn: str = DEV_TMN_CODE,
    secret: str = DEV_HASH_SECRET,
) -> dict[str, str]:
    params = {
        "vnp_Amount": str(amount * 100),
        "vnp_BankCode": "NCB",
        "vnp_BankTranNo": "VNP14000001",
        "vnp_CardType": "ATM",
        "vnp_OrderInfo": "Thanh toan hoc phi",
        "vnp_PayDate": "20261203101500",
        "vnp_ResponseCode": code,
        "vnp_TmnCode": tmn,
        "vnp_TransactionNo": "14000001",
        "vnp_TransactionStatus": status,
        "vnp_TxnRef": txn_ref,
    }
    return {**params, SECURE_HASH: sign_params(params, secret)}


def _events(app: FastAPI) -> int:
    with app.state.db.sessions() as session:
        return int(session.scalar(select(func.count(PaymentEvent.id))) or 0)


def _sandbox_replies(client: TestClient, url: str) -> list[str | None]:
    """What the portal answered the sandbox's IPN calls for this payment (the app outlives a test)."""
    state = client.get("/dev/vnpay/_sandbox/transactions").json()
    ref = txn_ref_of(url)
    return [a["rsp_code"] for d in state["ipn_deliveries"] if d["txn_ref"] == ref for a in d["attempts"]]


def test_tampered_signature_is_refused_with_97_and_changes_nothing(
    app: FastAPI, client: TestClient, world: dict[str, Any]
) -> None:
    url = _pending(client, world)
    events = _events(app)
    result = pay_on_sandbox(client, url, "00", tamper="vnp_Amount")
    assert _sandbox_replies(client, url) == ["97"]
    row = attempt(app, txn_ref_of(url))
    assert row.state == "pending" and row.response_code is None
    assert _events(app) == events and ledger_count(app) == 0  # nothing written for a forged request
    assert invoice_status(app, world["by_code"]["7901000001"][0]) == "unpaid"
    assert "Đang chờ VNPay xác nhận" in result.text  # the return page does not trust the browser either


def test_wrong_amount_is_answered_04_and_flagged_for_review(
    app: FastAPI, client: TestClient, world: dict[str, Any]
) -> None:
    url = _pending(client, world)
    pay_on_sandbox(client, url, "00", amount_vnd=1_000)
    assert _sandbox_replies(client, url) == ["04"]
    row = attempt(app, txn_ref_of(url))
    assert row.state == "pending" and ledger_count(app) == 0
    with app.state.db.sessions() as session:
        kinds = list(session.scalars(select(PaymentEvent.kind).where(PaymentEvent.attempt_id == row.id)))
    assert "ipn_amount_mismatch" in kinds


def test_a_failed_payment_is_recorded_and_answered_00(
    app: FastAPI, client: TestClient, world: dict[str, Any]
) -> None:
    url = _pending(client, world)
    pay_on_sandbox(client, url, "51")
    assert _sandbox_replies(client, url) == ["00"]  # VNPay must not retry a failure ten times
    assert attempt(app, txn_ref_of(url)).state == "failed"


def test_duplicates_delivered_together_credit_once(
    app: FastAPI, client: TestClient, world: dict[str, Any]
) -> None:
    url = _pending(client, world, ("7901000001", "7901000003"))
    pay_on_sandbox(client, url, "00", duplicates=10)
    replies = _sandbox_replies(client, url)
    assert sorted(replies) == ["00"] + ["02"] * 9
    row = attempt(app, txn_ref_of(url))
    assert row.state == "paid"
    with app.state.db.sessions() as session:
        entries = list(session.scalars(select(LedgerEntry).where(LedgerEntry.attempt_id == row.id)))
    assert [e.amount for e in entries] == [row.amount]


def test_direct_ipn_codes(app: FastAPI, client: TestClient, world: dict[str, Any]) -> None:
    url = _pending(client, world)
    txn_ref, amount = txn_ref_of(url), world["by_code"]["7901000001"][1]
    cases = [
        (signed_ipn("HPNOSUCHREF0000000000", amount), "01"),
        (signed_ipn(txn_ref, amount, tmn="OTHERTMN"), "01"),
        (signed_ipn(txn_ref, amount, secret="not-the-secret"), "97"),
        ({k: v for k, v in signed_ipn(txn_ref, amount).items() if k != SECURE_HASH}, "97"),
        ({}, "97"),
        (signed_ipn(txn_ref, amount + 1), "04"),
        (signed_ipn(txn_ref, amount), "00"),
        (signed_ipn(txn_ref, amount), "02"),
        (signed_ipn(txn_ref, amount, code="24", status="02"), "02"),  # a later failure cannot undo it
    ]
    for params, expected in cases:
        response = client.get(IPN_PATH, params=params)
        assert response.status_code == 200
        assert response.json()["RspCode"] == expected, (params, response.json())
    assert attempt(app, txn_ref).state == "paid"
    assert ledger_count(app) == 1


@pytest.mark.postgres
def test_ten_concurrent_duplicate_ipns_credit_once_on_postgresql(
    app: FastAPI, client: TestClient, world: dict[str, Any], live_portal: str
) -> None:
    """Ten threads deliver one IPN at the same moment to the real server (row lock + conditional update)."""
    url = _pending(client, world, ("7901000001", "7901000003"))
    txn_ref = txn_ref_of(url)
    amount = world["by_code"]["7901000001"][1] + world["by_code"]["7901000003"][1]
    params = signed_ipn(txn_ref, amount)
    barrier = threading.Barrier(10)
    replies: list[str] = []
    lock = threading.Lock()

    def deliver() -> None:
        with httpx.Client(base_url=live_portal, timeout=30) as http:
            barrier.wait()
            response = http.get(IPN_PATH, params=params)
            assert response.status_code == 200
            with lock:
                replies.append(response.json()["RspCode"])

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(replies) == ["00"] + ["02"] * 9
    row = attempt(app, txn_ref)
    assert row.state == "paid"
    assert ledger_count(app) == 1
    assert [invoice_status(app, world["by_code"][c][0]) for c in ("7901000001", "7901000003")] == ["paid"] * 2


def test_the_ipn_is_answered_in_front_of_the_pages_with_their_headers(
    app: FastAPI, client: TestClient, world: dict[str, Any]
) -> None:
    """The IPN skips the session, CSRF and routing layers, not the answer's security headers; only a
    GET to a registered provider is an IPN (anything else is an unknown page and changes nothing)."""
    url = _pending(client, world)
    txn_ref, amount = txn_ref_of(url), world["by_code"]["7901000001"][1]
    params = signed_ipn(txn_ref, amount)
    posted = client.post(IPN_PATH, params=params)
    assert posted.status_code in (404, 405)
    assert attempt(app, txn_ref).state == "pending" and ledger_count(app) == 0
    response = client.get(IPN_PATH, params=params)
    assert response.status_code == 200 and response.json() == {"RspCode": "00", "Message": "Confirm Success"}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "set-cookie" not in response.headers  # no session is opened for VNPay's server
    assert attempt(app, txn_ref).state == "paid" and ledger_count(app) == 1


@pytest.mark.postgres
def test_two_payments_of_one_invoice_with_duplicates_race_on_postgresql(
    app: FastAPI, client: TestClient, world: dict[str, Any], live_portal: str
) -> None:
    """Two tabs paid the same two invoices; both IPNs and their copies arrive at once. One attempt pays
    the invoices, the other goes to review; both sums are on the ledger once; every delivery gets a
    final answer (no deadlock, no 99)."""
    codes = ("7901000001", "7901000003")
    refs = [txn_ref_of(_pending(client, world, codes)) for _ in range(2)]
    amount = sum(world["by_code"][c][1] for c in codes)
    deliveries = [signed_ipn(ref, amount) for ref in refs for _ in range(5)]
    barrier = threading.Barrier(len(deliveries))
    replies: list[str] = []
    lock = threading.Lock()

    def deliver(params: dict[str, str]) -> None:
        with httpx.Client(base_url=live_portal, timeout=30) as http:
            barrier.wait()
            response = http.get(IPN_PATH, params=params)
            with lock:
                replies.append(response.json()["RspCode"])

    threads = [threading.Thread(target=deliver, args=(p,)) for p in deliveries]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(replies) == ["00"] * 2 + ["02"] * 8
    states = sorted(attempt(app, ref).state for ref in refs)
    assert states == ["needs_review", "paid"]
    assert ledger_count(app) == 2
    assert [invoice_status(app, world["by_code"][c][0]) for c in codes] == ["paid"] * 2

"""The portal reaches providers only by name through its registry: a second provider registered under
another name flows through start → IPN → ledger under its own name; unknown names are refused."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from payments.base import (
    VN_TZ,
    CallbackResult,
    InvalidSignature,
    MalformedCallback,
    NotSupported,
    PaymentProvider,
    PaymentRequest,
    PaymentStart,
    PaymentStatus,
    QueryResult,
    RefundRequest,
    RefundResult,
)
from payments.registry import UnknownProvider
from portal.payments_app.gateway import IPN_PATH, IPN_ROUTE, RETURN_ROUTE, job_gateway
from portal.payments_app.models import LedgerEntry, PaymentAttempt
from portal.payments_app.service import PaymentService
from tests.payments_app.builders import (
    attempt,
    invoice_status,
    ledger_count,
    lookup,
    start_school_payment,
)
from tests.payments_app.test_ipn import signed_ipn

DEMO_SECRET = b"demo-provider-secret"


class DemoProvider:
    """A 40-line gateway of our own: signed redirect, HMAC-signed notification in VNPay's IPN shape."""

    name = "demo"

    def __init__(self) -> None:
        self.started: list[PaymentRequest] = []

    def create_payment(self, req: PaymentRequest) -> PaymentStart:
        self.started.append(req)
        return PaymentStart(
            provider=self.name,
            txn_ref=req.txn_ref,
            amount_vnd=req.amount_vnd,
            transaction_date=req.created_at.astimezone(VN_TZ).replace(microsecond=0),
            expires_at=None,
            redirect_url="https://demo.example/pay?"
            + urlencode({"ref": req.txn_ref, "amount": req.amount_vnd}),
        )

    def verify_return(self, params: Mapping[str, str]) -> CallbackResult:
        return self.parse_notification(params)

    def parse_notification(self, params: Mapping[str, str]) -> CallbackResult:
        if not hmac.compare_digest(params.get("sig", ""), demo_signature(params)):
            raise InvalidSignature("demo signature does not verify")
        if not params.get("ref") or not params.get("amount", "").isdigit():
            raise MalformedCallback("ref and amount are required")
        paid = params.get("status") == "paid"
        return CallbackResult(
            provider=self.name,
            txn_ref=params["ref"],
            amount_vnd=int(params["amount"]),
            status=PaymentStatus.PAID if paid else PaymentStatus.FAILED,
            response_code="00" if paid else "24",
            transaction_status="00" if paid else "02",
            provider_txn_no=params.get("no"),
            bank_code=None,
            pay_date=datetime(2026, 12, 3, 10, 15, tzinfo=VN_TZ),
            raw=dict(params),
        )

    async def query(
        self,
        txn_ref: str,
        transaction_date: datetime,
        *,
        provider_txn_no: str | None = None,
        order_info: str | None = None,
    ) -> QueryResult:
        raise NotSupported("demo")

    async def refund(self, req: RefundRequest) -> RefundResult:
        raise NotSupported("demo")


def demo_signature(params: Mapping[str, str]) -> str:
    data = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sig")
    return hmac.new(DEMO_SECRET, data.encode(), hashlib.sha256).hexdigest()


def demo_ipn(txn_ref: str, amount: int, status: str = "paid") -> dict[str, str]:
    params = {"ref": txn_ref, "amount": str(amount), "status": status, "no": "D-77"}
    return {**params, "sig": demo_signature(params)}


@pytest.fixture
def demo(app: FastAPI) -> Iterator[DemoProvider]:
    """The demo provider registered beside VNPay and made the one new payments start with."""
    gateway = app.state.payments_gateway
    provider = DemoProvider()
    assert isinstance(provider, PaymentProvider)
    with gateway.registry.override(provider):
        app.state.payments_gateway = replace(gateway, online=provider.name)
        try:
            yield provider
        finally:
            app.state.payments_gateway = gateway


def _start(client: TestClient, world: dict[str, Any], code: str = "7901000001") -> tuple[str, str, int]:
    assert lookup(client, code).status_code == 303
    ref, amount = world["by_code"][code]
    started = start_school_payment(client, [ref])
    assert started.status_code == 303
    location = str(started.headers["location"])
    return dict(parse_qsl(urlsplit(location).query))["ref"], ref, amount


def _ledger(app: FastAPI) -> list[tuple[str, str, int]]:
    with app.state.db.sessions() as session:
        rows = session.execute(select(LedgerEntry.entry_key, LedgerEntry.channel, LedgerEntry.amount))
        return [(k, c, a) for k, c, a in rows]


def test_a_second_provider_goes_from_start_to_ledger_under_its_own_name(
    app: FastAPI, client: TestClient, world: dict[str, Any], demo: DemoProvider
) -> None:
    txn_ref, invoice_ref, amount = _start(client, world)
    assert client.get("/hoc-phi").status_code == 200
    assert [r.txn_ref for r in demo.started] == [txn_ref]
    row = attempt(app, txn_ref)
    assert (row.provider, row.state, row.amount) == ("demo", "pending", amount)

    ipn = IPN_ROUTE.format(provider="demo")
    answer = client.get(ipn, params=demo_ipn(txn_ref, amount))
    assert answer.json() == {"RspCode": "00", "Message": "Confirm Success"}
    paid = attempt(app, txn_ref)
    assert (paid.state, paid.settled_by, paid.provider_txn_no) == ("paid", "ipn", "D-77")
    assert invoice_status(app, invoice_ref) == "paid"
    assert _ledger(app) == [(f"demo:pay:{paid.id}", "demo", amount)]

    # a replay changes nothing; a forged one is refused
    assert client.get(ipn, params=demo_ipn(txn_ref, amount)).json()["RspCode"] == "02"
    forged = {**demo_ipn(txn_ref, amount), "amount": str(amount + 1)}
    assert client.get(ipn, params=forged).json()["RspCode"] == "97"
    assert _ledger(app) == [(f"demo:pay:{paid.id}", "demo", amount)]

    # the browser's return is verified by the same provider, by name
    back = client.get(RETURN_ROUTE.format(provider="demo"), params=demo_ipn(txn_ref, amount))
    assert back.status_code == 200 and "Thanh toán thành công" in back.text
    receipt = client.get(f"/hoc-phi/hoa-don/{invoice_ref}/bien-lai.pdf")
    assert receipt.status_code == 200


def test_an_ipn_through_another_provider_cannot_settle_an_attempt(
    app: FastAPI, client: TestClient, world: dict[str, Any], demo: DemoProvider
) -> None:
    """A correctly signed VNPay IPN for the demo provider's attempt: unknown order there (01)."""
    txn_ref, invoice_ref, amount = _start(client, world)
    assert client.get(IPN_PATH, params=signed_ipn(txn_ref, amount)).json()["RspCode"] == "01"
    assert attempt(app, txn_ref).state == "pending" and invoice_status(app, invoice_ref) == "unpaid"
    assert ledger_count(app) == 0


def test_unknown_provider_names_are_refused_cleanly(
    app: FastAPI, client: TestClient, world: dict[str, Any]
) -> None:
    gateway = app.state.payments_gateway
    assert "nosuch" not in gateway.registry
    assert lookup(client, "7901000001").status_code == 303
    ref, amount = world["by_code"]["7901000001"]
    txn_ref = dict(parse_qsl(urlsplit(start_school_payment(client, [ref]).headers["location"]).query))[
        "vnp_TxnRef"
    ]
    params = signed_ipn(txn_ref, amount)
    assert client.get(IPN_ROUTE.format(provider="nosuch"), params=params).status_code == 404
    assert client.get(RETURN_ROUTE.format(provider="nosuch"), params=params).status_code == 404
    assert attempt(app, txn_ref).state == "pending" and ledger_count(app) == 0
    with pytest.raises(UnknownProvider):
        gateway.provider("nosuch")
    with app.state.db.sessions() as session, pytest.raises(UnknownProvider):
        PaymentService(session, gateway).handle_ipn(params, "nosuch")
    # VNPay's own IPN for the same attempt still works: only the name decided
    assert client.get(IPN_PATH, params=params).json()["RspCode"] == "00"
    assert attempt(app, txn_ref).state == "paid" and ledger_count(app) == 1


def test_starting_with_an_unregistered_online_provider_writes_nothing(
    app: FastAPI, client: TestClient, world: dict[str, Any]
) -> None:
    gateway = app.state.payments_gateway
    app.state.payments_gateway = replace(gateway, online="gone")
    try:
        assert lookup(client, "7901000001").status_code == 303
        started = start_school_payment(client, [world["by_code"]["7901000001"][0]])
        assert started.status_code == 409  # "not available now", as when VNPay is not configured
    finally:
        app.state.payments_gateway = gateway
    with app.state.db.sessions() as session:
        assert session.scalars(select(PaymentAttempt)).first() is None


def test_the_worker_registers_the_same_providers_as_the_app(app: FastAPI) -> None:
    gateway, worker = app.state.payments_gateway, job_gateway(app.state.settings)
    assert worker.registry.names() == gateway.registry.names() == ["vietqr", "vnpay"]
    assert worker.online == gateway.online == "vnpay" and worker.queryable() == ["vnpay"]

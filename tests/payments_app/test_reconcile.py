"""Reconciliation: a lost IPN is settled by querydr after the delay; 94 backs off; abandoned ones expire."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from payments.base import ApiOutcome, QueryResult
from payments.vnpay import VNPayProvider
from portal.payments_app.flows import reconcile_due, write_daily_report
from portal.payments_app.models import PaymentAttempt
from portal.payments_app.repository import PaymentRepository
from tests.payments_app.builders import (
    attempt,
    invoice_status,
    ledger_sum,
    lookup,
    pay_on_sandbox,
    start_school_payment,
    txn_ref_of,
)
from workflows.calendar import VN_TZ


def _start(client: TestClient, world: dict[str, Any], code: str = "7901000001") -> str:
    lookup(client, code)
    return str(start_school_payment(client, [world["by_code"][code][0]]).headers["location"])


def _started(app: FastAPI) -> datetime:
    """When the test's payments were started, by the portal's own stamp (not the wall clock)."""
    with app.state.db.sessions() as session:
        started = session.scalar(select(func.max(PaymentAttempt.created_at)))
    assert started is not None
    return started


def _reconcile(app: FastAPI, minutes_later: int) -> Any:
    settings = app.state.settings
    now = _started(app) + timedelta(minutes=minutes_later)
    return asyncio.run(reconcile_due(app.state.db, app.state.payments_gateway, settings, now=now))


def test_a_lost_ipn_is_settled_by_querydr_after_the_delay(
    app: FastAPI, client: TestClient, world: dict[str, Any]
) -> None:
    url = _start(client, world)
    ref = world["by_code"]["7901000001"][0]
    result = pay_on_sandbox(client, url, "00", drop=1)  # VNPay took the money; the IPN never came
    assert "Đang chờ VNPay xác nhận" in result.text and 'hx-trigger="every 2s"' in result.text
    txn_ref = txn_ref_of(url)
    assert attempt(app, txn_ref).state == "pending"
    assert _reconcile(app, minutes_later=1) == {}  # too early: VNPay may still call us
    counts = _reconcile(app, minutes_later=app.state.settings.payment_reconcile_after_minutes + 1)
    assert counts == {"paid": 1}
    row = attempt(app, txn_ref)
    assert (row.state, row.settled_by) == ("paid", "querydr")
    assert invoice_status(app, ref) == "paid" and ledger_sum(app, attempt_id=row.id) == row.amount
    poll = client.get(result.text.split('hx-get="')[1].split('"')[0].replace("&amp;", "&"))
    assert "Thanh toán thành công" in poll.text  # the waiting page now shows the result
    assert _reconcile(app, minutes_later=60) == {}  # nothing pending any more


def test_a_cancelled_payment_whose_ipn_was_lost_is_recorded_as_failed(
    app: FastAPI, client: TestClient, world: dict[str, Any]
) -> None:
    url = _start(client, world)
    pay_on_sandbox(client, url, "24", drop=1)
    assert _reconcile(app, minutes_later=30) == {"failed": 1}
    assert attempt(app, txn_ref_of(url)).state == "failed"


def test_an_abandoned_attempt_expires(app: FastAPI, client: TestClient, world: dict[str, Any]) -> None:
    url = _start(client, world)  # the parent never opened VNPay's page
    assert _reconcile(app, minutes_later=30) == {"expired": 1}
    row = attempt(app, txn_ref_of(url))
    assert row.state == "expired" and row.settled_by == "querydr"
    assert invoice_status(app, world["by_code"]["7901000001"][0]) == "unpaid"


class ThrottledVNPay(VNPayProvider):
    """VNPay answering 94 to every querydr (sandbox throttling after a success lasts ~5 minutes)."""

    calls = 0

    async def query(self, txn_ref: str, transaction_date: Any, **_: Any) -> QueryResult:
        self.calls += 1
        return QueryResult(ApiOutcome.THROTTLED, "94", "Yeu cau bi trung lap", txn_ref)


def test_querydr_94_backs_off_and_stops_the_run(
    app: FastAPI, client: TestClient, world: dict[str, Any]
) -> None:
    first, second = _start(client, world, "7901000001"), _start(client, world, "7901000003")
    gateway = app.state.payments_gateway
    throttled = ThrottledVNPay(gateway.provider().config)
    with gateway.registry.override(throttled):
        counts = _reconcile(app, minutes_later=30)
        assert throttled.calls == 1 and counts["throttled"] == 1  # the second attempt waits for the next run
        row = attempt(app, txn_ref_of(first))
        assert row.state == "pending" and row.check_count == 1
        assert row.next_check_at is not None and row.next_check_at >= _started(app) + timedelta(minutes=35)
        assert attempt(app, txn_ref_of(second)).check_count == 0
        _reconcile(app, minutes_later=31)  # the first one is not asked again so soon
    assert attempt(app, txn_ref_of(first)).check_count == 1
    assert attempt(app, txn_ref_of(second)).check_count == 1


def test_daily_report_lists_what_needs_review(
    app: FastAPI, client: TestClient, world: dict[str, Any]
) -> None:
    fraud = _start(client, world, "7901000001")
    pay_on_sandbox(client, fraud, "07")
    wrong = _start(client, world, "7901000003")
    pay_on_sandbox(client, wrong, "00", amount_vnd=1_000)
    today = attempt(app, txn_ref_of(fraud)).created_at.astimezone(VN_TZ).date()  # the portal's day
    assert write_daily_report(app.state.db, app.state.settings, today) >= 2
    with app.state.db.sessions() as session:
        report = PaymentRepository(session).report(today)
        assert report is not None
        data = report.data
    assert [a["txn_ref"] for a in data["needs_review"]] == [txn_ref_of(fraud)]
    assert [a["kind"] for a in data["alerts"]] == ["ipn_amount_mismatch"]
    assert data["ledger_mismatches"] == []

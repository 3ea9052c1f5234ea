"""The ledger adds up: every money movement once, totals equal what the attempts, refunds and matched
bank lines say, whatever happened (success, review, failure, duplicates, refunds, transfers)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.payments_app.models import LedgerEntry, PaymentAttempt, Refund, StatementLine
from portal.payments_app.reports import ledger_mismatches
from tests.builders import csrf
from tests.payments_app.builders import lookup, pay_on_sandbox, start_school_payment, txn_ref_of


def test_ledger_totals_equal_payments_refunds_and_transfers(
    app: FastAPI, client: TestClient, accountant: TestClient, world: dict[str, Any]
) -> None:
    by_code = world["by_code"]
    for code in ("7901000001", "7901000003", "7901000002", "7901000004"):
        assert lookup(client, code).status_code == 303
    paid = start_school_payment(client, [by_code["7901000001"][0], by_code["7901000003"][0]])
    pay_on_sandbox(client, paid.headers["location"], "00", duplicates=3)
    held = start_school_payment(client, [by_code["7901000002"][0]])
    pay_on_sandbox(client, held.headers["location"], "07")
    failed = start_school_payment(client, [by_code["7901000004"][0]])
    pay_on_sandbox(client, failed.headers["location"], "51")
    txn_ref = txn_ref_of(paid.headers["location"])
    token = csrf(accountant, f"/can-bo/thu-phi/giao-dich/{txn_ref}")
    accountant.post(
        f"/can-bo/thu-phi/giao-dich/{txn_ref}/hoan-tien",
        data={"csrf_token": token, "amount": "250000", "reason": "Hoàn tiền ăn ngày nghỉ lễ"},
    )
    ref, amount = by_code["7901000004"]
    token = csrf(accountant, f"/can-bo/thu-phi/truong/{world['school_id']}/sao-ke")
    accountant.post(
        f"/can-bo/thu-phi/truong/{world['school_id']}/sao-ke",
        data={"csrf_token": token},
        files={"file": ("s.csv", f"Ngày;Nội dung;Số tiền\n05/12/2026;{ref};{amount}\n".encode())},
    )

    with app.state.db.sessions() as session:
        totals = dict(
            session.execute(
                select(LedgerEntry.kind, func.sum(LedgerEntry.amount)).group_by(LedgerEntry.kind)
            ).all()
        )
        money_in = session.scalar(
            select(func.sum(PaymentAttempt.amount)).where(PaymentAttempt.state.in_(("paid", "needs_review")))
        )
        refunded = session.scalar(select(func.sum(Refund.amount)).where(Refund.state == "done"))
        matched = session.scalar(
            select(func.sum(StatementLine.amount)).where(StatementLine.result == "matched")
        )
        assert totals == {"payment": money_in, "refund": -refunded, "bank_transfer": matched}
        assert (money_in, refunded, matched) == (3 * 1_550_000, 250_000, 1_550_000)
        assert ledger_mismatches(session) == []

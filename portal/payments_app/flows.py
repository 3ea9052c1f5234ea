"""Work that spans a call to VNPay: each step is its own short transaction, and no database
transaction (or row lock) is held while the gateway answers.

- refund: reserve the amount under the attempt's lock and commit, ask VNPay, record the answer.
- reconciliation (`portal worker`): querydr for attempts still pending after the configured delay;
  stop at the first 94 (VNPay throttles every query for minutes) and let the next run go on.
- daily report: what needs an accountant's eyes, stored per day.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime, timedelta

from anyio import to_thread

from payments.base import ApiOutcome, QueryResult, RefundRequest, RefundResult
from portal.config import Settings
from portal.db import Database, utcnow
from portal.payments_app.gateway import Gateway
from portal.payments_app.models import Refund
from portal.payments_app.reports import daily_findings
from portal.payments_app.repository import PaymentRepository
from portal.payments_app.service import PaymentService
from workflows.calendar import VN_TZ

log = logging.getLogger("portal.payments")


async def refund(
    db: Database,
    gateway: Gateway,
    attempt_id: int,
    amount: int,
    reason: str,
    *,
    staff_id: int | None,
    staff_name: str,
) -> Refund:
    """Raises ValidationFailed (nothing reserved) when the amount or the reason is not acceptable."""

    def reserve() -> tuple[int, RefundRequest, str]:
        with db.sessions() as session:
            service = PaymentService(session, gateway)
            reserved = service.reserve_refund(
                attempt_id, amount, reason, staff_id=staff_id, staff_name=staff_name
            )
            request = service.refund_request(reserved)
            attempt = service.repo.attempt(attempt_id)
            assert attempt is not None
            provider = attempt.provider
            session.commit()
            return reserved.id, request, provider

    def record(refund_id: int, result: RefundResult) -> Refund:
        with db.sessions() as session:
            recorded = PaymentService(session, gateway).record_refund(refund_id, result)
            session.commit()
            return recorded

    refund_id, request, provider = await to_thread.run_sync(reserve)
    result = await gateway.provider(provider).refund(request)  # the provider the payment went through
    return await to_thread.run_sync(record, refund_id, result)


async def reconcile_due(
    db: Database, gateway: Gateway, settings: Settings, *, now: datetime | None = None, limit: int = 100
) -> Counter[str]:
    now = now or utcnow()
    created_before = now - timedelta(minutes=settings.payment_reconcile_after_minutes)
    with db.sessions() as session:
        due = [
            (a.id, a.txn_ref, a.transaction_date, a.provider)
            for a in PaymentRepository(session).due_for_check(now, created_before, gateway.queryable(), limit)
        ]
    counts: Counter[str] = Counter()
    for attempt_id, txn_ref, transaction_date, provider in due:
        if transaction_date is None:
            continue
        result = await gateway.provider(provider).query(txn_ref, transaction_date)
        counts[await to_thread.run_sync(_apply, db, gateway, attempt_id, result, now)] += 1
        if result.outcome is ApiOutcome.THROTTLED:
            counts["throttled"] += 1
            break
    if counts:
        log.info("reconciliation: %s", dict(counts))
    return counts


def _apply(db: Database, gateway: Gateway, attempt_id: int, result: QueryResult, now: datetime) -> str:
    with db.sessions() as session:
        outcome = PaymentService(session, gateway).apply_query(attempt_id, result, now=now)
        session.commit()
        return outcome


def write_daily_report(db: Database, settings: Settings, day: date | None = None) -> int:
    day = day or utcnow().astimezone(VN_TZ).date()
    stale = timedelta(minutes=settings.payment_reconcile_after_minutes) + timedelta(hours=1)
    with db.sessions() as session:
        findings = daily_findings(session, day, stale_after=stale)
        PaymentRepository(session).save_report(day, findings.as_json())
        session.commit()
    return findings.count

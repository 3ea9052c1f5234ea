"""The accountant's figures: paid/unpaid per class as an Excel workbook, and the daily review report."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.payments_app.gateway import channel_label
from portal.payments_app.models import (
    INVOICE_PAID,
    MONEY_IN_STATES,
    NEEDS_REVIEW,
    PENDING,
    REFUND_FAILED,
    REFUND_REQUESTED,
    PaymentAttempt,
    School,
)
from portal.payments_app.repository import PaymentRepository, SchoolRepository
from portal.payments_app.schools import period_label
from portal.payments_app.statements import RESULT_LABELS
from workflows.calendar import VN_TZ

MONEY_FORMAT = "#,##0"


def class_workbook(session: Session, school: School, period: str) -> bytes:
    repo = SchoolRepository(session)
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = "Tổng hợp"
    summary.append([f"{school.name} — tình hình thu {period_label(period)}"])
    summary["A1"].font = Font(bold=True, size=13)
    summary.append([])
    headers = [
        "Lớp",
        "Sĩ số",
        "Số thông báo thu",
        "Đã nộp",
        "Chưa nộp",
        "Phải thu (đ)",
        "Đã thu (đ)",
        "Còn phải thu (đ)",
    ]
    summary.append(headers)
    rows = repo.class_summaries(school.id, period)
    for s in rows:
        summary.append(
            [
                s.class_name,
                s.students,
                s.invoices,
                s.paid,
                s.unpaid,
                s.amount_due,
                s.amount_paid,
                s.amount_unpaid,
            ]
        )
    summary.append(
        [
            "Tổng cộng",
            sum(s.students for s in rows),
            sum(s.invoices for s in rows),
            sum(s.paid for s in rows),
            sum(s.unpaid for s in rows),
            sum(s.amount_due for s in rows),
            sum(s.amount_paid for s in rows),
            sum(s.amount_unpaid for s in rows),
        ]
    )
    _style(summary, header_row=3, money_columns="FGH")
    detail = wb.create_sheet("Chi tiết")
    detail.append(
        [
            "Lớp",
            "Mã học sinh",
            "Họ và tên",
            "Mã thông báo",
            "Số tiền (đ)",
            "Trạng thái",
            "Kênh thanh toán",
            "Ngày nộp",
            "Hạn nộp",
        ]
    )
    for invoice, student, klass in repo.invoice_rows(school.id, period):
        detail.append(
            [
                klass.name,
                student.code,
                student.full_name,
                invoice.reference,
                invoice.amount,
                "Đã nộp"
                if invoice.status == INVOICE_PAID
                else ("Đã hủy" if invoice.status == "cancelled" else "Chưa nộp"),
                channel_label(invoice.paid_channel),
                invoice.paid_at.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M") if invoice.paid_at else "",
                invoice.due_date.strftime("%d/%m/%Y") if invoice.due_date else "",
            ]
        )
    _style(detail, header_row=1, money_columns="E")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _style(sheet: Any, *, header_row: int, money_columns: str) -> None:
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for column in money_columns:
        for cell in sheet[column][header_row:]:
            cell.number_format = MONEY_FORMAT
    for column_cells in sheet.columns:
        width = max(len(str(c.value or "")) for c in column_cells[header_row - 1 :])
        sheet.column_dimensions[column_cells[0].column_letter].width = min(max(width + 2, 10), 45)


# -- daily report -------------------------------------------------------------------------------------


@dataclass
class DailyFindings:
    day: date
    needs_review: list[dict[str, Any]] = field(default_factory=list)
    stale_pending: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    statement_lines: list[dict[str, Any]] = field(default_factory=list)
    ledger_mismatches: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(
            len(x)
            for x in (
                self.needs_review,
                self.stale_pending,
                self.refunds,
                self.alerts,
                self.statement_lines,
                self.ledger_mismatches,
            )
        )

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "day"} | {
            "day": self.day.isoformat(),
            "count": self.count,
        }


def _attempt(a: PaymentAttempt) -> dict[str, Any]:
    return {
        "txn_ref": a.txn_ref,
        "amount": a.amount,
        "state": a.state,
        "reason": a.state_reason or "",
        "created_at": a.created_at.isoformat(),
    }


def daily_findings(
    session: Session,
    day: date,
    *,
    stale_after: timedelta,
    now: datetime | None = None,
    agency_id: str | None = None,
) -> DailyFindings:
    """Everything an accountant should look at: held payments, unanswered ones, odd IPNs, stuck refunds,
    statement lines that matched nothing, and any attempt whose ledger does not add up.
    ``agency_id``: only that agency's cases and schools (an accountant's view); None: all (admin, job)."""
    now = now or utcnow()
    start = datetime.combine(day, time.min, VN_TZ)
    end = start + timedelta(days=1)
    repo = PaymentRepository(session)
    found = DailyFindings(day)
    found.needs_review = [_attempt(a) for a in repo.in_states((NEEDS_REVIEW,), agency_id=agency_id)]
    found.stale_pending = [
        _attempt(a) for a in repo.in_states((PENDING,), before=now - stale_after, agency_id=agency_id)
    ]
    stuck = repo.refunds_in_state(REFUND_REQUESTED, before=now - timedelta(hours=1), agency_id=agency_id)
    failed = [
        r
        for r in repo.refunds_in_state(REFUND_FAILED, agency_id=agency_id)
        if r.settled_at and start <= r.settled_at < end
    ]
    found.refunds = [
        {
            "refund_id": r.id,
            "attempt_id": r.attempt_id,
            "amount": r.amount,
            "state": r.state,
            "message": r.message or "",
        }
        for r in [*stuck, *failed]
    ]
    found.alerts = [
        {"attempt_id": e.attempt_id, "kind": e.kind, **e.detail}
        for e in repo.events_between(
            ("ipn_amount_mismatch", "querydr_amount_mismatch"), start, end, agency_id=agency_id
        )
    ]
    schools = SchoolRepository(session)
    school_ids = None if agency_id is None else [s.id for s in schools.schools(agency_id)]
    found.statement_lines = [
        {
            "line_id": x.id,
            "day": x.day.isoformat(),
            "amount": x.amount,
            "memo": x.memo,
            "result": RESULT_LABELS.get(x.result, x.result),
        }
        for x in schools.lines_needing_review(school_ids)
    ]
    found.ledger_mismatches = ledger_mismatches(session, agency_id=agency_id)
    found.totals = repo.ledger_totals(start, end, agency_id=agency_id)
    return found


def ledger_mismatches(session: Session, *, agency_id: str | None = None) -> list[dict[str, Any]]:
    """Attempts whose ledger lines do not equal what they received minus what was refunded."""
    out = []
    rows = PaymentRepository(session).ledger_vs_attempts(agency_id)
    for txn_ref, state, amount, in_ledger, refunded in rows:
        expected = (amount if state in MONEY_IN_STATES else 0) - refunded
        if in_ledger != expected:
            out.append({"txn_ref": txn_ref, "state": state, "expected": expected, "ledger": in_ledger})
    return out

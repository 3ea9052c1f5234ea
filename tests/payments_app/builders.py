"""Builders for payment tests: a school with classes, students and invoices; paying through the
local VNPay sandbox mounted in the test app (its IPNs reach the app in-process)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.payments_app.models import FeeItem, Invoice, LedgerEntry, PaymentAttempt, School
from portal.payments_app.schools import Adjustment, SchoolFeeService
from tests.builders import csrf

PARENT_PHONE = "0912345678"
STUDENTS_CSV = (
    "\ufeffMã học sinh,Họ và tên,Lớp,Số định danh (CCCD),SĐT phụ huynh\n"
    "7901000001,Nguyễn Minh An,1A,079215000001,0912345678\n"
    "7901000002,Trần Bảo Ngọc,1A,,0987654321\n"
    "7901000003,Nguyễn Minh Khang,2B,079216000003,0912345678\n"
    "7901000004,Lê Thu Trang,2B,,0909123456\n"
)
PERIOD = "2026-12"


def make_school(session: Session, *, agency: str = "H29.41.04", code: str = "79000101") -> School:
    """A primary school with two classes, four students (two of them the demo parent's), fee items."""
    school = School(
        code=code,
        name="Trường Tiểu học Thới An",
        agency_id=agency,
        address="Quận 12",
        bank_bin="970415",
        bank_account="113366668888",
        bank_account_name="TRUONG TH THOI AN",
    )
    session.add(school)
    session.flush()
    fees = SchoolFeeService(session)
    result = fees.import_students(school, STUDENTS_CSV.encode())
    assert result.ok, result.errors
    fees.add_fee_item(school, "TIENAN", "Tiền ăn bán trú", "day", "35000", False)
    fees.add_fee_item(school, "BANTRU", "Phí phục vụ bán trú", "month", "350.000", False)
    fees.add_fee_item(school, "HOCPHI", "Học phí tư thục", "month", "500000", True)
    session.flush()
    return school


def issue_month(
    session: Session,
    school: School,
    *,
    period: str = PERIOD,
    school_days: int = 20,
    adjustments: dict[int, Adjustment] | None = None,
    items: list[str] | None = None,
) -> list[Invoice]:
    fees = SchoolFeeService(session)
    chosen = [
        i.id
        for i in session.scalars(select(FeeItem).where(FeeItem.school_id == school.id))
        if items is None or i.code in items
    ]
    created = []
    for klass in fees.repo.classes(school.id):
        created += fees.issue_invoices(
            school,
            klass,
            period=period,
            due_date=date(2026, 12, 10),
            item_ids=chosen,
            school_days=school_days,
            adjustments=adjustments or {},
            issued_by="Kế toán",
        ).created
    return created


def school_world(app: Any, **kwargs: Any) -> dict[str, Any]:
    """Commit a school and its December invoices; returns plain values for the test."""
    with app.state.db.sessions() as session:
        school = make_school(session)
        invoices = issue_month(session, school, **kwargs)
        session.commit()
        return {"school_id": school.id, "by_code": _by_code(session, invoices)}


def _by_code(session: Session, invoices: list[Invoice]) -> dict[str, tuple[str, int]]:
    from portal.payments_app.models import Student

    students = {s.id: s.code for s in session.scalars(select(Student))}
    return {students[i.student_id]: (i.reference, i.amount) for i in invoices}


def link_code_of(app: Any, student_code: str) -> str:
    """The parent link code the school prints on the student's notice."""
    from portal.payments_app.models import Student

    with app.state.db.sessions() as session:
        return session.scalars(select(Student.link_code).where(Student.code == student_code)).one()


def lookup(client: TestClient, code: str, link_code: str | None = None) -> Any:
    """/hoc-phi with the student code and (by default, the right) link code from the notice."""
    token = csrf(client, "/hoc-phi")
    entered = link_code if link_code is not None else link_code_of(client.app, code)
    return client.post(
        "/hoc-phi",
        data={"csrf_token": token, "student_code": code, "link_code": entered},
        follow_redirects=False,
    )


def start_school_payment(client: TestClient, refs: list[str]) -> Any:
    token = csrf(client, "/hoc-phi")
    return client.post(
        "/hoc-phi/thanh-toan", data={"csrf_token": token, "invoice": refs}, follow_redirects=False
    )


def pay_on_sandbox(client: TestClient, redirect_url: str, outcome: str = "00", **knobs: Any) -> Any:
    """Open the sandbox pay page, choose an outcome. The IPN goes first (ipn_order=before), so the
    attempt is settled before the browser comes back; returns the response of the return page."""
    assert "/dev/vnpay/paymentv2/vpcpay.html" in redirect_url, redirect_url
    page = client.get(redirect_url)
    assert page.status_code == 200, page.text[:500]
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token
    form = {
        "token": token.group(1),
        "outcome": outcome,
        "ipn_form": "1",
        "ipn_order": "before",
        **{f"ipn_{k}": str(v) for k, v in knobs.items()},
    }
    if knobs.get("drop"):
        form["ipn_drop"] = "1"
    back = client.post(urlsplit(redirect_url).path, data=form, follow_redirects=False)
    assert back.status_code == 302, back.text[:500]
    return client.get(back.headers["location"])


def txn_ref_of(redirect_url: str) -> str:
    return dict(parse_qsl(urlsplit(redirect_url).query))["vnp_TxnRef"]


def attempt(app: Any, txn_ref: str) -> PaymentAttempt:
    with app.state.db.sessions() as session:
        row = session.scalars(select(PaymentAttempt).where(PaymentAttempt.txn_ref == txn_ref)).one()
        session.expunge(row)
        return row


def invoice_status(app: Any, reference: str) -> str:
    with app.state.db.sessions() as session:
        return session.scalars(select(Invoice.status).where(Invoice.reference == reference)).one()


def ledger_sum(app: Any, **where: Any) -> int:
    with app.state.db.sessions() as session:
        stmt = select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        for key, value in where.items():
            stmt = stmt.where(getattr(LedgerEntry, key) == value)
        return int(session.scalar(stmt) or 0)


def ledger_count(app: Any) -> int:
    with app.state.db.sessions() as session:
        return int(session.scalar(select(func.count(LedgerEntry.id))) or 0)

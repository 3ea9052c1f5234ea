"""`make run` demo data for school fees: present after one run, unchanged by a second."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import func, select

from portal.payments_app.demo import seed_payments_demo
from portal.payments_app.models import FeeItem, Invoice, Student
from portal.payments_app.schools import SchoolFeeService


def _counts(session: object) -> tuple[int, int, int]:
    return tuple(
        int(session.scalar(select(func.count(m.id))) or 0)  # type: ignore[attr-defined]
        for m in (Student, FeeItem, Invoice)
    )  # type: ignore[return-value]


def test_demo_school_fees_are_idempotent(app: FastAPI) -> None:
    with app.state.db.sessions() as session:
        assert seed_payments_demo(session) != []
        session.commit()
        first = _counts(session)
        assert first == (5, 4, 5)
        assert seed_payments_demo(session) == []
        session.commit()
        assert _counts(session) == first
        children = SchoolFeeService(session).children_of("0912345678")
        assert [c.full_name for c in children] == ["Nguyễn Minh An", "Nguyễn Minh Khang"]
        amounts = set(session.scalars(select(Invoice.amount)))
        assert amounts == {20 * 35_000 + 350_000 + 200_000 + 500_000}

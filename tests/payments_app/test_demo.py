"""`make run` demo data for school fees: present after one run, unchanged by a second."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import func, select

from portal.models import Citizen
from portal.payments_app.demo import DEMO_PARENT_PHONE, seed_payments_demo
from portal.payments_app.models import FeeItem, Invoice, Student
from portal.payments_app.schools import SchoolFeeService


def _counts(session: object) -> tuple[int, int, int]:
    return tuple(
        int(session.scalar(select(func.count(m.id))) or 0)  # type: ignore[attr-defined]
        for m in (Student, FeeItem, Invoice)
    )  # type: ignore[return-value]


def test_demo_school_fees_are_idempotent(app: FastAPI) -> None:
    with app.state.db.sessions() as session:
        parent = Citizen(full_name="Nguyễn Văn An", phone=DEMO_PARENT_PHONE, password_hash="x")
        session.add(parent)
        session.flush()
        seeded = seed_payments_demo(session)
        assert seeded != []
        codes = {s.code: s.link_code for s in session.scalars(select(Student))}
        assert all(f"{c} {v[:4]}-{v[4:]}" in seeded[-1] for c, v in codes.items() if v)  # shown at `make run`
        session.commit()
        first = _counts(session)
        assert first == (5, 4, 5)
        assert seed_payments_demo(session) == []
        session.commit()
        assert _counts(session) == first
        children = SchoolFeeService(session).children_of(parent.id)  # linked by the seed
        assert [c.full_name for c in children] == ["Nguyễn Minh An", "Nguyễn Minh Khang"]
        amounts = set(session.scalars(select(Invoice.amount)))
        assert amounts == {20 * 35_000 + 350_000 + 200_000 + 500_000}

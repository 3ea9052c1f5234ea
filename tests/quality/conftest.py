"""Quality fixtures: a hand-computed month of cases, staff accounts, a recording mailer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from portal.cases.events import note_change
from portal.quality.models import Feedback, Rating
from tests.backoffice.staff_builders import PASSWORD, create_staff, login
from tests.builders import settle
from tests.quality.quality_builders import (
    AGENCY,
    TRANSFER,
    Person,
    act,
    insert_case,
    pay_online,
    sign_result,
    vn,
)

NOV = date(2026, 11, 2)  # a Monday; no holiday in November 2026
TODAY = date(2026, 11, 11)  # the day the dashboard is read in these tests

PEOPLE = {
    "A": Person("Trần Thị Mai", "0987654321", "079185012345", "mai@example.vn"),
    "B": Person("Lê Văn Hùng", "0909123456", "079090001234", "hung@example.vn"),
    "C": Person("Phạm Ngọc Ánh", "0912000111", "079301000111"),
    "D": Person("Võ Thành Đạt", "0913000222", "079201000222", "dat@example.vn"),
    "E": Person("Đỗ Thu Trang", "0914000333", "079301000333", "trang@example.vn"),
    "F": Person("Huỳnh Gia Bảo", "0915000444", "079201000444"),
    "G": Person("Bùi Minh Châu", "0916000555", "079301000555"),
    "H": Person("Ngô Quốc Khánh", "0917000666", "079201000666"),
    "I": Person("Dương Thị Yến", "0918000777", "079301000777"),
    "J": Person("Lý Hoàng Nam", "0919000888", "079201000888"),
}


@dataclass
class Scenario:
    ids: dict[str, str]
    codes: dict[str, str]
    signed: bool  # the signing domain is installed (electronic results exist)
    paid: bool  # the payments domain is installed (online payments exist)
    people: dict[str, Person] = field(default_factory=lambda: PEOPLE)


class RecordingMailer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def __call__(self, session: Any, **message: Any) -> bool:
        self.sent.append(message)
        return True

    def templates(self) -> list[str]:
        return [m["template"] for m in self.sent]


@pytest.fixture
def mailer(app: FastAPI) -> Iterator[RecordingMailer]:
    recording = RecordingMailer()
    services = app.state.services
    previous = services.mailer
    services.mailer = recording
    yield recording
    services.mailer = previous


def build_scenario(app: FastAPI) -> Scenario:
    """November 2026 at H29.41.04, diploma correction (5 working days, due Mon 9 Nov for a Mon 2 Nov receipt).

    A result on time (rated very satisfied, paid online)    B one supplement, on time (desk, unsatisfied)
    C two supplement requests (late by the 766 rule)       D result late (complaint)
    E refused on time (rated satisfied)                    F withdrawn
    G open, overdue on 11 Nov                              H open, received Fri 6 Nov, due 13 Nov
    I open, waiting for a supplement since 4 Nov            J another agency and procedure, December
    """
    day = lambda n: NOV + timedelta(days=n)  # noqa: E731
    ids, codes = {}, {}
    signed = paid = False
    with app.state.db.sessions() as s:
        cases = {}
        spec = {
            "A": {"fee": 2000},
            "B": {"channel": "desk"},
            "C": {},
            "D": {"fee": 2000},
            "E": {},
            "F": {"attachments": False},
            "G": {},
            "I": {},
        }
        for n, (key, extra) in enumerate(spec.items(), start=1):
            cases[key] = insert_case(
                s, PEOPLE[key], received=vn(NOV), due=date(2026, 11, 9), number=n, **extra
            )
        cases["H"] = insert_case(
            s, PEOPLE["H"], received=vn(day(4)), due=date(2026, 11, 13), number=9, attachments=False
        )
        cases["J"] = insert_case(
            s,
            PEOPLE["J"],
            received=vn(date(2026, 12, 1)),
            due=date(2026, 12, 4),
            number=10,
            procedure=TRANSFER,
            agency="H29.41.01",
        )
        a, b, c, d, e, f, g, i, j = (cases[k] for k in "ABCDEFGIJ")
        act(s, a, "accept", vn(NOV, 10))
        act(s, a, "approve", vn(day(2)))
        signed = sign_result(s, a, vn(day(2)))
        paid = pay_online(s, a, vn(NOV, 9, 30))
        act(s, a, "issue", vn(day(3), 9))
        act(s, a, "return_result", vn(day(3), 15))

        act(s, b, "accept", vn(NOV, 10))
        act(s, b, "request_supplement", vn(day(1), 10), items=["Bản sao giấy khai sinh"])
        act(s, b, "submit_supplement", vn(day(8), 10))
        act(s, b, "accept", vn(day(8), 11))
        act(s, b, "approve", vn(day(10)))
        act(s, b, "issue", vn(day(11), 9))
        act(s, b, "return_result", vn(day(11), 10))

        act(s, c, "request_supplement", vn(day(1), 10))
        act(s, c, "submit_supplement", vn(day(2), 10))
        act(s, c, "request_supplement", vn(day(3), 10))
        act(s, c, "submit_supplement", vn(day(4), 10))
        act(s, c, "accept", vn(day(4), 11))
        act(s, c, "approve", vn(day(7), 9))
        sign_result(s, c, vn(day(7), 9))
        act(s, c, "issue", vn(day(7), 10))
        act(s, c, "return_result", vn(day(7), 15))

        act(s, d, "accept", vn(NOV, 10))
        act(s, d, "approve", vn(day(9)))
        sign_result(s, d, vn(day(9)))
        act(s, d, "issue", vn(day(10), 9))
        act(s, d, "return_result", vn(day(10), 10))

        act(s, e, "refuse", vn(day(1), 14), reason="khong_du_dieu_kien")
        act(s, f, "withdraw", vn(day(2), 8))
        act(s, g, "accept", vn(NOV, 10))
        act(s, i, "request_supplement", vn(day(2), 10))
        act(s, j, "accept", vn(date(2026, 12, 1), 10))
        act(s, j, "approve", vn(date(2026, 12, 1), 11))
        sign_result(s, j, vn(date(2026, 12, 1), 11))
        act(s, j, "issue", vn(date(2026, 12, 2), 9))
        act(s, j, "return_result", vn(date(2026, 12, 2), 10))
        s.commit()

        for key, level in (("A", "rat_hai_long"), ("B", "khong_hai_long"), ("E", "hai_long")):
            now = vn(day(12))
            s.add(
                Rating(
                    application_id=cases[key].id,
                    agency_id=AGENCY,
                    overall=level,
                    on_time="dung_hen",
                    staff_attitude=level,
                    ease_of_use=level,
                    contacts="1",
                    comment="",
                    via="link",
                    created_at=now,
                    updated_at=now,
                    editable_until=now + timedelta(days=7),
                    edits=0,
                )
            )
            note_change(s, cases[key].id, "rated")
        note_change(s, d.id, "feedback")
        s.add(
            Feedback(
                code="PA-261112-TEST01",
                kind="phan_anh",
                application_id=d.id,
                procedure_code="2.001914",
                agency_id=AGENCY,
                name=PEOPLE["D"].name,
                phone=PEOPLE["D"].phone,
                email="",
                subject="Trễ hẹn",
                content="Hồ sơ trả kết quả trễ ba ngày.",
                status="moi",
                received_at=vn(day(10)),
                refuse_due=day(12),
                info_due=day(17),
                resolve_due=day(31),
            )
        )
        s.commit()
        ids = {k: v.id for k, v in cases.items()}
        codes = {k: v.case_code or "" for k, v in cases.items()}
    settle(app)
    return Scenario(ids, codes, signed, paid)


@pytest.fixture
def scenario(app: FastAPI, mailer: RecordingMailer) -> Scenario:
    return build_scenario(app)


@pytest.fixture
def staff(app: FastAPI) -> dict[str, dict[str, Any]]:
    with app.state.db.sessions() as session:
        members = {
            "lanh_dao": create_staff(session, "lanhdao", "Nguyễn Quốc Bảo", ["lanh_dao"]),
            "tiep_nhan": create_staff(session, "tiepnhan", "Phạm Thu Hà", ["tiep_nhan"]),
            "chuyen_vien": create_staff(session, "chuyenvien", "Võ Minh Tuấn", ["chuyen_vien"]),
            "van_thu": create_staff(session, "vanthu", "Lê Thị Hồng", ["van_thu"]),
            "ke_toan": create_staff(session, "ketoan", "Trương Văn Phúc", ["ke_toan"]),
            "admin": create_staff(session, "quantri", "Quản trị", ["admin"]),
            "other_head": create_staff(
                session, "lanhdao-khac", "Lãnh đạo phường khác", ["lanh_dao"], agency="H29.41.01"
            ),
            "other_desk": create_staff(
                session, "tiepnhan-khac", "Cán bộ phường khác", ["tiep_nhan"], agency="H29.41.01"
            ),
        }
        session.commit()
        return {k: {"id": m.id, "login": m.login} for k, m in members.items()}


@pytest.fixture
def as_role(app: FastAPI, staff: dict[str, Any]) -> Iterator[Callable[[str], TestClient]]:
    clients: dict[str, TestClient] = {}

    def get(role: str) -> TestClient:
        if role not in clients:
            c = TestClient(app, base_url="http://testserver")
            c.__enter__()
            login(c, staff[role]["login"], PASSWORD)
            clients[role] = c
        return clients[role]

    yield get
    for c in clients.values():
        c.__exit__(None, None, None)

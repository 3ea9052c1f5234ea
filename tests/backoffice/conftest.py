"""Back-office fixtures: demo staff per role, logged-in clients, recorded effects."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.backoffice.staff_builders import PASSWORD, RecordingEffects, create_staff, login
from workflows.calendar import VN_TZ

# "Now" for tests that build deadlines against today: a Wednesday, 10:00 in Vietnam, whatever the wall
# clock says (make test-dates runs the suite 400 days ahead and on Tết).
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=VN_TZ)


@pytest.fixture
def now(app: FastAPI) -> Iterator[datetime]:
    """The app's clock (``app.state.clock``: the staff queues' today) stopped at :data:`NOW`."""
    previous = app.state.clock
    app.state.clock = lambda: NOW
    yield NOW
    app.state.clock = previous


@pytest.fixture
def effects(app: FastAPI) -> Iterator[RecordingEffects]:
    """Records every effect and passes it on to the real signing/e-mail services when they are installed."""
    recording = RecordingEffects(app.state.backoffice_effects)
    previous = app.state.backoffice_effects
    app.state.backoffice_effects = recording
    yield recording
    app.state.backoffice_effects = previous


@pytest.fixture
def staff(app: FastAPI, effects: RecordingEffects) -> dict[str, Any]:
    """One account per role at H29.41.04 (plus a second specialist and another agency's officer)."""
    with app.state.db.sessions() as session:
        members = {
            "tiep_nhan": create_staff(session, "tiepnhan", "Phạm Thu Hà", ["tiep_nhan"]),
            "chuyen_vien": create_staff(session, "chuyenvien", "Võ Minh Tuấn", ["chuyen_vien"]),
            "chuyen_vien2": create_staff(session, "chuyenvien2", "Đặng Thị Lan", ["chuyen_vien"]),
            "lanh_dao": create_staff(session, "lanhdao", "Nguyễn Quốc Bảo", ["lanh_dao"]),
            "van_thu": create_staff(session, "vanthu", "Lê Thị Hồng", ["van_thu"]),
            "ke_toan": create_staff(session, "ketoan", "Trương Văn Phúc", ["ke_toan"]),
            "admin": create_staff(session, "quantri", "Quản trị", ["admin"]),
            "other_agency": create_staff(
                session, "tiepnhan-khac", "Cán bộ phường khác", ["tiep_nhan"], agency="H29.41.01"
            ),
        }
        session.commit()
        return {k: {"id": m.id, "login": m.login, "name": m.full_name} for k, m in members.items()}


@pytest.fixture
def as_role(app: FastAPI, staff: dict[str, Any]) -> Iterator[Callable[[str], TestClient]]:
    """``as_role("chuyen_vien")`` → a client logged in as that staff member (one per role, reused)."""
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

"""Two staff members act on the same case at the same moment: exactly one wins, the other is told why."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from portal.backoffice.service import CaseService
from portal.errors import Conflict
from portal.models import Application
from tests.backoffice.staff_builders import PASSWORD, RecordingEffects, create_staff
from tests.builders import submit_transfer
from workflows.engine import ActionInputs

pytestmark = pytest.mark.postgres


def _login(base: str, login: str) -> httpx.Client:
    c = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/can-bo/dang-nhap").text)
    assert token
    r = c.post("/can-bo/dang-nhap", data={"csrf_token": token.group(1), "login": login, "password": PASSWORD})
    assert r.status_code == 303, r.text[:500]
    return c


def _form(c: httpx.Client, app_id: str) -> dict[str, str]:
    html = c.get(f"/can-bo/ho-so/{app_id}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    version = re.search(r'name="version" value="(\d+)"', html)
    assert token and version
    return {"csrf_token": token.group(1), "version": version.group(1)}


def _race(clients: list[httpx.Client], app_id: str, posts: list[tuple[str, dict[str, str]]]) -> list[Any]:
    """POST each (action, form) from its own client, released at the same instant."""
    barrier = threading.Barrier(len(posts))
    results: list[Any] = [None] * len(posts)

    def take(i: int) -> None:
        action, data = posts[i]
        barrier.wait()
        results[i] = clients[i].post(f"/can-bo/ho-so/{app_id}/thao-tac/{action}", data=data)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(len(posts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_officers_accepting_at_once_over_http(app: FastAPI, client: TestClient, live_portal: str) -> None:
    with app.state.db.sessions() as session:
        create_staff(session, "tiepnhan-a", "Cán bộ A", ["tiep_nhan"])
        create_staff(session, "tiepnhan-b", "Cán bộ B", ["tiep_nhan"])
        session.commit()
    officers = [_login(live_portal, "tiepnhan-a"), _login(live_portal, "tiepnhan-b")]
    for _ in range(5):
        app_id, code = submit_transfer(client)
        forms = [_form(c, app_id) for c in officers]
        assert forms[0]["version"] == forms[1]["version"]
        results = _race(
            officers,
            app_id,
            [
                ("accept", {**forms[0], "comment": "A tiếp nhận"}),
                ("refuse", {**forms[1], "reason": "khac", "comment": "B từ chối"}),
            ],
        )
        statuses = sorted(r.status_code for r in results)
        assert statuses == [303, 409], [r.text[:300] for r in results]
        loser = next(r for r in results if r.status_code == 409)
        assert f"Hồ sơ {code} vừa được người khác xử lý trước bạn" in loser.text
        assert "Traceback" not in loser.text
        with app.state.db.sessions() as session:
            case = session.get(Application, app_id)
            assert case is not None and case.status in ("dang_tham_dinh", "tu_choi")
            staff_events = [e for e in case.events if e.actor_kind == "staff"]
            assert len(staff_events) == 1  # the loser wrote nothing
    for c in officers:
        c.close()


def test_the_update_itself_refuses_the_second_writer(app: FastAPI, client: TestClient) -> None:
    """Both read version v; A updates and holds the row; B's UPDATE waits, then matches nothing."""
    app_id, _ = submit_transfer(client)
    with app.state.db.sessions() as setup:
        a_staff = create_staff(setup, "tiepnhan-a", "Cán bộ A", ["tiep_nhan"])
        b_staff = create_staff(setup, "tiepnhan-b", "Cán bộ B", ["tiep_nhan"])
        setup.commit()
        a_id, b_id = a_staff.id, b_staff.id
    state = app.state

    def service(session: Any) -> CaseService:
        return CaseService(session, state.registry, state.calendar, RecordingEffects(), "http://x")

    session_a, session_b = state.db.sessions(), state.db.sessions()
    case_a, case_b = session_a.get(Application, app_id), session_b.get(Application, app_id)
    assert case_a is not None and case_b is not None
    version = case_a.lock_version
    assert case_b.lock_version == version
    from portal.staff.models import StaffMember

    staff_a, staff_b = session_a.get(StaffMember, a_id), session_b.get(StaffMember, b_id)
    service(session_a).act(staff_a, case_a, "accept", ActionInputs(), version)  # A holds the row lock now
    outcome: list[Any] = []

    def second() -> None:
        try:
            service(session_b).act(
                staff_b, case_b, "refuse", ActionInputs(reason="khac", comment="x"), version
            )
            outcome.append("applied")
        except Conflict as exc:
            outcome.append(exc.message)

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.5)
    assert outcome == []  # B is waiting for A's row lock
    session_a.commit()
    thread.join(timeout=30)
    session_b.rollback()
    assert len(outcome) == 1 and "vừa được người khác xử lý trước bạn" in outcome[0]
    assert "Chuyên viên đang thẩm định" in outcome[0]  # B is told the state A left the case in
    session_a.close()
    session_b.close()

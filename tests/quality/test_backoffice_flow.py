"""Through the real back office: a case taken to its result is in the facts and its applicant is invited."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.quality.models import CaseFacts, MonthlyQuality
from tests.backoffice.staff_builders import RecordingEffects, act
from tests.builders import csrf, settle, submit_transfer
from tests.quality.conftest import RecordingMailer


@pytest.fixture
def effects(app: FastAPI) -> Iterator[RecordingEffects]:
    recording = RecordingEffects(app.state.backoffice_effects)
    previous = app.state.backoffice_effects
    app.state.backoffice_effects = recording
    yield recording
    app.state.backoffice_effects = previous


def test_a_returned_result_is_counted_and_invites_a_rating(
    app: FastAPI,
    client: TestClient,
    as_role: Callable[[str], TestClient],
    staff: dict[str, Any],
    effects: RecordingEffects,
    mailer: RecordingMailer,
) -> None:
    app_id, code = submit_transfer(client)
    settle(app)
    with app.state.db.sessions() as session:
        facts = session.get(CaseFacts, app_id)
        assert facts is not None and facts.closed_at is None and facts.has_attachments
        assert facts.channel == "online" and facts.agency_id == "H29.41.04"
    reception = as_role("tiep_nhan")
    steps = [
        (reception, "accept", {"comment": "Đủ thành phần", "assignee": str(staff["chuyen_vien"]["id"])}),
        (
            as_role("chuyen_vien"),
            "appraise",
            {"comment": "Đủ điều kiện", "assignee": str(staff["lanh_dao"]["id"])},
        ),
        (as_role("lanh_dao"), "approve", {"comment": "Đồng ý"}),
        (as_role("van_thu"), "issue", {}),
    ]
    for who, action, fields in steps:
        assert act(who, app_id, action, **fields).status_code == 303, action
    settle(app)
    assert mailer.sent == []  # not before the result is returned
    assert act(reception, app_id, "return_result").status_code == 303
    assert mailer.sent == []  # the worker invites, after the return committed
    settle(app)
    assert [m["template"] for m in mailer.sent] == ["rating_invite"]
    assert mailer.sent[0]["case_id"] == app_id and mailer.sent[0]["to"] == "mai@example.vn"
    with app.state.db.sessions() as session:
        facts = session.get(CaseFacts, app_id)
        assert (facts.outcome, bool(facts.late), facts.processing_days) == ("result", False, 0)
        assert facts.invited_at is not None
        month = session.scalars(select(MonthlyQuality)).one()
        assert (month.received, month.decided, month.decided_late, month.results) == (1, 1, 0, 1)
        assert month.results_digitised == (1 if effects.results and effects.results[0] is not None else 0)
    token = csrf(client, "/tra-cuu")
    tracked = client.post("/tra-cuu", data={"csrf_token": token, "case_code": code, "phone": "0987654321"})
    assert "Đánh giá ngay" in tracked.text

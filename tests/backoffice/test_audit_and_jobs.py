"""The access log records every view of personal data; the deadline job flags late cases once a day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from portal.backoffice.deadlines import status_for_due
from portal.backoffice.jobs import flag_deadlines
from portal.backoffice.models import CaseAccessLog, DeadlineAlert
from portal.models import Application
from tests.backoffice.staff_builders import RecordingEffects, insert_case
from tests.builders import submit_transfer
from workflows.calendar import VN_TZ, load_calendar
from workflows.engine import DeadlineStatus

CAL = load_calendar()


def test_views_of_personal_data_are_logged_and_listed_for_admins(
    client: TestClient, as_role: Callable[[str], TestClient], db_session: Session
) -> None:
    app_id, code = submit_transfer(client)
    specialist = as_role("chuyen_vien")
    specialist.get(f"/can-bo/ho-so/{app_id}")
    page = specialist.get(f"/can-bo/ho-so/{app_id}").text
    file_id = page.split(f"/can-bo/ho-so/{app_id}/tep/")[1].split('"')[0]
    assert specialist.get(f"/can-bo/ho-so/{app_id}/tep/{file_id}").status_code == 200
    assert specialist.get(f"/can-bo/ho-so/{app_id}/van-ban/tiep-nhan").status_code == 200
    specialist.get("/can-bo/ho-so")  # lists (masked) are not case views

    rows = db_session.scalars(select(CaseAccessLog).where(CaseAccessLog.application_id == app_id)).all()
    logged = [(r.what, r.staff_login, r.case_code) for r in rows]
    db_session.rollback()
    assert [w for w, _, _ in logged] == ["xem hồ sơ", "xem hồ sơ", "tải tệp don_de_nghi", "văn bản tiep-nhan"]
    assert {(who, case) for _, who, case in logged} == {("chuyenvien", code)}

    admin = as_role("admin")
    log = admin.get("/can-bo/quan-tri/nhat-ky")
    assert log.status_code == 200 and log.text.count(code) == 4
    assert "Chưa có lượt truy cập nào." in admin.get(f"/can-bo/quan-tri/nhat-ky?ma={code}&can_bo=khac").text
    assert admin.get(f"/can-bo/quan-tri/nhat-ky?ma={code}&can_bo=chuyenvien").text.count("<tr><td>") == 4


def test_the_access_log_cannot_be_changed(
    client: TestClient, as_role: Callable[[str], TestClient], db_session: Session
) -> None:
    app_id, _ = submit_transfer(client)
    as_role("tiep_nhan").get(f"/can-bo/ho-so/{app_id}")
    with pytest.raises(DBAPIError, match="append-only"):
        db_session.execute(update(CaseAccessLog).values(what="sửa"))
    db_session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        db_session.execute(delete(CaseAccessLog))
    db_session.rollback()


def test_deadline_job_flags_late_cases_once_a_day(
    app: FastAPI,
    db_session: Session,
    staff: dict[str, Any],
    as_role: Callable[[str], TestClient],
    now: datetime,
) -> None:
    today = now.date()
    specialist = staff["chuyen_vien"]["id"]
    overdue = _case_with(db_session, now, DeadlineStatus.OVERDUE, 1, assignee=specialist)
    soon = _case_with(db_session, now, DeadlineStatus.DUE_SOON, 2)
    _case_with(db_session, now, DeadlineStatus.ON_TIME, 3, assignee=specialist)
    _case_with(db_session, now, DeadlineStatus.OVERDUE, 4, status="cho_bo_sung")  # paused
    _case_with(db_session, now, DeadlineStatus.OVERDUE, 5, status="tu_choi", closed=True)
    db_session.commit()
    effects = RecordingEffects(app.state.backoffice_effects)  # the real outbox renders the mails
    flagged = flag_deadlines(
        db_session, app.state.registry, CAL, effects, "http://testserver", at=now + timedelta(seconds=1)
    )
    db_session.commit()
    by_code = {f.case_code: f for f in flagged}
    assert set(by_code) == {overdue.case_code, soon.case_code}
    assert by_code[overdue.case_code].level == "overdue" and by_code[soon.case_code].level == "due_soon"
    assert set(by_code[overdue.case_code].recipients) == {"chuyenvien", "lanhdao"}
    assert by_code[soon.case_code].recipients == ("lanhdao",)
    mails = [(e["to"], e["template"], e["dedupe_key"]) for e in effects.emails]
    assert (
        "chuyenvien@thoian.test",
        "deadline_alert",
        f"deadline:{overdue.id}:{today}:{specialist}",
    ) in mails
    assert len(mails) == 3
    outbox = pytest.importorskip("portal.notifications").OutboxEmail
    bodies = db_session.scalars(select(outbox.body_text).where(outbox.template == "deadline_alert")).all()
    assert len(bodies) == 3 and any(overdue.case_code in b and "Quá hạn" in b for b in bodies)

    later = now + timedelta(hours=2)  # the same day
    again = flag_deadlines(db_session, app.state.registry, CAL, effects, "http://testserver", at=later)
    db_session.commit()
    assert again == [] and len(effects.emails) == 3
    assert (
        db_session.scalar(select(DeadlineAlert).where(DeadlineAlert.application_id == overdue.id)) is not None
    )
    db_session.rollback()
    queue = as_role("chuyen_vien").get("/can-bo/ho-so?hang=dang-xu-ly").text
    assert queue.count("đã cảnh báo") == 2


def _case_with(session: Session, now: datetime, wanted: DeadlineStatus, number: int, **kw: Any) -> Any:
    """A case received on the day that gives it the ``wanted`` status at ``now``."""
    for back in range(40):
        received = datetime.combine(now.date() - timedelta(days=back), time(9, 0), VN_TZ)
        due = CAL.due_date(received, working_days=3)
        if received <= now and status_for_due(CAL, due, now.date()) is wanted:
            return insert_case(session, due=due, number=number, submitted=received, **kw)
    raise AssertionError(wanted)


def test_deadline_job_entry_point_is_registered() -> None:
    from portal.composition import MODULES

    assert "backoffice.deadline_alerts" in {job.name for module in MODULES for job in module.jobs}


def test_a_real_overdue_case_is_found_by_the_clock(
    client: TestClient, app: FastAPI, db_session: Session, staff: dict[str, Any]
) -> None:
    """A transfer (3 working days) received today is overdue 8 working days later, and flagged then."""
    app_id, code = submit_transfer(client)
    received = db_session.get(Application, app_id).submitted_at  # the app's own stamp, not the wall clock
    later = received + timedelta(days=14)
    flagged = flag_deadlines(db_session, app.state.registry, CAL, RecordingEffects(), "http://x", at=later)
    db_session.commit()
    assert [(f.case_code, f.level) for f in flagged] == [(code, "overdue")]


def test_the_optimistic_update_matches_only_the_expected_version(db_session: Session) -> None:
    from portal.backoffice.repository import CaseRepository

    case = insert_case(db_session, due=date(2026, 12, 1), number=1)
    db_session.commit()
    repo = CaseRepository(db_session)
    version = case.lock_version
    assert repo.apply(case.id, version + 5, {"status": "cho_phe_duyet"}) is False
    assert repo.apply(case.id, version, {"status": "cho_phe_duyet"}) is True
    assert repo.apply(case.id, version, {"status": "cho_ban_hanh"}) is False
    db_session.commit()
    fresh = db_session.get(type(case), case.id)
    assert fresh is not None and (fresh.status, fresh.lock_version) == ("cho_phe_duyet", version + 1)
    db_session.rollback()

"""The tracking page is rendered once per version of a case (portal.web.render.CasePages) and is
never served stale: every change of the case bumps ``applications.change_version`` in its own
transaction, so a staff action shows on the applicant's next lookup."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.backoffice.staff_builders import act, state_of
from tests.builders import APPLICANT, csrf, submit_transfer

PHONE = APPLICANT["applicant_phone"]


def _lookup(client: TestClient, code: str, phone: str = PHONE) -> Any:
    token = csrf(client, "/tra-cuu")
    return client.post("/tra-cuu", data={"csrf_token": token, "case_code": code, "phone": phone})


def _status(html: str) -> str:
    start = html.index("<dt>Trạng thái</dt><dd><strong>") + len("<dt>Trạng thái</dt><dd><strong>")
    return html[start : html.index("</strong>", start)]


def _history(html: str) -> list[str]:
    timeline = html[
        html.index('<ol class="timeline">') : html.index("</ol>", html.index('<ol class="timeline">'))
    ]
    return re.findall(r"</time> — ([^<]+)", timeline)


def test_a_staff_action_shows_on_the_next_lookup(
    client: TestClient,
    app: FastAPI,
    as_role: Callable[[str], TestClient],
    staff: dict[str, Any],
    db_session: Session,
) -> None:
    app_id, code = submit_transfer(client)
    citizen = TestClient(app)
    kept = len(app.state.case_pages)
    first = _lookup(citizen, code)
    assert first.status_code == 200 and _status(first.text) == "Đã nộp, chờ cán bộ tiếp nhận kiểm tra"
    assert _lookup(citizen, code).text.count("Đã nộp, chờ cán bộ tiếp nhận kiểm tra") == 1
    assert len(app.state.case_pages) == kept + 1  # the second lookup was the same page, not a new one
    version = state_of(db_session, app_id).change_version

    reception = as_role("tiep_nhan")
    accepted = act(
        reception, app_id, "accept", comment="Đủ thành phần", assignee=str(staff["chuyen_vien"]["id"])
    )
    assert accepted.status_code == 303, accepted.text[:2000]
    assert state_of(db_session, app_id).change_version > version

    after_accept = _lookup(citizen, code)
    assert _status(after_accept.text) == "Đang giải quyết"
    assert len(_history(after_accept.text)) == len(_history(first.text)) + 1  # the action's entry
    assert "Đủ thành phần" not in after_accept.text  # the staff's comment stays internal

    # The next step has the same public label: only the history tells it apart, and it is there.
    appraised = act(
        as_role("chuyen_vien"),
        app_id,
        "appraise",
        comment="Đủ điều kiện",
        assignee=str(staff["lanh_dao"]["id"]),
    )
    assert appraised.status_code == 303, appraised.text[:2000]
    after_appraisal = _lookup(citizen, code)
    assert _status(after_appraisal.text) == "Đang giải quyết"
    assert len(_history(after_appraisal.text)) == len(_history(after_accept.text)) + 1

    # Approval signs the result (signing writes its own history entry): the download link appears.
    assert "ket-qua.pdf" not in after_appraisal.text
    assert act(as_role("lanh_dao"), app_id, "approve", comment="Đồng ý").status_code == 303
    approved = _lookup(citizen, code).text
    assert _status(approved) == "Đã phê duyệt, đang ban hành kết quả"
    assert f'href="/ho-so/{app_id}/ket-qua.pdf"' in approved


def test_a_supplement_request_and_the_signed_result_show_at_once(
    client: TestClient,
    app: FastAPI,
    as_role: Callable[[str], TestClient],
    staff: dict[str, Any],
) -> None:
    app_id, code = submit_transfer(client)
    citizen = TestClient(app)
    _lookup(citizen, code)
    specialist = as_role("chuyen_vien")
    act(as_role("tiep_nhan"), app_id, "accept", comment="Nhận", assignee=str(staff["chuyen_vien"]["id"]))
    asked = act(specialist, app_id, "request_supplement", comment="Thiếu giấy tờ", items="Bản sao học bạ\n")
    assert asked.status_code == 303, asked.text[:2000]
    page = _lookup(citizen, code).text
    assert _status(page) == "Cần bổ sung hồ sơ" and "Bản sao học bạ" in page
    # the supplement button posts the phone as this visitor typed it, with this session's token
    assert f'name="phone" value="{PHONE}"' in page and 'action="/ho-so/mo-bang-ma"' in page

"""A case driven over HTTP by each role, from the citizen's submission to the returned result."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from portal.models import CaseEvent
from tests.backoffice.staff_builders import RecordingEffects, act, state_of
from tests.builders import csrf, submit_transfer


def _track(app_client: TestClient, code: str) -> str:
    other = TestClient(app_client.app)
    token = csrf(other, "/tra-cuu")
    return other.post("/tra-cuu", data={"csrf_token": token, "case_code": code, "phone": "0987654321"}).text


def test_case_goes_from_submission_to_returned_result(
    client: TestClient,
    as_role: Callable[[str], TestClient],
    staff: dict[str, Any],
    effects: RecordingEffects,
    db_session: Session,
) -> None:
    app_id, code = submit_transfer(client)

    before = state_of(db_session, app_id).lock_version
    reception = as_role("tiep_nhan")
    queue = reception.get("/can-bo/ho-so?hang=chua-phan-cong")
    assert queue.status_code == 200 and code in queue.text
    assert "079******345" in queue.text and "079185012345" not in queue.text  # CCCD masked in lists

    response = act(
        reception, app_id, "accept", comment="Hồ sơ đủ thành phần", assignee=str(staff["chuyen_vien"]["id"])
    )
    assert response.status_code == 303, response.text[:3000]
    case = state_of(db_session, app_id)
    assert case.status == "dang_tham_dinh" and case.assignee_id == staff["chuyen_vien"]["id"]
    assert case.lock_version == before + 1

    specialist = as_role("chuyen_vien")
    mine = specialist.get("/can-bo/ho-so?hang=cua-toi")
    assert code in mine.text
    page = specialist.get(f"/can-bo/ho-so/{app_id}")
    assert (
        "Trình lãnh đạo phê duyệt" in page.text and "079185012345" in page.text
    )  # full data on the case page
    assert "Phê duyệt và ký số kết quả" not in page.text  # the head's action is not offered to a specialist
    response = act(
        specialist,
        app_id,
        "appraise",
        comment="Đủ điều kiện chuyển trường",
        assignee=str(staff["lanh_dao"]["id"]),
    )
    assert response.status_code == 303, response.text[:3000]
    assert state_of(db_session, app_id).status == "cho_phe_duyet"

    head = as_role("lanh_dao")
    assert code in head.get("/can-bo/ho-so?hang=cua-toi").text
    response = act(head, app_id, "approve", comment="Đồng ý")
    assert response.status_code == 303, response.text[:3000]
    assert effects.signed == [(app_id, staff["lanh_dao"]["id"])]
    assert state_of(db_session, app_id).status == "cho_ban_hanh"

    response = act(as_role("van_thu"), app_id, "issue")
    assert response.status_code == 303, response.text[:3000]
    response = act(reception, app_id, "return_result")
    assert response.status_code == 303, response.text[:3000]
    case = state_of(db_session, app_id)
    assert case.status == "da_tra_ket_qua" and case.closed_at is not None and case.assignee_id is None

    events = [e for e in case.events if e.actor_kind == "staff" and e.kind != "result_signed"]
    assert [e.kind for e in events] == ["accept", "appraise", "approve", "issue", "return_result"]
    assert [(e.from_state, e.to_state) for e in events][:2] == [
        ("cho_tiep_nhan", "dang_tham_dinh"),
        ("dang_tham_dinh", "cho_phe_duyet"),
    ]
    assert events[1].actor_name == "Võ Minh Tuấn" and events[1].comment == "Đủ điều kiện chuyển trường"
    # the applicant is told at acceptance and when the result is ready — once, not again at return
    assert effects.templates() == ["case_received", "result_ready"]
    assert effects.emails[0]["to"] == "mai@example.vn" and effects.emails[0]["context"]["case_code"] == code

    timeline = _track(client, code)
    assert "Hồ sơ đã được tiếp nhận và chuyển bộ phận chuyên môn giải quyết." in timeline
    assert "Lãnh đạo đã phê duyệt và ký kết quả." in timeline
    assert "Đã trả kết quả giải quyết hồ sơ." in timeline
    assert "Đủ điều kiện chuyển trường" not in timeline  # internal comments stay internal


def test_signed_result_is_stored_when_signing_is_installed(
    client: TestClient,
    as_role: Callable[[str], TestClient],
    staff: dict[str, Any],
    effects: RecordingEffects,
) -> None:
    import pytest

    signing = pytest.importorskip("portal.signing")
    app_id, _ = submit_transfer(client)
    assert act(as_role("tiep_nhan"), app_id, "accept").status_code == 303
    assert act(as_role("chuyen_vien"), app_id, "appraise", comment="Đạt").status_code == 303
    assert act(as_role("lanh_dao"), app_id, "approve").status_code == 303
    (record,) = effects.results
    assert record is not None
    with client.app.state.db.sessions() as session:
        assert signing.service.current_result(session, app_id) is not None
    head = as_role("lanh_dao")
    assert f"/can-bo/ho-so/{app_id}/ket-qua.pdf" in head.get(f"/can-bo/ho-so/{app_id}").text
    signed = head.get(f"/can-bo/ho-so/{app_id}/ket-qua.pdf")
    assert (
        signed.status_code == 200 and signed.content.startswith(b"%PDF") and b"/ByteRange" in signed.content
    )


def test_supplement_requested_once_citizen_uploads_and_resubmits(
    client: TestClient,
    as_role: Callable[[str], TestClient],
    staff: dict[str, Any],
    effects: RecordingEffects,
    db_session: Session,
) -> None:
    app_id, code = submit_transfer(client)
    assert (
        act(as_role("tiep_nhan"), app_id, "accept", assignee=str(staff["chuyen_vien"]["id"])).status_code
        == 303
    )
    specialist = as_role("chuyen_vien")
    missing = act(specialist, app_id, "request_supplement", comment="Thiếu giấy tờ")
    assert missing.status_code == 422
    assert "Vui lòng liệt kê đầy đủ các giấy tờ" in missing.text
    response = act(
        specialist,
        app_id,
        "request_supplement",
        comment="Vui lòng bổ sung trong 5 ngày",
        item_docs="Học bạ (bản chính)",
        items="Bản sao giấy khai sinh của học sinh\n",
    )
    assert response.status_code == 303, response.text[:3000]
    case = state_of(db_session, app_id)
    assert case.status == "cho_bo_sung" and case.assignee_id is None
    assert effects.templates() == ["case_received", "supplement_requested"]
    assert effects.emails[-1]["context"]["items"] == [
        "Học bạ (bản chính)",
        "Bản sao giấy khai sinh của học sinh",
    ]

    # the citizen finds the case with code + phone, sees every item, uploads, resubmits
    citizen = TestClient(client.app)
    token = csrf(citizen, "/tra-cuu")
    tracked = citizen.post("/tra-cuu", data={"csrf_token": token, "case_code": code, "phone": "0987654321"})
    assert "Hồ sơ cần bổ sung." in tracked.text and "Bản sao giấy khai sinh của học sinh" in tracked.text
    opened = citizen.post(
        "/ho-so/mo-bang-ma",
        data={"csrf_token": token, "case_code": code, "phone": "0987654321"},
        follow_redirects=False,
    )
    assert opened.status_code == 303 and opened.headers["location"] == f"/ho-so/{app_id}/bo-sung"
    page = citizen.get(opened.headers["location"])
    assert "Học bạ (bản chính)" in page.text
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version
    empty = citizen.post(
        f"/ho-so/{app_id}/bo-sung",
        data={"csrf_token": token, "intent": "submit", "version": version.group(1)},
    )
    assert empty.status_code == 422 and "Vui lòng đính kèm giấy tờ bổ sung" in empty.text
    from portal.samples import tiny_pdf

    sent = citizen.post(
        f"/ho-so/{app_id}/bo-sung",
        data={"csrf_token": token, "intent": "submit", "version": version.group(1), "comment": "Đã bổ sung"},
        files=[("doc_hoc_ba", ("hoc-ba-moi.pdf", tiny_pdf("hb2"), "application/pdf"))],
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text[:3000]
    case = state_of(db_session, app_id)
    assert case.status == "cho_tiep_nhan"
    assert case.assignee_id == staff["tiep_nhan"]["id"]  # back to the officer who received it
    resubmitted = case.events[-1]
    assert resubmitted.kind == "submit_supplement" and resubmitted.actor_kind == "citizen"
    assert resubmitted.details["documents"] == ["hoc_ba"] and resubmitted.details["clock"] == "resume"

    # the staff case page marks the new file; the one-stop rule: no second supplement request
    page = as_role("tiep_nhan").get(f"/can-bo/ho-so/{app_id}")
    assert "hoc-ba-moi.pdf" in page.text and "nộp bổ sung" in page.text
    assert "Yêu cầu bổ sung hồ sơ" not in page.text.split('id="history-h"')[0]
    again = act(as_role("tiep_nhan"), app_id, "request_supplement", comment="Lần hai", items="Giấy khác")
    assert again.status_code == 409 and "chỉ thực hiện một lần" in again.text
    assert act(as_role("tiep_nhan"), app_id, "accept").status_code == 303
    assert state_of(db_session, app_id).assignee_id == staff["chuyen_vien"]["id"]  # the same specialist again


def test_refusal_with_a_reason_from_the_list(
    client: TestClient,
    as_role: Callable[[str], TestClient],
    effects: RecordingEffects,
    db_session: Session,
) -> None:
    app_id, code = submit_transfer(client)
    reception = as_role("tiep_nhan")
    no_reason = act(reception, app_id, "refuse", comment="Không đúng thẩm quyền")
    assert no_reason.status_code == 422 and "Vui lòng chọn lý do." in no_reason.text
    made_up = act(reception, app_id, "refuse", comment="x", reason="tu_nghi_ra")
    assert made_up.status_code == 422 and "không có trong danh sách lý do" in made_up.text
    ok = act(
        reception, app_id, "refuse", comment="Học sinh thuộc phường khác", reason="khong_thuoc_tham_quyen"
    )
    assert ok.status_code == 303
    case = state_of(db_session, app_id)
    assert case.status == "tu_choi" and case.closed_at is not None
    assert case.events[-1].details["reason_label"] == "Không thuộc thẩm quyền giải quyết"
    assert effects.templates()[-1] == "case_refused"
    timeline = _track(client, code)
    assert "Lý do: Không thuộc thẩm quyền giải quyết" in timeline
    assert "Học sinh thuộc phường khác" in timeline  # a refusal's explanation is addressed to the applicant
    assert act(reception, app_id, "accept").status_code == 409  # a final state takes no more actions


def test_head_rejects_after_appraisal(
    client: TestClient,
    as_role: Callable[[str], TestClient],
    db_session: Session,
) -> None:
    app_id, _ = submit_transfer(client)
    assert act(as_role("tiep_nhan"), app_id, "accept").status_code == 303
    assert act(as_role("chuyen_vien"), app_id, "appraise", comment="Không đạt").status_code == 303
    rework = act(as_role("lanh_dao"), app_id, "return_for_rework", comment="Xác minh lại nơi cư trú")
    assert rework.status_code == 303
    case = state_of(db_session, app_id)
    assert case.status == "dang_tham_dinh"
    assert (
        act(as_role("chuyen_vien"), app_id, "appraise", comment="Đã xác minh, vẫn không đạt").status_code
        == 303
    )
    rejected = act(
        as_role("lanh_dao"), app_id, "reject", reason="khong_dat_tham_dinh", comment="Không đủ điều kiện"
    )
    assert rejected.status_code == 303
    assert state_of(db_session, app_id).status == "tu_choi"


def test_apology_moves_the_due_date(
    client: TestClient,
    as_role: Callable[[str], TestClient],
    effects: RecordingEffects,
    db_session: Session,
) -> None:
    from workflows.calendar import load_calendar

    app_id, code = submit_transfer(client)
    assert act(as_role("tiep_nhan"), app_id, "accept").status_code == 303
    case = state_of(db_session, app_id)
    assert case.effective_due_date is not None
    too_early = act(
        as_role("chuyen_vien"),
        app_id,
        "apologise",
        comment="Cần xác minh",
        new_date=case.effective_due_date.isoformat(),
    )
    assert too_early.status_code == 422 and "Ngày hẹn mới phải sau ngày hẹn trả hiện tại" in too_early.text
    garbled = act(as_role("chuyen_vien"), app_id, "apologise", comment="x", new_date="31/02/2027")
    assert garbled.status_code == 422 and "không hợp lệ" in garbled.text
    new_date = load_calendar().add_working_days(case.effective_due_date, 3)
    ok = act(
        as_role("chuyen_vien"),
        app_id,
        "apologise",
        comment="Cần xác minh với trường nơi đi",
        new_date=new_date.strftime("%d/%m/%Y"),
    )
    assert ok.status_code == 303, ok.text[:3000]
    case = state_of(db_session, app_id)
    assert case.status == "dang_tham_dinh" and case.effective_due_date == new_date
    assert effects.templates()[-1] == "apology"
    assert f"ngày hẹn trả kết quả mới là {new_date:%d/%m/%Y}" in _track(client, code)


def test_forward_to_another_specialist(
    client: TestClient,
    as_role: Callable[[str], TestClient],
    staff: dict[str, Any],
    db_session: Session,
) -> None:
    app_id, _ = submit_transfer(client)
    assert (
        act(as_role("tiep_nhan"), app_id, "accept", assignee=str(staff["chuyen_vien"]["id"])).status_code
        == 303
    )
    nobody = act(as_role("chuyen_vien"), app_id, "forward", comment="Nhờ chị xử lý")
    assert nobody.status_code == 422 and "Vui lòng chọn người nhận xử lý." in nobody.text
    wrong = act(as_role("chuyen_vien"), app_id, "forward", comment="x", assignee=str(staff["van_thu"]["id"]))
    assert wrong.status_code == 422 and "Người nhận không hợp lệ" in wrong.text
    ok = act(
        as_role("chuyen_vien"),
        app_id,
        "forward",
        comment="Nhờ chị xử lý",
        assignee=str(staff["chuyen_vien2"]["id"]),
    )
    assert ok.status_code == 303
    assert state_of(db_session, app_id).assignee_id == staff["chuyen_vien2"]["id"]


def test_citizen_withdraws_while_allowed(
    client: TestClient, as_role: Callable[[str], TestClient], db_session: Session
) -> None:
    app_id, code = submit_transfer(client)
    receipt = client.get(f"/ho-so/{app_id}/bien-nhan")
    assert f'href="/ho-so/{app_id}/rut' in receipt.text
    page = client.get(f"/ho-so/{app_id}/rut")
    assert page.status_code == 200
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version
    token = csrf(client, f"/ho-so/{app_id}/rut")
    unconfirmed = client.post(f"/ho-so/{app_id}/rut", data={"csrf_token": token, "version": version.group(1)})
    assert unconfirmed.status_code == 422
    done = client.post(
        f"/ho-so/{app_id}/rut",
        data={"csrf_token": token, "version": version.group(1), "confirm": "1", "comment": "Gia đình đổi ý"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    case = state_of(db_session, app_id)
    assert case.status == "da_rut" and case.closed_at is not None
    assert "Hồ sơ ở trạng thái này không thể rút." in client.get(f"/ho-so/{app_id}/rut").text
    assert "Người nộp đã rút hồ sơ." in _track(client, code)
    # staff see it among closed cases only
    assert code not in as_role("tiep_nhan").get("/can-bo/ho-so?hang=dang-xu-ly").text
    assert code in as_role("tiep_nhan").get("/can-bo/ho-so?trang_thai=da_rut").text


def test_strangers_cannot_open_the_supplement_or_withdraw_pages(client: TestClient) -> None:
    app_id, code = submit_transfer(client)
    stranger = TestClient(client.app)
    assert stranger.get(f"/ho-so/{app_id}/rut").status_code == 404
    assert stranger.get(f"/ho-so/{app_id}/bo-sung").status_code == 404
    token = csrf(stranger, "/tra-cuu")
    wrong = stranger.post(
        "/ho-so/mo-bang-ma", data={"csrf_token": token, "case_code": code, "phone": "0912000000"}
    )
    assert wrong.status_code == 404


def test_history_rows_are_immutable(
    client: TestClient, as_role: Callable[[str], TestClient], db_session: Session
) -> None:
    import pytest
    from sqlalchemy import update
    from sqlalchemy.exc import DBAPIError

    app_id, _ = submit_transfer(client)
    assert act(as_role("tiep_nhan"), app_id, "accept").status_code == 303
    with pytest.raises(DBAPIError):
        db_session.execute(update(CaseEvent).where(CaseEvent.application_id == app_id).values(comment="sửa"))
    db_session.rollback()


def test_applicant_mails_are_rendered_by_the_outbox_with_the_dates(
    client: TestClient, as_role: Callable[[str], TestClient], effects: RecordingEffects, db_session: Session
) -> None:
    import pytest
    from sqlalchemy import select

    notifications = pytest.importorskip("portal.notifications")
    from workflows.calendar import load_calendar

    app_id, code = submit_transfer(client)
    assert act(as_role("tiep_nhan"), app_id, "accept").status_code == 303
    due = state_of(db_session, app_id).effective_due_date
    assert due is not None
    new_date = load_calendar().add_working_days(due, 2)
    assert (
        act(
            as_role("chuyen_vien"), app_id, "apologise", comment="Chờ xác minh", new_date=new_date.isoformat()
        ).status_code
        == 303
    )
    outbox = notifications.OutboxEmail
    rows = db_session.scalars(select(outbox).where(outbox.case_id == app_id).order_by(outbox.id)).all()
    mails = [(m.template, m.to_address, m.body_text) for m in rows]
    db_session.rollback()
    assert [(t, to) for t, to, _ in mails] == [
        ("case_received", "mai@example.vn"),
        ("apology", "mai@example.vn"),
    ]
    assert f"{due:%d/%m/%Y}" in mails[0][2] and code in mails[0][2]
    assert f"{new_date:%d/%m/%Y}" in mails[1][2] and "Chờ xác minh" in mails[1][2]
    assert re.search(rf"Ngày hẹn trước đây: [^\n]*{due:%d/%m/%Y}", mails[1][2])
    assert re.search(rf"Ngày hẹn trả kết quả mới: [^\n]*{new_date:%d/%m/%Y}", mails[1][2])


def test_staff_history_and_declared_data_read_as_words_not_codes(
    client: TestClient, as_role: Callable[[str], TestClient]
) -> None:
    """The case page is read by civil servants: no stored event codes (`draft_created`, `submitted`,
    `result_signed`), no `draft → …`, dates as dd/mm/yyyy and options by their label."""
    app_id, _ = submit_transfer(client)
    assert act(as_role("tiep_nhan"), app_id, "accept").status_code == 303
    assert act(as_role("chuyen_vien"), app_id, "appraise", comment="Đạt").status_code == 303
    assert act(as_role("lanh_dao"), app_id, "approve").status_code == 303
    page = as_role("lanh_dao").get(f"/can-bo/ho-so/{app_id}").text
    history = page.split('id="history-h"')[1]
    for code in ("draft_created", ">submitted", "result_signed", "draft →"):
        assert code not in history, code
    assert "Người nộp tạo bản nháp hồ sơ" in history and "Người nộp đã nộp hồ sơ trực tuyến" in history
    assert "Ký số văn bản kết quả" in history and "Bản nháp → " in history
    assert "14/03/2012" in page and "2012-03-14" not in page
    assert "<dd>Lớp 7</dd>" in page  # the option's label, not a bare "7"
    # what to check (applicant, files) comes before what to do
    assert page.index('id="applicant-h"') < page.index('id="files-h"') < page.index('id="actions-h"')

"""Feedback and complaints: citizen's form, working-day deadlines, the agency's queue, answers, history."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.errors import Conflict
from portal.quality.feedback import FeedbackService
from portal.quality.models import CaseFacts, Feedback, FeedbackEvent
from portal.quality.repository import QualityRepository
from tests.backoffice.staff_builders import create_staff
from tests.builders import csrf, settle
from tests.quality.conftest import Scenario
from tests.quality.quality_builders import vn

FORM = {
    "kind": "kien_nghi",
    "agency_id": "H29.41.04",
    "procedure": "2.001914",
    "name": "Nguyễn Thị Lan",
    "phone": "0903 111 222",
    "email": "",
    "subject": "Rút ngắn thời gian",
    "content": "Đề nghị cho phép nộp bản sao điện tử thay cho bản giấy.",
    "consent": "1",
}


def send(client: TestClient, **fields: str) -> object:
    token = csrf(client, "/phan-anh")
    return client.post("/phan-anh", data={"csrf_token": token, **fields}, follow_redirects=False)


def one(app: FastAPI, code: str) -> Feedback:
    with app.state.db.sessions() as session:
        found = session.scalars(select(Feedback).where(Feedback.code == code)).one()
        session.expunge_all()
        return found


def test_the_form_explains_each_problem_in_vietnamese(client: TestClient) -> None:
    response = send(
        client,
        kind="",
        name="",
        phone="12345",
        email="khong-hop-le",
        subject="",
        content="ngắn",
        agency_id="",
    )
    assert response.status_code == 422
    for message in (
        "Vui lòng chọn loại: phản ánh hoặc kiến nghị.",
        "Vui lòng nhập họ và tên.",
        "Địa chỉ thư điện tử không hợp lệ",
        "Vui lòng nhập tiêu đề.",
        "ít nhất 10 ký tự",
        "Vui lòng chọn cơ quan",
        "Vui lòng đồng ý",
    ):
        assert message in response.text
    assert 'href="#phone"' in response.text  # the error summary links to each field
    assert 'value="khong-hop-le"' in response.text  # what was typed is kept
    assert send(client, **{**FORM, "procedure": "2.002481", "agency_id": "H29.12.10"}).status_code == 422


def test_a_complaint_about_a_case_needs_the_applicants_phone(
    app: FastAPI, client: TestClient, scenario: Scenario
) -> None:
    wrong = send(
        client, **{**FORM, "kind": "phan_anh", "case_code": scenario.codes["E"], "phone": "0903111222"}
    )
    assert wrong.status_code == 422 and "Không tìm thấy hồ sơ với mã hồ sơ và số điện thoại này" in wrong.text
    settle(app)
    with app.state.db.sessions() as session:
        assert not session.get(CaseFacts, scenario.ids["E"]).complaint
    ok = send(
        client,
        **{
            **FORM,
            "kind": "phan_anh",
            "case_code": scenario.codes["E"],
            "phone": scenario.people["E"].phone,
            "agency_id": "",
        },
    )
    assert ok.status_code == 303
    code = re.search(r"ma=(PA-\d{6}-\w{6})", ok.headers["location"]).group(1)  # type: ignore[union-attr]
    saved = one(app, code)
    assert (saved.application_id, saved.agency_id, saved.procedure_code) == (
        scenario.ids["E"],
        "H29.41.04",
        "2.001914",
    )
    settle(app)
    with app.state.db.sessions() as session:
        assert session.get(CaseFacts, scenario.ids["E"]).complaint  # counts against satisfaction


def test_deadlines_are_working_days_from_receipt(app: FastAPI) -> None:
    with app.state.db.sessions() as session:
        service = FeedbackService(QualityRepository(session), app.state.registry, app.state.calendar)
        friday_evening = vn(date(2026, 11, 6), 18)  # after office hours: counts from Monday 9 Nov
        feedback = service.submit({**FORM, "phone": "0903111222"}, now=friday_evening)
        assert (feedback.refuse_due, feedback.info_due, feedback.resolve_due) == (
            date(2026, 11, 11),
            date(2026, 11, 16),
            date(2026, 12, 1),  # 15 working days: 24 Nov 2026 (Vietnam Cultural Day) is a day off
        )
        assert feedback.phone == "0903111222" and feedback.status == "moi"
        session.rollback()


def test_the_agency_handles_it_and_the_sender_reads_the_answer(
    app: FastAPI, client: TestClient, as_role: Callable[[str], TestClient]
) -> None:
    response = send(client, **FORM)
    code = re.search(r"ma=(PA-\d{6}-\w{6})", response.headers["location"]).group(1)  # type: ignore[union-attr]
    assert code in client.get(response.headers["location"]).text  # the code is shown once, in the notice
    feedback = one(app, code)
    desk = as_role("tiep_nhan")
    queue = desk.get("/can-bo/phan-anh")
    assert queue.status_code == 200 and code in queue.text
    assert code not in as_role("other_desk").get("/can-bo/phan-anh").text  # another agency's queue
    assert as_role("other_desk").get(f"/can-bo/phan-anh/{feedback.id}").status_code == 404
    assert as_role("ke_toan").get("/can-bo/phan-anh").status_code == 403

    page = desk.get(f"/can-bo/phan-anh/{feedback.id}").text
    token = csrf(desk, f"/can-bo/phan-anh/{feedback.id}")
    version = re.search(r'name="version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    empty = desk.post(
        f"/can-bo/phan-anh/{feedback.id}/thao-tac/request_info",
        data={"csrf_token": token, "version": version, "comment": ""},
    )
    assert empty.status_code == 422 and "Vui lòng nhập: nội dung cần người gửi bổ sung." in empty.text
    asked = desk.post(
        f"/can-bo/phan-anh/{feedback.id}/thao-tac/request_info",
        data={"csrf_token": token, "version": version, "comment": "Xin cho biết trường học."},
        follow_redirects=False,
    )
    assert asked.status_code == 303
    stale = desk.post(
        f"/can-bo/phan-anh/{feedback.id}/thao-tac/answer",
        data={"csrf_token": token, "version": version, "comment": "Trả lời"},
    )
    assert stale.status_code == 409  # rendered before the request for information

    token_c = csrf(client, "/phan-anh/tra-cuu")
    seen = client.post("/phan-anh/tra-cuu", data={"csrf_token": token_c, "code": code, "phone": "0903111222"})
    assert "Chờ người gửi bổ sung thông tin" in seen.text and "Xin cho biết trường học." in seen.text
    replied = client.post(
        "/phan-anh/tra-cuu/bo-sung",
        data={
            "csrf_token": token_c,
            "code": code,
            "phone": "0903111222",
            "content": "Trường THCS Phan Bội Châu.",
        },
    )
    assert replied.status_code == 200 and "Đã gửi thông tin bổ sung" in replied.text

    page = desk.get(f"/can-bo/phan-anh/{feedback.id}").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    assert "thao-tac/refuse" not in page  # refusing is only possible while the feedback is new
    answered = desk.post(
        f"/can-bo/phan-anh/{feedback.id}/thao-tac/answer",
        data={"csrf_token": token, "version": version, "comment": "Đã tiếp thu, sẽ áp dụng."},
        follow_redirects=False,
    )
    assert answered.status_code == 303
    final = client.post(
        "/phan-anh/tra-cuu", data={"csrf_token": token_c, "code": code, "phone": "0903111222"}
    )
    assert "Đã trả lời" in final.text and "Đã tiếp thu, sẽ áp dụng." in final.text
    assert "Phạm Thu Hà" not in final.text  # staff names stay internal
    wrong = client.post(
        "/phan-anh/tra-cuu", data={"csrf_token": token_c, "code": code, "phone": "0903111223"}
    )
    assert wrong.status_code == 404 and "Đã tiếp thu" not in wrong.text
    with app.state.db.sessions() as session:
        history = [
            (e.kind, e.from_status, e.to_status, e.actor_kind)
            for e in session.scalars(
                select(FeedbackEvent)
                .where(FeedbackEvent.feedback_id == feedback.id)
                .order_by(FeedbackEvent.id)
            )
        ]
    assert history == [
        ("submitted", None, "moi", "citizen"),
        ("request_info", "moi", "can_bo_sung", "staff"),
        ("reply", "can_bo_sung", "dang_xu_ly", "citizen"),
        ("answer", "dang_xu_ly", "da_tra_loi", "staff"),
    ]


def test_refusing_is_only_possible_within_two_working_days(app: FastAPI) -> None:
    with app.state.db.sessions() as session:
        service = FeedbackService(QualityRepository(session), app.state.registry, app.state.calendar)
        received = vn(date(2026, 11, 2))
        feedback = service.submit({**FORM, "phone": "0903111222"}, now=received)
        assert [a.key for a in service.actions(feedback, vn(date(2026, 11, 4)))] == [
            "accept",
            "request_info",
            "refuse",
            "answer",
        ]
        late = vn(date(2026, 11, 5))  # refuse_due was 4 Nov
        assert "refuse" not in [a.key for a in service.actions(feedback, late)]
        member = create_staff(session, "tn", "Cán bộ", ["tiep_nhan"])
        with pytest.raises(Conflict, match="Đã quá hạn"):
            service.act(
                member, feedback, "refuse", "Không thuộc thẩm quyền", version=feedback.lock_version, now=late
            )
        service.act(
            member,
            feedback,
            "answer",
            "Trả lời muộn",
            version=feedback.lock_version,
            now=late + timedelta(days=30),
        )
        events = QualityRepository(session).feedback_events(feedback.id)
        assert (events[-1].kind, events[-1].late) == ("answer", True)
        session.rollback()


def test_feedback_form_needs_csrf(client: TestClient) -> None:
    assert client.post("/phan-anh", data=FORM).status_code == 403


def test_feedback_history_cannot_be_rewritten(app: FastAPI) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    with app.state.db.sessions() as session:
        service = FeedbackService(QualityRepository(session), app.state.registry, app.state.calendar)
        service.submit({**FORM, "phone": "0903111222"}, now=vn(date(2026, 11, 2)))
        session.commit()
    for statement in (
        "UPDATE quality_feedback_events SET late = true",
        "DELETE FROM quality_feedback_events",
    ):
        with app.state.db.sessions() as session:
            with pytest.raises(DatabaseError, match="immutable"):
                session.execute(text(statement))
            session.rollback()

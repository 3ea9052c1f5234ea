"""Staff pages: masked transcripts and call-back requests, role-checked."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.assistant.chat_builders import conversations, say
from tests.assistant.conftest import FakeRasa
from tests.backoffice.staff_builders import page_csrf

TOKEN = {"Authorization": "Bearer test-service-token"}
StaffClient = Callable[[str], TestClient]


def _personal_chat(client: TestClient, rasa: FakeRasa) -> None:
    rasa.say(
        {
            "text": "Cán bộ sẽ gọi lại cho bạn qua số 0912345678.",
            "buttons": [{"title": "Đúng số 0912345678", "payload": '/affirm{"phone": "0912345678"}'}],
        }
    )
    say(client, "Mã H29.41.04-261201-0007 sđt 0987654321, CCCD 079185012345, mail mai.tran@example.vn")
    rasa.say({"text": "Cảm ơn."})
    say(client, "H29.41.04-261201-00070987654321")


def _route(client: TestClient, conversation_id: str, agency: str = "H29.41.04") -> None:
    """The assistant files a call-back for this conversation, addressed to the desk's agency."""
    body = {
        "full_name": "Trần Thị Mai",
        "phone": "0987654321",
        "conversation_id": conversation_id,
        "agency_id": agency,
    }
    assert client.post("/api/v1/callbacks", headers=TOKEN, json=body).status_code == 201


def test_transcript_is_masked(
    app: FastAPI, client: TestClient, rasa: FakeRasa, staff_client: StaffClient
) -> None:
    _personal_chat(client, rasa)
    [conversation] = conversations(app)
    _route(client, conversation.id)
    reader = staff_client("tiep_nhan")
    listing = reader.get("/can-bo/tro-ly-ao")
    assert listing.status_code == 200 and f"/can-bo/tro-ly-ao/{conversation.id}" in listing.text
    html = reader.get(f"/can-bo/tro-ly-ao/{conversation.id}").text
    for raw in ("0987654321", "079185012345", "mai.tran@example.vn", "0912345678"):
        assert raw not in html
    assert "H29.41.04-261201-0007 sđt 098*****21" in html
    assert "079******345" in html and "m***@example.vn" in html
    assert "H29.41.04-261201-0007**********" in html  # a phone typed straight after the case code
    assert "Đúng số 091*****78" in html


@pytest.mark.parametrize(
    "role,status", [("tiep_nhan", 200), ("admin", 200), ("chuyen_vien", 403), ("ke_toan", 403)]
)
def test_staff_pages_check_the_role(
    app: FastAPI, staff_client: StaffClient, client: TestClient, rasa: FakeRasa, role: str, status: int
) -> None:
    say(client, "xin chào")
    [conversation] = conversations(app)
    _route(client, conversation.id)
    member = staff_client(role)
    for path in ("/can-bo/tro-ly-ao", f"/can-bo/tro-ly-ao/{conversation.id}", "/can-bo/goi-lai"):
        assert member.get(path).status_code == status, path


def test_citizens_are_sent_to_the_staff_login(client: TestClient) -> None:
    response = client.get("/can-bo/goi-lai", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/can-bo/dang-nhap")


def test_unhelpful_filter(
    app: FastAPI, client: TestClient, rasa: FakeRasa, staff_client: StaffClient
) -> None:
    from tests.assistant.chat_builders import rating_forms
    from tests.builders import csrf

    [action] = rating_forms(say(client, "câu hỏi khó").text)
    client.post(action, data={"rating": "unhelpful", "csrf_token": csrf(client, "/chat")})
    with TestClient(app, base_url="http://testserver") as other:
        say(other, "câu hỏi dễ")
    reader = staff_client("admin")  # the central desk: reads conversations nobody routed yet
    assert reader.get("/can-bo/tro-ly-ao").text.count("Xem nội dung") == 2
    filtered = reader.get("/can-bo/tro-ly-ao?chua_co_ich=1").text
    assert filtered.count("Xem nội dung") == 1 and "Chưa có ích: 1" in filtered


def test_callback_list_and_mark_done(app: FastAPI, client: TestClient, staff_client: StaffClient) -> None:
    created = client.post(
        "/api/v1/callbacks",
        headers=TOKEN,
        json={
            "full_name": "Trần Thị Mai",
            "phone": "0987 654 321",
            "note": "Hỏi về chuyển trường",
            "agency_id": "H29.41.04",
        },
    )
    assert created.status_code == 201
    callback_id = created.json()["id"]
    desk = staff_client("tiep_nhan")
    html = desk.get("/can-bo/goi-lai").text
    assert "Trần Thị Mai" in html and 'href="tel:0987654321"' in html and "Hỏi về chuyển trường" in html
    assert html.count("<h1") == 1
    response = desk.post(
        f"/can-bo/goi-lai/{callback_id}/xong",
        data={"csrf_token": page_csrf(html), "note": "Đã gọi, hướng dẫn nộp trực tuyến"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = desk.get("/can-bo/goi-lai").text
    assert "Đã đánh dấu yêu cầu gọi lại là đã xử lý." in page
    assert "Không có yêu cầu nào đang chờ." in page
    assert "Đã gọi, hướng dẫn nộp trực tuyến" in page and "Cán bộ tiep_nhan" in page
    again = desk.post(f"/can-bo/goi-lai/{callback_id}/xong", data={"csrf_token": page_csrf(page), "note": ""})
    assert "đã được đánh dấu xử lý xong trước đó" in again.text


def test_overlong_note_is_a_field_error(client: TestClient, staff_client: StaffClient) -> None:
    callback_id = client.post(
        "/api/v1/callbacks", headers=TOKEN, json={"full_name": "An", "phone": "0912345678"}
    ).json()["id"]
    desk = staff_client("admin")
    html = desk.get("/can-bo/goi-lai").text
    response = desk.post(
        f"/can-bo/goi-lai/{callback_id}/xong", data={"csrf_token": page_csrf(html), "note": "x" * 1001}
    )
    assert response.status_code == 422
    assert re.search(rf'id="note-{callback_id}-error"', response.text)
    assert f'href="#note-{callback_id}"' in response.text


def test_marking_done_needs_csrf_and_the_role(client: TestClient, staff_client: StaffClient) -> None:
    callback_id = client.post(
        "/api/v1/callbacks",
        headers=TOKEN,
        json={"full_name": "An", "phone": "0912345678", "agency_id": "H29.41.04"},
    ).json()["id"]
    desk = staff_client("tiep_nhan")
    assert desk.post(f"/can-bo/goi-lai/{callback_id}/xong", data={"note": ""}).status_code == 403
    specialist = staff_client("chuyen_vien")
    token = page_csrf(specialist.get("/can-bo/ho-so").text)
    assert (
        specialist.post(
            f"/can-bo/goi-lai/{callback_id}/xong", data={"csrf_token": token, "note": ""}
        ).status_code
        == 403
    )
    assert "Không có yêu cầu nào đang chờ." not in desk.get("/can-bo/goi-lai").text


def test_callbacks_and_transcripts_are_routed_to_an_agency(
    app: FastAPI, client: TestClient, rasa: FakeRasa, staff_client: StaffClient
) -> None:
    """A call-back about a case goes to the desk of the case's agency, with the conversation it came
    from; one without a case or agency stays with the central desk (admin)."""
    from datetime import date

    from sqlalchemy import select

    from portal.assistant.models import CallbackRequest
    from tests.backoffice.staff_builders import insert_case

    with app.state.db.sessions() as session:
        case_code = insert_case(session, due=date(2026, 12, 20), number=3, agency="H29.41.04").case_code
        session.commit()
    say(client, "cho tôi gặp cán bộ")
    [conversation] = conversations(app)
    about_case = {
        "full_name": "Lê Văn Tám",
        "phone": "0912345678",
        "conversation_id": conversation.id,
        "case_code": case_code.lower(),
    }
    assert client.post("/api/v1/callbacks", headers=TOKEN, json=about_case).status_code == 201
    assert (
        client.post("/api/v1/callbacks", json={"full_name": "Ai Đó", "phone": "0909111222"}).status_code
        == 201
    )
    with app.state.db.sessions() as session:
        routed = {c.full_name: c.agency_id for c in session.scalars(select(CallbackRequest))}
    assert routed == {"Lê Văn Tám": "H29.41.04", "Ai Đó": None}
    assert [c.agency_id for c in conversations(app)] == ["H29.41.04"]
    desk = staff_client("tiep_nhan").get("/can-bo/goi-lai").text
    assert "Lê Văn Tám" in desk and "Ai Đó" not in desk and "do quản trị hệ thống điều phối" in desk
    central = staff_client("admin").get("/can-bo/goi-lai").text
    assert "Lê Văn Tám" in central and "Ai Đó" in central


def test_an_unknown_agency_is_a_field_error(client: TestClient) -> None:
    response = client.post(
        "/api/v1/callbacks", json={"full_name": "An", "phone": "0912345678", "agency_id": "H99.99"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"agency_id": "Không có cơ quan với mã này."}

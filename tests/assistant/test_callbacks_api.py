"""POST /api/v1/callbacks: the assistant's 'talk to a person'."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.assistant.models import CallbackRequest
from tests.assistant.chat_builders import conversations, say
from tests.assistant.conftest import FakeRasa

TOKEN = {"Authorization": "Bearer test-service-token"}


def _stored(app: FastAPI) -> list[CallbackRequest]:
    with app.state.db.sessions() as session:
        return list(session.scalars(select(CallbackRequest).order_by(CallbackRequest.created_at)))


def test_assistant_creates_a_callback(app: FastAPI, client: TestClient) -> None:
    response = client.post(
        "/api/v1/callbacks",
        headers=TOKEN,
        json={
            "full_name": " Trần Thị Mai ",
            "phone": "+84 987 654 321",
            "note": "Hỏi về học phí",
            "conversation_id": "abc",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id"}
    [row] = _stored(app)
    assert row.id == body["id"] and row.full_name == "Trần Thị Mai" and row.phone == "0987654321"
    assert row.source == "assistant" and row.status == "open" and row.conversation_id == "abc"


def test_validation_errors_in_vietnamese(app: FastAPI, client: TestClient) -> None:
    response = client.post("/api/v1/callbacks", headers=TOKEN, json={"full_name": "", "phone": "12345"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"]["full_name"] == "Vui lòng nhập họ và tên."
    assert error["fields"]["phone"] == "Số điện thoại di động phải gồm 10 chữ số, bắt đầu bằng 0 (hoặc +84)."
    wrong_type = client.post("/api/v1/callbacks", headers=TOKEN, json={"full_name": "An", "phone": 912345678})
    assert wrong_type.status_code == 422 and "phone" in wrong_type.json()["error"]["fields"]
    assert _stored(app) == []


def test_idempotency_key_gives_one_request(app: FastAPI, client: TestClient) -> None:
    body = {"full_name": "An", "phone": "0912345678"}
    first = client.post("/api/v1/callbacks", headers={**TOKEN, "Idempotency-Key": "k-1"}, json=body)
    second = client.post("/api/v1/callbacks", headers={**TOKEN, "Idempotency-Key": "k-1"}, json=body)
    assert first.json()["id"] == second.json()["id"]
    assert len(_stored(app)) == 1
    other = client.post(
        "/api/v1/callbacks",
        headers={**TOKEN, "Idempotency-Key": "k-1"},
        json={"full_name": "An", "phone": "0987654321"},
    )
    assert other.status_code == 409


def test_anonymous_callers_are_rate_limited_the_assistant_is_not(app: FastAPI, client: TestClient) -> None:
    body = {"full_name": "An", "phone": "0912345678"}
    statuses = [client.post("/api/v1/callbacks", json=body).status_code for _ in range(7)]
    assert statuses == [201] * 5 + [429] * 2
    limited = client.post("/api/v1/callbacks", json=body).json()["error"]
    assert limited["code"] == "rate_limited" and "quá nhiều" in limited["message"]
    assert client.post("/api/v1/callbacks", json=body, headers=TOKEN).status_code == 201
    wrong_token = client.post("/api/v1/callbacks", json=body, headers={"Authorization": "Bearer nope"})
    assert wrong_token.status_code == 429


def test_invalid_attempts_count_towards_the_limit(client: TestClient) -> None:
    for _ in range(5):
        assert client.post("/api/v1/callbacks", json={"full_name": "", "phone": ""}).status_code == 422
    assert (
        client.post("/api/v1/callbacks", json={"full_name": "An", "phone": "0912345678"}).status_code == 429
    )


def test_only_the_assistant_links_a_conversation(app: FastAPI, client: TestClient, rasa: FakeRasa) -> None:
    from tests.builders import csrf

    token = csrf(client, "/dang-ky")
    client.post(
        "/dang-ky",
        data={
            "csrf_token": token,
            "full_name": "Lê Văn Tám",
            "phone": "0912345678",
            "email": "tam@example.vn",
            "password": "matkhau-rat-dai-1",
            "password2": "matkhau-rat-dai-1",
        },
    )
    say(client, "cho tôi gặp cán bộ")
    [conversation] = conversations(app)
    body = {"full_name": "Lê Văn Tám", "phone": "0912345678", "conversation_id": conversation.id}
    client.post("/api/v1/callbacks", headers=TOKEN, json=body)
    client.post("/api/v1/callbacks", json=body)
    trusted, public = _stored(app)
    assert trusted.citizen_id == conversation.citizen_id is not None
    assert trusted.conversation_id == conversation.id
    assert public.source == "public" and public.conversation_id is None and public.citizen_id is None


def test_documented_in_openapi(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/api/v1/callbacks"]["post"]
    assert "201" in operation["responses"]

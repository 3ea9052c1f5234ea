"""Citizens rate each bot answer: with HTMX (fragment swap) and without JS (303)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.assistant.chat_builders import messages, rating_forms, say
from tests.assistant.conftest import FakeRasa
from tests.builders import csrf


def test_one_rating_form_per_answer_on_its_last_message(
    app: FastAPI, client: TestClient, rasa: FakeRasa
) -> None:
    rasa.say({"text": "Phần một."}, {"text": "Phần hai."})
    html = say(client, "xin chào").text
    forms = rating_forms(html)
    bot = [m for m in messages(app) if m.direction == "out"]
    assert forms == [f"/chat/tin-nhan/{bot[-1].id}/danh-gia"]
    assert [m.rateable for m in bot] == [False, True]


def test_rating_over_htmx_swaps_the_form(app: FastAPI, client: TestClient, rasa: FakeRasa) -> None:
    [action] = rating_forms(say(client, "xin chào").text)
    response = client.post(
        action,
        data={"rating": "unhelpful"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf(client, "/chat")},
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'value="unhelpful" aria-pressed="true"' in response.text
    assert "Cảm ơn bạn đã đánh giá" in response.text
    assert messages(app)[-1].rating == "unhelpful"


def test_rating_without_js_redirects_back_and_can_be_changed(
    app: FastAPI, client: TestClient, rasa: FakeRasa
) -> None:
    [action] = rating_forms(say(client, "xin chào", htmx=False) and client.get("/chat").text)
    response = client.post(
        action, data={"rating": "helpful", "csrf_token": csrf(client, "/chat")}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/chat#m-")
    page = client.get("/chat").text
    assert "Cảm ơn bạn đã đánh giá câu trả lời." in page
    assert 'value="helpful" aria-pressed="true"' in page
    client.post(action, data={"rating": "unhelpful", "csrf_token": csrf(client, "/chat")})
    assert messages(app)[-1].rating == "unhelpful"


def test_other_conversations_answers_cannot_be_rated(
    app: FastAPI, client: TestClient, rasa: FakeRasa
) -> None:
    [action] = rating_forms(say(client, "xin chào").text)
    with TestClient(app, base_url="http://testserver") as stranger:
        stranger.get("/chat")
        token = csrf(stranger, "/chat")
        response = stranger.post(action, data={"rating": "unhelpful", "csrf_token": token})
        assert response.status_code == 404
        htmx = stranger.post(
            action, data={"rating": "unhelpful"}, headers={"HX-Request": "true", "X-CSRF-Token": token}
        )
        assert htmx.status_code == 404 and "<html" not in htmx.text
    assert messages(app)[-1].rating is None


def test_user_messages_and_unknown_values_are_refused(
    app: FastAPI, client: TestClient, rasa: FakeRasa
) -> None:
    say(client, "xin chào")
    user_message = messages(app)[0]
    token = csrf(client, "/chat")
    assert (
        client.post(
            f"/chat/tin-nhan/{user_message.id}/danh-gia", data={"rating": "helpful", "csrf_token": token}
        ).status_code
        == 404
    )
    [action] = rating_forms(client.get("/chat").text)
    response = client.post(
        action, data={"rating": "5 sao"}, headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert response.status_code == 422
    assert messages(app)[-1].rating is None

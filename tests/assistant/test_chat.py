"""The chat widget, the /chat page and the relay to (a fake) Rasa."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from portal.ratelimit import client_key
from tests.assistant.chat_builders import conversations, messages, say
from tests.assistant.conftest import FakeRasa
from tests.builders import csrf

DOCS_ANSWER = {
    "text": "Hồ sơ thủ tục «Cấp bản sao văn bằng» gồm:\n• Đơn đề nghị\nChi tiết: http://testserver/thu-tuc/cap-ban-sao",
    "buttons": [
        {"title": "Nộp hồ sơ ngay", "payload": '/start_application{"procedure": "1.005092"}'},
        {"title": "Phí, lệ phí", "payload": '/ask_fee{"procedure": "1.005092"}'},
    ],
}


@pytest.mark.parametrize("path", ["/", "/thu-tuc", "/tra-cuu", "/dang-nhap"])
def test_every_citizen_page_has_the_widget(client: TestClient, path: str) -> None:
    html = client.get(path).text
    assert 'popovertarget="assistant-panel"' in html
    assert 'id="assistant-panel"' in html and 'role="dialog"' in html
    assert re.search(r'<label for="assistant-input">[^<]+</label>', html)
    assert 'id="assistant-log"' in html and 'aria-live="polite"' in html
    assert 'action="/chat"' in html and 'method="post"' in html  # works without JS too


def test_chat_page_has_one_conversation_and_no_second_widget(client: TestClient) -> None:
    html = client.get("/chat").text
    assert html.count('id="assistant-log"') == 1
    assert html.count('id="assistant-input"') == 1
    assert "popovertarget" not in html
    assert html.count("<h1") == 1


def test_htmx_turn_renders_text_buttons_and_rating(client: TestClient, rasa: FakeRasa) -> None:
    rasa.say(DOCS_ANSWER)
    response = say(client, "cho hỏi làm lại bằng tốt nghiệp cần giấy tờ gì")
    assert response.status_code == 200
    html = response.text
    assert "<html" not in html  # a fragment for the log, not a page
    assert "cho hỏi làm lại bằng tốt nghiệp cần giấy tờ gì" in html
    assert "Đơn đề nghị<br>" in html
    assert '<a href="http://testserver/thu-tuc/cap-ban-sao" rel="noopener noreferrer">' in html
    assert re.search(
        r'<button type="submit" class="button" name="payload" '
        r'value="/start_application{&#34;procedure&#34;: &#34;1.005092&#34;}">Nộp hồ sơ ngay</button>',
        html,
    )
    assert 'value="helpful"' in html and 'value="unhelpful"' in html
    assert rasa.last["message"] == "cho hỏi làm lại bằng tốt nghiệp cần giấy tờ gì"


def test_bot_text_is_escaped(client: TestClient, rasa: FakeRasa) -> None:
    rasa.say({"text": "<script>alert(1)</script> javascript:alert(1)"})
    html = say(client, "xin chào").text
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html
    assert 'href="javascript' not in html


def test_metadata_carries_server_side_sender_citizen_and_language(
    app: FastAPI, client: TestClient, rasa: FakeRasa
) -> None:
    say(client, "xin chào", sender="attacker-chosen", conversation_id="attacker-chosen")
    say(client, "cảm ơn", sender="another-one")
    first, second = rasa.requests
    [conversation] = conversations(app)
    assert first["sender"] == second["sender"] == conversation.id != "attacker-chosen"
    assert re.fullmatch(r"[0-9a-f-]{36}", first["sender"])
    # end_user: the opaque key the portal counts this person's lookups under (security #13), so the
    # assistant's case/fee lookups for them share their budget
    person = client_key(app.state.settings.secret_key, "testclient")
    assert first["metadata"] == {
        "user_id": None,
        "lang": "vi",
        "portal_base_url": "http://testserver",
        "end_user": person,
    }
    assert conversation.citizen_id is None and conversation.message_count == 4


def test_a_cookie_cannot_choose_the_sender(app: FastAPI, client: TestClient, rasa: FakeRasa) -> None:
    client.cookies.set("assistant_conversation", "attacker-chosen")
    say(client, "xin chào")
    assert rasa.last["sender"] != "attacker-chosen"


def test_each_browser_gets_its_own_conversation(app: FastAPI, client: TestClient, rasa: FakeRasa) -> None:
    say(client, "xin chào")
    with TestClient(app, base_url="http://testserver") as other:
        say(other, "xin chào")
    assert rasa.requests[0]["sender"] != rasa.requests[1]["sender"]
    assert len(conversations(app)) == 2


def test_logged_in_citizen_and_english_page(app: FastAPI, client: TestClient, rasa: FakeRasa) -> None:
    token = csrf(client, "/dang-ky")
    response = client.post(
        "/dang-ky",
        data={
            "csrf_token": token,
            "full_name": "Lê Văn Tám",
            "phone": "0912345678",
            "email": "tam@example.vn",
            "password": "matkhau-rat-dai-1",
            "password2": "matkhau-rat-dai-1",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:500]
    client.get("/ngon-ngu/en?next=/")
    say(client, "hello")
    [conversation] = conversations(app)
    assert conversation.citizen_id is not None
    assert rasa.last["metadata"]["user_id"] == conversation.citizen_id
    assert rasa.last["metadata"]["lang"] == "en"
    assert conversation.lang == "en"


def test_offered_button_sends_its_payload_and_shows_its_title(
    app: FastAPI, client: TestClient, rasa: FakeRasa
) -> None:
    rasa.say(DOCS_ANSWER)
    say(client, "giấy tờ làm lại bằng")
    rasa.say({"text": "Lệ phí: không thu."})
    html = say(client, payload='/ask_fee{"procedure": "1.005092"}').text
    assert rasa.last["message"] == '/ask_fee{"procedure": "1.005092"}'
    assert "Phí, lệ phí" in html  # the transcript shows what the citizen clicked, not the payload
    stored = messages(app)
    assert stored[-2].text == "Phí, lệ phí" and stored[-2].payload == '/ask_fee{"procedure": "1.005092"}'


def test_payloads_the_bot_did_not_offer_are_sent_as_plain_text(client: TestClient, rasa: FakeRasa) -> None:
    say(client, payload='/inform{"phone": "0900000000"}')
    assert rasa.last["message"] == 'inform{"phone": "0900000000"}'
    say(client, "/restart")
    assert rasa.last["message"] == "restart"


def test_empty_message_does_nothing(client: TestClient, rasa: FakeRasa) -> None:
    assert say(client, "   ").status_code == 204
    assert say(client, "", htmx=False).status_code == 303
    assert rasa.requests == []


@pytest.mark.parametrize("mode", ["timeout", "refused", "500", "garbage", "shape", "bad_buttons"])
def test_rasa_failures_give_a_friendly_fragment(
    app: FastAPI, client: TestClient, rasa: FakeRasa, mode: str
) -> None:
    rasa.mode = mode
    response = say(client, "cho hỏi thủ tục chuyển trường")
    assert response.status_code == 200
    html = response.text
    assert "trợ lý ảo đang tạm thời gián đoạn" in html
    assert 'action="/thu-tuc"' in html and 'name="q"' in html
    assert 'href="tel:1022"' in html
    assert "Traceback" not in html and "<html" not in html
    assert [m.kind for m in messages(app)] == ["answer", "unavailable"]


def test_unavailable_without_js_shows_on_the_chat_page(client: TestClient, rasa: FakeRasa) -> None:
    rasa.mode = "refused"
    response = say(client, "xin chào", htmx=False)
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert "trợ lý ảo đang tạm thời gián đoạn" in page.text and 'action="/thu-tuc"' in page.text


def test_empty_answer_is_explained(client: TestClient, rasa: FakeRasa) -> None:
    rasa.say()
    html = say(client, "ừm").text
    assert "chưa có câu trả lời" in html


def test_chat_page_without_js_posts_and_redirects_to_the_conversation(
    app: FastAPI, client: TestClient, rasa: FakeRasa
) -> None:
    rasa.say(DOCS_ANSWER)
    response = say(client, "làm lại bằng tốt nghiệp", htmx=False)
    assert response.status_code == 303
    assert re.fullmatch(r"/chat#m-\d+", response.headers["location"])
    page = client.get("/chat")
    assert "làm lại bằng tốt nghiệp" in page.text and "Nộp hồ sơ ngay" in page.text
    # the button is a plain submit button inside a form posting to /chat
    assert re.search(r'<form class="assistant-buttons" method="post" action="/chat"', page.text)


def test_history_fragment_for_the_widget(client: TestClient, rasa: FakeRasa) -> None:
    say(client, "xin chào")
    response = client.get("/chat", headers={"HX-Request": "true", "HX-Target": "assistant-log"})
    assert "<html" not in response.text and "Xin chào! Mình giúp gì được bạn?" in response.text


def test_posts_need_the_csrf_token(client: TestClient, rasa: FakeRasa) -> None:
    client.get("/chat")
    assert client.post("/chat", data={"message": "xin chào"}).status_code == 403
    assert (
        client.post("/chat", data={"message": "xin chào"}, headers={"X-CSRF-Token": "wrong"}).status_code
        == 403
    )
    assert rasa.requests == []


def test_turns_are_rate_limited(client: TestClient, rasa: FakeRasa, limits) -> None:  # type: ignore[no-untyped-def]
    from portal.assistant.web import ChatLimits

    limits(ChatLimits(per_conversation=2, per_ip=100))
    assert say(client, "một").status_code == 200
    assert say(client, "hai").status_code == 200
    response = say(client, "ba")
    assert response.status_code == 429
    assert "quá nhiều tin nhắn" in response.text
    assert len(rasa.requests) == 2


@pytest.fixture
def messages_table_gone(app: FastAPI) -> Iterator[None]:
    """Storing a turn fails (the table is renamed away for the test, then restored)."""
    with app.state.db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE assistant_messages RENAME TO assistant_messages_away"))
    yield
    with app.state.db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE assistant_messages_away RENAME TO assistant_messages"))


def test_answer_is_still_shown_when_the_turn_cannot_be_stored(
    client: TestClient, rasa: FakeRasa, messages_table_gone: None
) -> None:
    rasa.say(DOCS_ANSWER)
    response = say(client, "làm lại bằng tốt nghiệp")
    assert response.status_code == 200
    assert "Đơn đề nghị" in response.text and "tạm thời không lưu được" in response.text
    assert "danh-gia" not in response.text  # nothing stored, nothing to rate
    plain = say(client, "làm lại bằng tốt nghiệp", htmx=False)
    assert plain.status_code == 200 and "<h1" in plain.text and "Đơn đề nghị" in plain.text

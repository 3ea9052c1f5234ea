"""Verified phones: a one-time code by SMS (the development sink) proves the phone; wrong, expired,
replayed and superseded codes are refused; sending is rate-limited; only a verified phone that the
school recorded as the parent's opens a child's fees."""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import PhoneVerification
from portal.accounts.phone import PhoneVerificationService
from portal.app import create_app
from portal.composition import MODULES
from portal.config import Settings
from portal.errors import ValidationFailed
from portal.models import Citizen
from portal.notifications.models import DevSms
from portal.notifications.sms import HttpSmsSender, NoSmsProvider, SmsUnavailable, sms_sender
from tests.builders import csrf
from tests.payments_app.builders import school_world
from workflows.calendar import VN_TZ

PATH = "/tai-khoan/so-dien-thoai"
PASSWORD = "matkhau-an-toan"


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 12, 9, 9, 0, tzinfo=VN_TZ))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Clock:
    fixed = Clock()
    monkeypatch.setattr(app.state.services, "clock", fixed)
    return fixed


def limits(app: FastAPI, monkeypatch: pytest.MonkeyPatch, **values: int) -> None:
    """The phone pages read ``services.settings``: a copy with other limits, for this test only."""
    monkeypatch.setattr(app.state.services, "settings", app.state.settings.model_copy(update=values))


def register(client: TestClient, phone: str, name: str = "Nguyễn Văn Phụ Huynh") -> None:
    token = csrf(client, "/dang-ky")
    response = client.post(
        "/dang-ky",
        data={
            "csrf_token": token,
            "full_name": name,
            "phone": phone,
            "email": "",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def send(client: TestClient, phone: str, next_: str = "") -> Any:
    return client.post(
        f"{PATH}/gui-ma",
        data={"csrf_token": csrf(client, PATH), "phone": phone, "next": next_},
        follow_redirects=False,
    )


def enter(client: TestClient, code: str, next_: str = "") -> Any:
    return client.post(
        f"{PATH}/xac-minh",
        data={"csrf_token": csrf(client, PATH), "code": code, "next": next_},
        follow_redirects=False,
    )


def sms_code(client: TestClient, phone: str) -> str:
    """The latest code sent to ``phone``, read off the development sink's page like a developer would."""
    page = client.get(f"/dev/sms?phone={phone}")
    assert page.status_code == 200
    bodies = re.findall(r'<td class="sms-body">([^<]*)</td>', page.text)
    assert bodies, f"no SMS to {phone}"
    match = re.search(r"\b(\d{6})\b", html.unescape(bodies[0]))
    assert match
    return match.group(1)


def citizen(app: FastAPI, phone: str) -> Citizen:
    with app.state.db.sessions() as session:
        found = session.scalars(select(Citizen).where(Citizen.phone == phone)).one()
        session.expunge(found)
        return found


def field_error(text: str, name: str) -> str:
    match = re.search(rf'<p class="error-message" id="{name}(?:-error)?">(.*?)</p>', text, re.S)
    assert match, f"no error at {name}"
    return re.sub(r"<[^>]+>", "", html.unescape(match.group(1))).replace("Lỗi:", "").strip()


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# -- the happy path ------------------------------------------------------------------------------------


def test_registration_leaves_the_phone_unverified_until_the_code_from_the_sms(
    app: FastAPI, client: TestClient, clock: Clock
) -> None:
    register(client, "0912 345 678")
    assert citizen(app, "0912345678").phone_verified_at is None
    mine = client.get("/tai-khoan/ho-so")
    assert 'id="verify-phone-banner"' in mine.text and f'href="{PATH}"' in mine.text

    sent = send(client, "0912345678")
    assert sent.status_code == 303
    page = client.get(PATH)
    assert "Đã gửi mã xác minh đến số 0912***678." in page.text
    assert 'autocomplete="one-time-code"' in page.text

    code = sms_code(client, "0912345678")
    with app.state.db.sessions() as session:
        row = session.scalars(select(PhoneVerification)).one()
        assert row.phone == "0912345678" and row.expires_at == clock.now + timedelta(minutes=5)
        assert code not in row.code_hash and len(row.code_hash) == 64  # only an HMAC is stored
        sms = session.scalars(select(DevSms)).one()
        assert sms.to_phone == "0912345678" and "het han sau 5 phut" in sms.body

    clock.advance(299)
    done = enter(client, f" {code[:3]} {code[3:]} ")  # spaces as people type them
    assert done.status_code == 303 and done.headers["location"] == "/tai-khoan/ho-so"
    verified = citizen(app, "0912345678")
    assert verified.phone_verified_at == clock.now
    mine = client.get("/tai-khoan/ho-so")
    assert "Số điện thoại 0912345678 đã được xác minh." in mine.text
    assert 'id="verify-phone-banner"' not in mine.text
    # verified: asking again sends nothing
    clock.advance(120)
    assert send(client, "0912345678").status_code == 303
    with app.state.db.sessions() as session:
        assert len(session.scalars(select(DevSms)).all()) == 1


def test_the_phone_pages_need_a_signed_in_citizen(client: TestClient) -> None:
    page = client.get(PATH, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == f"/dang-nhap?next={PATH}"
    token = csrf(client, "/")
    posted = client.post(f"{PATH}/gui-ma", data={"csrf_token": token, "phone": "0912345678"})
    assert "/dang-nhap" in str(posted.url)


# -- codes that must not work --------------------------------------------------------------------------


def test_a_wrong_code_is_refused_counted_and_five_end_the_code(
    app: FastAPI, client: TestClient, clock: Clock
) -> None:
    register(client, "0912345678")
    send(client, "0912345678")
    code = sms_code(client, "0912345678")
    first = enter(client, wrong(code))
    assert first.status_code == 422
    assert field_error(first.text, "code") == "Mã xác minh không đúng; bạn còn 4 lần thử."
    assert f'value="{wrong(code)}"' in first.text  # what was typed is kept
    for left in (3, 2, 1):
        assert f"bạn còn {left} lần thử" in enter(client, wrong(code)).text
    fifth = enter(client, wrong(code))
    assert field_error(fifth.text, "code") == "Bạn đã nhập sai 5 lần; vui lòng gửi mã mới."
    # the right code no longer helps: the code is dead
    late = enter(client, code)
    assert late.status_code == 422 and "Bạn đã nhập sai 5 lần" in late.text
    assert citizen(app, "0912345678").phone_verified_at is None
    with app.state.db.sessions() as session:
        assert session.scalars(select(PhoneVerification.attempts)).one() == 5
    # a new code (after the pause) works
    clock.advance(61)
    assert send(client, "0912345678").status_code == 303
    assert enter(client, sms_code(client, "0912345678")).status_code == 303
    assert citizen(app, "0912345678").phone_verified_at == clock.now


def test_a_replayed_code_is_refused_and_changes_nothing(
    app: FastAPI, client: TestClient, clock: Clock
) -> None:
    register(client, "0912345678")
    send(client, "0912345678")
    code = sms_code(client, "0912345678")
    assert enter(client, code).status_code == 303
    verified_at = clock.now
    clock.advance(30)
    again = enter(client, code)
    assert again.status_code == 422
    assert field_error(again.text, "code") == "Mã này đã được dùng; mỗi mã chỉ dùng được một lần."
    assert citizen(app, "0912345678").phone_verified_at == verified_at
    # the phone loses its verification (changed elsewhere); the old code cannot bring it back
    with app.state.db.sessions() as session:
        row = session.scalars(select(Citizen)).one()
        row.phone = "0987000111"
        assert row.phone_verified_at is None
        session.commit()
    replay = enter(client, code)
    assert replay.status_code == 422 and "Mã này đã được dùng" in replay.text
    assert citizen(app, "0987000111").phone_verified_at is None


def test_an_expired_code_is_refused(app: FastAPI, client: TestClient, clock: Clock) -> None:
    register(client, "0912345678")
    send(client, "0912345678")
    code = sms_code(client, "0912345678")
    clock.advance(300)
    late = enter(client, code)
    assert late.status_code == 422
    assert field_error(late.text, "code") == "Mã đã hết hạn; vui lòng gửi mã mới."
    assert citizen(app, "0912345678").phone_verified_at is None


def test_a_new_code_ends_the_one_before(app: FastAPI, client: TestClient, clock: Clock) -> None:
    register(client, "0912345678")
    send(client, "0912345678")
    old = sms_code(client, "0912345678")
    clock.advance(61)
    send(client, "0912345678")
    new = sms_code(client, "0912345678")
    if old != new:  # one chance in a million that both are the same
        assert enter(client, old).status_code == 422
    assert enter(client, new).status_code == 303


def test_bad_input_is_answered_at_the_field_with_what_was_typed(
    app: FastAPI, client: TestClient, clock: Clock
) -> None:
    register(client, "0912345678")
    bad = send(client, "09x2")
    assert bad.status_code == 422
    assert field_error(bad.text, "phone") == "Số điện thoại chỉ được gồm chữ số, ví dụ 0912345678."
    assert 'value="09x2"' in bad.text
    landline = send(client, "028 3829 1234")
    assert landline.status_code == 422
    assert field_error(landline.text, "phone").startswith("Chỉ số điện thoại di động nhận được tin nhắn")
    no_code_yet = enter(client, "123456")
    assert no_code_yet.status_code == 422
    assert "Chưa có mã nào đang chờ xác minh" in field_error(no_code_yet.text, "code")
    send(client, "0912345678")
    letters = enter(client, "12ab56")
    assert field_error(letters.text, "code") == "Mã xác minh gồm 6 chữ số trong tin nhắn chúng tôi vừa gửi."
    assert 'value="12ab56"' in letters.text
    with app.state.db.sessions() as session:  # a malformed entry is not a guess
        assert session.scalars(select(PhoneVerification.attempts)).one() == 0


def test_the_page_is_in_english_too(client: TestClient, clock: Clock) -> None:
    register(client, "0912345678")
    client.get("/ngon-ngu/en")
    page = client.get(PATH)
    assert "Verify your phone number" in page.text
    wrong_entry = enter(client, "123456")
    assert "No code is waiting" in wrong_entry.text


# -- sending limits ------------------------------------------------------------------------------------


def test_a_second_code_waits_a_minute(app: FastAPI, client: TestClient, clock: Clock) -> None:
    register(client, "0912345678")
    assert send(client, "0912345678").status_code == 303
    clock.advance(45)
    soon = send(client, "0912 345 678")
    assert soon.status_code == 429
    assert field_error(soon.text, "phone") == "Vui lòng chờ 15 giây rồi gửi lại mã."
    assert 'value="0912 345 678"' in soon.text
    clock.advance(15)
    assert send(client, "0912345678").status_code == 303


def test_codes_per_account_per_hour_are_limited(
    app: FastAPI, client: TestClient, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock.now = clock.now.replace(minute=0, second=0)  # the start of an hour window
    register(client, "0912345678")
    for _ in range(5):
        assert send(client, "0912345678").status_code == 303
        clock.advance(61)
    over = send(client, "0912345678")
    assert over.status_code == 429
    assert "quá nhiều mã xác minh" in field_error(over.text, "phone")
    with app.state.db.sessions() as session:
        assert len(session.scalars(select(DevSms)).all()) == 5
    clock.advance(3600)
    assert send(client, "0912345678").status_code == 303


def test_codes_per_number_and_per_address_are_limited_across_accounts(
    app: FastAPI, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock.now = clock.now.replace(minute=0, second=0)
    limits(app, monkeypatch, phone_codes_per_phone=2, phone_codes_per_ip=3)
    clients = [TestClient(app, base_url="http://testserver") for _ in range(4)]
    try:
        for i, c in enumerate(clients):
            register(c, f"091234500{i}")
        # three accounts ask to move to one new number: the third is refused (per number)
        assert send(clients[0], "0987654321").status_code == 303
        assert send(clients[1], "0987654321").status_code == 303
        third = send(clients[2], "0987654321")
        assert third.status_code == 429
        # one address: the third send counted was refused above, the next is the fourth (per address)
        assert send(clients[2], "0912345002").status_code == 303
        fourth = send(clients[3], "0912345003")
        assert fourth.status_code == 429
    finally:
        for c in clients:
            c.close()
    with app.state.db.sessions() as session:
        assert sorted(session.scalars(select(DevSms.to_phone))) == ["0912345002", "0987654321", "0987654321"]


def test_codes_to_one_number_per_day_are_limited(
    app: FastAPI, client: TestClient, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """10 codes a day x 5 tries: at most 50 guesses a day at one number, whatever the hourly limits."""
    clock.now = datetime(2026, 12, 9, 7, 0, tzinfo=VN_TZ)  # 00:00 UTC, a day window starts
    limits(app, monkeypatch, phone_codes_per_phone=100, phone_codes_per_account=100, phone_codes_per_ip=100)
    register(client, "0912345678")
    for _ in range(10):
        assert send(client, "0912345678").status_code == 303
        clock.advance(61)
    over = send(client, "0912345678")
    assert over.status_code == 429
    assert field_error(over.text, "phone") == (
        "Số điện thoại này đã nhận quá nhiều mã trong ngày; vui lòng thử lại sau."
    )
    clock.now = datetime(2026, 12, 10, 7, 0, tzinfo=VN_TZ)
    assert send(client, "0912345678").status_code == 303


# -- changing the phone ----------------------------------------------------------------------------------


def test_a_new_phone_replaces_the_old_only_with_its_code(
    app: FastAPI, client: TestClient, clock: Clock
) -> None:
    register(client, "0912345678")
    send(client, "0912345678")
    enter(client, sms_code(client, "0912345678"))
    clock.advance(61)
    assert send(client, "0987 654 321").status_code == 303
    still = citizen(app, "0912345678")  # nothing changed yet
    assert still.phone_verified_at is not None
    code = sms_code(client, "0987654321")
    clock.advance(10)
    assert enter(client, code).status_code == 303
    moved = citizen(app, "0987654321")
    assert moved.id == still.id and moved.phone_verified_at == clock.now
    # sign in with the new number
    client.post("/dang-xuat", data={"csrf_token": csrf(client, "/")})
    login = client.post(
        "/dang-nhap",
        data={"csrf_token": csrf(client, "/dang-nhap"), "login": "0987654321", "password": PASSWORD},
        follow_redirects=False,
    )
    assert login.status_code == 303


def test_a_number_of_another_account_is_refused(app: FastAPI, client: TestClient, clock: Clock) -> None:
    register(client, "0912345678")
    with TestClient(app, base_url="http://testserver") as other:
        register(other, "0987654321")
        taken = send(other, "0912345678")
        assert taken.status_code == 422
        assert field_error(taken.text, "phone").startswith("Số điện thoại này đã thuộc một tài khoản khác.")
    # taken while the code was on its way: the code is spent, the phone stays the other's
    assert send(client, "0977000111").status_code == 303
    code = sms_code(client, "0977000111")
    with TestClient(app, base_url="http://testserver") as third:
        register(third, "0977000111")
    raced = enter(client, code)
    assert raced.status_code == 422 and "đã thuộc một tài khoản khác" in raced.text
    assert citizen(app, "0912345678").phone_verified_at is None
    assert citizen(app, "0977000111").full_name == "Nguyễn Văn Phụ Huynh"


# -- what a verified phone grants -----------------------------------------------------------------------


def test_an_unverified_phone_grants_no_child_and_a_verified_one_the_schools_record(
    app: FastAPI, client: TestClient, clock: Clock
) -> None:
    world = school_world(app)  # the school recorded 0912345678 for An and Khang, 0987654321 for Ngọc
    an_invoice = world["by_code"]["7901000001"][0]
    ngoc_invoice = world["by_code"]["7901000002"][0]
    register(client, "0912345678")
    fees = client.get("/hoc-phi")
    assert "Nguyễn Minh An" not in fees.text and "Nguyễn Minh Khang" not in fees.text
    assert 'id="verify-phone-banner"' in fees.text
    assert client.get(f"/hoc-phi/hoa-don/{an_invoice}").status_code == 404

    assert 'href="/tai-khoan/so-dien-thoai?next=/hoc-phi"' in fees.text
    sent = send(client, "0912345678", next_="/hoc-phi")
    assert sent.headers["location"] == f"{PATH}?next=%2Fhoc-phi"
    assert 'name="next" value="/hoc-phi"' in client.get(sent.headers["location"]).text
    code = sms_code(client, "0912345678")
    assert enter(client, wrong(code)).status_code == 422  # a wrong code grants nothing either
    assert client.get(f"/hoc-phi/hoa-don/{an_invoice}").status_code == 404
    assert enter(client, code, next_="/hoc-phi").headers["location"] == "/hoc-phi"

    fees = client.get("/hoc-phi")
    assert "Nguyễn Minh An" in fees.text and "Nguyễn Minh Khang" in fees.text
    assert "Trần Bảo Ngọc" not in fees.text and 'id="verify-phone-banner"' not in fees.text
    assert client.get(f"/hoc-phi/hoa-don/{an_invoice}").status_code == 200
    assert client.get(f"/hoc-phi/hoa-don/{ngoc_invoice}").status_code == 404

    # the phone changes (to a number the school does not know): the children go with it
    clock.advance(61)
    send(client, "0933000222")
    enter(client, sms_code(client, "0933000222"))
    assert "Nguyễn Minh An" not in client.get("/hoc-phi").text
    assert client.get(f"/hoc-phi/hoa-don/{an_invoice}").status_code == 404


# -- the senders -----------------------------------------------------------------------------------------


def test_a_failing_sms_provider_is_answered_at_the_field(
    app: FastAPI, client: TestClient, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(client, "0912345678")
    monkeypatch.setattr(app.state.services, "sms", NoSmsProvider())
    failed = send(client, "0912 345 678")
    assert failed.status_code == 503
    assert field_error(failed.text, "phone") == "Chưa gửi được tin nhắn; vui lòng thử lại sau ít phút."
    assert 'value="0912 345 678"' in failed.text
    assert "Nhập mã xác minh" not in failed.text  # no code is waiting: none was sent
    # a code that did arrive survives a later send that failed
    monkeypatch.undo()
    monkeypatch.setattr(app.state.services, "clock", clock)
    assert send(client, "0912345678").status_code == 303  # no pause after a send that failed
    code = sms_code(client, "0912345678")
    clock.advance(61)
    monkeypatch.setattr(app.state.services, "sms", NoSmsProvider())
    assert send(client, "0912345678").status_code == 503
    assert "Nhập mã xác minh" in client.get(PATH).text
    assert enter(client, code).status_code == 303


@dataclass
class _Gateway:
    status: int = 200
    received: list[tuple[dict[str, Any], str]] = field(default_factory=list)


@pytest.fixture
def gateway() -> Iterator[tuple[str, _Gateway]]:
    state = _Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((json.loads(body), self.headers.get("Authorization", "")))
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/sms", state
    finally:
        server.shutdown()
        server.server_close()


def test_the_http_sender_posts_json_with_the_key(gateway: tuple[str, _Gateway], db_session: Session) -> None:
    url, state = gateway
    sender = HttpSmsSender(url, "k3y", timeout=2)
    sender(db_session, to="0912345678", text="ma 123456")
    assert state.received == [({"to": "0912345678", "text": "ma 123456"}, "Bearer k3y")]
    state.status = 500
    with pytest.raises(SmsUnavailable):
        sender(db_session, to="0912345678", text="ma 123456")
    with pytest.raises(SmsUnavailable):  # nobody listening
        HttpSmsSender("http://127.0.0.1:9/sms", "", timeout=1)(db_session, to="0912345678", text="x")


def test_which_sender_a_process_uses(settings: Settings) -> None:
    production = settings.model_copy(update={"environment": "production"})
    assert type(sms_sender(settings)).__name__ == "DevSmsSink"
    assert isinstance(sms_sender(production), NoSmsProvider)  # never the sink in production
    configured = sms_sender(production.model_copy(update={"sms_url": "https://sms.example.vn/send"}))
    assert isinstance(configured, HttpSmsSender)


def test_dev_sms_is_not_mounted_in_production(settings: Settings) -> None:
    production = settings.model_copy(update={"environment": "production"})
    app = create_app(production)
    try:
        with TestClient(app) as client:
            assert client.get("/dev/sms").status_code == 404
    finally:
        app.state.db.dispose()


def test_the_worker_deletes_codes_a_day_after_they_expired(
    app: FastAPI, client: TestClient, clock: Clock
) -> None:
    register(client, "0912345678")
    send(client, "0912345678")
    code = sms_code(client, "0912345678")
    job = next(j for m in MODULES for j in m.jobs if j.name == "accounts.phone_codes")
    clock.advance(300 + 24 * 3600 - 1)
    job.run(app.state.services)
    with app.state.db.sessions() as session:
        assert len(session.scalars(select(PhoneVerification)).all()) == 1
    clock.advance(2)
    job.run(app.state.services)
    with app.state.db.sessions() as session:
        assert session.scalars(select(PhoneVerification)).all() == []
    refused = enter(client, code)  # nothing left to match: still refused
    assert refused.status_code == 422 and "Chưa có mã nào đang chờ xác minh" in refused.text


@pytest.mark.postgres
def test_one_code_entered_twice_at_once_verifies_once(app: FastAPI, client: TestClient, clock: Clock) -> None:
    """Two tabs send the right code at the same moment: the row lock makes the second see it spent."""
    register(client, "0912345678")
    send(client, "0912345678")
    code = sms_code(client, "0912345678")
    cid = citizen(app, "0912345678").id
    services = app.state.services
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def enter_in_own_transaction() -> None:
        with app.state.db.sessions() as session:
            service = PhoneVerificationService(session, services.settings, sms=services.sms, clock=clock)
            me = session.get(Citizen, cid)
            assert me is not None
            barrier.wait()
            try:
                service.confirm(me, code)
                outcomes.append("verified")
            except ValidationFailed as exc:
                outcomes.append(exc.fields["code"])
            session.commit()

    threads = [threading.Thread(target=enter_in_own_transaction) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["Mã này đã được dùng; mỗi mã chỉ dùng được một lần.", "verified"]

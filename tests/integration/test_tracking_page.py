"""The tracking lookup (``POST /tra-cuu``) with its page cached per case version
(``portal.web.render.CasePages``): only code + phone opens it, each visitor gets their own CSRF
token and sees the phone they typed, each language its own page, and a hit costs one query."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event

from portal.web.render import CasePages
from tests.builders import APPLICANT, csrf, submit_transfer
from workflows.calendar import VN_TZ

PHONE = APPLICANT["applicant_phone"]  # 0987654321
SUBMITTED_VI = "Đã nộp, chờ cán bộ tiếp nhận kiểm tra"
SUBMITTED_EN = "Submitted, awaiting reception check"


def _lookup(client: TestClient, code: str, phone: str = PHONE, **headers: str) -> Any:
    token = csrf(client, "/tra-cuu")
    return client.post(
        "/tra-cuu", data={"csrf_token": token, "case_code": code, "phone": phone}, headers=headers
    )


def _tokens(html: str) -> set[str]:
    return set(re.findall(r'"X-CSRF-Token": "([^"]+)"', html)) | set(
        re.findall(r'name="csrf_token" value="([^"]+)"', html)
    )


def _cached(app: FastAPI) -> list[str]:
    pages: CasePages = app.state.case_pages
    return [html for html, _, _ in pages._pages.values()]


@pytest.fixture(autouse=True)
def _no_pages_of_earlier_tests(app: FastAPI) -> None:
    app.state.case_pages._pages.clear()


@pytest.fixture
def statements(app: FastAPI) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(" ".join(statement.split()))

    engine = app.state.db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_a_wrong_phone_never_gets_the_cached_page(client: TestClient, app: FastAPI) -> None:
    app_id, code = submit_transfer(client)
    with TestClient(app) as owner, TestClient(app) as stranger:
        assert SUBMITTED_VI in _lookup(owner, code).text  # now cached
        assert len(_cached(app)) == 1
        for phone in ("0912000000", "0987654320", "+84912000000"):
            wrong = _lookup(stranger, code, phone)
            assert wrong.status_code == 404
            text = wrong.text
            assert "Không tìm thấy hồ sơ" in text
            assert SUBMITTED_VI not in text and app_id not in text and "Quá trình xử lý" not in text
        # wrong code, right phone: the same answer (nothing tells which of the two was wrong)
        unknown = code[:-1] + ("2" if code[-1] != "2" else "3")
        other_code = _lookup(stranger, unknown, PHONE)
        wrong_phone = _lookup(stranger, code, "0912000000")
        assert other_code.status_code == wrong_phone.status_code == 404

        def page(response: Any, typed_code: str, typed_phone: str) -> str:
            return response.text.replace(typed_code, "CODE").replace(typed_phone, "PHONE")

        assert page(other_code, unknown, PHONE) == page(wrong_phone, code, "0912000000")
        # and the right phone, typed another way, still opens it
        assert SUBMITTED_VI in _lookup(stranger, code.lower(), "+84 987 654 321").text


def test_each_visitor_gets_their_own_token_and_typed_phone(client: TestClient, app: FastAPI) -> None:
    _, code = submit_transfer(client)
    with TestClient(app) as first, TestClient(app) as second:
        one = _lookup(first, code, "0987654321").text
        two = _lookup(second, code, "+84987654321").text
        assert len(_cached(app)) == 1  # one rendering served to both
        assert _tokens(one) and _tokens(two) and _tokens(one).isdisjoint(_tokens(two))
        assert len(_tokens(one)) == 1 and len(_tokens(two)) == 1
        assert 'id="phone" name="phone" value="0987654321"' in one
        assert 'id="phone" name="phone" value="+84987654321"' in two and "0987654321" not in two
        # the cached copy holds neither a session's token nor the phone number
        (cached,) = _cached(app)
        assert not (_tokens(one) | _tokens(two)) & _tokens(cached)
        assert "987654321" not in cached
        assert app.state.case_pages.placeholder not in one + two
        # a typed phone is escaped as the template would have: what the visitor typed stays text
        escaped = _lookup(second, code, " 0987.654.321 ").text
        assert 'value=" 0987.654.321 "' in escaped


def test_each_language_has_its_own_page(client: TestClient, app: FastAPI) -> None:
    _, code = submit_transfer(client)
    with TestClient(app) as vi, TestClient(app) as en:
        en.get("/ngon-ngu/en?next=/tra-cuu")
        for _ in range(2):  # the second round is served from the cache
            vietnamese = _lookup(vi, code).text
            english = _lookup(en, code).text
            assert '<html lang="vi">' in vietnamese and SUBMITTED_VI in vietnamese
            assert SUBMITTED_EN not in vietnamese
            assert '<html lang="en">' in english and SUBMITTED_EN in english
            assert SUBMITTED_VI not in english
        assert len(_cached(app)) == 2


def test_htmx_and_plain_lookups_are_kept_apart(client: TestClient, app: FastAPI) -> None:
    _, code = submit_transfer(client)
    with TestClient(app) as visitor:
        plain = _lookup(visitor, code)
        htmx = _lookup(visitor, code, **{"HX-Request": "true"})
        assert plain.status_code == htmx.status_code == 200
        assert SUBMITTED_VI in htmx.text
        assert "HX-Request" in htmx.headers["vary"]
        assert htmx.headers["cache-control"] == "no-store"
        assert len(_cached(app)) == 2


def test_a_signed_in_citizen_gets_a_page_of_their_own(client: TestClient, app: FastAPI) -> None:
    _, code = submit_transfer(client)
    token = csrf(client, "/dang-ky")
    registered = client.post(
        "/dang-ky",
        data={
            "csrf_token": token,
            "full_name": "Phạm Thị Lan",
            "phone": "0934567890",
            "email": "lan@example.vn",
            "password": "matkhau-an-toan",
            "password2": "matkhau-an-toan",
        },
        follow_redirects=False,
    )
    assert registered.status_code == 303
    client.get("/tai-khoan/ho-so")  # the welcome message is shown (and gone)
    mine = _lookup(client, code).text
    assert SUBMITTED_VI in mine and "Đăng xuất" in mine
    assert _cached(app) == []  # not kept: it carries the signed-in menu
    with TestClient(app) as anonymous:
        theirs = _lookup(anonymous, code).text
        assert SUBMITTED_VI in theirs and "Đăng xuất" not in theirs
    assert all("Đăng xuất" not in html for html in _cached(app))


def test_a_cached_lookup_costs_one_query_and_still_counts(
    client: TestClient, app: FastAPI, statements: list[str]
) -> None:
    _, code = submit_transfer(client)
    with TestClient(app) as visitor:
        _lookup(visitor, code)  # rendered and kept
        token = csrf(visitor, "/tra-cuu")
        statements.clear()
        hit = visitor.post("/tra-cuu", data={"csrf_token": token, "case_code": code, "phone": PHONE})
        assert hit.status_code == 200 and SUBMITTED_VI in hit.text
    reads = [s for s in statements if s.startswith("SELECT")]
    assert len(reads) == 1 and "FROM applications" in reads[0], statements
    # the lookup itself was counted (SQLite here: the rate-limit row; Redis: tests/security)
    assert [s for s in statements if "rate_limit_hits" in s], statements


def test_an_entry_goes_when_its_page_stops_being_true_or_gets_old() -> None:
    clock = [1000.0]
    pages = CasePages(max_entries=2, ttl=60, monotonic=lambda: clock[0])
    now = datetime(2026, 12, 2, 9, 0, tzinfo=VN_TZ)
    pages.put("a", "A", valid_until=now + timedelta(days=1))
    assert pages.get("a", now) == "A"
    assert pages.get("a", now + timedelta(days=1)) is None  # a rating's edit window has closed
    pages.put("b", "B")
    clock[0] += 59
    assert pages.get("b", now) == "B"
    clock[0] += 1
    assert pages.get("b", now) is None  # held no longer than the TTL
    for key in ("c", "d", "e"):
        pages.put(key, key)
    assert len(pages) == 2 and pages.get("c", now) is None  # least recently used out

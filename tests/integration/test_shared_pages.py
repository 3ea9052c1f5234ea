"""The catalogue and procedure pages are rendered once and shared (portal.web.render.SharedPages):
what must never be shared is a session's — its CSRF token, its signed-in citizen, its flash message —
and a page must follow the visitor's language and the definitions in force."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from portal.catalogue import Catalogue
from portal.web import citizen
from tests.builders import TRANSFER, csrf
from workflows.definitions import Registry, Text

PAGES = ["/thu-tuc", f"/thu-tuc/{TRANSFER}"]


def _tokens(html: str) -> set[str]:
    """Every CSRF token a page carries: the HTMX header and each form's hidden field."""
    return set(re.findall(r'"X-CSRF-Token": "([^"]+)"', html)) | set(
        re.findall(r'name="csrf_token" value="([^"]+)"', html)
    )


@pytest.mark.parametrize("path", PAGES)
def test_each_session_gets_its_own_csrf_token(app: FastAPI, path: str) -> None:
    with TestClient(app) as first, TestClient(app) as second:
        pages = [first.get(path).text, second.get(path).text, first.get(path).text]
        own = [_tokens(p) for p in pages]
        assert all(len(t) == 1 for t in own), own
        assert own[0] == own[2] != own[1]
        placeholder = app.state.shared_pages.placeholder
        assert all(placeholder not in p for p in pages)
        # the token shown is the one the session checks: a form post with it passes
        token = next(iter(own[1]))
        response = second.post("/tra-cuu", data={"csrf_token": token, "case_code": "", "phone": ""})
        assert response.status_code == 422


@pytest.mark.parametrize("path", PAGES)
def test_a_shared_page_follows_the_language(app: FastAPI, path: str) -> None:
    with TestClient(app) as vi, TestClient(app) as en:
        en.get(f"/ngon-ngu/en?next={path}")
        for _ in range(2):
            assert '<html lang="vi">' in vi.get(path).text
            english = en.get(path).text
            assert '<html lang="en">' in english
            assert "School transfer for lower-secondary pupils" in english
            assert "Tiếng Việt</a>" in english


def test_a_signed_in_citizen_sees_their_own_menu_and_nobody_else_does(
    client: TestClient, app: FastAPI
) -> None:
    with TestClient(app) as anonymous:
        assert "Đăng xuất" not in anonymous.get("/thu-tuc").text  # the shared page is now rendered
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
        mine = client.get("/thu-tuc").text
        assert "Đăng xuất" in mine and "Hồ sơ của tôi" in mine
        assert _tokens(mine) == {csrf(client, "/tra-cuu")}  # the new session's token, after sign-in
        assert "Đăng xuất" not in anonymous.get("/thu-tuc").text


def test_a_flash_message_is_shown_once_to_its_session_only(client: TestClient, app: FastAPI) -> None:
    from tests.builders import start_transfer

    response = start_transfer(client, intent="save")  # "Đã lưu bản nháp..." waits in this session
    assert response.status_code == 303
    with TestClient(app) as other:
        assert "Đã lưu bản nháp" not in other.get("/thu-tuc").text
    assert "Đã lưu bản nháp" in client.get("/thu-tuc").text
    assert "Đã lưu bản nháp" not in client.get("/thu-tuc").text


def test_the_htmx_results_and_the_full_page_are_kept_apart(client: TestClient) -> None:
    fragment = client.get(
        "/thu-tuc", params={"q": "chuyen truong"}, headers={"HX-Request": "true", "HX-Target": "results"}
    ).text
    assert fragment.lstrip().startswith('<div id="results"') and "<html" not in fragment
    page = client.get("/thu-tuc", params={"q": "chuyen truong"}).text
    assert "<html" in page and 'value="chuyen truong"' in page
    other = client.get("/thu-tuc", params={"q": "văn bằng"}).text
    assert 'value="văn bằng"' in other and 'value="chuyen truong"' not in other


def test_a_new_definitions_version_or_day_is_a_new_page(
    client: TestClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = app.state.catalogue
    assert "Chuyển trường" in client.get(f"/thu-tuc/{TRANSFER}").text
    registry = old.registry
    renamed = [
        d.model_copy(update={"version": d.version + 1, "name": Text(vi="Chuyển trường (mẫu mới)", en="New")})
        if d.slug == TRANSFER
        else d
        for code in registry.codes()
        for d in registry.versions(code)
    ]
    app.state.catalogue = Catalogue(Registry(registry.agencies.values(), renamed))
    try:
        assert "Chuyển trường (mẫu mới)" in client.get(f"/thu-tuc/{TRANSFER}").text
        assert "Chuyển trường (mẫu mới)" in client.get("/thu-tuc").text
    finally:
        app.state.catalogue = old
    before = client.get("/thu-tuc").text
    assert "Chuyển trường (mẫu mới)" not in before
    monkeypatch.setattr(citizen, "_today", lambda: date(1990, 1, 1))  # nothing was in force yet
    assert "0 thủ tục đang được cung cấp trực tuyến" in client.get("/thu-tuc").text


def test_shared_pages_keep_the_no_store_rule(client: TestClient) -> None:
    for path in PAGES:
        assert client.get(path).headers["cache-control"] == "no-store"

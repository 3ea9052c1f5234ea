"""Citizens sign in through the development provider over the real protocol (the portal's client
calls the provider's token and JWKS endpoints in-process); forged and replayed steps change nothing."""

from __future__ import annotations

import base64
from datetime import date
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.config import DEV_OIDC_CLIENT_SECRET
from portal.identity.config import DEV_CLIENT_ID
from portal.identity.models import CitizenIdentity
from portal.identity.oidc import OidcClient
from portal.models import Citizen
from tests.identity.conftest import Clock, csrf, pick_citizen, provider_redirect, sign_in


def _citizens(app: FastAPI) -> list[Citizen]:
    with app.state.db.sessions() as session:
        return list(session.scalars(select(Citizen).order_by(Citizen.id)))


def _signed_in(client: TestClient) -> bool:
    return client.get("/tai-khoan/ho-so", follow_redirects=False).status_code == 200


def test_first_sign_in_creates_the_account_keyed_by_the_pid(idp_client: TestClient, idp_app: FastAPI) -> None:
    r = sign_in(idp_client, next="/thu-tuc")
    assert r.status_code == 303
    assert r.headers["location"] == "/thu-tuc"
    [citizen] = _citizens(idp_app)
    assert (citizen.pid, citizen.full_name, citizen.birth_date) == (
        "079185012345",
        "Trần Thị Mai",
        date(1985, 3, 12),
    )
    assert citizen.phone is None and citizen.password_hash == ""  # no password: the provider only
    page = idp_client.get("/tai-khoan/ho-so")
    assert "Tài khoản đã xác thực bằng định danh điện tử" in page.text
    assert "12/03/1985" in page.text

    idp_client.post("/dang-xuat", data={"csrf_token": csrf(page.text)})
    assert not _signed_in(idp_client)
    sign_in(idp_client)
    assert len(_citizens(idp_app)) == 1  # the same account again
    with idp_app.state.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CitizenIdentity)) == 1


def test_the_login_page_offers_the_electronic_identity_first(idp_client: TestClient) -> None:
    page = idp_client.get("/dang-nhap").text
    assert page.index("Đăng nhập bằng VNeID / định danh điện tử") < page.index('name="password"')


def test_a_replayed_callback_is_refused(idp_client: TestClient, idp_app: FastAPI) -> None:
    callback = pick_citizen(idp_client, provider_redirect(idp_client))
    assert idp_client.get(callback, follow_redirects=False).status_code == 303
    page = idp_client.get("/tai-khoan/ho-so")
    idp_client.post("/dang-xuat", data={"csrf_token": csrf(page.text)})

    replay = idp_client.get(callback, follow_redirects=False)  # state already used: nothing to match
    assert replay.status_code == 400
    assert "đã hết hạn hoặc không hợp lệ" in replay.text
    assert not _signed_in(idp_client)


def test_a_replayed_authorization_code_is_refused_even_with_a_fresh_state(
    idp_client: TestClient, idp_app: FastAPI
) -> None:
    """An attacker who saw a code (logs, Referer) starts their own sign-in and feeds it the old code."""
    victim = TestClient(idp_app, base_url="http://testserver")
    used = pick_citizen(victim, provider_redirect(victim))
    assert victim.get(used, follow_redirects=False).status_code == 303
    code = parse_qs(urlsplit(used).query)["code"][0]

    state = parse_qs(urlsplit(provider_redirect(idp_client)).query)["state"][0]
    r = idp_client.get(
        "/dang-nhap/dinh-danh/ket-qua", params={"code": code, "state": state}, follow_redirects=False
    )
    assert r.status_code == 400
    assert "Không xác thực được danh tính điện tử" in r.text
    assert not _signed_in(idp_client)


def test_the_token_endpoint_refuses_a_code_twice_and_revokes_what_it_gave(
    idp_client: TestClient, idp_app: FastAPI
) -> None:
    import hashlib

    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    provider = idp_app.state.dev_identity_provider
    params = {
        "client_id": DEV_CLIENT_ID,
        "redirect_uri": provider.redirect_uri,
        "nonce": "n",
        "state": "s",
        "code_challenge": challenge,
    }
    code = provider.grant("dev-vneid-0003", params)
    auth = (DEV_CLIENT_ID, DEV_OIDC_CLIENT_SECRET)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": provider.redirect_uri}
    assert (
        idp_client.post("/dev/oidc/token", data={**form, "code_verifier": "w" * 64}, auth=auth).status_code
        == 400
    )
    # a failed PKCE check spends the code too
    code = provider.grant("dev-vneid-0003", params)
    first = idp_client.post(
        "/dev/oidc/token", data={**form, "code": code, "code_verifier": verifier}, auth=auth
    )
    assert first.status_code == 200
    access = first.json()["access_token"]
    bearer = {"Authorization": f"Bearer {access}"}
    assert idp_client.get("/dev/oidc/userinfo", headers=bearer).json()["pid"] == "001090004567"
    again = idp_client.post(
        "/dev/oidc/token", data={**form, "code": code, "code_verifier": verifier}, auth=auth
    )
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert idp_client.get("/dev/oidc/userinfo", headers=bearer).status_code == 401
    wrong_secret = idp_client.post("/dev/oidc/token", data=form, auth=(DEV_CLIENT_ID, "x"))
    assert wrong_secret.status_code == 401


def test_an_expired_code_is_refused(idp_client: TestClient, idp_app: FastAPI, clock: Clock) -> None:
    callback = pick_citizen(idp_client, provider_redirect(idp_client))
    clock.advance(seconds=61)  # the provider's codes live 60 s
    r = idp_client.get(callback, follow_redirects=False)
    assert r.status_code == 400
    assert _citizens(idp_app) == []


def test_a_callback_from_another_browser_is_refused(idp_client: TestClient, idp_app: FastAPI) -> None:
    """Login CSRF: a code and state minted in the attacker's browser, opened in the victim's."""
    attacker = TestClient(idp_app, base_url="http://testserver")
    callback = pick_citizen(attacker, provider_redirect(attacker), "dev-vneid-0004")
    provider_redirect(idp_client)  # the victim has a sign-in of their own in progress
    r = idp_client.get(callback, follow_redirects=False)
    assert r.status_code == 400
    assert not _signed_in(idp_client)
    assert _citizens(idp_app) == []


def test_cancelling_at_the_provider_says_so(idp_client: TestClient) -> None:
    url = provider_redirect(idp_client)
    page = idp_client.get(url)
    form = dict(parse_qs(urlsplit(url).query, keep_blank_values=True))
    data = {k: v[0] for k, v in form.items()} | {"csrf_token": csrf(page.text), "decision": "deny"}
    back = idp_client.post("/dev/oidc/authorize", data=data, follow_redirects=False)
    r = idp_client.get(back.headers["location"])
    assert r.status_code == 400
    assert "Bạn đã huỷ đăng nhập bằng định danh điện tử." in r.text


def test_the_provider_refuses_an_unregistered_redirect_uri(idp_client: TestClient) -> None:
    url = provider_redirect(idp_client).replace("testserver%2Fdang-nhap", "evil.example%2Fdang-nhap")
    page = idp_client.get(url)
    assert page.status_code == 400
    assert "redirect_uri không khớp" in page.text
    assert "subject" not in page.text  # nothing to pick, nothing to send anywhere


def test_a_provider_that_does_not_answer_gives_a_message_not_an_error(
    idp_client: TestClient, idp_app: FastAPI
) -> None:
    working = idp_app.state.oidc_client
    down = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(502)))
    idp_app.state.oidc_client = OidcClient(working.config, down)
    try:
        r = idp_client.get("/dang-nhap/dinh-danh", follow_redirects=False)
    finally:
        idp_app.state.oidc_client = working
    assert r.status_code == 503
    assert "Hệ thống định danh điện tử tạm thời không phản hồi" in r.text
    assert 'name="password"' in r.text  # the other way in is still offered

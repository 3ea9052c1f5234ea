"""The applicant block comes from the verified identity (and a forged POST cannot change it); password
accounts keep working, can be linked, and an operator or an agency can require the identity provider."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.app import create_app
from portal.config import Settings
from portal.models import Application, Citizen
from tests.builders import APPLICANT, TRANSFER_FIELDS, start_transfer
from tests.conftest import OTHER_APPS
from tests.identity.conftest import Clock, csrf, pick_citizen, provider_redirect, sign_in

MAI = {"applicant_full_name": "Trần Thị Mai", "applicant_cccd": "079185012345"}


def _application(app: FastAPI, app_id: str) -> Application:
    with app.state.db.sessions() as session:
        found = session.get(Application, app_id)
        assert found is not None
        return found


def _citizen(app: FastAPI, **where: str) -> Citizen:
    with app.state.db.sessions() as session:
        found = session.scalars(select(Citizen).filter_by(**where)).first()
        assert found is not None
        return found


def _input(html: str, name: str) -> str:
    match = re.search(rf'<input [^>]*id="{name}"[^>]*>', html)
    assert match, f"no input {name}"
    return match.group(0)


def test_the_form_shows_name_pid_and_birth_date_from_the_identity_read_only(idp_client: TestClient) -> None:
    sign_in(idp_client)
    page = idp_client.get("/thu-tuc/chuyen-truong-thcs/nop-ho-so").text
    for name, value in (("applicant_full_name", "Trần Thị Mai"), ("applicant_cccd", "079185012345")):
        field = _input(page, name)
        assert f'value="{value}"' in field and " readonly" in field and "hx-post" not in field
    birth = _input(page, "applicant_birth_date")
    assert 'value="12/03/1985"' in birth and " readonly" in birth and "name=" not in birth
    assert "không sửa được" in page
    assert " readonly" not in _input(page, "applicant_phone")  # the rest is the citizen's to type


def test_a_forged_post_cannot_change_the_applicants_name_or_pid(
    idp_client: TestClient, idp_app: FastAPI
) -> None:
    sign_in(idp_client)
    r = start_transfer(idp_client, applicant_full_name="Lê Văn Giả", applicant_cccd="001099999999")
    assert r.status_code == 303, r.text[:500]
    app_id = r.headers["location"].split("/")[2]
    stored = _application(idp_app, app_id)
    assert (stored.applicant_name, stored.applicant_cccd) == ("Trần Thị Mai", "079185012345")
    assert stored.data["verified_applicant"] == {
        "full_name": "Trần Thị Mai",
        "pid": "079185012345",
        "birth_date": "1985-03-12",
    }
    # editing the draft with forged values: still the identity's
    edit = idp_client.post(
        f"/ho-so/{app_id}/sua",
        data={
            **APPLICANT,
            **TRANSFER_FIELDS,
            "csrf_token": csrf(idp_client.get(f"/ho-so/{app_id}/sua").text),
            "intent": "save",
            "applicant_full_name": "Lê Văn Giả",
            "applicant_cccd": "",
        },
        follow_redirects=False,
    )
    assert edit.status_code == 303
    stored = _application(idp_app, app_id)
    assert (stored.applicant_name, stored.applicant_cccd) == ("Trần Thị Mai", "079185012345")
    review = idp_client.get(f"/ho-so/{app_id}/xem-lai")
    assert "12/03/1985" in review.text and "do định danh điện tử (VNeID) cung cấp" in review.text
    submitted = idp_client.post(
        f"/ho-so/{app_id}/nop", data={"csrf_token": csrf(review.text)}, follow_redirects=False
    )
    assert submitted.status_code == 303
    case = _application(idp_app, app_id)
    assert case.case_code and case.applicant_name == "Trần Thị Mai"


def test_anonymous_and_password_applicants_still_type_their_own_block(
    idp_client: TestClient, idp_app: FastAPI
) -> None:
    r = start_transfer(idp_client, applicant_full_name="Phạm Văn Bình", applicant_cccd="079090001111")
    app_id = r.headers["location"].split("/")[2]
    stored = _application(idp_app, app_id)
    assert stored.applicant_name == "Phạm Văn Bình"
    assert "verified_applicant" not in stored.data
    assert " readonly" not in _input(idp_client.get(f"/ho-so/{app_id}/sua").text, "applicant_full_name")


def _register(client: TestClient, phone: str = "0911222333") -> None:
    page = client.get("/dang-ky")
    r = client.post(
        "/dang-ky",
        data={
            "csrf_token": csrf(page.text),
            "full_name": "Tran Mai",
            "phone": phone,
            "email": "",
            "password": "matkhau123",
            "password2": "matkhau123",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]


def _log_out(client: TestClient) -> None:
    client.post("/dang-xuat", data={"csrf_token": csrf(client.get("/").text)})


def test_a_password_account_links_to_the_identity_and_then_signs_in_with_it(
    idp_client: TestClient, idp_app: FastAPI
) -> None:
    _register(idp_client)
    account = idp_client.get("/tai-khoan/ho-so").text
    assert "chưa liên kết với định danh điện tử" in account
    callback = pick_citizen(idp_client, provider_redirect(idp_client, start="/tai-khoan/lien-ket-dinh-danh"))
    r = idp_client.get(callback, follow_redirects=False)
    assert r.status_code == 303
    assert "Đã liên kết tài khoản với định danh điện tử." in idp_client.get(r.headers["location"]).text
    linked = _citizen(idp_app, phone="0911222333")
    assert (linked.pid, linked.full_name, linked.birth_date.isoformat() if linked.birth_date else None) == (
        "079185012345",
        "Trần Thị Mai",  # the provider's spelling replaces the one typed at registration
        "1985-03-12",
    )

    _log_out(idp_client)
    sign_in(idp_client)  # through the provider: the same account, with its phone
    page = idp_client.get("/tai-khoan/ho-so").text
    assert "079185012345" in page
    assert idp_client.get("/thu-tuc/chuyen-truong-thcs/nop-ho-so").text.count('value="0911222333"') == 1

    _log_out(idp_client)  # and the password still works where allowed
    login = idp_client.get("/dang-nhap")
    r = idp_client.post(
        "/dang-nhap",
        data={"csrf_token": csrf(login.text), "login": "0911222333", "password": "matkhau123"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    with idp_app.state.db.sessions() as session:
        assert len(list(session.scalars(select(Citizen)))) == 1


def test_linking_a_pid_that_has_its_own_account_is_refused(idp_client: TestClient, idp_app: FastAPI) -> None:
    sign_in(idp_client)  # Trần Thị Mai has an account through the provider
    _log_out(idp_client)
    _register(idp_client, phone="0933444555")
    callback = pick_citizen(idp_client, provider_redirect(idp_client, start="/tai-khoan/lien-ket-dinh-danh"))
    r = idp_client.get(callback, follow_redirects=False)
    assert r.status_code == 303
    assert "đã gắn với một tài khoản khác" in idp_client.get(r.headers["location"]).text
    assert _citizen(idp_app, phone="0933444555").pid is None


def test_a_link_needs_a_signed_in_account(idp_client: TestClient) -> None:
    r = idp_client.get("/tai-khoan/lien-ket-dinh-danh", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/dang-nhap")


@pytest.fixture(scope="module")
def strict_app(
    app: FastAPI, settings: Settings, module_clock: Clock, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    """Password sign-in turned off by the operator, and ward H29.41.04 requiring the identity."""
    definitions = tmp_path_factory.mktemp("definitions")
    shutil.copytree(settings.definitions_dir, definitions, dirs_exist_ok=True)
    agencies = yaml.safe_load((definitions / "agencies.yaml").read_text(encoding="utf-8"))
    for agency in agencies["agencies"]:
        if agency["id"] == "H29.41.04":
            agency["password_accounts"] = False
    (definitions / "agencies.yaml").write_text(yaml.safe_dump(agencies, allow_unicode=True), encoding="utf-8")
    strict = settings.model_copy(update={"password_sign_in": False, "definitions_dir": Path(definitions)})
    built = create_app(strict, clock=module_clock)
    built.state.oidc_client.http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=built), base_url="http://testserver"
    )
    OTHER_APPS.append(built)
    yield built
    OTHER_APPS.remove(built)
    built.state.db.dispose()


def test_an_operator_can_turn_password_sign_in_off(strict_app: FastAPI, clock: Clock) -> None:
    with TestClient(strict_app, base_url="http://testserver") as client:
        page = client.get("/dang-nhap")
        assert 'name="password"' not in page.text
        assert "Đăng nhập bằng VNeID / định danh điện tử" in page.text
        r = client.post(
            "/dang-nhap", data={"csrf_token": csrf(page.text), "login": "0912345678", "password": "x"}
        )
        assert r.status_code == 403
        assert "vui lòng đăng nhập bằng VNeID" in r.text
        assert client.get("/dang-ky").status_code == 403


def test_an_agency_that_requires_the_identity_refuses_unverified_submissions(
    strict_app: FastAPI, clock: Clock
) -> None:
    with TestClient(strict_app, base_url="http://testserver") as client:
        r = start_transfer(client)  # anonymous, to H29.41.04
        app_id = r.headers["location"].split("/")[2]
        review = client.get(f"/ho-so/{app_id}/xem-lai")
        assert "chỉ nhận hồ sơ trực tuyến của người đăng nhập bằng VNeID" in review.text
        refused = client.post(
            f"/ho-so/{app_id}/nop", data={"csrf_token": csrf(review.text)}, follow_redirects=False
        )
        assert refused.status_code == 422
        assert _application(strict_app, app_id).case_code is None

        sign_in(client)
        r = start_transfer(client)
        app_id = r.headers["location"].split("/")[2]
        review = client.get(f"/ho-so/{app_id}/xem-lai")
        assert "chỉ nhận hồ sơ trực tuyến" not in review.text
        done = client.post(
            f"/ho-so/{app_id}/nop", data={"csrf_token": csrf(review.text)}, follow_redirects=False
        )
        assert done.status_code == 303
        assert _application(strict_app, app_id).case_code

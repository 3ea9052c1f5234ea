"""Staff two-factor sign-in (TOTP), server-side sessions (idle, lifetime, revocation) and the admin
audit — through the pages, at a clock the test moves (``app.state.clock``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from portal.staff import totp
from portal.staff.models import StaffAdminAudit, StaffMember, StaffRecoveryCode, StaffSession
from portal.staff.security import two_factor_roles
from tests.backoffice.staff_builders import (
    PASSWORD,
    TOTP_SECRET,
    enrol,
    login,
    page_csrf,
)
from workflows.calendar import VN_TZ

START = datetime(2026, 12, 2, 9, 0, 10, tzinfo=VN_TZ)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app: FastAPI) -> Iterator[Clock]:
    previous = app.state.clock
    app.state.clock = Clock(START)
    yield app.state.clock
    app.state.clock = previous


@pytest.fixture
def web(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as c:
        yield c


def _password(client: TestClient, login_name: str, password: str = PASSWORD) -> Any:
    token = page_csrf(client.get("/can-bo/dang-nhap").text)
    return client.post(
        "/can-bo/dang-nhap",
        data={"csrf_token": token, "login": login_name, "password": password},
        follow_redirects=False,
    )


def _code(client: TestClient, code: str, path: str = "/can-bo/xac-thuc") -> Any:
    token = page_csrf(client.get(path).text)
    return client.post(path, data={"csrf_token": token, "code": code}, follow_redirects=False)


def _member(app: FastAPI, login_name: str) -> StaffMember:
    with app.state.db.sessions() as session:
        member = session.scalars(select(StaffMember).where(StaffMember.login == login_name)).one()
        session.expunge(member)
        return member


def _at(clock: Clock, secret: str = TOTP_SECRET, steps: int = 0) -> str:
    return totp.code_at(secret, totp.time_step(clock()) + steps)


# -- who must use a second factor ------------------------------------------------------------------


def test_signing_and_money_roles_need_a_second_factor_by_default(app: FastAPI) -> None:
    roles = two_factor_roles(app.state.settings, app.state.registry)
    assert {"lanh_dao", "ke_toan", "admin"} <= roles
    assert not roles & {"tiep_nhan", "chuyen_vien", "van_thu"}
    # the signer of a workflow needs it even when the setting leaves it out
    bare = app.state.settings.model_copy(update={"staff_totp_roles": []})
    assert two_factor_roles(bare, app.state.registry) == {"lanh_dao"}


def test_a_reception_officer_signs_in_with_the_password_only(
    app: FastAPI, web: TestClient, clock: Clock, staff: dict[str, Any]
) -> None:
    response = _password(web, "tiepnhan")
    assert response.status_code == 303 and response.headers["location"] == "/can-bo/ho-so"
    assert web.get("/can-bo/ho-so").status_code == 200


# -- enrolment ----------------------------------------------------------------------------------


def test_first_sign_in_of_a_head_enrols_with_qr_code_and_recovery_codes(
    app: FastAPI, web: TestClient, clock: Clock, staff: dict[str, Any]
) -> None:
    response = _password(web, "lanhdao")
    assert response.status_code == 303 and response.headers["location"] == "/can-bo/xac-thuc/dang-ky"
    # half signed in: no staff page opens
    assert web.get("/can-bo/ho-so", follow_redirects=False).status_code == 303
    assert web.get("/can-bo/trang-chu", follow_redirects=False).status_code == 303

    enrol_page = web.get("/can-bo/xac-thuc/dang-ky")
    assert enrol_page.status_code == 200
    assert "<svg" in enrol_page.text and "http" not in enrol_page.text.split("<svg", 1)[1].split("</svg>")[0]
    found = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', enrol_page.text)
    assert found
    secret = found.group(1).replace(" ", "")
    assert len(secret) == 32
    # a reload shows the same secret until it is confirmed
    assert secret in web.get("/can-bo/xac-thuc/dang-ky").text.replace(" ", "")

    stored = _member(app, "lanhdao")
    assert stored.totp_secret_enc and secret not in stored.totp_secret_enc  # encrypted at rest
    assert totp.decrypt_secret(app.state.settings.secret_key, stored.totp_secret_enc) == secret
    assert totp.decrypt_secret("another-secret-key-of-32-characters!!", stored.totp_secret_enc) is None
    assert stored.totp_enabled_at is None

    wrong = _code(web, _at(clock, secret, steps=5), "/can-bo/xac-thuc/dang-ky")
    assert wrong.status_code == 422 and "Mã xác thực không đúng" in wrong.text
    assert _member(app, "lanhdao").totp_enabled_at is None

    done = _code(web, _at(clock, secret), "/can-bo/xac-thuc/dang-ky")
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", done.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert done.headers["cache-control"] == "no-store"
    assert web.get("/can-bo/ho-so").status_code == 200  # signed in now
    with app.state.db.sessions() as session:
        hashes = set(session.scalars(select(StaffRecoveryCode.code_hash)))
    assert hashes == {totp.recovery_hash(c) for c in codes}  # digests only, never the codes
    assert _member(app, "lanhdao").totp_enabled_at == START


# -- the code step ----------------------------------------------------------------------------


def test_a_wrong_code_and_a_replayed_code_are_refused(
    app: FastAPI, web: TestClient, clock: Clock, staff: dict[str, Any]
) -> None:
    enrol(app, "lanhdao")
    assert _password(web, "lanhdao").headers["location"] == "/can-bo/xac-thuc"
    good = _at(clock)
    wrong = f"{(int(good[0]) + 1) % 10}{good[1:]}"
    refused = _code(web, wrong)
    assert refused.status_code == 422 and "Mã xác thực không đúng hoặc đã hết hạn" in refused.text
    assert web.get("/can-bo/ho-so", follow_redirects=False).status_code == 303
    # a code two steps old (60 s) is no longer good
    assert _code(web, _at(clock, steps=-2)).status_code == 422

    accepted = _code(web, good)
    assert accepted.status_code == 303 and accepted.headers["location"] == "/can-bo/ho-so"
    assert web.get("/can-bo/ho-so").status_code == 200

    # the same code again, within its 30 s (someone who saw it over the shoulder): refused
    with TestClient(app) as other:
        assert _password(other, "lanhdao").status_code == 303
        replay = _code(other, good)
        assert replay.status_code == 422 and "đã được dùng" in replay.text
        assert other.get("/can-bo/ho-so", follow_redirects=False).status_code == 303
        # so is an older step's code, still inside the drift window
        assert _code(other, _at(clock, steps=-1)).status_code == 422
        # the next step's code is fine
        clock.advance(seconds=30)
        assert _code(other, _at(clock)).status_code == 303
        assert other.get("/can-bo/ho-so").status_code == 200


def test_recovery_codes_work_once_each(
    app: FastAPI, web: TestClient, clock: Clock, staff: dict[str, Any]
) -> None:
    _password(web, "ketoan")
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', web.get("/can-bo/xac-thuc/dang-ky").text)
    assert secret
    done = _code(web, _at(clock, secret.group(1).replace(" ", "")), "/can-bo/xac-thuc/dang-ky")
    codes = re.findall(r"<li><code>([a-z2-9-]+)</code></li>", done.text)
    with TestClient(app) as phone_lost:
        _password(phone_lost, "ketoan")
        used = _code(phone_lost, codes[3].upper().replace("-", " "))  # typed loosely
        assert used.status_code == 303
        assert "còn 9 mã" in phone_lost.get(used.headers["location"]).text
    with TestClient(app) as again:
        _password(again, "ketoan")
        assert _code(again, codes[3]).status_code == 422


def test_wrong_codes_are_rate_limited(
    app: FastAPI, web: TestClient, clock: Clock, staff: dict[str, Any]
) -> None:
    enrol(app, "quantri")
    _password(web, "quantri")
    good = _at(clock)
    wrong = f"{(int(good[0]) + 1) % 10}{good[1:]}"
    limit = app.state.settings.login_max_failures
    for _ in range(limit):
        assert _code(web, wrong).status_code == 422
    blocked = _code(web, good)
    assert blocked.status_code == 429 and "quá nhiều lần" in blocked.text
    assert web.get("/can-bo/quan-tri/can-bo", follow_redirects=False).status_code == 303


def test_the_code_step_expires(app: FastAPI, web: TestClient, clock: Clock, staff: dict[str, Any]) -> None:
    enrol(app, "lanhdao")
    _password(web, "lanhdao")
    clock.advance(seconds=app.state.settings.staff_totp_pending_seconds + 1)
    late = _code(web, _at(clock))
    assert late.status_code == 303 and late.headers["location"] == "/can-bo/dang-nhap"


def test_a_new_signing_role_ends_a_session_without_second_factor(
    app: FastAPI, web: TestClient, clock: Clock, staff: dict[str, Any]
) -> None:
    login(web, "chuyenvien", PASSWORD)
    assert web.get("/can-bo/ho-so").status_code == 200
    admin = TestClient(app)
    with admin:
        login(admin, "quantri", PASSWORD)
        edit = f"/can-bo/quan-tri/can-bo/{staff['chuyen_vien']['id']}"
        token = page_csrf(admin.get(edit).text)
        data = {"csrf_token": token, "full_name": "Võ Minh Tuấn", "email": "", "roles": ["lanh_dao"]}
        assert admin.post(edit, data=data, follow_redirects=False).status_code == 303
    assert web.get("/can-bo/ho-so", follow_redirects=False).status_code == 303
    assert _password(web, "chuyenvien").headers["location"] == "/can-bo/xac-thuc/dang-ky"


# -- sessions -------------------------------------------------------------------------------------


def test_sessions_end_after_idle_time_and_after_their_lifetime(
    app: FastAPI, web: TestClient, clock: Clock, staff: dict[str, Any]
) -> None:
    settings = app.state.settings
    login(web, "tiepnhan", PASSWORD)
    clock.advance(seconds=settings.staff_session_idle_seconds - 5)
    assert web.get("/can-bo/ho-so").status_code == 200  # used in time: last seen moves on
    clock.advance(seconds=settings.staff_session_idle_seconds - 5)
    assert web.get("/can-bo/ho-so").status_code == 200
    clock.advance(seconds=settings.staff_session_idle_seconds + 1)
    idle = web.get("/can-bo/ho-so", follow_redirects=False)
    assert idle.status_code == 303 and idle.headers["location"].startswith("/can-bo/dang-nhap")

    login(web, "tiepnhan", PASSWORD)
    busy_until = clock.now + timedelta(seconds=settings.staff_session_max_seconds)
    while clock.now + timedelta(seconds=600) < busy_until:
        clock.advance(seconds=600)
        assert web.get("/can-bo/ho-so").status_code == 200
    clock.advance(seconds=601)
    assert web.get("/can-bo/ho-so", follow_redirects=False).status_code == 303


def test_last_seen_is_written_at_most_once_a_minute(
    app: FastAPI, web: TestClient, clock: Clock, staff: dict[str, Any]
) -> None:
    login(web, "tiepnhan", PASSWORD)

    def last_seen() -> datetime:
        with app.state.db.sessions() as session:
            return session.scalars(select(StaffSession.last_seen_at)).one()

    web.get("/can-bo/ho-so")
    clock.advance(seconds=30)
    web.get("/can-bo/ho-so")
    assert last_seen() == START
    clock.advance(seconds=31)
    web.get("/can-bo/ho-so")
    assert last_seen() == START + timedelta(seconds=61)


def test_admin_lists_and_revokes_sessions_and_it_is_audited(
    app: FastAPI, web: TestClient, clock: Clock, staff: dict[str, Any]
) -> None:
    login(web, "chuyenvien", PASSWORD)
    with TestClient(app) as admin:
        login(admin, "quantri", PASSWORD)
        listing = admin.get("/can-bo/quan-tri/phien")
        assert listing.status_code == 200 and "chuyenvien" in listing.text and "quantri" in listing.text
        with app.state.db.sessions() as session:
            target = session.scalars(
                select(StaffSession.id).where(StaffSession.staff_id == staff["chuyen_vien"]["id"])
            ).one()
        token = page_csrf(listing.text)
        revoked = admin.post(f"/can-bo/quan-tri/phien/{target}/thu-hoi", data={"csrf_token": token})
        assert revoked.status_code == 200 and "Đã thu hồi" in revoked.text
        assert "chuyenvien" not in admin.get("/can-bo/quan-tri/phien").text.split("open-sessions")[1]
        audit = admin.get("/can-bo/quan-tri/nhat-ky-quan-tri?thao_tac=session.revoke").text
    assert web.get("/can-bo/ho-so", follow_redirects=False).status_code == 303  # signed out at once
    assert "Thu hồi phiên đăng nhập" in audit and "chuyenvien" in audit
    with app.state.db.sessions() as session:
        row = session.scalars(select(StaffAdminAudit)).one()
    assert (row.actor_login, row.action, row.target) == ("quantri", "session.revoke", "chuyenvien")
    assert row.at == START and row.at.tzinfo is not None and row.client_ip == "testclient"


def test_a_member_signs_out_of_their_other_sessions(
    app: FastAPI, web: TestClient, clock: Clock, staff: dict[str, Any]
) -> None:
    login(web, "tiepnhan", PASSWORD)
    with TestClient(app) as laptop:
        login(laptop, "tiepnhan", PASSWORD)
        mine = laptop.get("/can-bo/tai-khoan/phien")
        assert mine.status_code == 200 and "Phiên này" in mine.text
        assert mine.text.count("<tr><td>") == 2
        ended = laptop.post(
            "/can-bo/tai-khoan/phien/dang-xuat-khac", data={"csrf_token": page_csrf(mine.text)}
        )
        assert "Đã đăng xuất 1 phiên khác" in ended.text
        assert laptop.get("/can-bo/ho-so").status_code == 200
    assert web.get("/can-bo/ho-so", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session_row(
    app: FastAPI, web: TestClient, clock: Clock, staff: dict[str, Any]
) -> None:
    login(web, "tiepnhan", PASSWORD)
    cookie = web.cookies.get("portal_session")
    assert cookie
    home = web.get("/can-bo/ho-so")
    web.post("/can-bo/dang-xuat", data={"csrf_token": page_csrf(home.text)})
    with app.state.db.sessions() as session:
        assert session.scalars(select(StaffSession.revoked_at)).one() == START
    # the old cookie, replayed, opens nothing
    with TestClient(app) as thief:
        thief.cookies.set("portal_session", cookie)
        assert thief.get("/can-bo/ho-so", follow_redirects=False).status_code == 303


# -- the admin's actions and their audit ----------------------------------------------------------


def test_admin_actions_are_audited_and_the_audit_is_filterable_and_append_only(
    app: FastAPI, clock: Clock, staff: dict[str, Any]
) -> None:
    clock.now = late = datetime(2026, 12, 2, 23, 50, tzinfo=VN_TZ)  # 20 minutes later is another day
    with TestClient(app) as admin:
        login(admin, "quantri", PASSWORD)
        token = page_csrf(admin.get("/can-bo/quan-tri/can-bo/moi").text)
        created = admin.post(
            "/can-bo/quan-tri/can-bo/moi",
            data={
                "csrf_token": token,
                "login": "ketoan9",
                "full_name": "Kế toán Chín",
                "email": "",
                "agency_id": "H29.41.04",
                "roles": ["ke_toan"],
                "password": "mat-khau-dau-tien",
            },
            follow_redirects=False,
        )
        edit = created.headers["location"]
        clock.advance(minutes=20)
        admin.post(
            edit,
            data={
                "csrf_token": token,
                "full_name": "Kế toán Chín",
                "email": "",
                "roles": ["ke_toan", "van_thu"],
            },
        )
        admin.post(f"{edit}/dat-lai-mat-khau", data={"csrf_token": token})
        admin.post(f"{edit}/trang-thai", data={"csrf_token": token, "active": "0"})
        page = admin.get("/can-bo/quan-tri/nhat-ky-quan-tri")
        assert page.status_code == 200
        table = page.text.split('id="admin-audit"')[1]  # the rows, not the filter's options
        assert table.count("<tr><td>") == 4
        for label in (
            "Tạo tài khoản cán bộ",
            "Sửa thông tin, vai trò cán bộ",
            "Đặt lại mật khẩu",
            "Khoá tài khoản",
        ):
            assert label in table, label
        assert "ke_toan → ke_toan, van_thu" in table
        # filters: by action, by day (Vietnam's), by actor
        only_create = admin.get("/can-bo/quan-tri/nhat-ky-quan-tri?thao_tac=staff.create").text
        assert "Tạo tài khoản cán bộ" in only_create.split('id="admin-audit"')[1]
        assert "Khoá tài khoản" not in only_create.split('id="admin-audit"')[1]
        first_day = admin.get("/can-bo/quan-tri/nhat-ky-quan-tri?tu=02/12/2026&den=02/12/2026").text
        assert first_day.split('id="admin-audit"')[1].count("<tr><td>") == 1
        nobody = admin.get("/can-bo/quan-tri/nhat-ky-quan-tri?nguoi=ai-khac").text
        assert "Chưa có thao tác nào" in nobody
        bad = admin.get("/can-bo/quan-tri/nhat-ky-quan-tri?tu=31/02/2026")
        assert bad.status_code == 422 and "Ngày không hợp lệ" in bad.text and 'value="31/02/2026"' in bad.text
    with TestClient(app) as officer:
        login(officer, "tiepnhan", PASSWORD)
        assert officer.get("/can-bo/quan-tri/nhat-ky-quan-tri").status_code == 403
    with app.state.db.sessions() as session:
        rows = session.scalars(select(StaffAdminAudit).order_by(StaffAdminAudit.id)).all()
        assert [r.action for r in rows] == [
            "staff.create",
            "staff.update",
            "staff.reset_password",
            "staff.lock",
        ]
        assert (
            {r.target for r in rows} == {"ketoan9"}
            and rows[0].at == late
            and rows[1].at == late + timedelta(minutes=20)
        )
    with pytest.raises(DBAPIError), app.state.db.engine.begin() as conn:
        conn.execute(text("UPDATE staff_admin_audit SET actor_login = 'someone-else'"))


def test_admin_resets_two_factor_and_the_member_enrols_again(
    app: FastAPI, web: TestClient, clock: Clock, staff: dict[str, Any]
) -> None:
    login(web, "lanhdao", PASSWORD)
    assert web.get("/can-bo/ho-so").status_code == 200
    with TestClient(app) as admin:
        login(admin, "quantri", PASSWORD)
        edit = f"/can-bo/quan-tri/can-bo/{staff['lanh_dao']['id']}"
        page = admin.get(edit)
        assert "Đã bật từ" in page.text
        reset = admin.post(f"{edit}/dat-lai-xac-thuc", data={"csrf_token": page_csrf(page.text)})
        assert reset.status_code == 200 and "Đã đặt lại xác thực hai bước" in reset.text
        assert "Đặt lại xác thực hai bước" in admin.get("/can-bo/quan-tri/nhat-ky-quan-tri").text
    assert web.get("/can-bo/ho-so", follow_redirects=False).status_code == 303  # sessions ended
    stored = _member(app, "lanhdao")
    assert stored.totp_secret_enc is None and stored.totp_enabled_at is None
    assert _password(web, "lanhdao").headers["location"] == "/can-bo/xac-thuc/dang-ky"


def test_a_staff_create_with_errors_is_not_audited(app: FastAPI, clock: Clock, staff: dict[str, Any]) -> None:
    with TestClient(app) as admin:
        login(admin, "quantri", PASSWORD)
        token = page_csrf(admin.get("/can-bo/quan-tri/can-bo/moi").text)
        refused = admin.post(
            "/can-bo/quan-tri/can-bo/moi",
            data={
                "csrf_token": token,
                "login": "x",
                "full_name": "",
                "agency_id": "H29.41.04",
                "password": "1",
            },
        )
        assert refused.status_code == 422
    with app.state.db.sessions() as session:
        assert session.scalars(select(StaffAdminAudit)).all() == []

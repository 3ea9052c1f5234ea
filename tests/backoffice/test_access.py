"""Staff sessions and roles: login, 403 for the wrong role, agencies kept apart, CSRF, admin actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.backoffice.staff_builders import PASSWORD, act, login, page_csrf, state_of
from tests.builders import submit_transfer


def test_staff_pages_need_a_staff_login(client: TestClient, staff: dict[str, Any]) -> None:
    response = client.get("/can-bo/ho-so", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/can-bo/dang-nhap?next=/can-bo/ho-so"
    assert client.get("/can-bo/quan-tri/can-bo", follow_redirects=False).status_code == 303


def test_wrong_password_and_inactive_accounts_are_refused(client: TestClient, staff: dict[str, Any]) -> None:
    token = page_csrf(client.get("/can-bo/dang-nhap").text)
    bad = client.post(
        "/can-bo/dang-nhap", data={"csrf_token": token, "login": "tiepnhan", "password": "sai-roi"}
    )
    assert bad.status_code == 422 and "Tên đăng nhập hoặc mật khẩu không đúng." in bad.text
    nobody = client.post(
        "/can-bo/dang-nhap", data={"csrf_token": token, "login": "ai-do", "password": PASSWORD}
    )
    assert nobody.status_code == 422


def test_staff_login_is_rate_limited(client: TestClient, staff: dict[str, Any]) -> None:
    token = page_csrf(client.get("/can-bo/dang-nhap").text)
    for _ in range(5):
        client.post("/can-bo/dang-nhap", data={"csrf_token": token, "login": "lanhdao", "password": "x"})
    blocked = client.post(
        "/can-bo/dang-nhap", data={"csrf_token": token, "login": "lanhdao", "password": PASSWORD}
    )
    assert blocked.status_code == 429 and "quá nhiều lần" in blocked.text


def test_login_redirects_each_role_home(app: Any, staff: dict[str, Any]) -> None:
    homes = {"tiep_nhan": "/can-bo/ho-so", "admin": "/can-bo/quan-tri/can-bo", "ke_toan": "/can-bo/trang-chu"}
    for role, home in homes.items():
        with TestClient(app) as c:
            assert login(c, staff[role]["login"], PASSWORD).headers["location"] == home


def test_wrong_roles_get_403_pages(as_role: Callable[[str], TestClient], client: TestClient) -> None:
    app_id, _ = submit_transfer(client)
    for role in ("ke_toan", "admin"):
        page = as_role(role).get("/can-bo/ho-so")
        assert page.status_code == 403 and "không có vai trò được phép" in page.text
        assert as_role(role).get(f"/can-bo/ho-so/{app_id}").status_code == 403
    for role in ("tiep_nhan", "chuyen_vien", "lanh_dao", "van_thu", "ke_toan"):
        assert as_role(role).get("/can-bo/quan-tri/can-bo").status_code == 403
        assert as_role(role).get("/can-bo/quan-tri/nhat-ky").status_code == 403


def test_forbidden_transitions_are_refused_with_a_message(
    client: TestClient, as_role: Callable[[str], TestClient], db_session: Session
) -> None:
    app_id, _ = submit_transfer(client)
    wrong_role = act(as_role("van_thu"), app_id, "accept")
    assert wrong_role.status_code == 403
    assert "Văn thư không được thực hiện thao tác «Tiếp nhận hồ sơ»" in wrong_role.text
    current = str(state_of(db_session, app_id).lock_version)  # the head's page has no form here: forge one
    wrong_state = act(as_role("lanh_dao"), app_id, "approve", version=current)
    assert wrong_state.status_code == 409
    assert (
        "Không thể «Phê duyệt và ký số kết quả» khi hồ sơ đang ở trạng thái «Chờ tiếp nhận»"
        in wrong_state.text
    )
    unknown = act(as_role("tiep_nhan"), app_id, "xoa_ho_so")
    assert unknown.status_code == 404 and "không có trong quy trình" in unknown.text
    citizen_only = act(as_role("tiep_nhan"), app_id, "withdraw")
    assert citizen_only.status_code == 403
    assert "Traceback" not in wrong_role.text + wrong_state.text + unknown.text
    assert state_of(db_session, app_id).status == "cho_tiep_nhan"


def test_a_stale_page_gets_the_conflict_message(
    client: TestClient, as_role: Callable[[str], TestClient], db_session: Session
) -> None:
    app_id, code = submit_transfer(client)
    reception = as_role("tiep_nhan")
    html = reception.get(f"/can-bo/ho-so/{app_id}").text
    stale_token = page_csrf(html)
    import re

    stale_version = re.search(r'name="version" value="(\d+)"', html)
    assert stale_version
    assert act(reception, app_id, "accept").status_code == 303
    late = reception.post(
        f"/can-bo/ho-so/{app_id}/thao-tac/refuse",
        data={"csrf_token": stale_token, "version": stale_version.group(1), "reason": "khac", "comment": "x"},
    )
    assert late.status_code == 409
    assert f"Hồ sơ {code} vừa được người khác xử lý trước bạn" in late.text
    assert "Chuyên viên đang thẩm định" in late.text
    assert state_of(db_session, app_id).status == "dang_tham_dinh"


def test_other_agencies_cases_do_not_exist_for_a_staff_member(
    client: TestClient, as_role: Callable[[str], TestClient]
) -> None:
    app_id, code = submit_transfer(client)
    other = as_role("other_agency")
    assert other.get(f"/can-bo/ho-so/{app_id}").status_code == 404
    assert f"/can-bo/ho-so/{app_id}" not in other.get("/can-bo/ho-so?hang=dang-xu-ly").text
    assert f"/can-bo/ho-so/{app_id}" not in other.get(f"/can-bo/ho-so?q={code}").text
    token = page_csrf(other.get("/can-bo/ho-so").text)
    post = other.post(f"/can-bo/ho-so/{app_id}/thao-tac/accept", data={"csrf_token": token, "version": "1"})
    assert post.status_code == 404


def test_actions_need_the_csrf_token(client: TestClient, as_role: Callable[[str], TestClient]) -> None:
    app_id, _ = submit_transfer(client)
    reception = as_role("tiep_nhan")
    response = reception.post(f"/can-bo/ho-so/{app_id}/thao-tac/accept", data={"version": "1"})
    assert response.status_code == 403 and "biểu mẫu không hợp lệ" in response.text


def test_admin_creates_edits_deactivates_and_resets(
    app: Any, as_role: Callable[[str], TestClient], staff: dict[str, Any]
) -> None:
    admin = as_role("admin")
    token = page_csrf(admin.get("/can-bo/quan-tri/can-bo/moi").text)
    invalid = admin.post(
        "/can-bo/quan-tri/can-bo/moi",
        data={
            "csrf_token": token,
            "login": "A B",
            "full_name": "",
            "agency_id": "H29.41.04",
            "password": "123",
        },
    )
    assert invalid.status_code == 422
    for message in (
        "Tên đăng nhập gồm",
        "Vui lòng nhập họ và tên.",
        "Vui lòng chọn ít nhất một vai trò.",
        "Mật khẩu phải có ít nhất 8 ký tự.",
    ):
        assert message in invalid.text
    created = admin.post(
        "/can-bo/quan-tri/can-bo/moi",
        follow_redirects=False,
        data={
            "csrf_token": token,
            "login": "chuyenvien3",
            "full_name": "Hồ Văn Nam",
            "email": "nam@thoian.test",
            "agency_id": "H29.41.04",
            "roles": ["chuyen_vien", "tiep_nhan"],
            "password": "mat-khau-dau-tien",
        },
    )
    assert created.status_code == 303
    edit_url = created.headers["location"]
    assert "Chuyên viên" in admin.get("/can-bo/quan-tri/can-bo").text

    with TestClient(app) as newcomer:
        login(newcomer, "chuyenvien3", "mat-khau-dau-tien")
        assert newcomer.get("/can-bo/ho-so").status_code == 200
        # roles change: only van_thu now, still a case role
        admin.post(
            edit_url,
            data={
                "csrf_token": token,
                "full_name": "Hồ Văn Nam",
                "email": "nam@thoian.test",
                "roles": ["van_thu"],
            },
        )
        assert "Văn thư" in admin.get(edit_url).text
        # reset: a new password shown once, the open session ends
        page = admin.post(f"{edit_url}/dat-lai-mat-khau", data={"csrf_token": token}).text
        import re

        new_password = re.search(r"<code>([^<]+)</code>", page)
        assert new_password
        assert "<code>" not in admin.get(edit_url).text  # shown once
        assert newcomer.get("/can-bo/ho-so", follow_redirects=False).status_code == 303
        login(newcomer, "chuyenvien3", new_password.group(1))
        # deactivation ends the session and blocks login
        admin.post(f"{edit_url}/trang-thai", data={"csrf_token": token, "active": "0"})
        assert newcomer.get("/can-bo/ho-so", follow_redirects=False).status_code == 303
        token2 = page_csrf(newcomer.get("/can-bo/dang-nhap").text)
        refused = newcomer.post(
            "/can-bo/dang-nhap",
            data={"csrf_token": token2, "login": "chuyenvien3", "password": new_password.group(1)},
        )
        assert refused.status_code == 422
    own = f"/can-bo/quan-tri/can-bo/{staff['admin']['id']}"
    assert admin.post(f"{own}/trang-thai", data={"csrf_token": token, "active": "0"}).status_code == 409


def test_admin_sees_agencies_with_their_staff(as_role: Callable[[str], TestClient]) -> None:
    page = as_role("admin").get("/can-bo/quan-tri/co-quan")
    assert page.status_code == 200
    assert "H29.41.04" in page.text and "Ủy ban nhân dân phường Thới An" in page.text
    assert "Hết hiệu lực" in page.text  # the former district office

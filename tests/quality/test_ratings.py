"""Satisfaction ratings: invitation, who may rate (signed link, code + phone), one per case, edit window."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.models import CaseEvent
from portal.quality.models import CaseFacts, Rating
from portal.quality.tokens import rating_path
from tests.builders import csrf, settle, submit_transfer
from tests.quality.conftest import RecordingMailer, Scenario, build_scenario

ANSWERS = {
    "overall": "hai_long",
    "on_time": "dung_hen",
    "staff_attitude": "rat_hai_long",
    "ease_of_use": "hai_long",
    "contacts": "1",
    "comment": "Cán bộ hướng dẫn tận tình.",
}


def link(app: FastAPI, application_id: str) -> str:
    return rating_path(app.state.settings.secret_key, application_id)


def rate(client: TestClient, url: str, **answers: str) -> object:
    token = csrf(client, url)
    path, _, query = url.partition("?")
    data = {"csrf_token": token, "t": query.removeprefix("t=").split("&")[0], **answers}
    return client.post(path, data=data, follow_redirects=False)


def rating_of(app: FastAPI, application_id: str) -> Rating | None:
    with app.state.db.sessions() as session:
        found = session.scalars(select(Rating).where(Rating.application_id == application_id)).first()
        session.expunge_all()
        return found


def test_invitation_once_when_a_result_or_refusal_closes_the_case(
    app: FastAPI, scenario: Scenario, mailer: RecordingMailer
) -> None:
    invited = {m["case_id"] for m in mailer.sent if m["template"] == "rating_invite"}
    assert invited == {
        scenario.ids[k] for k in "ABCDEJ"
    }  # results and the refusal; not F (withdrawn) nor open
    assert len(mailer.sent) == 6  # later refreshes (ratings, feedback) did not invite again
    sent_a = next(m for m in mailer.sent if m["case_id"] == scenario.ids["A"])
    assert sent_a["to"] == "mai@example.vn" and sent_a["dedupe_key"] == f"rating_invite:{scenario.ids['A']}"
    assert sent_a["context"]["link"].endswith(link(app, scenario.ids["A"]))
    settle(app)
    with app.state.db.sessions() as session:
        assert session.get(CaseFacts, scenario.ids["A"]).invited_at is not None
        assert session.get(CaseFacts, scenario.ids["F"]).invited_at is None


def test_the_applicant_rates_with_the_signed_link(
    app: FastAPI, client: TestClient, scenario: Scenario
) -> None:
    url = link(app, scenario.ids["C"])
    page = client.get(url)
    assert page.status_code == 200 and "Gửi đánh giá" in page.text
    missing = rate(client, url, overall="hai_long")
    assert missing.status_code == 422
    assert "Vui lòng đánh giá thái độ phục vụ của cán bộ." in missing.text
    assert "Vui lòng chọn số lần phải liên hệ cơ quan." in missing.text
    done = rate(client, url, **ANSWERS)
    assert done.status_code == 303
    saved = rating_of(app, scenario.ids["C"])
    assert saved is not None and (saved.overall, saved.via, saved.edits) == ("hai_long", "link", 0)
    settle(app)
    with app.state.db.sessions() as session:
        assert session.get(CaseFacts, scenario.ids["C"]).rating == "hai_long"
        kinds = [
            e.kind
            for e in session.scalars(select(CaseEvent).where(CaseEvent.application_id == scenario.ids["C"]))
        ]
        assert kinds[-1] == "rated"
    assert "Cảm ơn bạn đã đánh giá" in client.get(done.headers["location"]).text


def test_someone_else_cannot_rate(app: FastAPI, client: TestClient, scenario: Scenario) -> None:
    target = scenario.ids["C"]
    forged = f"/danh-gia/{target}?t=" + "A" * 24
    assert client.get(forged).status_code == 404
    other_token = link(app, scenario.ids["D"]).split("?t=")[1]
    assert client.get(f"/danh-gia/{target}?t={other_token}").status_code == 404
    token = csrf(client, "/danh-gia")
    posted = client.post(f"/danh-gia/{target}", data={"csrf_token": token, "t": other_token, **ANSWERS})
    assert posted.status_code == 404 and rating_of(app, target) is None
    wrong_phone = client.post(
        "/danh-gia",
        data={"csrf_token": token, "case_code": scenario.codes["C"], "phone": "0987654321"},
        follow_redirects=False,
    )
    assert wrong_phone.status_code == 404
    no_csrf = client.post(
        link(app, target).split("?")[0], data={"t": link(app, target).split("=")[1], **ANSWERS}
    )
    assert no_csrf.status_code == 403 and rating_of(app, target) is None


def test_code_and_phone_open_the_rating_form(app: FastAPI, client: TestClient, scenario: Scenario) -> None:
    token = csrf(client, "/danh-gia")
    bad = client.post("/danh-gia", data={"csrf_token": token, "case_code": "", "phone": "12"})
    assert bad.status_code == 422 and "Vui lòng nhập mã hồ sơ" in bad.text
    found = client.post(
        "/danh-gia",
        data={
            "csrf_token": token,
            "case_code": scenario.codes["C"].lower(),
            "phone": scenario.people["C"].phone,
        },
        follow_redirects=False,
    )
    assert found.status_code == 303
    url = found.headers["location"]
    assert url.startswith(link(app, scenario.ids["C"])) and "qua=ma" in url
    page = client.get(url).text
    assert 'name="via" value="code"' in page
    assert rate(client, url, via="code", **ANSWERS).status_code == 303
    assert rating_of(app, scenario.ids["C"]).via == "code"  # type: ignore[union-attr]


def test_an_open_or_withdrawn_case_cannot_be_rated(
    app: FastAPI, client: TestClient, scenario: Scenario
) -> None:
    for key in ("G", "F"):
        url = link(app, scenario.ids[key])
        assert "Hồ sơ chưa có kết quả giải quyết" in client.get(url).text
        assert rate(client, url, **ANSWERS).status_code == 409
        assert rating_of(app, scenario.ids[key]) is None


def test_one_rating_per_case_editable_for_the_configured_days(
    app: FastAPI, client: TestClient, scenario: Scenario
) -> None:
    url = link(app, scenario.ids["C"])
    assert rate(client, url, **ANSWERS).status_code == 303
    first = rating_of(app, scenario.ids["C"])
    assert first is not None
    days = app.state.settings.rating_edit_days
    assert first.editable_until - first.created_at == timedelta(days=days)
    assert rate(client, url, **{**ANSWERS, "overall": "khong_hai_long"}).status_code == 303
    changed = rating_of(app, scenario.ids["C"])
    assert changed is not None and (changed.id, changed.overall, changed.edits) == (
        first.id,
        "khong_hai_long",
        1,
    )
    settle(app)
    with app.state.db.sessions() as session:
        assert (
            len(session.scalars(select(Rating).where(Rating.application_id == scenario.ids["C"])).all()) == 1
        )
        assert session.get(CaseFacts, scenario.ids["C"]).rating == "khong_hai_long"
        # the window has passed: it closed before the rating was even given (the portal's own stamp)
        session.get(Rating, first.id).editable_until = first.created_at - timedelta(minutes=1)
        session.commit()
    page = client.get(url).text
    assert "Đã hết thời hạn sửa đánh giá." in page and "Sửa đánh giá" not in page
    late = rate(client, url, **{**ANSWERS, "overall": "rat_hai_long"})
    assert late.status_code == 409 and f"trong {days} ngày" in late.text
    assert rating_of(app, scenario.ids["C"]).overall == "khong_hai_long"  # type: ignore[union-attr]


def test_tracking_page_and_receipt_carry_the_rating_link(
    app: FastAPI, client: TestClient, scenario: Scenario
) -> None:
    token = csrf(client, "/tra-cuu")
    done = client.post(
        "/tra-cuu",
        data={"csrf_token": token, "case_code": scenario.codes["D"], "phone": scenario.people["D"].phone},
    )
    assert "Đánh giá ngay" in done.text and link(app, scenario.ids["D"]).replace("&", "&amp;") in done.text
    rated = client.post(
        "/tra-cuu",
        data={"csrf_token": token, "case_code": scenario.codes["A"], "phone": scenario.people["A"].phone},
    )
    assert "Bạn đã đánh giá hồ sơ này." in rated.text
    pending = client.post(
        "/tra-cuu",
        data={"csrf_token": token, "case_code": scenario.codes["G"], "phone": scenario.people["G"].phone},
    )
    assert "Đánh giá ngay" not in pending.text and "đường dẫn đánh giá riêng" in pending.text
    app_id, _ = submit_transfer(client)
    receipt = client.get(f"/ho-so/{app_id}/bien-nhan").text
    assert re.search(rf'href="/danh-gia/{app_id}\?t=[\w-]+"', receipt)


def test_staff_see_ratings_of_their_own_agency_only(
    app: FastAPI, scenario: Scenario, as_role: Callable[[str], TestClient]
) -> None:
    mine = as_role("tiep_nhan").get("/can-bo/danh-gia")
    assert mine.status_code == 200
    assert scenario.codes["A"] in mine.text and scenario.codes["B"] in mine.text
    for person in scenario.people.values():  # no personal data beyond the case code
        assert person.name not in mine.text and person.phone not in mine.text
    other = as_role("other_desk").get("/can-bo/danh-gia")
    assert other.status_code == 200 and scenario.codes["A"] not in other.text
    assert as_role("ke_toan").get("/can-bo/danh-gia").status_code == 403


def test_the_invitation_goes_through_the_e_mail_outbox(app: FastAPI) -> None:
    notifications = pytest.importorskip("portal.notifications.models")
    build_scenario(app)  # with the app's own mailer: portal.notifications.enqueue_email
    with app.state.db.sessions() as session:
        rows = session.scalars(select(notifications.OutboxEmail)).all()
        invites = [r for r in rows if r.template == "rating_invite"]
    assert sorted(r.to_address for r in invites) == [
        "dat@example.vn",
        "hung@example.vn",
        "mai@example.vn",
        "trang@example.vn",
    ]  # C and J gave no address
    mail = next(r for r in invites if r.to_address == "mai@example.vn")
    assert "Mời đánh giá mức độ hài lòng" in mail.subject and "/danh-gia/" in mail.body_text

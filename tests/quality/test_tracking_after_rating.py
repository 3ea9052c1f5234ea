"""The cached tracking page (portal.web.render.CasePages) follows the case's rating: rating it shows
at once, and the page is never served past the end of the rating's edit window."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.builders import csrf
from tests.quality.conftest import Scenario
from tests.quality.test_ratings import ANSWERS, link, rate, rating_of


def _track(client: TestClient, scenario: Scenario, key: str) -> str:
    token = csrf(client, "/tra-cuu")
    data = {"csrf_token": token, "case_code": scenario.codes[key], "phone": scenario.people[key].phone}
    response = client.post("/tra-cuu", data=data)
    assert response.status_code == 200
    return response.text


def test_a_rating_shows_on_the_next_lookup(app: FastAPI, client: TestClient, scenario: Scenario) -> None:
    with TestClient(app) as applicant:
        for _ in range(2):  # the second lookup is served from the cache
            before = _track(applicant, scenario, "D")
            assert "Đánh giá ngay" in before and "Bạn đã đánh giá hồ sơ này." not in before
        assert rate(client, link(app, scenario.ids["D"]), **ANSWERS).status_code == 303
        after = _track(applicant, scenario, "D")
        assert "Đánh giá ngay" not in after and "Bạn đã đánh giá hồ sơ này." in after
        assert "Xem hoặc sửa đánh giá" in after  # editable: within its window

    rating = rating_of(app, scenario.ids["D"])
    assert rating is not None
    # the page says "you may still edit": it is kept no longer than the edit window lasts
    kept = [
        valid_until
        for (template, _, _, (case_id, _)), (_, _, valid_until) in app.state.case_pages._pages.items()
        if case_id == scenario.ids["D"]
    ]
    assert rating.editable_until in kept

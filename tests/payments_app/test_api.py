"""GET /api/v1/fees/invoices for the assistant: a student's invoices by student code + the parent link
code printed on the school's notice (the parent's phone is no proof)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.models import RateLimitHit
from tests.payments_app.builders import link_code_of, pay_on_sandbox, start_school_payment

URL = "/api/v1/fees/invoices"


def test_invoices_of_a_student(app: FastAPI, client: TestClient, world: dict[str, Any]) -> None:
    ref, amount = world["by_code"]["7901000001"]
    code = link_code_of(app, "7901000001")
    typed = f"{code[:4].lower()} - {code[4:]}"  # as a parent reads it off the notice
    response = client.get(URL, params={"student_code": "7901000001", "link_code": typed})
    assert response.status_code == 200
    body = response.json()
    assert body["student"] == {
        "code": "7901000001",
        "name": "Nguyễn Minh An",
        "school": "Trường Tiểu học Thới An",
        "class": "1A",
    }
    assert body["total_due"] == amount == 1_550_000 and body["total_due_text"] == "1.550.000 ₫"
    [item] = body["items"]
    assert {k: item[k] for k in ("reference", "amount", "amount_text", "due_date", "status")} == {
        "reference": ref,
        "amount": amount,
        "amount_text": "1.550.000 ₫",
        "due_date": "2026-12-10",
        "status": "unpaid",
    }
    assert item["title"].startswith("Thông báo thu tháng 12/2026")
    # what the assistant says: the date and the status as people read them
    assert (item["due_date_text"], item["status_label"]) == ("10/12/2026", "Chưa nộp")
    assert item["pay_url"].startswith("http://testserver/hoc-phi/hs/7901000001?k=")

    # the link opens the parent's page without a lookup and pays through VNPay
    link = urlsplit(item["pay_url"])
    opened = client.get(f"{link.path}?{link.query}", follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"].startswith(f"/hoc-phi?chon={ref}")
    page = client.get("/hoc-phi").text
    assert f'value="{ref}" id="chon-{ref}" checked' in page
    pay_on_sandbox(client, start_school_payment(client, [ref]).headers["location"], "00")
    after = client.get(URL, params={"student_code": "7901000001", "link_code": code}).json()
    assert after["total_due"] == 0 and after["pay_url"] is None
    assert after["items"][0]["status"] == "paid" and after["items"][0]["pay_url"] is None


def test_unknown_student_is_404_and_the_lookup_still_counts(
    app: FastAPI, client: TestClient, world: dict[str, Any]
) -> None:
    right = link_code_of(app, "7901000001")
    wrong = next(c for c in ("ABCDEFGH", "HGFEDCBA") if c != right)
    for params in (
        {"student_code": "7901000001", "phone": "0912345678"},  # the parent's phone proves nothing
        {"student_code": "7901000001", "link_code": wrong},
        {"student_code": "0000000000", "link_code": right},
        {"student_code": "7901000001", "link_code": "abc"},
    ):
        response = client.get(URL, params=params)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "student_not_found"
    with app.state.db.sessions() as session:
        hits = session.scalars(select(RateLimitHit.count).where(RateLimitHit.key.like("fees:%"))).all()
    assert sum(hits) == 4
    forged = client.get("/hoc-phi/hs/7901000001?k=0000")
    assert forged.status_code == 404


def test_lookups_are_rate_limited(app: FastAPI, client: TestClient, world: dict[str, Any]) -> None:
    settings = app.state.settings
    saved = settings.tracking_max_lookups
    settings.tracking_max_lookups = 2
    try:
        codes = [
            client.get(URL, params={"student_code": "7901000001", "link_code": "ABCDEFGH"}).status_code
            for _ in range(3)
        ]
        assert codes[2] == 429 and set(codes[:2]) <= {200, 404}
        assert (
            client.get(
                URL,
                params={"student_code": "7901000001", "link_code": link_code_of(app, "7901000001")},
                headers={"Authorization": "Bearer test-service-token"},
            ).status_code
            == 200
        )
    finally:
        settings.tracking_max_lookups = saved


def test_link_code_guesses_are_limited_per_student_even_for_the_assistant(
    app: FastAPI, client: TestClient, world: dict[str, Any]
) -> None:
    """The assistant relays anyone, so its service token does not lift the per-student limit."""
    service = {"Authorization": "Bearer test-service-token"}
    right = link_code_of(app, "7901000002")
    wrong = next(c for c in ("ABCDEFGH", "HGFEDCBA") if c != right)
    codes = [
        client.get(
            URL, params={"student_code": "7901000002", "link_code": wrong}, headers=service
        ).status_code
        for _ in range(11)
    ]
    assert codes == [404] * 10 + [429]
    blocked = client.get(URL, params={"student_code": "7901000002", "link_code": right}, headers=service)
    assert blocked.status_code == 429
    other = client.get(
        URL,
        params={"student_code": "7901000001", "link_code": link_code_of(app, "7901000001")},
        headers=service,
    )
    assert other.status_code == 200

"""When parts fail, the citizen sees a clear Vietnamese page, never a stack trace."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from portal.app import create_app
from portal.applications.repository import ApplicationRepository
from portal.config import Settings


def test_database_down_gives_a_503_page_and_json(tmp_path: Path) -> None:
    settings = Settings(
        environment="test",
        secret_key="x" * 32,
        upload_dir=tmp_path,
        database_url="postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1",
    )
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    token = client.get("/tra-cuu").text.split('name="csrf_token" value="')[1].split('"')[0]
    page = client.post(
        "/tra-cuu", data={"csrf_token": token, "case_code": "H29.41.01-261128-0001", "phone": "0912345678"}
    )
    assert page.status_code == 503
    assert "Hệ thống tạm gián đoạn" in page.text and "Traceback" not in page.text
    assert page.headers["retry-after"] == "60"
    api = client.get("/api/v1/applications/H29.41.01-261128-0001", params={"phone": "0912345678"})
    assert api.status_code == 503 and api.json()["error"]["code"] == "service_unavailable"
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json()["database"] == "unavailable"
    # pages that need no database keep working
    assert client.get("/thu-tuc?q=chuyen truong").status_code == 200


def test_case_numbers_are_per_agency_and_per_day(db_session: Session) -> None:
    repo = ApplicationRepository(db_session)
    day, next_day = date(2026, 11, 30), date(2026, 12, 1)
    assert [repo.next_case_number("H29.41.01", day) for _ in range(3)] == [1, 2, 3]
    assert repo.next_case_number("H29.41.02", day) == 1
    assert repo.next_case_number("H29.41.01", next_day) == 1
    db_session.rollback()  # a rolled-back submission gives its number back: no gaps
    assert repo.next_case_number("H29.41.01", day) == 1


def test_html_escapes_what_citizens_type(client: TestClient) -> None:
    page = client.get("/thu-tuc", params={"q": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text

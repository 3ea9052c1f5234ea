"""JSON API v1: the contract the assistant and other clients rely on."""

from __future__ import annotations

import concurrent.futures
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient

from portal.samples import tiny_pdf
from tests.builders import PNG

SERVICE = {"Authorization": "Bearer test-service-token"}
APPLICANT = {
    "full_name": "Trần Thị Mai",
    "phone": "0987654321",
    "email": "mai@example.vn",
    "cccd": "079185012345",
    "address": "12 Lê Văn Khương",
}
FIELDS = {
    "student_name": "Nguyễn Minh Khôi",
    "student_birth_date": "14/03/2012",
    "grade": "7",
    "school_from": "THCS A",
    "school_to": "THCS B",
    "reason": "Chuyển nhà",
}
DOCS = [
    ("don_de_nghi", "don.pdf", tiny_pdf("don")),
    ("hoc_ba", "hb.pdf", tiny_pdf("hb")),
    ("giay_gioi_thieu", "gt.png", PNG),
]


def _complete_draft(client: httpx.Client | TestClient, agency: str = "H29.41.01") -> dict:
    created = client.post(
        "/api/v1/applications",
        headers=SERVICE,
        json={"procedure_code": "2.002481", "agency_id": agency, "applicant": APPLICANT, "fields": FIELDS},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    for key, name, content in DOCS:
        r = client.post(
            f"/api/v1/applications/{body['id']}/attachments",
            headers=SERVICE,
            data={"document_key": key},
            files={"file": (name, content)},
        )
        assert r.status_code == 201, r.text
    return body


def test_procedures_search_and_detail(client: TestClient) -> None:
    found = client.get("/api/v1/procedures", params={"q": "cap ban sao bang tot nghiep"}).json()
    assert found["items"][0]["code"] == "1.005092"
    detail = client.get("/api/v1/procedures/2.002481").json()
    assert detail["level"] == "toan_trinh" and detail["fee"]["amount"] == 0
    assert any(d["key"] == "hoc_ba" and d["required"] for d in detail["documents"])
    assert detail["time_limit"]["working_days"] and "ngày làm việc" in detail["time_limit"]["text"]
    assert detail["apply_url"].endswith("/thu-tuc/chuyen-truong-thcs/nop-ho-so")
    assert len(detail["agencies"]) == 5 and detail["agencies"][0]["office_hours"]
    missing = client.get("/api/v1/procedures/9.999999")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "procedure_not_found"
    assert "thủ tục" in missing.json()["error"]["message"]


def test_openapi_documents_the_v1_endpoints(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/procedures",
        "/api/v1/procedures/{code}",
        "/api/v1/applications",
        "/api/v1/applications/{application_id}/submit",
        "/api/v1/applications/{case_code}",
    ):
        assert path in paths


def test_draft_validation_errors_are_field_level_vietnamese(client: TestClient) -> None:
    r = client.post(
        "/api/v1/applications",
        headers=SERVICE,
        json={"procedure_code": "2.002481", "applicant": {"full_name": "An", "phone": "12345"}},
    )
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "validation_error"
    assert "applicant.phone" in err["fields"] and "số" in err["fields"]["applicant.phone"].lower()


def test_idempotency_key_returns_the_same_draft(client: TestClient) -> None:
    body = {"procedure_code": "2.002481", "applicant": APPLICANT}
    first = client.post(
        "/api/v1/applications", headers={**SERVICE, "Idempotency-Key": "abc-1"}, json=body
    ).json()
    again = client.post(
        "/api/v1/applications", headers={**SERVICE, "Idempotency-Key": "abc-1"}, json=body
    ).json()
    assert first["id"] == again["id"] and first["resume_url"] == again["resume_url"]
    # the resume link opens the draft in the portal for whoever holds it
    page = TestClient(client.app).get(first["resume_url"].replace("http://testserver", ""))
    assert page.status_code == 200 and 'value="Trần Thị Mai"' in page.text


def test_submit_and_track_over_api(client: TestClient) -> None:
    draft = _complete_draft(client)
    submitted = client.post(f"/api/v1/applications/{draft['id']}/submit", headers=SERVICE)
    assert submitted.status_code == 200, submitted.text
    code = submitted.json()["case_code"]
    assert re.fullmatch(r"H29\.41\.01-\d{6}-0001", code)
    status = client.get(f"/api/v1/applications/{code}", params={"phone": "0987 654 321"})
    assert status.status_code == 200
    body = status.json()
    assert body["status"] == "cho_tiep_nhan" and body["timeline"][0]["label"].startswith("Hồ sơ được nộp")
    # the moment in UTC for machines, and in Vietnam's time for people (the assistant shows at_text)
    first = body["timeline"][0]
    moment = datetime.fromisoformat(first["at"].replace("Z", "+00:00"))
    assert first["at_text"] == f"{moment.astimezone(ZoneInfo('Asia/Ho_Chi_Minh')):%H:%M %d/%m/%Y}"
    wrong = client.get(f"/api/v1/applications/{code}", params={"phone": "0912345678"})
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "case_not_found"


def test_submit_incomplete_draft_lists_what_is_missing(client: TestClient) -> None:
    draft = client.post(
        "/api/v1/applications", headers=SERVICE, json={"procedure_code": "2.002481", "applicant": APPLICANT}
    ).json()
    r = client.post(f"/api/v1/applications/{draft['id']}/submit", headers=SERVICE)
    assert r.status_code == 422
    assert "documents.hoc_ba" in r.json()["error"]["fields"]


def test_someone_elses_draft_cannot_be_submitted(client: TestClient) -> None:
    draft = _complete_draft(client)
    r = TestClient(client.app).post(f"/api/v1/applications/{draft['id']}/submit")
    assert r.status_code == 404


def test_tracking_api_is_rate_limited(app, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    limit = app.state.settings.tracking_max_lookups
    app.state.settings.tracking_max_lookups = 3
    try:
        codes = [
            client.get("/api/v1/applications/X-1", params={"phone": "0912345678"}).status_code
            for _ in range(4)
        ]
    finally:
        app.state.settings.tracking_max_lookups = limit
    assert codes == [404, 404, 404, 429]


def test_healthz_reports_database(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["database"] == "ok"


@pytest.mark.postgres
def test_fifty_concurrent_submissions_get_unique_gap_free_codes(live_server: str) -> None:
    with httpx.Client(base_url=live_server, timeout=60) as http:
        drafts = [_complete_draft(http, agency="H29.41.03") for _ in range(60)]

    def submit(draft_id: str) -> str:
        with httpx.Client(base_url=live_server, timeout=60) as c:
            r = c.post(f"/api/v1/applications/{draft_id}/submit", headers=SERVICE)
            assert r.status_code == 200, r.text
            return str(r.json()["case_code"])

    with concurrent.futures.ThreadPoolExecutor(max_workers=60) as pool:
        codes = list(pool.map(submit, [d["id"] for d in drafts]))
    numbers = sorted(int(c.rsplit("-", 1)[1]) for c in codes)
    assert len(set(codes)) == 60
    assert numbers == list(range(1, 61))

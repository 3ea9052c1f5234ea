"""Builders for test data: a complete application, files, CSRF-aware form posts."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from portal.samples import tiny_pdf

TRANSFER = "chuyen-truong-thcs"

APPLICANT = {
    "applicant_full_name": "Trần Thị Mai",
    "applicant_cccd": "079185012345",
    "applicant_phone": "0987654321",
    "applicant_email": "mai@example.vn",
    "applicant_address": "12 Lê Văn Khương, phường Thới An",
}

TRANSFER_FIELDS = {
    "agency_id": "H29.41.04",
    "f_student_name": "Nguyễn Minh Khôi",
    "f_student_birth_date": "14/03/2012",
    "f_grade": "7",
    "f_school_from": "THCS Nguyễn Huệ",
    "f_school_to": "THCS Phan Bội Châu",
    "f_reason": "Gia đình chuyển nơi ở",
}

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def csrf(client: TestClient, path: str = "/") -> str:
    html = client.get(path).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
        r'"X-CSRF-Token": "([^"]+)"', html
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def transfer_documents(definition_docs: Any = None) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [
        ("doc_don_de_nghi", ("don.pdf", tiny_pdf("don"), "application/pdf")),
        ("doc_hoc_ba", ("hoc-ba.pdf", tiny_pdf("hoc ba"), "application/pdf")),
        ("doc_giay_gioi_thieu", ("gioi-thieu.png", PNG, "image/png")),
    ]


def start_transfer(client: TestClient, *, intent: str = "review", **overrides: str) -> Any:
    token = csrf(client, f"/thu-tuc/{TRANSFER}/nop-ho-so")
    data = {**APPLICANT, **TRANSFER_FIELDS, **overrides, "csrf_token": token, "intent": intent}
    return client.post(
        f"/thu-tuc/{TRANSFER}/nop-ho-so", data=data, files=transfer_documents(), follow_redirects=False
    )


def submit_transfer(client: TestClient, **overrides: str) -> tuple[str, str]:
    """Apply for a school transfer end to end; returns (application id, case code)."""
    response = start_transfer(client, **overrides)
    assert response.status_code == 303, response.text[:2000]
    review_url = response.headers["location"]
    app_id = review_url.split("/")[2]
    token = csrf(client, review_url)
    response = client.post(f"/ho-so/{app_id}/nop", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    receipt = client.get(response.headers["location"]).text
    code = re.search(r'class="case-code">([^<]+)<', receipt)
    assert code
    return app_id, code.group(1)


def settle(app: FastAPI) -> int:
    """What ``portal worker`` does every second: hand the committed case changes to the modules'
    consumers (the quality facts and dashboard, the rating invitation). Returns the changes consumed."""
    from portal.cases.changes import drain
    from portal.composition import case_consumers

    return drain(app.state.db.sessions, case_consumers(app.state.services))

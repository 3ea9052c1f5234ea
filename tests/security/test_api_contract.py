"""The JSON API says what it does: findings ST204, ST103 and ST202 of the security review (§3,
schemathesis) and the hardening issue's "publish every constraint the server enforces".

Each test is one contract defect, tried on a portal served by uvicorn. The whole contract is
then checked by schemathesis in ``test_schemathesis.py``.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.integration.test_api import APPLICANT

TRANSFER = "2.002481"  # chuyển trường THCS: a select, a date in the past, a student id
COPY = "1.005092"  # bản sao văn bằng: numbers with a range


def _schema(web: httpx.Client) -> dict[str, Any]:
    response = web.get("/openapi.json")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    return node


def test_unsupported_method_answers_405_with_allow_header(web: httpx.Client) -> None:
    """ST204: ``TRACE`` on any path → 405 without ``Allow`` (RFC 9110 §15.5.6 requires it)."""
    for path in ("/api/v1/procedures", "/api/v1/applications", "/healthz"):
        response = web.request("TRACE", path)
        assert response.status_code == 405, path
        allowed = {m.strip() for m in response.headers.get("Allow", "").split(",")}
        assert allowed & {"GET", "POST"}, (path, response.headers)
        assert "TRACE" not in allowed
        assert response.json()["error"]["code"] == "method_not_allowed"


def test_body_that_is_not_utf8_is_the_documented_422_in_vietnamese(web: httpx.Client) -> None:
    """ST103: a JSON body that is not UTF-8 → undocumented English 400 "There was an error parsing
    the body"; every other malformed body is the documented 422 ``validation_error``."""
    for path in ("/api/v1/applications", "/api/v1/callbacks"):
        response = web.post(path, content=b"\x80", headers={"Content-Type": "application/json"})
        assert response.status_code == 422, (path, response.text)
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert error["message"] == "Dữ liệu gửi lên không hợp lệ."
        assert "UTF-8" in error["fields"]["body"]
        declared = _schema(web)["paths"][path]["post"]["responses"]
        assert "422" in declared and "400" not in declared


def test_callbacks_schema_requires_what_the_server_requires(web: httpx.Client) -> None:
    """ST202: ``POST /api/v1/callbacks`` with ``{}`` is refused (422) while the schema made every
    field optional."""
    schema = _schema(web)
    body = schema["paths"]["/api/v1/callbacks"]["post"]["requestBody"]["content"]["application/json"]
    callback = _resolve(schema, body["schema"])
    assert set(callback.get("required", [])) == {"full_name", "phone"}
    props = callback["properties"]
    assert props["full_name"]["maxLength"] == 100 and props["note"]["maxLength"] == 2000
    assert re.search(props["phone"]["pattern"], "0912 345 678")
    assert not re.search(props["phone"]["pattern"], "0123456789")
    response = web.post("/api/v1/callbacks", json={})
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"full_name", "phone"}


def test_field_constraints_are_published_in_openapi_and_procedure(web: httpx.Client) -> None:
    """Clients had to guess: the schema said ``applicant.cccd: string`` and ``fields: {str: str}``
    while the server enforces 12 digits with a province code, phone prefixes, lengths, options,
    dates in the past, number ranges."""
    schema = _schema(web)
    op = schema["paths"]["/api/v1/applications"]["post"]
    body = _resolve(schema, op["requestBody"]["content"]["application/json"]["schema"])
    variants = {v["properties"]["procedure_code"]["const"]: v for v in body["oneOf"]}
    applicant = _resolve(schema, variants[TRANSFER]["properties"]["applicant"])["properties"]
    cccd = applicant["cccd"]["pattern"]
    assert re.search(cccd, "079185012345") and not re.search(cccd, "999185012345")
    assert not re.search(cccd, "07918501234")
    assert re.search(applicant["phone"]["pattern"], "+84 912 345 678")
    assert applicant["phone"]["maxLength"] == 15 and applicant["address"]["maxLength"] == 300
    # the form fields of each procedure, selected by its code
    fields = _resolve(schema, variants[TRANSFER]["properties"]["fields"])["properties"]
    assert re.search(fields["grade"]["pattern"], "7") and not re.search(fields["grade"]["pattern"], "13")
    copies = _resolve(schema, variants[COPY]["properties"]["fields"])["properties"]["so_ban_sao"]["pattern"]
    assert re.search(copies, "10") and re.search(copies, " 2 ") and not re.search(copies, "11")
    assert not re.search(copies, "0")
    birth = fields["student_birth_date"]["pattern"]
    assert re.search(birth, "14/03/2012") and re.search(birth, "2012-03-14")
    assert not re.search(birth, "31/02/2012") and not re.search(birth, "01/01/2999")
    # the same constraints for a client reading the procedure
    detail = web.get(f"/api/v1/procedures/{TRANSFER}").json()
    by_key = {f["key"]: f for f in detail["fields"]}
    assert by_key["grade"]["schema"] == fields["grade"]
    assert by_key["grade"]["enum"] == ["6", "7", "8", "9"]
    assert by_key["student_birth_date"]["format"] == "date"
    assert by_key["student_birth_date"]["date_range"] == "past"
    assert by_key["reason"]["max_length"] == 1000
    number = {f["key"]: f for f in web.get(f"/api/v1/procedures/{COPY}").json()["fields"]}["so_ban_sao"]
    assert (number["minimum"], number["maximum"]) == (1, 10)
    applicant_out = {f["key"]: f for f in detail["applicant_fields"]}
    assert applicant_out["cccd"]["schema"]["pattern"] == cccd and applicant_out["cccd"]["required"]
    # what the schema promises, the server accepts; what it refuses, the server refuses
    ok = web.post(
        "/api/v1/applications",
        json={"procedure_code": TRANSFER, "applicant": APPLICANT, "fields": {"grade": " 8 ", "reason": "x"}},
    )
    assert ok.status_code == 201, ok.text
    bad = web.post("/api/v1/applications", json={"procedure_code": TRANSFER, "fields": {"grade": "13"}})
    assert bad.status_code == 422 and "fields.grade" in bad.json()["error"]["fields"]


def test_draft_token_and_errors_are_declared(web: httpx.Client) -> None:
    """``submit`` and ``attachments`` need the draft's token (``X-Draft-Token``) and attachments is
    multipart, but the schema declared neither; 503 (database down) and 409 were undeclared."""
    paths = _schema(web)["paths"]
    for path in (
        "/api/v1/applications/{application_id}/submit",
        "/api/v1/applications/{application_id}/attachments",
    ):
        op = paths[path]["post"]
        headers = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
        assert "X-Draft-Token" in headers, path
        assert {"404", "409", "422", "503"} <= set(op["responses"]), path
    upload = paths["/api/v1/applications/{application_id}/attachments"]["post"]["requestBody"]
    multipart = upload["content"]["multipart/form-data"]["schema"]
    assert set(multipart["required"]) == {"document_key", "file"}
    for path, op in ((p, o) for p, ops in paths.items() for o in ops.values()):
        if path != "/api/v1/procedures" and path != "/api/v1/agencies" and "/procedures/" not in path:
            assert "503" in op["responses"], path


def test_idempotency_key_misuse_is_a_client_error_not_a_server_error(web: httpx.Client) -> None:
    """Found by the schemathesis run: an empty ``Idempotency-Key`` was stored as a key, so a second
    request with an empty key hit the unique index (IntegrityError → 503); a key reused for another
    procedure answered 422 to a schema-valid body; a replayed key skipped validation (201 to a body
    with NUL in it)."""
    draft = {"procedure_code": TRANSFER, "applicant": APPLICANT}
    for _ in range(2):
        empty = web.post("/api/v1/applications", headers={"Idempotency-Key": ""}, json=draft)
        assert empty.status_code == 201, empty.text
    # one caller (the service token: keys are scoped to the caller, security #6) reusing its key
    key = {"Idempotency-Key": "k-1", "Authorization": "Bearer test-service-token"}
    assert web.post("/api/v1/applications", headers=key, json=draft).status_code == 201
    other = web.post("/api/v1/applications", headers=key, json={"procedure_code": COPY})
    assert other.status_code == 409 and other.json()["error"]["code"] == "conflict"
    invalid = {**draft, "fields": {"reason": "a\x00b"}}
    replay = web.post("/api/v1/applications", headers=key, json=invalid)
    assert replay.status_code == 422 and "fields.reason" in replay.json()["error"]["fields"]

"""The JSON API says what it does: findings ST204, ST103 and ST202 of the security review (§3,
schemathesis) and the hardening issue's "publish every constraint the server enforces".

Each test is one contract defect, tried on a portal served by uvicorn. The whole contract is
then checked by schemathesis in ``test_schemathesis.py``.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

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

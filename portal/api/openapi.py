"""``/openapi.json`` says what the server enforces, so a client can fill a form without guessing.

FastAPI derives the document from the pydantic models; the API's real rules live in the
definitions (each procedure's form fields) and in ``portal.applications.forms``. This module adds
them to the generated document: the request body of ``POST /api/v1/applications`` is one variant
per procedure in force (``procedure_code`` selects the variant and its ``fields``), the applicant's
values carry their patterns and lengths, the draft token and the multipart upload are declared,
and every error the server can answer is listed. The document is rebuilt each day (the rules
depend on today: procedures in force, birth years, dates in the past).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from portal.applications.schema import applicant_schema, fields_schema
from workflows.calendar import now as vn_now
from workflows.calendar import today as vn_today

API = "/api/v1"
ERROR = {"$ref": "#/components/schemas/ErrorResponse"}
DRAFT_TOKEN = [
    {
        "name": "X-Draft-Token",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "The draft's secret token: the `t` of the `resume_url` that creating it returned. "
        "Not needed with the service token or for the citizen who created the draft while logged in.",
    },
    {
        "name": "t",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "The same token as X-Draft-Token (as in `resume_url`); prefer the header.",
    },
]
UPLOAD = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["document_key", "file"],
                "properties": {
                    "document_key": {
                        "type": "string",
                        "description": "`key` of one of the procedure's `documents`",
                    },
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "A file of one of the document's `file_types` (checked by content), "
                        "at most `max_size_mb`",
                    },
                },
            }
        }
    },
}
# what each operation can answer besides its success; 503: the database is unreachable
ERRORS: dict[tuple[str, str], tuple[str, ...]] = {
    ("get", "/healthz"): ("503",),
    ("get", f"{API}/procedures"): ("422",),
    ("get", f"{API}/procedures/{{code}}"): ("404",),
    ("get", f"{API}/agencies"): (),
    ("post", f"{API}/applications"): ("404", "409", "422", "429", "503"),
    ("post", f"{API}/applications/{{application_id}}/attachments"): ("404", "409", "422", "503"),
    ("post", f"{API}/applications/{{application_id}}/submit"): ("404", "409", "422", "503"),
    ("get", f"{API}/applications/{{case_code}}"): ("404", "422", "429", "503"),
    ("post", f"{API}/callbacks"): ("409", "422", "429", "503"),
    ("get", f"{API}/fees/invoices"): ("404", "422", "429", "503"),
}
DESCRIPTIONS = {
    "404": "Not found (or not yours)",
    "409": "Changed meanwhile by another request (optimistic lock) or a key used for something else",
    "422": "Validation error: `fields` names each invalid value (Vietnamese messages)",
    "429": "Too many requests from this address; try again later",
    "503": "The database is unreachable; retry after `Retry-After` seconds",
}


SWAGGER_UI = "/static/vendor/swagger-ui-5.35.0"
DOCS_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>API — Cổng dịch vụ công ngành Giáo dục</title>
<link rel="stylesheet" href="{SWAGGER_UI}/swagger-ui.css">
</head><body><div id="swagger-ui"></div>
<script src="{SWAGGER_UI}/swagger-ui-bundle.js"></script>
<script src="/static/js/api-docs.js"></script>
</body></html>"""


def install(app: FastAPI) -> None:
    """The refined /openapi.json (rebuilt each day) and /api/docs, served from vendored Swagger UI."""
    generate: Callable[[], dict[str, Any]] = app.openapi
    built_on: list[date] = []

    @app.get("/api/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE)

    def openapi() -> dict[str, Any]:
        today = vn_today()  # the validators' today (Vietnam's date)
        if app.openapi_schema is None or built_on != [today]:
            app.openapi_schema = None
            document = generate()
            refine(document, app, today)
            app.openapi_schema = document
            built_on[:] = [today]
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def refine(document: dict[str, Any], app: FastAPI, today: date) -> None:
    schemas = document["components"]["schemas"]
    schemas["ApplicantIn"] = applicant_schema(today)
    schemas["ApplicationIn"] = _application_in(schemas, app, vn_now().date(), today)
    # a call-back may name the agency to phone back: one of the catalogue's (blank: the central desk)
    agency = schemas["CallbackIn"]["properties"]["agency_id"]
    agency.pop("anyOf", None)
    agency.update(
        {"type": ["string", "null"], "enum": [*sorted(app.state.catalogue.registry.agencies), "", None]}
    )
    paths = document["paths"]
    for path in (
        f"{API}/applications/{{application_id}}/attachments",
        f"{API}/applications/{{application_id}}/submit",
    ):
        operation = paths[path]["post"]
        operation["parameters"] = [*operation.get("parameters", []), *DRAFT_TOKEN]
    paths[f"{API}/applications/{{application_id}}/attachments"]["post"]["requestBody"] = UPLOAD
    health = paths["/healthz"]["get"]["responses"]
    health["200"]["content"]["application/json"]["schema"] = _HEALTH
    for (method, path), codes in ERRORS.items():
        responses = paths[path][method]["responses"]
        for code in [c for c in responses if c[0] in "45" and c not in codes]:
            del responses[code]  # declared by a shared default, never answered here
        for code in codes:
            if path == "/healthz":
                responses[code] = {
                    "description": "Degraded",
                    "content": {"application/json": {"schema": _HEALTH}},
                }
            else:
                content = {"application/json": {"schema": ERROR}}
                responses[code] = {"description": DESCRIPTIONS[code], "content": content}


def _application_in(schemas: dict[str, Any], app: FastAPI, on: date, today: date) -> dict[str, Any]:
    """One variant per procedure in force: its code, its receiving agencies and its form fields."""
    variants = []
    for definition in app.state.registry.in_force(on):
        code = definition.code
        schemas[f"Fields_{code}"] = fields_schema(definition, today)
        agencies: list[str | None] = [*definition.agencies, "", None]
        variants.append(
            {
                "type": "object",
                "title": f"ApplicationIn {code}",
                "required": ["procedure_code"],
                "properties": {
                    "procedure_code": {"type": "string", "const": code},
                    "agency_id": {
                        "enum": agencies,
                        "description": "The receiving agency (blank: choose later; one agency: that one)",
                    },
                    "applicant": {"$ref": "#/components/schemas/ApplicantIn"},
                    "fields": {"$ref": f"#/components/schemas/Fields_{code}"},
                },
            }
        )
    return {
        "title": "ApplicationIn",
        "description": "A draft of one procedure; `procedure_code` chooses the variant. Values may be "
        "blank in a draft; the procedure's `required` fields are needed before submission.",
        "oneOf": variants,
    }


_HEALTH = {
    "type": "object",
    "required": ["status", "database"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded"]},
        "database": {"type": "string", "enum": ["ok", "unavailable"]},
        "dialect": {"type": "string"},
        "detail": {"type": "string"},
    },
}

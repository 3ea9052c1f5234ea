"""The JSON API against its own ``/openapi.json``: schemathesis, every check, no failure allowed.

The security review (§3) ran schemathesis by hand and found contract failures (ST204, ST103,
ST202); this runs the same tool in ``make test`` on SQLite and PostgreSQL, against a portal
served by uvicorn, anonymously and with the assistant's service token (it skips the rate limits
and may open any draft, so different code runs). Data is seeded so that operations get past 404:
a complete draft to submit, an open draft to attach files to (with its token), a submitted case
and a student with invoices to look up. The run is deterministic (fixed seed, bounded examples).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from tests.integration.test_api import APPLICANT, SERVICE, _complete_draft
from tests.payments_app.builders import PARENT_PHONE, school_world

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
MAX_EXAMPLES = 10


def _token(created: dict[str, Any]) -> str:
    return parse_qs(urlsplit(created["resume_url"]).query)["t"][0]


def _seed(app: FastAPI, web: httpx.Client) -> dict[str, str]:
    student = next(iter(school_world(app)["by_code"]))
    submitted = _complete_draft(web)
    case = web.post(f"/api/v1/applications/{submitted['id']}/submit", headers=SERVICE)
    assert case.status_code == 200, case.text
    to_submit = _complete_draft(web)
    open_draft = web.post(
        "/api/v1/applications",
        headers=SERVICE,
        json={"procedure_code": "2.002481", "agency_id": "H29.41.01", "applicant": APPLICANT},
    )
    assert open_draft.status_code == 201, open_draft.text
    return {
        "case_code": case.json()["case_code"],
        "phone": APPLICANT["phone"],
        "student": student,
        "to_submit": to_submit["id"],
        "to_submit_token": _token(to_submit),
        "draft": open_draft.json()["id"],
        "draft_token": _token(open_draft.json()),
    }


def _config(seed: dict[str, str]) -> str:
    def operation(path: str, parameters: dict[str, str], checks: str = "") -> str:
        values = ", ".join(f'"{k}" = "{v}"' for k, v in parameters.items())
        return f'[[operations]]\ninclude-path = "{path}"\nparameters = {{ {values} }}\n{checks}\n'

    return "\n".join(
        [
            "[phases.stateful]\nmax-steps = 6\n",
            operation("/api/v1/procedures/{code}", {"path.code": "2.002481"}),
            operation(
                "/api/v1/applications/{application_id}/submit",
                {"path.application_id": seed["to_submit"], "header.X-Draft-Token": seed["to_submit_token"]},
            ),
            # A file's content is checked (a real PDF/JPEG/PNG of the document's types): no schema can
            # say that, so generated "valid" uploads are refused with 422 by design; every other check runs.
            operation(
                "/api/v1/applications/{application_id}/attachments",
                {"path.application_id": seed["draft"], "header.X-Draft-Token": seed["draft_token"]},
                "[operations.checks.positive_data_acceptance]\nenabled = false\n",
            ),
            operation(
                "/api/v1/applications/{case_code}",
                {"path.case_code": seed["case_code"], "query.phone": seed["phone"]},
            ),
            operation(
                "/api/v1/fees/invoices", {"query.student_code": seed["student"], "query.phone": PARENT_PHONE}
            ),
        ]
    )


def _run(url: str, workdir: Path, name: str, *options: str) -> dict[str, Any]:
    """One schemathesis run (every check: the default); returns its counts, asserts none failed."""
    report, har = workdir / f"{name}.json", workdir / f"{name}.har"
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(workdir / "schemathesis.toml"),
        "--no-color",
        "run",
        f"{url}/openapi.json",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--generation-deterministic",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--report",
        "json,har",
        "--report-json-path",
        str(report),
        "--report-har-path",
        str(har),
        *options,
    ]
    started = time.monotonic()
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=600, check=False)
    summary = json.loads(report.read_text()) if report.exists() else {}
    entries = json.loads(har.read_text())["log"]["entries"] if har.exists() else []
    statuses = Counter(e["response"]["status"] for e in entries)
    counts = {
        "seconds": round(time.monotonic() - started),
        "operations": summary.get("operations", {}).get("tested"),
        "test_cases": summary.get("test_cases", {}).get("generated"),
        "requests": len(entries),
        "statuses": dict(sorted(statuses.items())),
        "server_errors": sum(n for status, n in statuses.items() if status >= 500),
        "failures": summary.get("failures"),
    }
    print(f"schemathesis {name}: {json.dumps(counts)}")
    assert done.returncode == 0, f"schemathesis {name} failed:\n{done.stdout}\n{done.stderr}"
    assert counts["server_errors"] == 0 and not counts["failures"], counts
    return counts


@pytest.mark.slow
def test_api_conforms_to_its_openapi_schema(
    app: FastAPI, served: tuple[str, FastAPI], web: httpx.Client, tmp_path: Path
) -> None:
    url, _ = served
    seed = _seed(app, web)
    (tmp_path / "schemathesis.toml").write_text(_config(seed))
    _run(url, tmp_path, "anonymous")
    # the token skips the rate limits and opens any draft; the catalogue reads do not look at it
    _run(
        url,
        tmp_path,
        "service-token",
        "--include-path-regex",
        "^/api/v1/(applications|callbacks|fees)",
        "--phases",
        "coverage,fuzzing",
        "-H",
        f"Authorization: {SERVICE['Authorization']}",
    )

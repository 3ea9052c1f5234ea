"""Attack tests for the insecure defaults and missing headers of the security review
(findings #10, #11 (SQL parameters), #17, #18, #20, #21, #22, #23)."""

from __future__ import annotations

import base64
import http.server
import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jinja2 import ChoiceLoader, DictLoader
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from portal import worker
from portal.config import ROOT, Settings
from portal.payments_app.gateway import DEV_HASH_SECRET, vnpay_config
from tests.backoffice.staff_builders import PASSWORD, create_staff, login, page_csrf
from tests.conftest import IS_PG, serve

STRONG = "Zq8vR2mK7xT4pL9wN3bY6cH1dF5gJ0sA-strong-secret"  # noqa: S105 (test data)


def _session_cookie(client: httpx.Client) -> dict[str, object]:
    raw = client.cookies.get("portal_session") or ""
    payload = raw.split(".")[0]
    return dict(json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4))))


# -- #10 insecure-by-default environment ---------------------------------------------------------


def test_10_a_deployment_that_forgets_the_environment_serves_no_development_tools(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    """#10: without PORTAL_ENVIRONMENT the portal runs as production: no /dev/mail, no VNPay sandbox."""
    monkeypatch.delenv("PORTAL_ENVIRONMENT", raising=False)
    monkeypatch.setenv("PORTAL_SECRET_KEY", STRONG)
    monkeypatch.setenv("PORTAL_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PORTAL_UPLOAD_DIR", str(settings.upload_dir))
    forgotten = Settings()
    assert forgotten.environment == "production"
    from portal.app import create_app

    with TestClient(create_app(forgotten)) as client:
        assert client.get("/dev/mail").status_code == 404
        assert client.get("/dev/sms").status_code == 404  # the one-time codes of the SMS sink
        assert client.get("/dev/vnpay/paymentv2/vpcpay.html").status_code == 404


def test_10_development_mode_is_refused_on_a_public_address(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    """#10: development mode only on loopback — `portal serve`, app startup and each request."""
    from portal import cli
    from portal.app import create_app

    dev = settings.model_copy(update={"environment": "development", "base_url": "http://127.0.0.1:8000"})
    with pytest.raises(RuntimeError, match="loopback"):
        create_app(dev.model_copy(update={"host": "0.0.0.0"}))  # noqa: S104 - the attack

    started: list[object] = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: started.append((a, k)))
    monkeypatch.setattr(cli, "get_settings", lambda: dev)
    assert cli.main(["serve", "--host", "0.0.0.0"]) != 0  # noqa: S104 - the attack
    assert started == []

    # served anyway (e.g. `uvicorn --host 0.0.0.0 portal.asgi:app`): a remote client gets nothing
    with TestClient(create_app(dev), client=("203.0.113.9", 40000)) as remote:
        response = remote.get("/dev/mail")
        assert response.status_code == 403
        assert "203.0.113.9" not in response.text
        # the IPN, answered in front of the pages' middleware, is behind this check too
        assert remote.get("/thanh-toan/vnpay/ipn").status_code == 403
        assert remote.get("/dev/sms").status_code == 403


def test_10_the_public_development_vnpay_secret_needs_the_sandbox() -> None:
    """#10: IPNs signed with the public DEV_HASH_SECRET are accepted only by the local sandbox."""
    with pytest.raises(ValidationError, match="PORTAL_VNPAY_HASH_SECRET"):
        Settings(
            environment="test",
            secret_key=STRONG,
            vnpay_tmn_code="DEVPORTL",
            vnpay_hash_secret=DEV_HASH_SECRET,
            vnpay_sandbox=False,
        )
    # sandbox off and nothing configured: no silent fallback to the public secret
    no_sandbox = Settings(environment="development", secret_key=STRONG, vnpay_sandbox=False)
    config = vnpay_config(no_sandbox)
    assert config is None or config.hash_secret != DEV_HASH_SECRET


# -- #11 (part) SQL parameters in logs ------------------------------------------------------------


def test_11_sql_parameters_never_reach_error_messages(served: tuple[str, FastAPI]) -> None:
    """#11: a failing statement's message (what the 503 handler logs) carries no bound values."""
    _, app = served
    with pytest.raises(DBAPIError) as failed, app.state.db.engine.connect() as conn:
        conn.execute(
            text("SELECT no_such_column FROM staff_members WHERE login = :p"), {"p": "0912345678-CCCD"}
        )
    assert "0912345678-CCCD" not in str(failed.value)


# -- #17 plaintext password in the session cookie; staff sessions ---------------------------------


def _admin(app: FastAPI) -> int:
    with app.state.db.sessions() as session:
        create_staff(session, "quantri", "Quản trị", ["admin"])
        target = create_staff(session, "chuyenvien", "Võ Minh Tuấn", ["chuyen_vien"])
        session.commit()
        return target.id


def test_17_a_reset_password_is_shown_once_and_never_put_in_the_cookie(
    served: tuple[str, FastAPI], web: httpx.Client
) -> None:
    """#17: the admin-reset password appears in the POST's answer, not in the signed session cookie."""
    target = _admin(served[1])
    login(web, "quantri", PASSWORD, app=served[1])
    edit = f"/can-bo/quan-tri/can-bo/{target}"
    token = page_csrf(web.get(edit).text)
    reset = web.post(f"{edit}/dat-lai-mat-khau", data={"csrf_token": token})
    assert reset.status_code == 200
    assert reset.headers["cache-control"] == "no-store"
    shown = re.search(r"<code>([^<]+)</code>", reset.text)
    assert shown
    assert shown.group(1) not in json.dumps(_session_cookie(web))
    assert "<code>" not in web.get(edit).text  # shown once


def test_17_staff_sessions_end_after_idle_time(app: FastAPI, secure_settings: Settings) -> None:
    """#17: a copied staff cookie stops working once the session has been idle too long."""
    short = secure_settings.model_copy(update={"staff_session_idle_seconds": 4})
    with serve(short) as (url, served), httpx.Client(base_url=url, follow_redirects=False) as web:
        _admin(served)
        login(web, "quantri", PASSWORD, app=served)
        assert web.get("/can-bo/quan-tri/can-bo").status_code == 200
        time.sleep(5.5)
        assert web.get("/can-bo/quan-tri/can-bo").status_code == 303  # back to the login page


# -- #18 caching, CSP, HSTS -------------------------------------------------------------------------


def test_18_personal_pages_are_not_stored_and_scripts_are_same_origin_only(web: httpx.Client) -> None:
    """#18: every dynamic answer is `no-store`; a CSP allows only same-origin scripts; no inline code."""
    for path in ("/", "/thu-tuc", "/tra-cuu", "/dang-nhap", "/chat", "/can-bo/dang-nhap", "/hoc-phi"):
        response = web.get(path)
        assert response.headers.get("cache-control") == "no-store", path
        csp = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp and "unsafe" not in csp, (path, csp)
        assert "frame-ancestors 'none'" in csp
        if response.status_code == 200:
            html = response.text
            assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
            assert not re.search(r"\s(on[a-z]+|hx-on[:\w-]*|style)=", html), path
    tokenised = web.get("/thanh-toan/X/bien-lai.pdf?k=whatever")
    assert tokenised.headers.get("cache-control") == "no-store"
    static = web.get("/static/css/portal.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("cache-control", "")


def test_18_templates_have_no_inline_script_or_style_attributes() -> None:
    """#18: the CSP has no 'unsafe-inline': a template with inline code would silently break."""
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        if path.parts[-2] in ("documents", "emails") or "documents" in path.parts:
            continue  # PDF documents and e-mails are not served under the page CSP
        source = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\shx-on|\son[a-z]+=", source):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_18_production_sends_hsts(settings: Settings) -> None:
    """#18: production answers carry Strict-Transport-Security."""
    from portal.app import create_app

    production = settings.model_copy(update={"environment": "production", "secret_key": STRONG})
    with TestClient(create_app(production), base_url="https://testserver") as client:
        assert "max-age=" in client.get("/thu-tuc").headers.get("strict-transport-security", "")


# -- #20 weak production secrets, Rasa HTTP API ------------------------------------------------------


@pytest.mark.parametrize(
    "weak",
    [
        {"secret_key": "x"},
        {"secret_key": "s" * 48},
        {"secret_key": STRONG, "service_token": "dev-service-token"},
        {"secret_key": STRONG, "service_token": "short"},
        {"secret_key": STRONG, "rasa_token": "dev-rasa-token"},
        {"secret_key": STRONG, "vnpay_tmn_code": "T1", "vnpay_hash_secret": "abc"},
    ],
)
def test_20_weak_production_secrets_are_refused(weak: dict[str, str]) -> None:
    """#20: `Settings(environment='production', secret_key='x')` and friends must not start."""
    with pytest.raises(ValidationError) as refused:
        Settings(environment="production", **weak)  # type: ignore[arg-type]
    assert "input_value" not in str(refused.value)  # the error (in deployment logs) shows no secrets


def test_20_the_default_rasa_token_is_refused_outside_development() -> None:
    """#20: the public development Rasa token is refused in test and production."""
    with pytest.raises(ValidationError, match="PORTAL_RASA_TOKEN"):
        Settings(environment="test", secret_key=STRONG, rasa_token="dev-rasa-token")  # noqa: S106
    assert Settings(environment="production", secret_key=STRONG).environment == "production"


def test_20_rasa_does_not_expose_its_http_api_with_a_default_token() -> None:
    """#20: run.sh serves the REST channel only; the HTTP API needs an opt-in and a real token."""
    script = (ROOT / "chatbot" / "scripts" / "run.sh").read_text()
    assert "dev-rasa-token" not in script
    enabling = [
        line for line in script.splitlines() if "--enable-api" in line and not line.strip().startswith("#")
    ]
    assert all("API_ARGS" in line or "CHATBOT_ENABLE_API" in line for line in enabling), enabling
    makefile = (ROOT / "Makefile").read_text()
    assert "dev-rasa-token" not in makefile


# -- #21 open redirect through HX-Redirect ------------------------------------------------------------


@pytest.mark.parametrize(
    "target", ["/\\evil.example", "//evil.example", "/\t/evil.example", "https://evil.example"]
)
def test_21_htmx_redirects_stay_on_the_site(web: httpx.Client, target: str) -> None:
    """#21: `next=/\\evil.example` must not reach HX-Redirect raw (browsers read it as //evil.example)."""
    response = web.get("/ngon-ngu/en", params={"next": target}, headers={"HX-Request": "true"})
    assert response.headers.get("hx-redirect") == "/"
    plain = web.get("/ngon-ngu/en", params={"next": target})
    assert plain.headers["location"] == "/"


# -- #22 WeasyPrint fetches anything ----------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { color: red }")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_22_pdf_rendering_fetches_no_url_and_no_local_file(
    monkeypatch: pytest.MonkeyPatch, listener: tuple[str, list[str]], tmp_path: Path
) -> None:
    """#22: a template that ever emits user data unescaped must not turn WeasyPrint into SSRF/LFI."""
    from portal.applications import documents
    from portal.templating import env

    secret = tmp_path / "secret.css"
    secret.write_text("@page { size: 100mm 100mm }")  # visible in the PDF if the file is read
    url, seen = listener
    evil = (
        f'<link rel="stylesheet" href="{url}/ssrf.css"><img src="{url}/ssrf.png">'
        f'<link rel="stylesheet" href="file://{secret}"><p>x</p>'
    )
    monkeypatch.setattr(env, "loader", ChoiceLoader([DictLoader({"evil_test.html": evil}), env.loader]))
    pdf = documents.render_pdf("evil_test.html", {})
    assert pdf.startswith(b"%PDF")
    assert seen == []
    assert "283.46" not in _page_size(pdf)  # a 100 mm page: the local file was read

    # bundled assets still load
    own = f'<link rel="stylesheet" href="file://{secret}">'
    monkeypatch.setattr(documents, "ASSET_DIRS", (*documents.ASSET_DIRS, tmp_path))
    monkeypatch.setattr(env, "loader", ChoiceLoader([DictLoader({"own_test.html": own}), env.loader]))
    assert "283.46" in _page_size(documents.render_pdf("own_test.html", {}))


def _page_size(pdf: bytes) -> str:
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return next(line for line in info.splitlines() if line.startswith("Page size"))


# -- #23 database timeouts and the worker ---------------------------------------------------------------


@pytest.mark.postgres
def test_23_postgresql_sessions_have_timeouts(served: tuple[str, FastAPI]) -> None:
    """#23: a runaway statement is cancelled by PostgreSQL instead of holding a connection forever."""
    assert IS_PG
    _, app = served
    with app.state.db.engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() not in ("0", None)
    assert app.state.db.engine.pool.timeout() <= 30


def test_23_a_slow_job_does_not_delay_the_others() -> None:
    """#23: one black-holed SMTP server must not hold up reconciliation and deadline alerts."""
    release = threading.Event()
    fast_ran = threading.Event()

    def slow() -> None:
        release.wait(10)

    scheduler = worker.Scheduler([("slow_smtp", 60.0, slow), ("reconcile", 60.0, fast_ran.set)])
    try:
        scheduler.tick()
        assert fast_ran.wait(3), "the second job waited for the first one"
    finally:
        release.set()
        scheduler.join(15)

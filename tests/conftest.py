"""Test harness: a database built by the Alembic migrations, reset between tests.

`PORTAL_TEST_DATABASE_URL` selects PostgreSQL; otherwise a SQLite file is used.
SQLite is reset by copying a freshly migrated template file; PostgreSQL by
TRUNCATE (which does not fire the history table's immutability trigger).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, make_url, text

from portal.app import create_app
from portal.cli import migrate
from portal.config import Settings

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")

if os.environ.get("FAKETIME"):
    # `make test-dates` runs the suite under libfaketime with the real monotonic clock, where
    # Python >= 3.11's time.sleep fails with EINVAL (wolfcw/libfaketime#426) — in tests and in the
    # libraries they call (subprocess.wait with a timeout sleeps). A timed wait on an Event that is
    # never set sleeps the same time by another system call, and nothing else changes.
    _never = threading.Event()

    def _sleep(seconds: float) -> None:
        _never.wait(max(0.0, seconds))

    time.sleep = _sleep
IS_PG = PG_URL.startswith("postgresql")


def _drives_chromium(item: pytest.Item, sources: dict[Path, str]) -> bool:
    path = Path(str(item.fspath))
    if path not in sources:
        sources[path] = path.read_text(encoding="utf-8") if path.suffix == ".py" else ""
    uses = getattr(item, "fixturenames", ())
    return "playwright" in sources[path] or "chromium" in sources[path].lower() or "page" in uses


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    sources: dict[Path, str] = {}
    for item in items:
        # `make test-dates` runs `-m 'not browser'`: an unmarked Chromium test would run under libfaketime
        if not item.get_closest_marker("browser") and _drives_chromium(item, sources):
            raise pytest.UsageError(f"{item.nodeid} drives Chromium: mark it @pytest.mark.browser")
        if item.get_closest_marker("postgres") and not IS_PG:
            item.add_marker(
                pytest.mark.skip(reason="PostgreSQL-only; runs in the PostgreSQL pass of make test")
            )


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("portal")


@pytest.fixture(scope="session")
def database_url(workdir: Path) -> Iterator[str]:
    if IS_PG:
        # a private database per test run, so parallel runs on one server never collide
        name = f"portal_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        migrate(url)
        yield url
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        template = workdir / "template.db"
        migrate(f"sqlite:///{template}")
        live = workdir / "test.db"
        shutil.copy(template, live)
        yield f"sqlite:///{live}"


@pytest.fixture(scope="session")
def settings(database_url: str, workdir: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        secret_key="test-secret-key-not-for-production",
        base_url="http://testserver",
        upload_dir=workdir / "uploads",
        dev_pki_dir=workdir / "pki",  # a test CA made by this run at this run's clock, not var/pki
        dev_idp_dir=workdir / "dev-idp",  # the development identity provider's key, not var/dev-idp
        service_token="test-service-token",
        tracking_max_lookups=1000,
        db_pool_size=8,
    )


@pytest.fixture(scope="session")
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


# Other app instances on the same database (live servers); their pools are emptied before a reset
# so no connection survives the SQLite file being replaced underneath it.
OTHER_APPS: list[FastAPI] = []


def _reset(app: FastAPI, database_url: str, workdir: Path) -> None:
    for other in OTHER_APPS:
        other.state.db.engine.dispose()
    engine = app.state.db.engine
    if IS_PG:
        tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
        if tables:
            with engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        engine.dispose()
        live = Path(re.sub(r"^sqlite:///", "", database_url))
        for suffix in ("-wal", "-shm"):
            Path(str(live) + suffix).unlink(missing_ok=True)
        shutil.copy(workdir / "template.db", live)


@pytest.fixture(autouse=True)
def clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    if "app" not in request.fixturenames and "db_session" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    _reset(app, request.getfixturevalue("database_url"), request.getfixturevalue("workdir"))
    yield


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def db_session(app: FastAPI) -> Iterator[object]:
    with app.state.db.sessions() as session:
        yield session


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(settings: Settings) -> Iterator[tuple[str, FastAPI]]:
    """The portal served by uvicorn on a free loopback port; stopped and its pool closed afterwards."""
    import uvicorn

    port = _free_port()
    served = create_app(settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"}))
    OTHER_APPS.append(served)
    server = uvicorn.Server(uvicorn.Config(served, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline, pause = time.monotonic() + 20, threading.Event()
    while not server.started and time.monotonic() < deadline:
        # not time.sleep: under `make test-dates` (libfaketime, real monotonic clock) Python ≥ 3.11's
        # time.sleep fails with EINVAL (wolfcw/libfaketime#426); a timed Event wait does not
        pause.wait(0.05)
    try:
        yield f"http://127.0.0.1:{port}", served
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        served.state.db.dispose()
        OTHER_APPS.remove(served)


@pytest.fixture(scope="session")
def live_server(settings: Settings) -> Iterator[str]:
    """One portal on a real socket for the whole run (browser and concurrency tests)."""
    with serve(settings) as (url, _):
        yield url


@pytest.fixture
def live_portal(app: FastAPI, settings: Settings) -> Iterator[str]:
    """A portal on a real socket for one test, stopped afterwards with its connections closed."""
    with serve(settings) as (url, _):
        yield url

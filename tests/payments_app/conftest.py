"""Payment fixtures: a school with invoices, an accountant's client, PDF text."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.backoffice.staff_builders import PASSWORD, create_staff, login
from tests.payments_app.builders import school_world


@pytest.fixture
def world(app: FastAPI) -> dict[str, Any]:
    """A school (agency H29.41.04), 2 classes, 4 students, December invoices (1.550.000 đ each)."""
    return school_world(app)


@pytest.fixture
def accountant(app: FastAPI) -> Iterator[TestClient]:
    """A client logged in as the school accountant (role ke_toan at H29.41.04)."""
    with app.state.db.sessions() as session:
        create_staff(session, "ketoan", "Trương Văn Phúc", ["ke_toan"])
        session.commit()
    with TestClient(app, base_url="http://testserver") as c:
        login(c, "ketoan", PASSWORD)
        yield c


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF"), content[:50]
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
    ).stdout.decode()


@pytest.fixture
def live_portal(app: FastAPI, settings: Any) -> Iterator[str]:
    """The portal (with its VNPay sandbox) on a real socket, stopped after the test with its
    connections closed: on SQLite the harness resets the database by copying a file over it."""
    import socket
    import threading
    import time

    import uvicorn

    from portal.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    served = create_app(settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"}))
    server = uvicorn.Server(uvicorn.Config(served, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    served.state.db.dispose()

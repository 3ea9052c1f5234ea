"""Attack tests: each test is one finding of the security review, tried against a portal served
on a real socket (uvicorn), on SQLite and on PostgreSQL, with production-like limits.

A test here must fail on the code before its fix. Use ``web`` (an httpx client on the live portal,
no redirects followed) and the builders of the other suites; keep one finding per test and name
the finding in the docstring.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from portal.config import Settings
from tests.assistant.conftest import rasa  # noqa: F401  (the fake Rasa, for transcript tests)
from tests.conftest import serve


@pytest.fixture
def secure_settings(settings: Settings) -> Settings:
    """The test settings with the limits a real deployment has (the suite's default raises them)."""
    return settings.model_copy(
        update={"tracking_max_lookups": 30, "login_max_failures": 5, "login_max_failures_per_account": 10}
    )


@pytest.fixture
def served(app: FastAPI, secure_settings: Settings) -> Iterator[tuple[str, FastAPI]]:
    """A portal on a free loopback port for one test (``app`` resets the database first)."""
    with serve(secure_settings) as (url, served_app):
        yield url, served_app


@pytest.fixture
def portal_url(served: tuple[str, FastAPI]) -> str:
    return served[0]


@pytest.fixture
def web(portal_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=portal_url, follow_redirects=False, timeout=60) as client:
        yield client

"""An app on a fixed, movable clock whose OpenID Connect client reaches the development provider
in-process (the same app, over an httpx ASGI transport): the real protocol, no network, no wall clock."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from portal.app import create_app
from portal.config import Settings
from tests.conftest import OTHER_APPS

NOW = datetime.fromisoformat("2026-12-09T09:30:00+07:00")


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture(scope="module")
def module_clock() -> Clock:
    return Clock()


@pytest.fixture
def clock(module_clock: Clock) -> Clock:
    module_clock.now = NOW  # each test starts at the same moment
    return module_clock


@pytest.fixture(scope="module")
def idp_app(app: FastAPI, settings: Settings, module_clock: Clock) -> Iterator[FastAPI]:
    """One app per test module (building one takes seconds); ``app`` is in the closure, so the
    database is reset before each test (tests/conftest.py)."""
    built = create_app(settings, clock=module_clock)
    built.state.oidc_client.http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=built), base_url="http://testserver"
    )
    OTHER_APPS.append(built)
    yield built
    OTHER_APPS.remove(built)
    built.state.db.dispose()


@pytest.fixture
def idp_client(idp_app: FastAPI, clock: Clock) -> Iterator[TestClient]:
    with TestClient(idp_app, base_url="http://testserver") as c:
        yield c


def hidden_inputs(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def provider_redirect(client: TestClient, start: str = "/dang-nhap/dinh-danh", **query: str) -> str:
    """Start a sign-in at the portal; returns the provider's authorization URL it sent us to."""
    r = client.get(start, params=query, follow_redirects=False)
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert location.startswith("http://testserver/dev/oidc/authorize?")
    return str(location)


def pick_citizen(client: TestClient, authorize_url: str, subject: str = "dev-vneid-0002") -> str:
    """At the development provider: choose a demo citizen; returns the portal callback URL (code + state)."""
    page = client.get(authorize_url)
    assert page.status_code == 200, page.text
    form: dict[str, Any] = hidden_inputs(page.text)
    form.update(subject=subject, decision="allow")
    r = client.post("/dev/oidc/authorize", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def sign_in(client: TestClient, subject: str = "dev-vneid-0002", **query: str) -> httpx.Response:
    callback = pick_citizen(client, provider_redirect(client, **query), subject)
    return client.get(callback, follow_redirects=False)

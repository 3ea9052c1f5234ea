"""Fixtures for payment tests; the builders live in payment_builders.py (importable by tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from payment_builders import (
    MERCHANT_BASE,
    SANDBOX_BASE,
    SECRET,
    TMN,
    Clock,
    FakeMerchant,
    World,
    vnpay_config,
)

from payments.sandbox import IpnKnobs, SandboxConfig, create_sandbox_app, sandbox_of
from payments.vnpay import VNPayProvider


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sandbox_overrides() -> dict[str, Any]:
    """Override in a test module (or parametrize) to change the SandboxConfig."""
    return {}


@pytest.fixture
async def world(sandbox_overrides: dict[str, Any]) -> AsyncIterator[World]:
    clock = Clock()  # the sandbox, the provider and the test agree on "now", whatever the wall clock says
    merchant = FakeMerchant(VNPayProvider(vnpay_config(), clock=clock))
    ipn_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=merchant.app()))
    settings: dict[str, Any] = {
        "tmn_code": TMN,
        "hash_secret": SECRET,
        "ipn_url": f"{MERCHANT_BASE}/ipn",
        "ipn_client": ipn_client,
        "ipn_retry_interval_s": 30.0,  # long: tests advance retries with retry_now()
        "ipn": IpnKnobs(),
        "clock": clock,
    }
    settings.update(sandbox_overrides)
    app = create_sandbox_app(SandboxConfig(**settings))
    api_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SANDBOX_BASE)
    browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SANDBOX_BASE)
    provider = VNPayProvider(vnpay_config(), http_client=api_client, clock=clock)
    try:
        yield World(app, sandbox_of(app), provider, merchant, browser, api_client, clock)
    finally:
        await sandbox_of(app).ipn.aclose()
        for client in (ipn_client, api_client, browser):
            await client.aclose()

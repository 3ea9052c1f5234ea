"""VNPay configuration from the settings, and the local sandbox mounted at /dev/vnpay.

Secrets come only from the environment (PORTAL_VNPAY_*). Outside production,
empty settings fall back to a development terminal served by the local
sandbox (payments.sandbox), whose IPNs reach our IPN endpoint in-process, so
`make run` pays end to end offline. The sandbox is never mounted in production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from payments.sandbox import IpnKnobs, SandboxConfig, create_sandbox_app
from payments.vnpay import VNPayConfig, VNPayProvider
from portal.config import DEV_VNPAY_HASH_SECRET, Settings

SANDBOX_PREFIX = "/dev/vnpay"
IPN_PATH = "/thanh-toan/vnpay/ipn"
RETURN_PATH = "/thanh-toan/vnpay/ket-qua"
DEV_TMN_CODE = "DEVPORTL"
DEV_HASH_SECRET = DEV_VNPAY_HASH_SECRET  # public: used only with the local sandbox, refused otherwise
VNPAY_MIN_AMOUNT = 5_000  # VNPay refuses payments under 5,000 đ
VNPAY_MAX_AMOUNT = 999_999_999


class PaymentsNotConfigured(RuntimeError):
    pass


def sandbox_enabled(settings: Settings) -> bool:
    if settings.environment == "production":
        return False  # Settings refuses PORTAL_VNPAY_SANDBOX=true in production anyway
    return settings.vnpay_sandbox if settings.vnpay_sandbox is not None else True


def _base(settings: Settings) -> str:
    return str(settings.base_url).rstrip("/")


def vnpay_config(settings: Settings) -> VNPayConfig | None:
    """None when VNPay is not configured (production without PORTAL_VNPAY_TMN_CODE/SECRET)."""
    sandbox = sandbox_enabled(settings)
    tmn, secret = settings.vnpay_tmn_code, settings.vnpay_hash_secret
    if not (tmn and secret):
        # the public development terminal only together with the local sandbox it belongs to: anywhere
        # else anyone could sign IPNs with it and mark fees paid
        if not sandbox or settings.vnpay_pay_url:
            return None
        tmn, secret = DEV_TMN_CODE, DEV_HASH_SECRET
    base = _base(settings)
    pay_url = settings.vnpay_pay_url or (f"{base}{SANDBOX_PREFIX}/paymentv2/vpcpay.html" if sandbox else "")
    api_url = settings.vnpay_api_url or (
        f"{base}{SANDBOX_PREFIX}/merchant_webapi/api/transaction" if sandbox else ""
    )
    if not pay_url or not api_url:
        if settings.environment == "production":
            raise PaymentsNotConfigured("PORTAL_VNPAY_PAY_URL and PORTAL_VNPAY_API_URL must be set")
        from payments.vnpay import SANDBOX_API_URL, SANDBOX_PAY_URL

        pay_url, api_url = pay_url or SANDBOX_PAY_URL, api_url or SANDBOX_API_URL
    return VNPayConfig(
        tmn_code=tmn,
        hash_secret=secret,
        return_url=settings.vnpay_return_url or f"{base}{RETURN_PATH}",
        pay_url=pay_url,
        api_url=api_url,
    )


@dataclass
class Gateway:
    """What the portal needs of VNPay: a provider per use, built from one config."""

    config: VNPayConfig | None
    app: Any = None  # the portal app, when the sandbox is served in-process

    @property
    def available(self) -> bool:
        return self.config is not None

    def provider(self, http_client: httpx.AsyncClient | None = None) -> VNPayProvider:
        if self.config is None:
            raise PaymentsNotConfigured("VNPay is not configured")
        return VNPayProvider(self.config, http_client=http_client)

    @asynccontextmanager
    async def api_provider(self) -> AsyncIterator[VNPayProvider]:
        """A provider for querydr/refund: in-process when we serve the sandbox ourselves."""
        if self.app is None:
            yield self.provider()
            return
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal.local") as client:
            yield self.provider(http_client=client)


def install_gateway(app: Any) -> Gateway:
    """Called by the hook: builds the gateway and mounts the sandbox when it is enabled."""
    settings: Settings = app.state.settings
    config = vnpay_config(settings)
    sandbox = sandbox_enabled(settings) and config is not None and not settings.vnpay_pay_url
    gateway = Gateway(config, app if sandbox else None)
    if sandbox and config is not None:
        ipn_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=_base(settings))
        sandbox_app = create_sandbox_app(
            SandboxConfig(
                tmn_code=config.tmn_code,
                hash_secret=config.hash_secret,
                ipn_url=settings.vnpay_ipn_url or f"{_base(settings)}{IPN_PATH}",
                production=settings.environment == "production",
                ipn_client=ipn_client,
                ipn_retry_interval_s=60.0,
                ipn=IpnKnobs(),
                refund_auto_settle=True,
            )
        )
        app.mount(SANDBOX_PREFIX, sandbox_app)
        app.state.vnpay_sandbox = sandbox_app
    app.state.payments_gateway = gateway
    return gateway


def job_gateway(settings: Settings) -> Gateway:
    """For `portal worker`: no app in this process, so querydr/refund go over HTTP."""
    return Gateway(vnpay_config(settings))

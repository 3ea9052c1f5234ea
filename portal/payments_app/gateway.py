"""The payment providers the portal may use, registered by name at start-up, and the VNPay sandbox.

`build_gateway` is the one place providers are built (for the app and for `portal worker`); the
rest of the portal looks them up by name in its `payments.registry.ProviderRegistry`.

Secrets come only from the environment (PORTAL_VNPAY_*). Outside production,
empty settings fall back to a development terminal served by the local
sandbox (payments.sandbox), whose IPNs reach our IPN endpoint in-process, so
`make run` pays end to end offline. The sandbox is never mounted in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from payments.base import PaymentProvider
from payments.registry import ProviderRegistry
from payments.sandbox import IpnKnobs, SandboxConfig, create_sandbox_app
from payments.vietqr import VietQRTransferProvider
from payments.vnpay import VNPayConfig, VNPayProvider
from portal.config import DEV_VNPAY_HASH_SECRET, Settings

SANDBOX_PREFIX = "/dev/vnpay"
IPN_ROUTE = "/thanh-toan/{provider}/ipn"  # {provider}: a registered provider's name
RETURN_ROUTE = "/thanh-toan/{provider}/ket-qua"
IPN_PATH = IPN_ROUTE.format(provider=VNPayProvider.name)  # what VNPay is told to call
RETURN_PATH = RETURN_ROUTE.format(provider=VNPayProvider.name)
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


def channel_label(name: str | None) -> str:
    """What people read for a provider's name (receipts, reports, case history); the name if unknown."""
    return _LABELS.get(name or "", name or "")


_LABELS = {VNPayProvider.name: VNPayProvider.label, VietQRTransferProvider.name: VietQRTransferProvider.label}


@dataclass(frozen=True)
class Gateway:
    """The portal's only way to a payment provider: by name, from one registry built at start-up.

    `online` names the provider new online payments start with (VNPay, the real one or the local
    sandbox: only the registered config differs); None when it is not configured. Stored rows keep
    the provider's name, and everything later (IPN, reconciliation, refunds) looks that name up."""

    registry: ProviderRegistry
    online: str | None = None
    transfer: str = VietQRTransferProvider.name

    @property
    def available(self) -> bool:
        return self.online is not None and self.online in self.registry

    def provider(self, name: str | None = None) -> PaymentProvider:
        """`name` (an attempt's stored provider) or the online one; UnknownProvider if not registered."""
        if name is None:
            if self.online is None:
                raise PaymentsNotConfigured("online payments are not configured")
            name = self.online
        return self.registry.get(name)

    def queryable(self) -> list[str]:
        """Providers whose payments can be asked about (querydr): all but the bank transfer."""
        return [name for name in self.registry.names() if name != self.transfer]

    def transfer_provider(self) -> VietQRTransferProvider:
        provider = self.registry.get(self.transfer)
        if not isinstance(provider, VietQRTransferProvider):
            raise PaymentsNotConfigured(f"{self.transfer!r} is not a bank transfer provider")
        return provider


def build_gateway(settings: Settings, *, app: Any = None) -> Gateway:
    """The registry of the app and of `portal worker` alike. `app`: the portal serving the VNPay
    sandbox in-process, so querydr/refund reach it without a network."""
    registry = ProviderRegistry()
    config = vnpay_config(settings)
    online = None
    if config is not None:
        client = None
        if app is not None:
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal.local")
        online = registry.register(VNPayProvider(config, http_client=client)).name
    registry.register(VietQRTransferProvider())  # each school's account: `for_account`
    return Gateway(registry, online)


def install_gateway(app: Any) -> Gateway:
    """Called by the hook: builds the gateway and mounts the sandbox when it is enabled."""
    settings: Settings = app.state.settings
    config = vnpay_config(settings)
    sandbox = sandbox_enabled(settings) and config is not None and not settings.vnpay_pay_url
    gateway = build_gateway(settings, app=app if sandbox else None)
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
    return build_gateway(settings)

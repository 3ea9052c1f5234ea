"""Which identity provider the portal uses, from the settings: a real one (PORTAL_OIDC_ISSUER + client
id/secret) or, outside production, the development provider served by the portal at /dev/oidc."""

from __future__ import annotations

from portal.config import DEV_OIDC_CLIENT_SECRET, Settings
from portal.identity.oidc import ProviderConfig

DEV_PREFIX = "/dev/oidc"
DEV_CLIENT_ID = "portal-dev"
CALLBACK_PATH = "/dang-nhap/dinh-danh/ket-qua"


def dev_provider_enabled(settings: Settings) -> bool:
    if settings.environment == "production":
        return False  # Settings refuses PORTAL_OIDC_DEV_PROVIDER=true in production anyway
    return settings.oidc_dev_provider if settings.oidc_dev_provider is not None else True


def base_url(settings: Settings) -> str:
    return str(settings.base_url).rstrip("/")


def dev_issuer(settings: Settings) -> str:
    return base_url(settings) + DEV_PREFIX


def provider_config(settings: Settings) -> ProviderConfig | None:
    """None: no identity provider (production without PORTAL_OIDC_ISSUER)."""
    if settings.oidc_issuer:
        issuer, client_id, secret = settings.oidc_issuer, settings.oidc_client_id, settings.oidc_client_secret
    elif dev_provider_enabled(settings):
        issuer, client_id, secret = dev_issuer(settings), DEV_CLIENT_ID, DEV_OIDC_CLIENT_SECRET
    else:
        return None
    return ProviderConfig(
        issuer=issuer,
        client_id=client_id,
        client_secret=secret,
        redirect_uri=base_url(settings) + CALLBACK_PATH,
        scopes=settings.oidc_scopes,
        claim_pid=settings.oidc_claim_pid,
        claim_name=settings.oidc_claim_name,
        claim_birthdate=settings.oidc_claim_birthdate,
        clock_skew_seconds=settings.oidc_clock_skew_seconds,
        timeout_seconds=settings.oidc_timeout_seconds,
    )

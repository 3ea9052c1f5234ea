"""Identity: citizen sign-in through OpenID Connect, and the development provider outside production."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from fastapi import APIRouter, FastAPI

from portal.config import Settings
from portal.identity import devprovider, web
from portal.identity.config import dev_provider_enabled, provider_config
from portal.identity.oidc import OidcClient
from portal.modules import Module
from portal.services import Services


def _install(app: FastAPI, services: Services) -> None:
    config = provider_config(services.settings)
    # real HTTP to the provider (in `make run`, to this portal's own /dev/oidc); tests swap
    # ``app.state.oidc_client.http`` for a client routed to the app in-process
    http = httpx.AsyncClient(follow_redirects=False, headers={"User-Agent": "portal-oidc-client"})
    app.state.oidc_client = OidcClient(config, http) if config is not None else None
    if dev_provider_enabled(services.settings):
        app.state.dev_identity_provider = devprovider.DevProvider(services.settings, services.clock)


def _routers(settings: Settings) -> Sequence[APIRouter]:
    routers: list[APIRouter] = [web.router]
    if dev_provider_enabled(settings):  # never in production
        routers += [devprovider.pages, devprovider.endpoints]
    return routers


module = Module(name="identity", routers=_routers, install=_install)

"""The staff kernel: sign-in and sign-out, the staff home, the redirect to sign-in from any staff page."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI

from portal.config import Settings
from portal.modules import Module
from portal.services import Services
from portal.staff import web


def _install(app: FastAPI, _services: Services) -> None:
    web.install(app)


def _routers(_settings: Settings) -> Sequence[APIRouter]:
    return (web.router,)


module = Module(name="staff", routers=_routers, install=_install)

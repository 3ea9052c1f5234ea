"""Citizen accounts: the phone verification pages (registration and sign-in are citizen pages)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from portal.accounts import web
from portal.config import Settings
from portal.modules import Module


def _routers(_settings: Settings) -> Sequence[APIRouter]:
    return (web.router,)


module = Module(name="accounts", routers=_routers)

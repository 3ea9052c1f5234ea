"""Citizen accounts: the phone verification pages (registration and sign-in are citizen pages) and the
job that deletes spent one-time codes."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from fastapi import APIRouter

from portal.accounts import web
from portal.accounts.phone import prune_codes
from portal.config import Settings
from portal.modules import Job, Module
from portal.services import Services

log = logging.getLogger(__name__)


def _routers(_settings: Settings) -> Sequence[APIRouter]:
    return (web.router,)


def prune_phone_codes(services: Services) -> None:
    """``portal worker`` job: delete one-time codes a day after they expired."""
    with services.db.sessions() as session:
        count = prune_codes(session, services.clock())
        session.commit()
    if count:
        log.info("phone codes deleted: %d", count)


module = Module(
    name="accounts",
    routers=_routers,
    jobs=(Job("accounts.phone_codes", 3600.0, prune_phone_codes),),
)

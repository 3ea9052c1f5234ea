"""E-mail: the outbox admin pages, the development mail viewer, the delivery job."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from fastapi import APIRouter

from portal.cases.changes import Consumer
from portal.config import Settings
from portal.modules import Job, Module
from portal.notifications import submitted, web
from portal.notifications.delivery import OutboxWorker
from portal.services import Services

log = logging.getLogger(__name__)


def _routers(settings: Settings) -> Sequence[APIRouter]:
    if settings.environment == "production":
        return (web.admin_router,)
    return (web.admin_router, web.dev_router)


def deliver_outbox(services: Services) -> None:
    """``portal worker`` job: send what is due, until nothing is."""
    sent = OutboxWorker(services.db.sessions, services.settings).run_until_idle(max_batches=50)
    if sent:
        log.info("outbox: %d e-mail(s) sent", sent)


def _consumers(services: Services) -> Sequence[Consumer]:
    return (submitted.consumer(services),)


module = Module(
    name="notifications",
    routers=_routers,
    jobs=(Job("outbox_email", 5.0, deliver_outbox),),
    on_case_changed=_consumers,
)

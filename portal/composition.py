"""The composition root: every module of the portal, in the order their routers are included.

``create_app`` (``portal/app.py``) and ``portal worker`` (``portal/worker.py``) read this one list;
see ``portal/modules.py`` for what a module declares.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from portal.api import v1
from portal.assistant.module import module as assistant
from portal.backoffice.module import module as backoffice
from portal.cases.changes import Consumer, drain
from portal.config import Settings
from portal.modules import Job, Module
from portal.notifications.module import module as notifications
from portal.payments_app.module import module as payments
from portal.quality.module import module as quality
from portal.retention.module import module as retention
from portal.services import Services
from portal.signing.module import module as signing
from portal.web import citizen, health


def _citizen_routers(_settings: Settings) -> Sequence[APIRouter]:
    return (health.router, v1.router, citizen.router)


def case_consumers(services: Services) -> list[Consumer]:
    """Everything the modules derive from cases, in module order."""
    return [consumer for module in MODULES for consumer in module.on_case_changed(services)]


def consume_case_changes(services: Services) -> None:
    """``portal worker`` job: hand the committed case changes to the modules' consumers, in batches."""
    drain(services.db.sessions, case_consumers(services))


applications = Module(
    name="applications",
    routers=_citizen_routers,
    jobs=(Job("cases.changes", 1.0, consume_case_changes),),
)

MODULES: tuple[Module, ...] = (
    applications,
    backoffice,
    signing,
    notifications,
    payments,
    quality,
    assistant,
    retention,
)

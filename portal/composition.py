"""The composition root: every module of the portal, in the order their routers are included.

``create_app`` (``portal/app.py``) and ``portal worker`` (``portal/worker.py``) read this one list;
see ``portal/modules.py`` for what a module declares.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from fastapi import APIRouter

from portal.accounts.module import module as accounts
from portal.api import v1
from portal.applications.storage import FileStore
from portal.assistant.module import module as assistant
from portal.backoffice.module import module as backoffice
from portal.cases.changes import Consumer, drain
from portal.catalogue import Catalogue
from portal.config import Settings
from portal.db import Database
from portal.identity.module import module as identity
from portal.modules import Job, Module
from portal.notifications.module import module as notifications
from portal.notifications.service import Mailer
from portal.notifications.sms import sms_sender
from portal.payments_app.module import module as payments
from portal.quality.module import module as quality
from portal.retention.module import module as retention
from portal.services import Services
from portal.signing.module import module as signing
from portal.staff.module import module as staff
from portal.web import citizen, health
from workflows.calendar import load_calendar
from workflows.calendar import now as vn_now
from workflows.definitions import load_registry


def build_services(
    settings: Settings,
    *,
    db: Database | None = None,
    pool_size: int | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Services:
    """The one Services of a process (the web app, ``portal worker``, a script), from its settings."""
    registry = load_registry(settings.definitions_dir)
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    return Services(
        settings=settings,
        db=db or Database.for_settings(settings, pool_size=pool_size),
        registry=registry,
        catalogue=Catalogue(registry),
        calendar=load_calendar(
            settings.calendar_file,
            extra_holidays=settings.extra_holidays,
            swapped_working_days=settings.swapped_working_days,
        ),
        files=FileStore(settings.upload_dir),
        clock=clock or vn_now,
        mailer=Mailer(settings),
        sms=sms_sender(settings),
    )


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
    identity,
    accounts,
    staff,
    backoffice,
    signing,
    notifications,
    payments,
    quality,
    assistant,
    retention,
)

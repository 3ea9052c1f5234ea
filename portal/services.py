"""The app's services, built once and handed to whoever needs them (no ambient lookups).

``create_app`` and ``portal worker`` each build one :class:`Services` from the settings; modules
receive it in their ``install`` and their jobs and case-change consumers receive it as an argument.
Nothing finds settings through a session's engine or imports a domain by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from portal.applications.storage import FileStore
from portal.catalogue import Catalogue
from portal.config import Settings
from portal.db import Database
from portal.notifications.service import Mailer
from workflows.calendar import WorkingCalendar, load_calendar
from workflows.calendar import now as vn_now
from workflows.definitions import Registry, load_registry


@dataclass
class Services:
    settings: Settings
    db: Database
    registry: Registry
    catalogue: Catalogue
    calendar: WorkingCalendar
    files: FileStore
    clock: Callable[[], datetime]  # Vietnam's time; tests pass a fixed one
    mailer: Mailer  # queues an e-mail in the caller's transaction (tests may swap it)

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        db: Database | None = None,
        pool_size: int | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> Services:
        registry = load_registry(settings.definitions_dir)
        settings.upload_dir.mkdir(parents=True, exist_ok=True)
        return cls(
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
        )

    @property
    def base_url(self) -> str:
        return str(self.settings.base_url).rstrip("/")

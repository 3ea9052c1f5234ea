"""The app's services, built once and handed to whoever needs them (no ambient lookups).

``create_app`` and ``portal worker`` each build one :class:`Services` from the settings
(``portal.composition.build_services``); modules
receive it in their ``install`` and their jobs and case-change consumers receive it as an argument.
Nothing finds settings through a session's engine or imports a domain by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from portal.applications.storage import FileStore
from portal.catalogue import Catalogue
from portal.config import Settings
from portal.db import Database
from workflows.calendar import WorkingCalendar
from workflows.definitions import Registry


class Mailer(Protocol):
    """Queues an e-mail in the caller's transaction (``portal.notifications.service.Mailer``)."""

    def __call__(
        self,
        session: Session,
        *,
        to: str,
        template: str,
        context: dict[str, Any],
        case_id: str | None = None,
        dedupe_key: str | None = None,
    ) -> bool: ...


class SmsSender(Protocol):
    """Sends one text message (``portal.notifications.sms``): the development sink stores it in the
    caller's transaction; a provider sends it at once and raises ``SmsUnavailable`` when it cannot."""

    def __call__(self, session: Session, *, to: str, text: str) -> None: ...


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
    sms: SmsSender  # sends a text message (tests may swap it)

    @property
    def base_url(self) -> str:
        return str(self.settings.base_url).rstrip("/")

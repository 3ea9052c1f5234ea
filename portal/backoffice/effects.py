"""What a transition does besides changing state: sign the result, e-mail the applicant.

Both are other domains' services, called inside the same transaction as the
transition (so a failed transition sends nothing, and a failed signature
leaves the case unchanged). :class:`Effects` is the narrow interface; the app
keeps one in ``app.state.backoffice_effects`` so tests can wrap or replace it.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from sqlalchemy.orm import Session

from portal.catalogue import Catalogue
from portal.config import Settings
from portal.models import Application
from portal.services import Mailer
from portal.signing import service as signing
from workflows.definitions import Definition

log = logging.getLogger("portal.backoffice")


class Effects(Protocol):
    def issue_result(
        self, session: Session, application: Application, definition: Definition, signer: Any
    ) -> Any: ...

    def enqueue_email(
        self,
        session: Session,
        *,
        to: str,
        template: str,
        context: dict[str, Any],
        case_id: str,
        dedupe_key: str,
    ) -> None: ...


class DefaultEffects:
    """Signs with :func:`portal.signing.service.issue_result` and queues mail with the app's mailer."""

    def __init__(self, settings: Settings, catalogue: Catalogue, mailer: Mailer) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.mailer = mailer

    def issue_result(
        self, session: Session, application: Application, definition: Definition, signer: Any
    ) -> Any:
        return signing.issue_result(
            session, application, definition, signer=signer, settings=self.settings, catalogue=self.catalogue
        )

    def enqueue_email(
        self,
        session: Session,
        *,
        to: str,
        template: str,
        context: dict[str, Any],
        case_id: str,
        dedupe_key: str,
    ) -> None:
        self.mailer(
            session, to=to, template=template, context=context, case_id=case_id, dedupe_key=dedupe_key
        )

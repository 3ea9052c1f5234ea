"""What a transition does besides changing state: sign the result, e-mail the applicant.

Both are other domains' services, called inside the same transaction as the
transition (so a failed transition sends nothing, and a failed signature
leaves the case unchanged). :class:`Effects` is the narrow interface; the app
keeps one in ``app.state.backoffice_effects`` so tests can wrap or replace it.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any, Protocol

from sqlalchemy.orm import Session

from portal.errors import PortalError
from portal.models import Application
from workflows.definitions import Definition

log = logging.getLogger("portal.backoffice")


class SigningUnavailable(PortalError):
    status = 503
    code = "signing_unavailable"
    message = "Chức năng ký số kết quả chưa sẵn sàng; hồ sơ chưa được phê duyệt. Vui lòng thử lại sau."


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


def _optional(module: str) -> Any | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:  # the module exists but something it imports is missing: a real error
            raise
        return None


class DefaultEffects:
    """``portal.signing.issue_result`` and ``portal.notifications.enqueue_email``."""

    def issue_result(
        self, session: Session, application: Application, definition: Definition, signer: Any
    ) -> Any:
        signing = _optional("portal.signing")
        if signing is None:
            raise SigningUnavailable()
        return signing.issue_result(session, application, definition, signer=signer)

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
        notifications = _optional("portal.notifications")
        if notifications is None or not hasattr(notifications, "enqueue_email"):
            log.warning("portal.notifications is not installed: e-mail %s to %s not queued", template, to)
            return
        notifications.enqueue_email(
            session, to=to, template=template, context=context, case_id=case_id, dedupe_key=dedupe_key
        )

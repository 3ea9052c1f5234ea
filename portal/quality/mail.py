"""E-mail through ``portal.notifications.enqueue_email`` (same transaction), when that domain is installed."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from sqlalchemy.orm import Session

log = logging.getLogger("portal.quality")


def _notifications() -> Any | None:
    try:
        return importlib.import_module("portal.notifications")
    except ModuleNotFoundError as exc:
        if exc.name not in ("portal.notifications", "portal"):
            raise
        return None


def known_template(name: str) -> bool:
    try:
        render = importlib.import_module("portal.notifications.render")
    except ModuleNotFoundError:
        return False
    available = getattr(render, "available_templates", None)  # templates/emails/<name>.html + .txt
    return name in (available() if callable(available) else getattr(render, "TEMPLATES", ()))


def send(
    session: Session, *, to: str, template: str, context: dict[str, Any], case_id: str | None, dedupe_key: str
) -> bool:
    """Queue the e-mail; False (and a log line) when there is no address or no e-mail domain."""
    if not (to or "").strip():
        return False
    notifications = _notifications()
    if notifications is None or not known_template(template):
        log.warning("e-mail template %s is not available: message to case %s not queued", template, case_id)
        return False
    notifications.enqueue_email(
        session, to=to, template=template, context=context, lang="vi", case_id=case_id, dedupe_key=dedupe_key
    )
    return True

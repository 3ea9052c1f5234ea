"""Hook: signed results (portal/signing) and e-mail (portal/notifications) join the app.

Imported from ``portal/extensions.py``. Registers the routers, a template helper for the
result download link, and the outbox job of ``portal worker``.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import object_session

from portal import app_context
from portal.extensions import HOOKS
from portal.worker import JOBS


def result_download(app: Any, definition: Any) -> Any:
    """Template helper: the applicant's current signed result, if they may download it."""
    from portal.signing import service

    session = object_session(app) if app is not None else None
    if session is None or getattr(app, "is_draft", True) or not service.offers_download(definition):
        return None
    return service.current_result(session, app.id)


def hook(app: Any) -> None:
    from portal.notifications.web import admin_router, dev_router
    from portal.signing.web import router as signing_router
    from portal.templating import env

    app_context.register(app)
    app.include_router(signing_router)
    app.include_router(admin_router)
    if app.state.settings.environment != "production":
        app.include_router(dev_router)
    env.globals["result_download"] = result_download


_worker: Any = None


def deliver_outbox() -> None:
    """``portal worker`` job: send what is due, until nothing is."""
    global _worker
    if _worker is None:
        from portal.config import get_settings
        from portal.db import Database
        from portal.notifications.delivery import OutboxWorker

        settings = get_settings()
        _worker = OutboxWorker(Database.for_settings(settings, pool_size=2).sessions, settings)
    sent = _worker.run_until_idle(max_batches=50)
    if sent:
        logging.getLogger("portal.notifications").info("outbox: %d e-mail(s) sent", sent)


HOOKS.append(hook)
JOBS.append(("outbox_email", 5.0, deliver_outbox))

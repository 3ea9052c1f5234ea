"""Enqueue e-mails in the caller's transaction. Never commits.

The row is written with the change that causes it: if the request rolls back, nothing is
sent; after commit the worker (``portal worker``) delivers it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.config import Settings
from portal.db import utcnow
from portal.notifications.models import PENDING
from portal.notifications.render import normalise_context, render_email
from portal.notifications.repository import OutboxRepository

log = logging.getLogger("portal.notifications")


def enqueue_email(
    session: Session,
    *,
    settings: Settings,
    to: str,
    template: str,
    context: dict[str, Any],
    lang: str = "vi",
    case_id: str | None = None,
    dedupe_key: str | None = None,
    now: datetime | None = None,
) -> None:
    """Queue ``templates/emails/<template>`` for ``to``; a repeated ``dedupe_key`` is a no-op.

    ``settings``: the app's (links in the mail point at its base URL; the hotline is its own).
    ``now`` stamps the row (created, first due); the caller's clock, else the real time.

    An empty address (the applicant gave none) queues nothing. An unknown template raises
    ``ValueError``: that is a programming error and must fail the change that asked for it.
    """
    address = (to or "").strip()
    lang = "en" if lang == "en" else "vi"
    base_url = str(settings.base_url).rstrip("/")
    values = normalise_context(context or {}, lang=lang, base_url=base_url)
    rendered = render_email(template, values, lang=lang, hotline=settings.hotline)
    if not address or "@" not in address:
        log.info("e-mail %s for case %s not queued: no recipient address", template, case_id)
        return
    now = now or utcnow()
    OutboxRepository(session).insert(
        {
            "created_at": now,
            "to_address": address[:254],
            "template": template,
            "lang": lang,
            "case_id": case_id,
            "dedupe_key": dedupe_key,
            "subject": rendered.subject,
            "body_text": rendered.text,
            "body_html": rendered.html,
            "context": values,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
        }
    )


class Mailer:
    """``enqueue_email`` bound to the app's settings: what other domains are handed (``Services.mailer``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __call__(
        self,
        session: Session,
        *,
        to: str,
        template: str,
        context: dict[str, Any],
        case_id: str | None = None,
        dedupe_key: str | None = None,
        lang: str = "vi",
        now: datetime | None = None,
    ) -> bool:
        """Queue the e-mail; False when there is no address to send it to."""
        if not (to or "").strip():
            return False
        enqueue_email(
            session,
            settings=self.settings,
            to=to,
            template=template,
            context=context,
            lang=lang,
            case_id=case_id,
            dedupe_key=dedupe_key,
            now=now,
        )
        return True

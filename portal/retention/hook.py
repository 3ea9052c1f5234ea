"""Registers the retention jobs with ``portal worker`` (imported from ``portal/extensions.py``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from portal import worker

log = logging.getLogger("portal.retention")

_state: dict[str, Any] = {}


def _run(name: str, job: Callable[..., int]) -> None:
    from portal.db import utcnow

    if not _state:
        from portal.config import get_settings
        from portal.db import Database

        settings = get_settings()
        _state.update(settings=settings, db=Database(settings.database_url, pool_size=2))
    with _state["db"].sessions() as session:
        count = job(session, _state["settings"], now=utcnow())
        session.commit()
    if count:
        log.info("%s: %d row(s)", name, count)


def rate_limits_job() -> None:
    from portal.retention.jobs import prune_rate_limits

    _run("rate limits pruned", prune_rate_limits)


def drafts_job() -> None:
    from portal.retention.jobs import expire_drafts

    _run("drafts expired", expire_drafts)


def transcripts_job() -> None:
    from portal.retention.jobs import delete_old_transcripts

    _run("transcripts deleted", delete_old_transcripts)


worker.JOBS.append(("retention.rate_limits", 3600.0, rate_limits_job))
worker.JOBS.append(("retention.drafts", 3600.0, drafts_job))
worker.JOBS.append(("retention.transcripts", 3600.0, transcripts_job))

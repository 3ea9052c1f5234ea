"""Retention: the pruning and expiry jobs of ``portal worker``."""

from __future__ import annotations

import logging
from collections.abc import Callable

from portal.db import utcnow
from portal.modules import Job, Module
from portal.retention.jobs import delete_old_transcripts, expire_drafts, prune_rate_limits
from portal.services import Services

log = logging.getLogger(__name__)


def _job(label: str, work: Callable[..., int]) -> Callable[[Services], None]:
    def run(services: Services) -> None:
        with services.db.sessions() as session:
            count = work(session, services.settings, now=utcnow())
            session.commit()
        if count:
            log.info("%s: %d row(s)", label, count)

    return run


module = Module(
    name="retention",
    jobs=(
        Job("retention.rate_limits", 3600.0, _job("rate limits pruned", prune_rate_limits)),
        Job("retention.drafts", 3600.0, _job("drafts expired", expire_drafts)),
        Job("retention.transcripts", 3600.0, _job("transcripts deleted", delete_old_transcripts)),
    ),
)

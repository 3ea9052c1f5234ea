"""The retention jobs. Each takes the session, the settings and ``now`` (tests pass their own
clock), and never commits: the worker's run is the unit of work (see :mod:`portal.retention.hook`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from portal.applications.storage import FileStore
from portal.cases.events import record_event
from portal.config import Settings
from portal.models import CaseEvent
from portal.ratelimit import RateLimiter
from portal.retention.repository import RetentionRepository

log = logging.getLogger("portal.retention")

BATCH = 500


def prune_rate_limits(session: Session, settings: Settings, *, now: datetime | float) -> int:
    """Delete ``rate_limit_hits`` rows whose window has ended (each row carries its end)."""
    at = now.timestamp() if isinstance(now, datetime) else float(now)
    return RateLimiter(session).prune(now=at)


def expire_drafts(session: Session, settings: Settings, *, now: datetime) -> int:
    """Erase drafts idle past their retention: applicant data, files, resume link, owner.

    The row and its events stay (case history is immutable); a submitted case is never selected.
    Files are deleted after the rows are flushed; if the transaction then fails, the draft still
    has its token (or owner), so the next run selects it again and finishes.
    """
    repo = RetentionRepository(session)
    drafts = repo.expired_drafts(
        anonymous_before=now - timedelta(days=settings.draft_retention_days),
        account_before=now - timedelta(days=settings.account_draft_retention_days),
        limit=BATCH,
    )
    keys: list[str] = []
    for app in drafts:
        stored = [a.storage_key for a in repo.all_attachments(app.id)]
        keys += stored
        repo.delete_attachments(app.id)
        app.applicant_name = app.applicant_cccd = app.applicant_phone = ""
        app.applicant_email = app.applicant_address = app.applicant_name_folded = ""
        app.data = {}
        app.access_token_hash = None
        app.idempotency_key = None
        app.citizen_id = None
        record_event(
            session,
            CaseEvent(
                application_id=app.id,
                at=now,
                kind="draft_expired",
                actor_kind="system",
                public=False,
                details={"files": len(stored)},
            ),
        )
    session.flush()
    files = FileStore(settings.upload_dir)
    for key in keys:
        try:
            files.path(key).unlink(missing_ok=True)
        except (OSError, ValueError):
            log.exception("could not delete an expired draft's file")
    return len(drafts)


def delete_old_transcripts(session: Session, settings: Settings, *, now: datetime) -> int:
    """Delete assistant conversations (and their messages) idle past the retention period."""
    before = now - timedelta(days=settings.assistant_transcript_retention_days)
    return RetentionRepository(session).delete_conversations_idle_since(before, limit=BATCH)

"""Consuming the case-change outbox after commit, in batches (``portal worker``, job ``cases.changes``).

Each batch is one transaction: read up to ``batch`` outbox rows (on PostgreSQL ``FOR UPDATE SKIP
LOCKED``, so two workers never take the same rows), hand the distinct case ids to every consumer,
delete the rows, commit. A case changed ten times since the last batch is handled once. A consumer
that fails is rolled back to its savepoint and logged; the others still run and the rows are still
consumed, so one broken case can never stall the queue (the quality dashboard has its repair
command, ``python -m portal.quality rebuild``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portal.cases.models import CaseChange

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Consumer:
    """Something a module derives from cases: called with the ids of cases that changed."""

    name: str
    handle: Callable[[Session, Sequence[str]], None]


def drain(
    sessions: Callable[[], Session],
    consumers: Sequence[Consumer],
    *,
    batch: int = 500,
    max_batches: int = 100,
) -> int:
    """Consume what is in the outbox now; returns how many outbox rows were consumed."""
    total = 0
    for _ in range(max_batches):
        with sessions() as session:
            stmt = select(CaseChange.id, CaseChange.application_id).order_by(CaseChange.id).limit(batch)
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            rows = session.execute(stmt).all()
            if not rows:
                session.rollback()
                break
            case_ids = sorted({row.application_id for row in rows})
            for consumer in consumers:
                try:
                    with session.begin_nested():
                        consumer.handle(session, case_ids)
                except Exception:
                    log.exception("case changes: %s failed for %d case(s)", consumer.name, len(case_ids))
            session.execute(delete(CaseChange).where(CaseChange.id.in_([row.id for row in rows])))
            session.commit()
        total += len(rows)
        if len(rows) < batch:
            break
    return total


def pending(session: Session) -> int:
    """How many changes wait for the consumers (for health checks and tests)."""
    return int(session.scalar(select(func.count()).select_from(CaseChange)) or 0)

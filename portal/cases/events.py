"""Writing a case's history: the one way every domain records that a case changed."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from portal.cases.models import CaseChange
from portal.models import Application, CaseEvent

_NOTED = "case_changes_noted"


def record_event(session: Session, event: CaseEvent, *, bump: bool = True) -> CaseEvent:
    """Add a history entry and the outbox row that tells the consumers about it (same transaction).
    ``bump=False``: the caller raises the case's ``change_version`` itself, in the UPDATE it is about
    to make (the submission does, so its statements stay where its test pins them)."""
    session.add(event)
    note_change(session, event.application_id, event.kind, bump=bump)
    return event


def note_change(session: Session, application_id: str | None, kind: str, *, bump: bool = True) -> None:
    """A case changed without a history entry of its own (a file attached, a payment, a rating).

    One pending row per case is enough: the consumers recompute from the case's own rows. With the
    row, the case's ``change_version`` goes up by one, in the same transaction: a rendering keyed by
    it (the tracking page, ``portal.web.tracking``) is never served again once the change commits.
    The UPDATE goes out at once on the session's connection (no autoflush, so the caller's own
    statements keep their order) and leaves ``updated_at`` and ``lock_version`` as they are.
    """
    if not application_id:
        return
    pending: dict[str, CaseChange] = session.info.setdefault(_NOTED, {})
    row = pending.get(application_id)
    if row is not None and row in session.new:
        return  # this case's row is still to be written: it covers this change too
    if len(pending) > 1000:  # a long-lived session (a job, a seed): forget rows already written
        pending.clear()
    pending[application_id] = row = CaseChange(application_id=application_id, kind=kind[:40])
    session.add(row)
    if not bump:
        return
    case = _written_anyway(session, application_id)
    if case is not None:
        # the case's own row is about to be INSERTed or UPDATEd by this flush: the version rides on
        # that statement (no extra round trip; a submission stays at the statements its test pins)
        case.change_version = (case.change_version or 0) + 1
        return
    table = cast(Table, Application.__table__)
    cases = table.c
    session.connection().execute(
        update(table)
        .where(cases.id == application_id)
        .values(change_version=cases.change_version + 1, updated_at=cases.updated_at)
    )


def _written_anyway(session: Session, application_id: str) -> Application | None:
    """The case, when this session will write its row anyway: new, or with changes not yet flushed.
    An untouched loaded case is bumped by a Core UPDATE instead: an ORM UPDATE would also move its
    ``lock_version`` and make a civil servant's open form stale for a change that is not theirs."""
    for obj in session.new:
        if isinstance(obj, Application) and obj.id == application_id:
            return obj
    case = session.identity_map.get(identity_key(Application, application_id))
    if isinstance(case, Application) and session.is_modified(case, include_collections=False):
        return case
    return None

"""Keeps ``quality_case_facts`` and ``quality_monthly`` current, in the transaction that changes a case.

Whoever writes a case's history (the back office, the applicant's withdraw and
supplement pages, a test fixture), attaches files, signs a result, records a
payment, a rating or a feedback does so through the ORM. After each flush the
ids of the cases touched are collected; just before the transaction commits
their facts are recomputed from the source rows, the monthly counters are moved
by the difference, and the rating invitation is sent once a case has been
closed by an action with the ``invite_rating`` effect.

That work runs inside a SAVEPOINT: should it fail, it is rolled back and
logged, and the change that caused it still commits (the dashboard can be
repaired with ``python -m portal.quality rebuild``). Writes that bypass the
ORM (bulk SQL) are not seen; run ``rebuild`` after them.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from portal.config import Settings, get_settings
from portal.db import utcnow
from portal.quality import mail
from portal.quality.facts import Lookups, case_facts, deltas, invites_rating
from portal.quality.models import RATEABLE_OUTCOMES
from portal.quality.repository import QualityRepository
from portal.quality.tokens import rating_url
from workflows.calendar import WorkingCalendar, load_calendar
from workflows.definitions import Registry, load_registry

log = logging.getLogger("portal.quality")

WATCHED_TABLES = frozenset(
    {
        "case_events",
        "attachments",
        "result_documents",
        "payment_attempts",
        "quality_ratings",
        "quality_feedback",
    }
)
_PENDING, _BUSY = "quality_cases", "quality_busy"


@dataclass
class QualityContext:
    """What recomputing facts needs from the app; ``app.state.quality`` (tests may swap the mailer)."""

    registry: Registry
    calendar: WorkingCalendar
    settings: Settings
    mailer: Callable[..., bool] = field(default=mail.send)


_BY_ENGINE: weakref.WeakKeyDictionary[Engine, QualityContext] = weakref.WeakKeyDictionary()


def register(app: Any) -> None:
    state = app.state
    state.quality = QualityContext(state.registry, state.calendar, state.settings)
    _BY_ENGINE[state.db.engine] = state.quality


@lru_cache(maxsize=1)
def _default_context() -> QualityContext:
    """Outside an app (demo seeding, scripts): the environment's settings."""
    return _context_from(get_settings())


def register_engine(engine: Engine, settings: Settings) -> None:
    """For a script's own engine (``python -m portal.quality``): use these settings, not the environment's."""
    _BY_ENGINE[engine] = _context_from(settings)


def _context_from(settings: Settings) -> QualityContext:
    calendar = load_calendar(
        settings.calendar_file,
        extra_holidays=settings.extra_holidays,
        swapped_working_days=settings.swapped_working_days,
    )
    return QualityContext(load_registry(settings.definitions_dir), calendar, settings)


def context_for(session: Session) -> QualityContext:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return _BY_ENGINE.get(engine) or _default_context()


# -- the listeners -----------------------------------------------------------------------------


def _collect(session: Session, _flush_context: Any) -> None:
    touched: set[str] | None = None
    for obj in (*session.new, *session.dirty):
        if getattr(obj, "__tablename__", None) in WATCHED_TABLES:
            application_id = getattr(obj, "application_id", None)
            if application_id:
                if touched is None:
                    touched = session.info.setdefault(_PENDING, set())
                touched.add(application_id)


def _before_commit(session: Session) -> None:
    if session.info.get(_BUSY) or session.in_nested_transaction():
        return  # only the outermost commit, once
    if session.new or session.dirty or session.deleted:
        session.flush()  # so _collect sees what is still pending
    pending: set[str] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    session.info[_BUSY] = True
    try:
        with session.begin_nested():
            refresher = FactsRefresher(session)
            for application_id in sorted(pending):
                refresher.refresh(application_id)
    except Exception:
        log.exception("quality facts not updated for cases %s", sorted(pending))
    finally:
        session.info.pop(_PENDING, None)
        session.info[_BUSY] = False


def install_listeners() -> None:
    if not event.contains(Session, "after_flush", _collect):
        event.listen(Session, "after_flush", _collect)
        event.listen(Session, "before_commit", _before_commit)


# -- recomputing one case ------------------------------------------------------------------------


def _paid_online(session: Session, app: Any) -> bool:
    """The payments domain's answer (every payment it records is made online: VNPay or VietQR)."""
    if not app.fee_amount:
        return False
    try:
        from portal.payments_app.service import payment_status_for_case
    except ModuleNotFoundError as exc:
        if exc.name is None or not "portal.payments_app.service".startswith(exc.name):
            raise
        return False
    return bool(payment_status_for_case(session, app.id, fee_amount=app.fee_amount).paid)


class FactsRefresher:
    def __init__(self, session: Session, context: QualityContext | None = None) -> None:
        self.session = session
        self.repo = QualityRepository(session)
        self.context = context or context_for(session)

    def refresh(self, application_id: str, *, invite: bool = True) -> dict[str, Any] | None:
        """Recompute the case's facts, move the monthly counters, send the rating invitation once."""
        app = self.repo.application_as_stored(application_id)
        if app is None or app.is_draft or app.submitted_at is None:
            return None
        old = self.repo.lock_facts(application_id)  # locked first: what is read next is current
        events = self.repo.events(application_id)
        definition = self.context.registry.get(app.procedure_code, app.definition_version)
        lookups = Lookups(
            has_attachments=self.repo.has_attachments(application_id),
            e_result=self.repo.has_e_result(application_id),
            paid_online=_paid_online(self.session, app),
            rating=self.repo.rating_level(application_id),
            complaint=self.repo.has_complaint(application_id),
        )
        now = utcnow()
        new = case_facts(app, events, definition, self.context.calendar, lookups, now=now)
        new["invited_at"] = old.get("invited_at") if old else None
        if (
            invite
            and new["invited_at"] is None
            and new["outcome"] in RATEABLE_OUTCOMES
            and invites_rating(definition, events)
        ):
            self._invite(app, definition)
            new["invited_at"] = now
        self.repo.save_facts(new)
        for key, delta in deltas(old, new):
            self.repo.add_to_month(key, delta)
        return new

    def _invite(self, app: Any, definition: Any) -> None:
        settings = self.context.settings
        self.context.mailer(
            self.session,
            to=app.applicant_email,
            template="rating_invite",
            context={
                "case_code": app.case_code,
                "applicant_name": app.applicant_name,
                "procedure_name": definition.name.vi,
                "link": rating_url(settings, app.id),
                "edit_days": settings.rating_edit_days,
            },
            case_id=app.id,
            dedupe_key=f"rating_invite:{app.id}",
        )

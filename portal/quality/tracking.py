"""Keeps ``quality_case_facts`` and ``quality_monthly`` current, after the changes that move them commit.

Whoever changes a case (the back office, the applicant's withdraw and supplement pages, signing,
payments, ratings, feedback) records it through :mod:`portal.cases.events`, which writes a
``case_changes`` outbox row in the same transaction. ``portal worker`` consumes the outbox in
batches (:func:`portal.cases.changes.drain`) and calls :func:`consumer`: each changed case's
facts are recomputed from the source rows, the monthly counters are moved by the difference, and
the rating invitation is queued once a case has been closed by an action with the
``invite_rating`` effect. None of this runs inside the transaction that changed the case, so the
case-number counter and a case's row are never held while the dashboard is updated.

Each case is refreshed inside its own SAVEPOINT: should one fail, it is rolled back and logged, and
the others are still counted (the dashboard can be repaired with ``python -m portal.quality rebuild``).
Writes that bypass :mod:`portal.cases.events` (bulk SQL) are not seen; run ``rebuild`` after them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from portal.cases.changes import Consumer
from portal.config import Settings
from portal.db import utcnow
from portal.payments_app.service import payment_status_for_case
from portal.quality.facts import Lookups, case_facts, deltas, invites_rating
from portal.quality.models import RATEABLE_OUTCOMES
from portal.quality.repository import QualityRepository
from portal.quality.tokens import rating_url
from portal.services import Services
from workflows.calendar import WorkingCalendar
from workflows.definitions import Registry

log = logging.getLogger("portal.quality")


@dataclass
class QualityContext:
    """What recomputing facts needs; the app keeps one in ``app.state.quality``."""

    registry: Registry
    calendar: WorkingCalendar
    settings: Settings
    mailer: Callable[..., bool]

    @classmethod
    def of(cls, services: Services) -> QualityContext:
        return cls(services.registry, services.calendar, services.settings, services.mailer)


def consumer(context: QualityContext) -> Consumer:
    """The quality domain's case-change consumer (see :mod:`portal.cases.changes`)."""

    def refresh_cases(session: Session, case_ids: Sequence[str]) -> None:
        refresher = FactsRefresher(session, context)
        for application_id in case_ids:
            try:
                with session.begin_nested():
                    refresher.refresh(application_id)
            except Exception:
                log.exception("quality facts not updated for case %s", application_id)

    return Consumer("quality.facts", refresh_cases)


# -- recomputing one case ------------------------------------------------------------------------


def _paid_online(session: Session, app: Any) -> bool:
    """The payments domain's answer (every payment it records is made online: VNPay or VietQR)."""
    if not app.fee_amount:
        return False
    return bool(payment_status_for_case(session, app.id, fee_amount=app.fee_amount).paid)


class FactsRefresher:
    def __init__(self, session: Session, context: QualityContext) -> None:
        self.session = session
        self.repo = QualityRepository(session)
        self.context = context

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

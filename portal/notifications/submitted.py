"""The applicant's confirmation e-mail when an online submission is received (UX review 2026-12: the
first mail used to arrive only when reception accepted the case, days later for some).

A case-change consumer (``portal/cases``): it runs after the submission committed, in ``portal worker``,
so the submission itself writes no outbox row (its statements stay as their test pins them). Each case
gets the mail once: the outbox's ``dedupe_key``, and cases that already have it are not read again.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.cases.changes import Consumer
from portal.models import Application
from portal.notifications.models import OutboxEmail
from portal.notifications.service import enqueue_email
from portal.services import Services

TEMPLATE = "case_submitted"


def dedupe_key(case_id: str) -> str:
    return f"{TEMPLATE}:{case_id}"


def consumer(services: Services) -> Consumer:
    def handle(session: Session, case_ids: Sequence[str]) -> None:
        keys = [dedupe_key(c) for c in case_ids]
        sent = set(session.scalars(select(OutboxEmail.dedupe_key).where(OutboxEmail.dedupe_key.in_(keys))))
        todo = [c for c in case_ids if dedupe_key(c) not in sent]
        if not todo:
            return
        cases = session.scalars(
            select(Application).where(
                Application.id.in_(todo),
                Application.submitted_at.is_not(None),
                Application.applicant_email.is_not(None),
            )
        )
        for app in cases:
            definition = services.catalogue.registry.get(app.procedure_code, app.definition_version)
            enqueue_email(
                session,
                settings=services.settings,
                to=app.applicant_email or "",
                template=TEMPLATE,
                context={
                    "case_code": app.case_code,
                    "applicant_name": app.applicant_name,
                    "procedure_name": definition.name.vi,
                    "due_date": app.due_date,
                    "link": f"/tra-cuu?ma={app.case_code}",
                },
                case_id=app.id,
                dedupe_key=dedupe_key(app.id),
                now=services.clock(),
            )

    return Consumer("notifications.case_submitted", handle)

"""Builders for the e-mail tests: a controllable clock, a worker wired to a sink, queued rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from portal.notifications import enqueue_email
from portal.notifications.delivery import OutboxWorker
from portal.notifications.mailsink import MailSink
from portal.notifications.models import OutboxEmail

CONTEXT: dict[str, Any] = {
    "case_code": "H29.41.04-261128-0001",
    "procedure_name": "Chuyển trường đối với học sinh trung học cơ sở",
    "applicant_name": "Trần Thị Mai",
    "due_date": "2026-12-03",
    "link": "/tra-cuu?ma=H29.41.04-261128-0001",
}


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 12, 1, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def worker_for(app: FastAPI, sink: MailSink, **options: Any) -> OutboxWorker:
    settings = app.state.settings.model_copy(update={"smtp_host": sink.host, "smtp_port": sink.port})
    return OutboxWorker(app.state.db.sessions, settings, **options)


def queue(
    app: FastAPI,
    count: int = 1,
    *,
    template: str = "case_received",
    prefix: str = "m",
    clock: Clock | None = None,
    **kwargs: Any,
) -> None:
    """Queue ``count`` e-mails, stamped by ``clock`` when the test drives time (else the real time)."""
    with app.state.db.sessions() as session:
        for i in range(count):
            enqueue_email(
                session,
                settings=app.state.settings,
                to=f"{prefix}{i}@example.vn",
                template=template,
                context=CONTEXT,
                case_id=f"case-{i}",
                now=clock() if clock else None,
                **kwargs,
            )
        session.commit()


def rows(app: FastAPI) -> list[OutboxEmail]:
    with app.state.db.sessions() as session:
        return list(session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)))

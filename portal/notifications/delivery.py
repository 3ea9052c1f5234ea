"""Deliver the outbox over SMTP: claim, send, mark — with retries and exponential backoff.

Claiming commits ``status='sending'`` plus a lease before any network I/O, so no database
lock is held while talking to the mail server and concurrent workers take disjoint rows
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL). A row whose worker died is taken again once its
lease has run out; that (rare) case is the only one that can send a message twice, and the
stable Message-ID lets a receiver spot it.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from portal.config import Settings
from portal.db import utcnow
from portal.notifications.models import FAILED, PENDING, SENT, OutboxEmail
from portal.notifications.repository import OutboxRepository

log = logging.getLogger("portal.notifications")


class PermanentFailure(Exception):
    """The server refused the message for good (5xx): retrying will not help."""


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...

    def close(self) -> None: ...


class SmtpTransport:
    """One connection reused for a batch; reconnects after an error."""

    def __init__(self, settings: Settings, *, timeout: float = 30.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=self.timeout)
        try:
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            refused = self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise PermanentFailure(f"recipient refused: {exc.recipients}") from exc
            raise
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500 and not isinstance(exc, smtplib.SMTPSenderRefused):
                raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            self.close()
            raise
        except (OSError, smtplib.SMTPException):
            self.close()
            raise
        if refused:
            raise PermanentFailure(f"recipient refused: {refused}")

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None


def build_message(row: OutboxEmail, mail_from: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Message-ID"] = row.message_id
    message["Date"] = format_datetime(row.created_at)
    message["Content-Language"] = row.lang
    message["Auto-Submitted"] = "auto-generated"
    if row.case_id:
        message["X-Portal-Case"] = row.case_id
    message.set_content(row.body_text)
    message.add_alternative(row.body_html, subtype="html")
    return message


class OutboxWorker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        *,
        transport: Callable[[], Transport] | None = None,
        batch_size: int = 20,
        max_attempts: int = 8,
        backoff_base: timedelta = timedelta(minutes=1),
        backoff_max: timedelta = timedelta(hours=2),
        lease: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.transport_factory = transport or (lambda: SmtpTransport(settings))
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.lease = lease
        self.clock = clock

    def backoff(self, attempts: int) -> timedelta:
        """1, 2, 4, 8 … × base after the 1st, 2nd, 3rd … failed attempt, capped."""
        return min(self.backoff_base * (1 << max(attempts - 1, 0)), self.backoff_max)

    def claim(self) -> list[OutboxEmail]:
        with self.sessions() as session, session.begin():
            rows = OutboxRepository(session).claim(self.clock(), limit=self.batch_size, lease=self.lease)
            session.expunge_all()
            return rows

    def run_once(self) -> int:
        """Claim one batch and try each message once; returns how many were sent."""
        return self._run_batch()[1]

    def run_until_idle(self, max_batches: int = 1000) -> int:
        """Batches until nothing is due (used by tests and by a one-shot `portal worker`)."""
        total = 0
        for _ in range(max_batches):
            claimed, sent = self._run_batch()
            total += sent
            if not claimed:
                break
        return total

    def _run_batch(self) -> tuple[int, int]:
        rows = self.claim()
        if not rows:
            return 0, 0
        transport = self.transport_factory()
        sent = 0
        try:
            for row in rows:
                try:
                    transport.send(build_message(row, self.settings.mail_from))
                except PermanentFailure as exc:
                    self._record_failure(row, str(exc), permanent=True)
                except Exception as exc:
                    self._record_failure(row, f"{type(exc).__name__}: {exc}", permanent=False)
                else:
                    self._mark_sent(row)
                    sent += 1
        finally:
            transport.close()
        return len(rows), sent

    def _mark_sent(self, row: OutboxEmail) -> None:
        with self.sessions() as session, session.begin():
            fresh = OutboxRepository(session).get(row.id)
            if fresh is not None:
                fresh.status, fresh.sent_at, fresh.locked_until = SENT, self.clock(), None

    def _record_failure(self, row: OutboxEmail, error: str, *, permanent: bool) -> None:
        log.warning("e-mail %s to case %s: attempt %s failed: %s", row.id, row.case_id, row.attempts, error)
        with self.sessions() as session, session.begin():
            fresh = OutboxRepository(session).get(row.id)
            if fresh is None:
                return
            fresh.last_error = error[:2000]
            fresh.locked_until = None
            if permanent or fresh.attempts >= self.max_attempts:
                fresh.status = FAILED
            else:
                fresh.status = PENDING
                fresh.next_attempt_at = self.clock() + self.backoff(fresh.attempts)


def retry_now(session: Session, email_id: int) -> bool:
    """An administrator sends a failed (or waiting) message again: a fresh set of attempts."""
    row = OutboxRepository(session).get(email_id)
    if row is None or row.status == SENT:
        return False
    row.status, row.attempts, row.next_attempt_at, row.locked_until = PENDING, 0, utcnow(), None
    return True

"""The outbox worker against a real SMTP socket: retries with backoff, give-ups, admin retry,
and (PostgreSQL) two concurrent workers that never send a row twice."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from email import policy
from email.parser import BytesParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from portal.db import Database
from portal.notifications.delivery import OutboxWorker
from portal.notifications.mailsink import MailSink
from tests.backoffice.staff_builders import PASSWORD, create_staff, login
from tests.builders import csrf
from tests.notifications.mail_builders import Clock, queue, rows, worker_for

BASE = timedelta(seconds=30)


def test_retries_with_exponential_backoff_then_succeeds(app: FastAPI, sink: MailSink) -> None:
    clock = Clock()
    start = clock.now
    worker = worker_for(app, sink, backoff_base=BASE, clock=clock)
    queue(app, clock=clock)
    sink.reject_next = 2

    assert worker.run_once() == 0
    [row] = rows(app)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, start + BASE)
    assert "451" in (row.last_error or "")

    assert worker.run_once() == 0  # not due yet: nothing is tried
    assert rows(app)[0].attempts == 1

    clock.advance(BASE)
    assert worker.run_once() == 0
    [row] = rows(app)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 2, start + BASE + 2 * BASE)

    clock.advance(2 * BASE)
    assert worker.run_once() == 1
    [row] = rows(app)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 3, clock.now)
    assert len(sink.received) == 1


def test_unreachable_server_is_a_temporary_failure(app: FastAPI, sink: MailSink) -> None:
    queue(app)
    worker = worker_for(app, sink, backoff_base=BASE)
    sink.stop()
    assert worker.run_once() == 0
    [row] = rows(app)
    assert row.status == "pending" and row.attempts == 1 and "Connection" in (row.last_error or "")


def test_gives_up_after_max_attempts_and_admin_can_retry(
    app: FastAPI, client: TestClient, sink: MailSink, admin: None
) -> None:
    clock = Clock()
    worker = worker_for(app, sink, backoff_base=BASE, max_attempts=3, clock=clock)
    queue(app, clock=clock)
    sink.reject_next = 10
    for _ in range(5):
        worker.run_once()
        clock.advance(timedelta(hours=1))
    [row] = rows(app)
    assert (row.status, row.attempts) == ("failed", 3)

    page = client.get("/can-bo/quan-tri/thu-dien-tu")
    assert page.status_code == 200
    assert "m0@example.vn" in page.text and "451" in page.text and "Thất bại" in page.text
    response = client.post(
        f"/can-bo/quan-tri/thu-dien-tu/{row.id}/gui-lai",
        data={"csrf_token": csrf(client, "/can-bo/quan-tri/thu-dien-tu")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    audit = client.get("/can-bo/quan-tri/nhat-ky-quan-tri?thao_tac=email.resend").text
    assert f"#{row.id}" in audit.split('id="admin-audit"')[1]  # the admin action is audited
    # the retry is due from the moment the portal stamped it (its own clock, not the test's)
    clock.now = max(clock.now, rows(app)[0].next_attempt_at)
    sink.reject_next = 0
    assert worker.run_once() == 1
    assert rows(app)[0].status == "sent"
    assert (
        client.post(
            f"/can-bo/quan-tri/thu-dien-tu/{row.id}/gui-lai",
            data={"csrf_token": csrf(client, "/can-bo/quan-tri/thu-dien-tu")},
        ).status_code
        == 404
    )


def test_refused_recipient_fails_at_once(app: FastAPI, sink: MailSink) -> None:
    queue(app, 2)
    sink.refuse = {"m0@example.vn"}
    assert worker_for(app, sink).run_once() == 1
    refused, delivered = rows(app)
    assert (refused.status, refused.attempts) == ("failed", 1) and "550" in (refused.last_error or "")
    assert delivered.status == "sent"


def test_outbox_page_is_for_administrators_only(app: FastAPI, client: TestClient) -> None:
    response = client.get("/can-bo/quan-tri/thu-dien-tu", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/can-bo/dang-nhap")
    with app.state.db.sessions() as session:
        create_staff(session, "tiepnhan", "Phạm Văn Tiếp", ["tiep_nhan"])
        session.commit()
    login(client, "tiepnhan", PASSWORD)
    assert client.get("/can-bo/quan-tri/thu-dien-tu").status_code == 403


@pytest.fixture
def admin(app: FastAPI, client: TestClient) -> None:
    """``client`` signed in as a back-office administrator."""
    with app.state.db.sessions() as session:
        create_staff(session, "quantri", "Nguyễn Quản Trị", ["admin"])
        session.commit()
    login(client, "quantri", PASSWORD)


@pytest.mark.postgres
def test_two_workers_send_each_row_exactly_once(app: FastAPI, sink: MailSink) -> None:
    queue(app, 50)
    settings = app.state.settings.model_copy(update={"smtp_host": sink.host, "smtp_port": sink.port})
    databases = [Database(settings.database_url, pool_size=2) for _ in range(2)]
    workers = [OutboxWorker(db.sessions, settings, batch_size=3) for db in databases]
    start = threading.Barrier(2)
    sent: list[int] = []
    errors: list[BaseException] = []

    def run(worker: OutboxWorker) -> None:
        try:
            start.wait()
            sent.append(worker.run_until_idle())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for db in databases:
        db.dispose()
    assert not errors, errors
    assert sum(sent) == 50 and all(n > 0 for n in sent), sent  # both workers took part
    parser = BytesParser(policy=policy.default)
    ids = Counter(str(parser.parsebytes(c.data)["Message-ID"]) for c in sink.received)
    assert len(ids) == 50 and set(ids.values()) == {1}
    assert {r.status for r in rows(app)} == {"sent"} and {r.attempts for r in rows(app)} == {1}


@pytest.mark.postgres
def test_concurrent_claims_take_disjoint_rows_without_waiting(app: FastAPI) -> None:
    """While one worker's claim is still open, another claims the next rows instead of the same ones
    (no FOR UPDATE → same rows; FOR UPDATE without SKIP LOCKED → it waits: both fail here)."""
    from sqlalchemy import text

    from portal.notifications.repository import OutboxRepository

    clock = Clock()
    queue(app, 10, clock=clock)
    lease = timedelta(minutes=5)
    with app.state.db.sessions() as first, app.state.db.sessions() as second:
        first.begin()
        taken_first = [r.id for r in OutboxRepository(first).claim(clock(), limit=5, lease=lease)]
        second.begin()
        second.execute(text("SET LOCAL lock_timeout = '2s'"))
        taken_second = [r.id for r in OutboxRepository(second).claim(clock(), limit=5, lease=lease)]
        second.commit()
        first.commit()
    assert len(taken_first) == 5 and len(taken_second) == 5
    assert not set(taken_first) & set(taken_second)

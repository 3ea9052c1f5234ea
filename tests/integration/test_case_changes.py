"""The unit of work of a submission, and the case-change outbox consumed after commit (issue #10).

What a citizen and the dashboard rely on: a submitted case is counted once the worker has run; a
change that rolled back is never counted; one broken consumer never stops the others or the queue;
and the agency's case-number counter (the one row every submission of the day queues on) is taken
by the last statement before the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from portal.cases.changes import Consumer, drain, pending
from portal.cases.events import note_change, record_event
from portal.cases.models import CaseChange
from portal.composition import case_consumers
from portal.models import CaseEvent
from portal.quality.models import CaseFacts
from tests.builders import csrf, settle, start_transfer, submit_transfer


def test_a_submission_is_counted_after_commit_by_the_worker(app: FastAPI, client: TestClient) -> None:
    app_id, code = submit_transfer(client)
    with app.state.db.sessions() as session:
        assert session.get(CaseFacts, app_id) is None  # nothing of the dashboard ran inside the submission
        assert app_id in set(session.scalars(select(CaseChange.application_id)))
    assert settle(app) >= 1
    with app.state.db.sessions() as session:
        facts = session.get(CaseFacts, app_id)
        assert facts is not None and facts.channel == "online" and facts.closed_at is None
        assert pending(session) == 0
    assert settle(app) == 0  # consumed once


def test_a_change_that_rolled_back_leaves_nothing_to_count(app: FastAPI, client: TestClient) -> None:
    app_id, _ = submit_transfer(client)
    settle(app)
    with app.state.db.sessions() as session:
        note_change(session, app_id, "attachment_added")
        session.rollback()
        assert pending(session) == 0


def test_one_failing_consumer_neither_stops_the_others_nor_the_queue(
    app: FastAPI, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    app_id, _ = submit_transfer(client)
    seen: list[str] = []

    def broken(session: Session, case_ids: Sequence[str]) -> None:
        session.execute(select(CaseChange)).all()
        raise RuntimeError("consumer defect")

    def working(session: Session, case_ids: Sequence[str]) -> None:
        seen.extend(case_ids)

    consumers = [
        Consumer("broken", broken),
        *case_consumers(app.state.services),
        Consumer("working", working),
    ]
    with caplog.at_level(logging.ERROR, logger="portal.cases.changes"):
        assert drain(app.state.db.sessions, consumers) >= 1
    assert seen == [app_id]
    assert "broken failed" in caplog.text
    with app.state.db.sessions() as session:
        assert session.get(CaseFacts, app_id) is not None  # the quality consumer still ran
        assert pending(session) == 0


def test_many_changes_to_one_case_are_handled_once_per_batch(app: FastAPI, client: TestClient) -> None:
    app_id, _ = submit_transfer(client)
    for kind in ("a", "b", "c"):
        with app.state.db.sessions() as session:
            note_change(session, app_id, kind)
            session.commit()
    calls: list[list[str]] = []
    assert drain(app.state.db.sessions, [Consumer("spy", lambda s, ids: calls.append(list(ids)))]) >= 3
    assert calls == [[app_id]]


@pytest.fixture
def statements(app: FastAPI) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(" ".join(statement.split()))

    engine = app.state.db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_the_case_number_is_taken_by_the_last_statement_before_commit(
    app: FastAPI, client: TestClient, statements: list[str]
) -> None:
    response = start_transfer(client)
    review_url = response.headers["location"]
    app_id = review_url.split("/")[2]
    token = csrf(client, review_url)
    statements.clear()
    submitted = client.post(f"/ho-so/{app_id}/nop", data={"csrf_token": token}, follow_redirects=False)
    assert submitted.status_code == 303
    numbered = [i for i, s in enumerate(statements) if s.startswith("INSERT INTO case_sequences")]
    assert len(numbered) == 1, statements
    after = [s.split(" ")[0:3] for s in statements[numbered[0] + 1 :]]
    # the one UPDATE that stores the code, then the commit: no reads, no history, no dashboard
    assert after[0][:2] == ["UPDATE", "applications"], statements[numbered[0] :]
    assert [s for s in after[1:] if s[0] in ("SELECT", "INSERT", "UPDATE", "DELETE")] == []


def test_a_commit_runs_only_its_own_statements(
    app: FastAPI, client: TestClient, statements: list[str]
) -> None:
    """No other domain rides on a commit: the quality domain used to hook every commit in the process."""
    app_id, _ = submit_transfer(client)
    statements.clear()
    with app.state.db.sessions() as session:
        record_event(session, CaseEvent(application_id=app_id, kind="note", actor_kind="system"))
        session.commit()
    written = [s.split(" ")[2] for s in statements if s.startswith("INSERT")]
    assert sorted(written) == ["case_changes", "case_events"], statements
    assert not [s for s in statements if "quality" in s], statements


def test_the_worker_runs_the_case_changes_job_of_the_declared_modules(
    app: FastAPI, client: TestClient
) -> None:
    from portal import worker

    jobs = {name: run for name, _every, run in worker.jobs(app.state.services)}
    assert len(jobs) == len(worker.jobs(app.state.services))  # one name, one job
    assert {"cases.changes", "outbox_email", "backoffice.deadline_alerts", "payments.reconcile"} <= set(jobs)
    app_id, _ = submit_transfer(client)
    jobs["cases.changes"]()
    with app.state.db.sessions() as session:
        assert session.get(CaseFacts, app_id) is not None and pending(session) == 0

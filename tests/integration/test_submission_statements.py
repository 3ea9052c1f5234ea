"""The SQL a submission costs, pinned (issue #10).

An online submission is two requests: the form with its files (a new draft, `intent=review`) and the
"Nộp hồ sơ" button. Every statement is a round trip to the database on the request's thread, so
the statements each request sends are listed here exactly: a change that adds one (an extra flush, a
re-read after an INSERT, a lazy load, a file's own INSERT) fails this test instead of silently
slowing every submission down. The counts are the same on SQLite and PostgreSQL (on SQLite each
transaction also sends its `BEGIN IMMEDIATE`, not counted here; PostgreSQL's `BEGIN` and `COMMIT`
are not cursor statements either).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from portal.cases.models import CaseChange
from portal.models import Application, Attachment, CaseEvent
from tests.builders import APPLICANT, TRANSFER, TRANSFER_FIELDS, csrf, transfer_documents

RAW: list[str] = []  # the last test's statements as sent


@pytest.fixture
def statements(app: FastAPI) -> Iterator[list[str]]:
    seen: list[str] = []
    RAW.clear()

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        RAW.append(" ".join(statement.split()))
        words = statement.split()
        verb = words[0].upper()
        if verb in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            table = {"SELECT": _from(words), "INSERT": words[2], "UPDATE": words[1], "DELETE": words[2]}[verb]
            seen.append(f"{verb} {table}")

    engine = app.state.db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def _from(words: list[str]) -> str:
    """The table a SELECT reads (its own FROM, not a subquery's)."""
    depth = 0
    for i, word in enumerate(words):
        if depth == 0 and word == "FROM":
            return words[i + 1]
        depth += word.count("(") - word.count(")")
    return "?"


def test_a_submission_costs_four_statements_then_five(
    app: FastAPI, client: TestClient, statements: list[str]
) -> None:
    token = csrf(client, f"/thu-tuc/{TRANSFER}/nop-ho-so")
    statements.clear()
    created = client.post(
        f"/thu-tuc/{TRANSFER}/nop-ho-so",
        data={**APPLICANT, **TRANSFER_FIELDS, "csrf_token": token, "intent": "review"},
        files=transfer_documents(),
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text[:2000]
    app_id = created.headers["location"].split("/")[2]
    # the new draft with everything typed, its history entry and outbox row, its three files (one
    # INSERT for all of them): no UPDATE after the INSERT, no read of a draft that has no files yet
    assert sorted(statements) == [
        "INSERT applications",
        "INSERT attachments",
        "INSERT case_changes",
        "INSERT case_events",
    ], statements

    statements.clear()
    RAW.clear()
    submitted = client.post(f"/ho-so/{app_id}/nop", data={"csrf_token": token}, follow_redirects=False)
    assert submitted.status_code == 303 and submitted.headers["location"] == f"/ho-so/{app_id}/bien-nhan"
    # the draft read once, with the documents it has files for (under its row lock on PostgreSQL),
    # the history entry and its outbox row, then the agency's daily number and the one UPDATE that
    # makes it a case
    assert statements == [
        "SELECT applications",
        "INSERT case_changes",
        "INSERT case_events",
        "INSERT case_sequences",
        "UPDATE applications",
    ], statements
    if app.state.db.engine.dialect.name == "postgresql":  # SQLite: the write lock was taken at BEGIN
        assert RAW[0].endswith("FOR UPDATE OF applications"), RAW[0]

    with app.state.db.sessions() as session:
        case = session.get(Application, app_id)
        assert case is not None and case.case_code and case.status != "draft"
        assert case.applicant_name == APPLICANT["applicant_full_name"]
        assert case.data["fields"]["school_to"] == TRANSFER_FIELDS["f_school_to"]
        files = session.scalars(
            select(Attachment)
            .where(Attachment.application_id == app_id)
            .order_by(Attachment.created_at, Attachment.id)
        ).all()
        assert [f.filename for f in files] == [name for _, (name, _, _) in transfer_documents()]
        assert all(app.state.files.path(f.storage_key).stat().st_size == f.size for f in files)
        kinds = session.scalars(
            select(CaseEvent.kind).where(CaseEvent.application_id == app_id).order_by(CaseEvent.id)
        ).all()
        assert kinds == ["draft_created", "submitted"]
        assert set(session.scalars(select(CaseChange.application_id))) == {app_id}


def test_a_second_click_on_submit_waits_for_the_first_and_lands_on_the_receipt(
    app: FastAPI, client: TestClient, statements: list[str]
) -> None:
    token = csrf(client, f"/thu-tuc/{TRANSFER}/nop-ho-so")
    created = client.post(
        f"/thu-tuc/{TRANSFER}/nop-ho-so",
        data={**APPLICANT, **TRANSFER_FIELDS, "csrf_token": token, "intent": "review"},
        files=transfer_documents(),
        follow_redirects=False,
    )
    app_id = created.headers["location"].split("/")[2]
    first = client.post(f"/ho-so/{app_id}/nop", data={"csrf_token": token}, follow_redirects=False)
    statements.clear()
    again = client.post(f"/ho-so/{app_id}/nop", data={"csrf_token": token}, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == f"/ho-so/{app_id}/bien-nhan"
    assert statements == ["SELECT applications"], statements  # read, seen submitted, nothing written
    with app.state.db.sessions() as session:
        assert len(session.scalars(select(CaseEvent).where(CaseEvent.kind == "submitted")).all()) == 1

"""The applicant hears at once that the online submission arrived (UX review 2026-12: the first mail
came only when reception accepted the case). Sent by a case-change consumer after the commit."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.models import Application
from portal.notifications.models import OutboxEmail
from tests.builders import settle, submit_transfer


def _mails(client: TestClient, case_id: str) -> list[OutboxEmail]:
    with client.app.state.db.sessions() as session:  # type: ignore[attr-defined]
        return list(
            session.scalars(
                select(OutboxEmail).where(OutboxEmail.case_id == case_id).order_by(OutboxEmail.id)
            )
        )


def test_a_submission_gets_one_confirmation_mail_with_code_date_and_tracking_link(client: TestClient) -> None:
    app_id, code = submit_transfer(client)
    assert _mails(client, app_id) == []  # nothing inside the submission's own transaction
    settle(client.app)  # type: ignore[arg-type]
    settle(client.app)  # type: ignore[arg-type]  # a later change of the case sends nothing again
    (mail,) = _mails(client, app_id)
    assert (mail.template, mail.to_address) == ("case_submitted", "mai@example.vn")
    with client.app.state.db.sessions() as session:  # type: ignore[attr-defined]
        case = session.get(Application, app_id)
        assert case is not None and case.due_date is not None
        due = f"{case.due_date:%d/%m/%Y}"
    assert code in mail.subject and code in mail.body_text and due in mail.body_text
    assert f"/tra-cuu?ma={code}" in mail.body_text


def test_no_mail_without_an_address(client: TestClient) -> None:
    app_id, _ = submit_transfer(client, applicant_email="")
    settle(client.app)  # type: ignore[arg-type]
    assert _mails(client, app_id) == []

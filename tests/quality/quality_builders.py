"""Builders for quality tests: cases written directly with explicit times, their history and side facts.

Every change is recorded through ``portal.cases.events`` as the back office records it; the tests then
``settle(app)`` (what ``portal worker`` does) before they read the facts and the monthly counters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from portal.cases.events import note_change, record_event
from portal.models import Application, Attachment, CaseEvent, new_id
from workflows.calendar import VN_TZ
from workflows.text import fold

AGENCY = "H29.41.04"
CORRECTION = ("2.001914", 2)  # diploma correction: 5 working days, no fee
TRANSFER = ("2.002481", 2)  # school transfer: 3 working days

# the workflow's effects of the actions used below (as the back office records them)
EFFECTS = {
    "accept": ["issue_receipt", "notify_applicant", "assign"],
    "request_supplement": ["issue_supplement_request", "notify_applicant", "pause_clock"],
    "submit_supplement": ["resume_clock"],
    "approve": ["issue_result"],
    "issue": ["notify_applicant"],
    "return_result": ["notify_applicant", "stop_clock", "invite_rating"],
    "refuse": ["issue_refusal", "notify_applicant", "stop_clock", "invite_rating"],
    "withdraw": ["stop_clock"],
}
CLOCK = {
    "request_supplement": "pause",
    "submit_supplement": "resume",
    "return_result": "stop",
    "refuse": "stop",
    "withdraw": "stop",
}
TARGET = {
    "accept": "dang_tham_dinh",
    "request_supplement": "cho_bo_sung",
    "submit_supplement": "cho_tiep_nhan",
    "approve": "cho_ban_hanh",
    "issue": "cho_tra_ket_qua",
    "return_result": "da_tra_ket_qua",
    "refuse": "tu_choi",
    "withdraw": "da_rut",
}
FINAL = {"da_tra_ket_qua", "tu_choi", "da_rut"}


def vn(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VN_TZ)


@dataclass
class Person:
    name: str
    phone: str
    cccd: str
    email: str = ""


def insert_case(
    session: Session,
    person: Person,
    *,
    received: datetime,
    due: date,
    number: int,
    procedure: tuple[str, int] = CORRECTION,
    agency: str = AGENCY,
    channel: str = "online",
    fee: int = 0,
    attachments: bool = True,
) -> Application:
    app = Application(
        id=new_id(),
        procedure_code=procedure[0],
        definition_version=procedure[1],
        agency_id=agency,
        status="cho_tiep_nhan",
        case_code=f"{agency}-{received:%y%m%d}-{number:04d}",
        channel=channel,
        applicant_name=person.name,
        applicant_name_folded=fold(person.name),
        applicant_cccd=person.cccd,
        applicant_phone=person.phone,
        applicant_email=person.email,
        data={"fields": {}},
        fee_amount=fee,
        submitted_at=received,
        due_date=due,
        effective_due_date=due,
        created_at=received - timedelta(minutes=10),
    )
    session.add(app)
    session.flush()
    if attachments:
        session.add(
            Attachment(
                application_id=app.id,
                document_key="don",
                filename="don.pdf",
                content_type="application/pdf",
                size=100,
                sha256="0" * 64,
                storage_key="x",
                created_at=received - timedelta(minutes=5),
            )
        )
    record_event(
        session,
        CaseEvent(
            application_id=app.id,
            kind="submitted",
            at=received,
            actor_kind="citizen",
            from_state="draft",
            to_state="cho_tiep_nhan",
            details={"case_code": app.case_code, "due_date": due.isoformat()},
        ),
    )
    session.flush()
    return app


def act(session: Session, app: Application, action: str, at: datetime, **details: Any) -> CaseEvent:
    """One transition as the back office writes it: the history row (effects, clock) and the new state."""
    target = TARGET[action]
    info: dict[str, Any] = {"action": action, "effects": EFFECTS[action], **details}
    if action in CLOCK:
        info["clock"] = CLOCK[action]
    if action == "request_supplement":
        info["supplement_request"] = True
        info["once"] = True
    event = CaseEvent(
        application_id=app.id,
        kind=action,
        at=at,
        actor_kind="staff",
        actor_id="1",
        actor_name="Cán bộ",
        from_state=app.status,
        to_state=target,
        details=info,
    )
    record_event(session, event)
    app.status = target
    if target in FINAL:
        app.closed_at = at
    session.flush()
    return event


def sign_result(session: Session, app: Application, at: datetime) -> bool:
    """A signed electronic result for the case (False when the signing domain is not installed)."""
    try:
        from portal.signing.models import ResultDocument
    except ModuleNotFoundError:
        return False
    session.add(
        ResultDocument(
            application_id=app.id,
            sha256="1" * 64,
            storage_key=f"r/{app.id}",
            size=10,
            signer_name="Nguyễn Quốc Bảo",
            issued_at=at,
        )
    )
    note_change(session, app.id, "result_signed")
    session.flush()
    return True


def pay_online(session: Session, app: Application, at: datetime) -> bool:
    """A settled online payment of the case's fee (False when the payments domain is not installed)."""
    try:
        from portal.payments_app.models import PaymentAttempt
    except ModuleNotFoundError:
        return False
    session.add(
        PaymentAttempt(
            txn_ref=f"T{app.id[:12]}",
            provider="vnpay",
            purpose="procedure_fee",
            application_id=app.id,
            amount=app.fee_amount,
            state="paid",
            settled_at=at,
            created_at=at,
            updated_at=at,
        )
    )
    note_change(session, app.id, "payment_paid")
    session.flush()
    return True


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)

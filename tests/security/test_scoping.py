"""Attack tests for the scoping findings of the 2026-12 security review (#4, #5, #6, #15): each one
plays a caller who must not see another agency's or another person's data, on a live portal."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from portal.assistant.models import ChatMessage, Conversation
from portal.payments_app.models import (
    NEEDS_REVIEW,
    SCHOOL_FEE,
    AttemptInvoice,
    Invoice,
    LedgerEntry,
    PaymentAttempt,
    School,
    SchoolClass,
    StatementImport,
    StatementLine,
    Student,
)
from tests.backoffice.staff_builders import PASSWORD, create_staff, insert_case, login, page_csrf
from tests.payments_app.builders import PARENT_PHONE, school_world

SERVICE = {"Authorization": "Bearer test-service-token"}


def _staff_login(web: httpx.Client, login_name: str, app: FastAPI) -> None:
    login(web, login_name, PASSWORD, app=app)  # the password, then a code for roles that need one


def _other_agency_school(app: FastAPI) -> dict[str, Any]:
    """A school of agency H29.41.02 with a held VNPay payment, a ledger line and an unmatched bank
    statement line whose memo names a payer — everything the daily report lists."""
    with app.state.db.sessions() as session:
        school = School(code="79000202", name="Trường Tiểu học Tân Chánh Hiệp", agency_id="H29.41.02")
        session.add(school)
        session.flush()
        klass = SchoolClass(school_id=school.id, name="2A")
        session.add(klass)
        session.flush()
        student = Student(
            code="7902000001",
            school_id=school.id,
            class_id=klass.id,
            full_name="Võ Bí Mật",
            parent_phone="0987000111",
        )
        session.add(student)
        session.flush()
        invoice = Invoice(
            reference="HDTEST0202",
            school_id=school.id,
            class_id=klass.id,
            student_id=student.id,
            period="2026-12",
            title="Tháng 12",
            amount=777_000,
        )
        session.add(invoice)
        session.flush()
        held = PaymentAttempt(
            txn_ref="TXNOTHERAGENCY01",
            provider="vnpay",
            purpose=SCHOOL_FEE,
            amount=777_000,
            state=NEEDS_REVIEW,
            state_reason="VNPay 07",
        )
        session.add(held)
        session.flush()
        session.add(AttemptInvoice(attempt_id=held.id, invoice_id=invoice.id, amount=777_000))
        session.add(
            LedgerEntry(
                entry_key=f"payment:{held.id}",
                kind="payment",
                channel="vnpay",
                amount=777_000,
                attempt_id=held.id,
                invoice_id=invoice.id,
                school_id=school.id,
                at=datetime.now(UTC),
            )
        )
        imported = StatementImport(
            school_id=school.id, filename="sk.csv", sha256="0" * 64, imported_by="kt02"
        )
        session.add(imported)
        session.flush()
        session.add(
            StatementLine(
                import_id=imported.id,
                school_id=school.id,
                line_key="k1",
                row=1,
                day=date.today(),
                amount=123_000,
                memo="CHUYEN TIEN NGUYEN VAN BI MAT HS 7902000001 SDT 0987000111",
                result="unmatched",
            )
        )
        create_staff(session, "ketoan04", "Kế toán phường 04", ["ke_toan"], agency="H29.41.04")
        create_staff(session, "quantri", "Quản trị", ["admin"], agency="H29.41.04")
        session.commit()
    return {"memo": "NGUYEN VAN BI MAT", "txn_ref": "TXNOTHERAGENCY01", "total": "777.000"}


def test_daily_report_shows_only_the_accountants_agency(app: FastAPI, portal_url: str) -> None:
    """Finding #4: /can-bo/thu-phi/bao-cao listed every agency's held payments, ledger totals and
    unmatched bank-statement lines (with the payer's memo) to any ke_toan."""
    other = _other_agency_school(app)
    with httpx.Client(base_url=portal_url, follow_redirects=False, timeout=60) as admin:
        _staff_login(admin, "quantri", app)
        everything = admin.get("/can-bo/thu-phi/bao-cao").text
    assert other["memo"] in everything and other["txn_ref"] in everything and other["total"] in everything

    with httpx.Client(base_url=portal_url, follow_redirects=False, timeout=60) as accountant:
        _staff_login(accountant, "ketoan04", app)
        report = accountant.get("/can-bo/thu-phi/bao-cao")
    assert report.status_code == 200
    for leaked in other.values():
        assert leaked not in report.text, leaked
    assert 'id="finding-count">0<' in report.text


def _register(web: httpx.Client, phone: str) -> None:
    token = page_csrf(web.get("/dang-ky").text)
    response = web.post(
        "/dang-ky",
        data={
            "csrf_token": token,
            "full_name": "Kẻ Mạo Danh",
            "phone": phone,
            "email": "mao.danh@example.vn",
            "password": "matkhau-rat-dai-1",
            "password2": "matkhau-rat-dai-1",
        },
    )
    assert response.status_code == 303, response.text[:500]


def test_a_parents_phone_alone_opens_no_childs_fees(app: FastAPI, web: httpx.Client) -> None:
    """Finding #5: registering an account with a parent's phone (never verified) listed their
    children's invoices on /hoc-phi; the anonymous lookup and the assistant's API took the same
    student code + phone. Only the link code printed on the school's notice proves the link."""
    world = school_world(app)
    ref, _ = world["by_code"]["7901000001"]
    _register(web, PARENT_PHONE)
    fees = web.get("/hoc-phi").text
    assert "Nguyễn Minh An" not in fees and ref not in fees
    assert web.get(f"/hoc-phi/hoa-don/{ref}").status_code == 404

    token = page_csrf(fees)
    by_phone = web.post(
        "/hoc-phi", data={"csrf_token": token, "student_code": "7901000001", "phone": PARENT_PHONE}
    )
    assert by_phone.status_code != 303
    assert web.get(f"/hoc-phi/hoa-don/{ref}").status_code == 404
    for headers in ({}, SERVICE):
        api = web.get(
            "/api/v1/fees/invoices",
            params={"student_code": "7901000001", "phone": PARENT_PHONE},
            headers=headers,
        )
        assert api.status_code == 404 and ref not in api.text

    # guessing link codes is rate-limited, and the limit holds even for the right code afterwards
    with app.state.db.sessions() as session:
        code = session.scalars(select(Student.link_code).where(Student.code == "7901000001")).one()
    statuses = [
        web.post(
            "/hoc-phi",
            data={
                "csrf_token": token,
                "student_code": "7901000001",
                "link_code": f"WRNGCD{'ABCDEFGHJKLM'[n]}A",
            },
        ).status_code
        for n in range(12)
    ]
    assert statuses[0] == 404 and statuses[-1] == 429, statuses
    refused = web.post(
        "/hoc-phi", data={"csrf_token": token, "student_code": "7901000001", "link_code": code}
    )
    assert refused.status_code == 429
    assert web.get(f"/hoc-phi/hoa-don/{ref}").status_code == 404


def test_idempotency_key_never_returns_another_callers_draft(web: httpx.Client, portal_url: str) -> None:
    """Finding #6: a known Idempotency-Key returned another applicant's draft and its secret
    resume_url to any caller."""
    victim_body = {
        "procedure_code": "2.002481",
        "applicant": {"full_name": "Trần Thị Mai", "phone": "0987654321", "cccd": "079185077777"},
    }
    first = web.post("/api/v1/applications", headers={"Idempotency-Key": "order-1001"}, json=victim_body)
    assert first.status_code == 201, first.text
    victim = first.json()
    replay = web.post("/api/v1/applications", headers={"Idempotency-Key": "order-1001"}, json=victim_body)
    assert replay.json()["id"] == victim["id"]  # the same caller still gets its own draft back

    attacker_body = {"procedure_code": "2.002481", "applicant": {"full_name": "Kẻ Tò Mò"}}
    for headers in ({}, SERVICE):
        with httpx.Client(base_url=portal_url, timeout=60) as attacker:
            taken = attacker.post(
                "/api/v1/applications",
                headers={"Idempotency-Key": "order-1001", **headers},
                json=attacker_body,
            )
        assert taken.status_code in (201, 409), taken.text
        assert victim["id"] not in taken.text and victim["resume_url"] not in taken.text
        assert "079185077777" not in taken.text


def test_callbacks_and_transcripts_stay_in_their_agency(
    app: FastAPI, portal_url: str, web: httpx.Client
) -> None:
    """Finding #15: every tiep_nhan of every agency read all call-back requests (name, phone,
    note) and all chat transcripts."""
    with app.state.db.sessions() as session:
        case = insert_case(session, due=date(2026, 12, 20), number=7, agency="H29.41.04")
        case_code = case.case_code
        create_staff(session, "tn02", "Tiếp nhận phường 02", ["tiep_nhan"], agency="H29.41.02")
        create_staff(session, "tn04", "Tiếp nhận phường 04", ["tiep_nhan"], agency="H29.41.04")
        session.add(Conversation(id="conv-secret-1", lang="vi"))
        session.flush()
        session.add(ChatMessage(conversation_id="conv-secret-1", direction="in", text="Tôi là Nguyễn Bí Mật"))
        session.commit()
    unrouted = web.post("/api/v1/callbacks", json={"full_name": "Nguyễn Gọi Lại", "phone": "0912555666"})
    routed = web.post(
        "/api/v1/callbacks",
        headers=SERVICE,
        json={"full_name": "Lê Có Hồ Sơ", "phone": "0912777888", "case_code": case_code},
    )
    assert unrouted.status_code == routed.status_code == 201

    with httpx.Client(base_url=portal_url, follow_redirects=False, timeout=60) as outsider:
        _staff_login(outsider, "tn02", app)
        listing = outsider.get("/can-bo/goi-lai").text
        for leaked in ("Nguyễn Gọi Lại", "0912555666", "Lê Có Hồ Sơ", "0912777888"):
            assert leaked not in listing, leaked
        token = page_csrf(listing)
        for callback in (unrouted, routed):
            done = outsider.post(f"/can-bo/goi-lai/{callback.json()['id']}/xong", data={"csrf_token": token})
            assert done.status_code == 404
        assert "conv-secret-1" not in outsider.get("/can-bo/tro-ly-ao").text
        assert outsider.get("/can-bo/tro-ly-ao/conv-secret-1").status_code == 404

    with httpx.Client(base_url=portal_url, follow_redirects=False, timeout=60) as desk:
        _staff_login(desk, "tn04", app)
        own = desk.get("/can-bo/goi-lai").text
        assert "Lê Có Hồ Sơ" in own and "Nguyễn Gọi Lại" not in own

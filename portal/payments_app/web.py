"""Citizen and parent pages: pay a procedure fee, find and pay school invoices, results, receipts.

VNPay's IPN (server-to-server GET, no session, no CSRF) is answered in front of the portal's
middleware: portal/payments_app/ipn.py.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session, object_session
from starlette.datastructures import FormData

from payments import PaymentError
from payments.vnpay_codec import RESPONSE_MESSAGES
from portal import i18n
from portal.applications.service import ApplicationService
from portal.deps import Applications, DbSession, Form, SettingsDep, client_ip, lookup_client
from portal.errors import Conflict, NotFound, RateLimited, ValidationFailed
from portal.models import Application, Citizen
from portal.payments_app import documents
from portal.payments_app.fees import fee_due_now
from portal.payments_app.gateway import RETURN_ROUTE, Gateway
from portal.payments_app.models import INVOICE_UNPAID, OPEN_STATES, PAID, PROCEDURE_FEE, Invoice, Student
from portal.payments_app.repository import PaymentRepository, SchoolRepository
from portal.payments_app.schools import (
    SchoolFeeService,
    link_attempts_exceeded,
    link_code,
    link_token,
    period_label,
    show_link_code,
    token_ok,
)
from portal.payments_app.service import STATE_LABELS, CaseFeeStatus, PaymentService, payment_status_for_case
from portal.payments_app.statements import vietqr_svg
from portal.ratelimit import RateLimiter
from portal.routing import Router
from portal.web import security
from portal.web.access import open_case
from portal.web.render import external_redirect, flash, redirect, render
from workflows.definitions import Definition
from workflows.validators import InvalidValue
from workflows.validators import phone as normalise_phone

log = logging.getLogger("portal.payments")

router = Router(dependencies=[Depends(security.verify_csrf)], include_in_schema=False)

FEE_GRANTS = "fee_students"  # students whose invoices this browser may see (code + phone, or a link)


def get_gateway(request: Request) -> Gateway:
    return request.app.state.payments_gateway  # type: ignore[no-any-return]


def get_payments(request: Request, session: DbSession) -> PaymentService:
    return PaymentService(session, get_gateway(request))


Payments = Annotated[PaymentService, Depends(get_payments)]


# -- return page (VNPay's, or another registered provider's; the IPN: portal/payments_app/ipn.py) --


def _receipt_url(settings: Any, txn_ref: str) -> str:
    return f"/thanh-toan/{txn_ref}/bien-lai.pdf?k={link_token(settings.secret_key, 'receipt', txn_ref)}"


def _result_context(request: Request, session: Session, txn_ref: str, settings: Any) -> dict[str, Any]:
    attempt = PaymentRepository(session).by_ref(txn_ref)
    if attempt is None:
        raise NotFound("Không tìm thấy giao dịch.")
    back = "/hoc-phi"
    if attempt.purpose == PROCEDURE_FEE and attempt.application_id:
        app = session.get(Application, attempt.application_id)
        back = f"/tra-cuu?ma={app.case_code}" if app is not None else "/tra-cuu"
    return {
        "attempt": attempt,
        "state_label": STATE_LABELS.get(attempt.state, attempt.state),
        "open": attempt.state in OPEN_STATES,
        "paid": attempt.state == PAID,
        "back": back,
        "receipt_url": _receipt_url(settings, attempt.txn_ref),
        "poll_url": f"/thanh-toan/{attempt.txn_ref}/trang-thai?k="
        f"{link_token(settings.secret_key, 'receipt', attempt.txn_ref)}",
    }


@router.get(RETURN_ROUTE)
def provider_return(request: Request, provider: str, session: DbSession, settings: SettingsDep) -> Response:
    """Display only: the attempt changes state from the IPN (or reconciliation), never from here."""
    gateway = get_gateway(request)
    if provider not in gateway.registry:
        raise NotFound()
    try:
        returned = gateway.provider(provider).verify_return(dict(request.query_params))
    except PaymentError:
        return render(request, "payments/result.html", {"invalid": True}, status=400)
    ctx = _result_context(request, session, returned.txn_ref, settings)
    ctx["gateway_message"] = RESPONSE_MESSAGES.get(returned.response_code, "")
    return render(request, "payments/result.html", ctx)


@router.get("/thanh-toan/{txn_ref}/trang-thai")
def result_status(
    request: Request, txn_ref: str, session: DbSession, settings: SettingsDep, k: str = ""
) -> Response:
    """HTMX polling while the IPN has not arrived yet (a block of the result page)."""
    if not token_ok(settings.secret_key, "receipt", txn_ref, k):
        raise NotFound()
    return render(
        request, "payments/result.html", _result_context(request, session, txn_ref, settings), block="status"
    )


@router.get("/thanh-toan/{txn_ref}/bien-lai.pdf")
def attempt_receipt_pdf(
    request: Request, txn_ref: str, session: DbSession, settings: SettingsDep, k: str = ""
) -> Response:
    attempt = PaymentRepository(session).by_ref(txn_ref)
    if attempt is None or not token_ok(settings.secret_key, "receipt", txn_ref, k):
        raise NotFound()
    receipt = documents.attempt_receipt(session, attempt, request.app.state.catalogue)
    if receipt is None:
        raise NotFound("Giao dịch chưa được thanh toán nên chưa có biên lai.")
    return _pdf(documents.receipt_pdf(receipt), f"bien-lai-{txn_ref}.pdf")


def _pdf(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# -- procedure fees ------------------------------------------------------------------------------------


def case_fee(app: Application | None, definition: Definition | None) -> dict[str, Any] | None:
    """Template helper for the receipt and tracking pages: the case's fee and whether to pay now."""
    session = object_session(app) if app is not None else None
    if session is None or app is None or definition is None or app.is_draft or app.fee_amount <= 0:
        return None
    status = payment_status_for_case(
        session, app.id, fee_amount=app.fee_amount, due_now=fee_due_now(definition, app)
    )
    return {"status": status, "online": definition.online_payment}


def _start_case_payment(
    request: Request, app: Application, service: ApplicationService, payments: PaymentService
) -> Response:
    definition = service.definition_of(app)
    try:
        started = payments.start_procedure_fee(
            app,
            due=fee_due_now(definition, app),
            client_ip=client_ip(request),
            citizen_id=security.current_citizen_id(request),
        )
    except (Conflict, ValidationFailed) as exc:
        return render(
            request,
            "payments/cannot_pay.html",
            {"message": exc.message, "back": f"/tra-cuu?ma={app.case_code}"},
            status=409,
        )
    return external_redirect(request, started.redirect_url)


@router.post("/ho-so/{application_id}/le-phi")
def pay_case_fee(
    request: Request, application_id: str, service: Applications, payments: Payments
) -> Response:
    app = open_case(request, application_id, service)
    return _start_case_payment(request, app, service, payments)


@router.post("/le-phi/thanh-toan")
def pay_case_fee_by_code(
    request: Request, service: Applications, payments: Payments, settings: SettingsDep, form: Form
) -> Response:
    return _pay_by_code(request, form, service, payments, settings)


def _pay_by_code(
    request: Request, form: FormData, service: ApplicationService, payments: PaymentService, settings: Any
) -> Response:
    return _start_case_payment(request, _case_by_code(request, form, service, settings), service, payments)


def _case_by_code(
    request: Request, form: FormData, service: ApplicationService, settings: Any
) -> Application:
    """From the tracking page: the case code + the applicant's phone, rate-limited like tracking."""
    _limit(request, service.repo.session, settings)
    try:
        phone = normalise_phone(str(form.get("phone") or ""))
    except InvalidValue:
        phone = ""
    app = service.track(str(form.get("case_code") or ""), phone) if phone else None
    if app is None:
        raise NotFound("Không tìm thấy hồ sơ với mã hồ sơ và số điện thoại này.")
    return app


def _limit(request: Request, session: Session, settings: Any) -> None:
    limiter = RateLimiter(session)
    if (
        limiter.hit(f"fees:{lookup_client(request)}", window_seconds=settings.tracking_window_seconds)
        > settings.tracking_max_lookups
    ):
        raise RateLimited("Bạn đã tra cứu quá nhiều lần; vui lòng thử lại sau ít phút.")


def _case_receipt(request: Request, session: Session, app: Application) -> Response:
    paid = [a for a in PaymentRepository(session).for_application(app.id) if a.state == PAID]
    receipt = documents.attempt_receipt(session, paid[0], request.app.state.catalogue) if paid else None
    if receipt is None:
        raise NotFound("Lệ phí của hồ sơ chưa được thanh toán nên chưa có biên lai.")
    return _pdf(documents.receipt_pdf(receipt), f"bien-lai-{paid[0].txn_ref}.pdf")


@router.get("/ho-so/{application_id}/le-phi/bien-lai.pdf")
def case_receipt_pdf(request: Request, application_id: str, service: Applications) -> Response:
    return _case_receipt(request, service.repo.session, open_case(request, application_id, service))


@router.post("/le-phi/bien-lai")
def case_receipt_by_code(
    request: Request, service: Applications, settings: SettingsDep, form: Form
) -> Response:
    return _case_receipt(request, service.repo.session, _case_by_code(request, form, service, settings))


# -- school fees -----------------------------------------------------------------------------------------


def _granted(request: Request, session: Session) -> list[Student]:
    """Students this browser may see: looked up with code + link code, opened from a signed link,
    linked to the logged-in citizen's account with the link code, or recorded by their school with
    the parent phone the citizen *verified* by a one-time code. An unverified phone grants nothing:
    accounts are registered without proving the phone (``SchoolFeeService.children_of``)."""
    repo = SchoolRepository(session)
    ids = set(request.session.get(FEE_GRANTS, []))
    students = {s.id: s for s in repo.students(ids)}
    cid = security.current_citizen_id(request)
    if cid is not None:
        students.update({s.id: s for s in SchoolFeeService(session).children_of(cid)})
    return sorted(students.values(), key=lambda s: (s.full_name, s.id))


def _grant(request: Request, student: Student) -> None:
    grants = [g for g in request.session.get(FEE_GRANTS, []) if g != student.id][-9:]
    request.session[FEE_GRANTS] = [*grants, student.id]


def _fees_context(request: Request, session: Session, settings: Any) -> dict[str, Any]:
    repo = SchoolRepository(session)
    students = _granted(request, session)
    invoices = repo.invoices_for_students([s.id for s in students], ("unpaid", "paid"))
    schools = {s.school_id: repo.school(s.school_id) for s in students}
    classes = {s.class_id: repo.school_class(s.class_id) for s in students}
    groups = [
        {
            "student": s,
            "school": schools[s.school_id],
            "class": classes[s.class_id],
            "invoices": [i for i in invoices if i.student_id == s.id],
        }
        for s in students
    ]
    chosen = request.query_params.get("chon")
    cid = security.current_citizen_id(request)
    citizen = session.get(Citizen, cid) if cid is not None else None
    return {
        "phone_unverified": citizen is not None and not citizen.phone_verified,
        "groups": groups,
        "period_label": period_label,
        "chosen": chosen,
        "values": {},
        "errors": {},
        "unpaid_total": sum(i.amount for i in invoices if i.status == "unpaid"),
    }


@router.get("/hoc-phi")
def fees_home(request: Request, session: DbSession, settings: SettingsDep) -> Response:
    return render(request, "payments/fees.html", _fees_context(request, session, settings))


@router.post("/hoc-phi")
def fees_lookup(request: Request, session: DbSession, settings: SettingsDep, form: Form) -> Response:
    return _fees_lookup(request, form, session, settings)


def _fees_lookup(request: Request, form: FormData, session: Session, settings: Any) -> Response:
    """Student code + the link code on the school's notice: shows the student's fees in this browser
    and, for a signed-in citizen, links the student to the account for good."""
    code = str(form.get("student_code") or "").strip().upper()
    raw_link = str(form.get("link_code") or "")
    values = {"student_code": code, "link_code": raw_link}
    errors: dict[str, str] = {}
    if not code:
        errors["student_code"] = i18n.gettext(
            "Vui lòng nhập mã học sinh (in trên thông báo thu của nhà trường)."
        )
    elif len(code) > 20 or not code.isalnum():
        errors["student_code"] = i18n.gettext("Mã học sinh gồm chữ và số, tối đa 20 ký tự.")
    entered = link_code(raw_link)
    if not raw_link.strip():
        errors["link_code"] = i18n.gettext("Vui lòng nhập mã liên kết phụ huynh in trên thông báo thu.")
    elif entered is None:
        errors["link_code"] = i18n.gettext(
            "Mã liên kết phụ huynh gồm 8 chữ cái và chữ số in trên thông báo thu, ví dụ ABCD-2345."
        )
    ctx = _fees_context(request, session, settings)
    if errors or entered is None:
        return render(request, "payments/fees.html", {**ctx, "values": values, "errors": errors}, status=422)
    if _link_attempts_exceeded(request, session, settings, code):
        # answered, not raised: the limiter's hits must be committed with this request
        errors["link_code"] = i18n.gettext(
            "Bạn đã nhập sai quá nhiều lần; vui lòng thử lại sau ít phút hoặc liên hệ nhà trường."
        )
        return render(request, "payments/fees.html", {**ctx, "values": values, "errors": errors}, status=429)
    fees = SchoolFeeService(session)
    student = fees.find_student(code, entered)
    if student is None:
        errors["link_code"] = i18n.gettext(
            "Mã học sinh và mã liên kết không khớp; vui lòng đối chiếu với thông báo thu của nhà trường."
        )
        return render(request, "payments/fees.html", {**ctx, "values": values, "errors": errors}, status=404)
    _grant(request, student)
    citizen_id = security.current_citizen_id(request)
    if citizen_id is not None and fees.link_parent(citizen_id, student):
        flash(request, i18n.gettext("Đã liên kết học sinh với tài khoản của bạn."))
    return redirect(request, "/hoc-phi")


def _link_attempts_exceeded(request: Request, session: Session, settings: Any, student_code: str) -> bool:
    return link_attempts_exceeded(RateLimiter(session), settings, lookup_client(request), student_code)


@router.get("/hoc-phi/hs/{student_code}")
def fees_link(
    request: Request,
    student_code: str,
    session: DbSession,
    settings: SettingsDep,
    k: str = "",
    chon: str = "",
) -> Response:
    """The link the assistant and notices give parents: signed, so it opens without a lookup."""
    student = SchoolRepository(session).student_by_code(student_code.upper())
    if student is None or not token_ok(settings.secret_key, "student", student.code, k):
        raise NotFound("Liên kết không hợp lệ hoặc đã hết hiệu lực; vui lòng tra cứu bằng mã học sinh.")
    _grant(request, student)
    return redirect(request, "/hoc-phi" + (f"?chon={chon}#{chon}" if chon.isalnum() else ""))


def _accessible_invoices(request: Request, session: Session, refs: list[str]) -> list[Invoice]:
    allowed = {s.id for s in _granted(request, session)}
    invoices = SchoolRepository(session).invoices_by_refs(refs)
    if len(invoices) != len(set(refs)) or any(i.student_id not in allowed for i in invoices):
        raise NotFound("Không tìm thấy khoản thu, hoặc bạn chưa tra cứu học sinh này.")
    return invoices


@router.post("/hoc-phi/thanh-toan")
def fees_pay(request: Request, payments: Payments, settings: SettingsDep, form: Form) -> Response:
    return _fees_pay(request, form, payments, settings)


def _fees_pay(request: Request, form: FormData, payments: PaymentService, settings: Any) -> Response:
    session = payments.session
    refs = [str(v) for v in form.getlist("invoice") if isinstance(v, str) and v.isalnum()][:50]
    invoices = _accessible_invoices(request, session, refs) if refs else []
    students = {s.id: s for s in _granted(request, session)}
    phone = next((students[i.student_id].parent_phone for i in invoices if i.student_id in students), "")
    try:
        started = payments.start_school_fee(
            invoices,
            payer_phone=phone,
            client_ip=client_ip(request),
            citizen_id=security.current_citizen_id(request),
        )
    except ValidationFailed as exc:
        ctx = _fees_context(request, session, settings)
        return render(
            request,
            "payments/fees.html",
            {**ctx, "errors": exc.fields or {"invoices": exc.message}},
            status=422,
        )
    except Conflict as exc:
        return render(
            request, "payments/cannot_pay.html", {"message": exc.message, "back": "/hoc-phi"}, status=409
        )
    return external_redirect(request, started.redirect_url)


@router.get("/hoc-phi/hoa-don/{reference}")
def invoice_page(request: Request, reference: str, session: DbSession, settings: SettingsDep) -> Response:
    invoice = _accessible_invoices(request, session, [reference])[0]
    repo = SchoolRepository(session)
    school = repo.school(invoice.school_id)
    assert school is not None
    transfers = get_gateway(request).transfer_provider()
    qr = vietqr_svg(school, invoice, settings, transfers) if invoice.status == INVOICE_UNPAID else None
    attempts = PaymentRepository(session).for_invoice(invoice.id)
    student = repo.student(invoice.student_id)
    return render(
        request,
        "payments/invoice.html",
        {
            "invoice": invoice,
            "lines": repo.lines(invoice.id),
            "student": student,
            "link_code": show_link_code(student.link_code if student else None),
            "klass": repo.school_class(invoice.class_id),
            "school": school,
            "qr": qr[0] if qr else None,
            "account": qr[1] if qr else None,
            "period_label": period_label,
            "attempts": attempts,
            "state_labels": STATE_LABELS,
        },
    )


@router.get("/hoc-phi/hoa-don/{reference}/bien-lai.pdf")
def invoice_receipt_pdf(request: Request, reference: str, session: DbSession) -> Response:
    invoice = _accessible_invoices(request, session, [reference])[0]
    receipt = documents.invoice_receipt(session, invoice)
    if receipt is None:
        raise NotFound("Khoản thu chưa được thanh toán nên chưa có biên lai.")
    return _pdf(documents.receipt_pdf(receipt), f"bien-lai-{reference}.pdf")


__all__ = ["CaseFeeStatus", "case_fee", "router"]

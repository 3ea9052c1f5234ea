"""JSON API v1: the catalogue, drafts, submission and tracking.

Used by the assistant's actions (with a service token) and by any client.
Errors are ``{"error": {"code", "message", "fields"}}`` with Vietnamese messages.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from fastapi import Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from portal import i18n
from portal.api.common import ERRORS
from portal.applications import forms
from portal.applications.forms import APPLICANT_FIELDS, ApplicantField
from portal.applications.schema import applicant_field_schema, form_field_schema
from portal.applications.service import ApplicationService, Upload
from portal.catalogue import Catalogue
from portal.deps import Applications, CatalogueDep, Form, SettingsDep, client_ip, is_service, lookup_client
from portal.errors import CaseNotFound, Conflict, NotFound, ProcedureNotFound, RateLimited, ValidationFailed
from portal.ratelimit import RateLimiter
from portal.routing import Router
from portal.web import security
from portal.web.bodies import accepts_files
from workflows.calendar import now as vn_now
from workflows.calendar import today as vn_today
from workflows.definitions import (
    DELIVERY_LABELS,
    DOCUMENT_KIND_LABELS,
    LEVEL_LABELS,
    Definition,
    FieldType,
    FormField,
)
from workflows.validators import InvalidValue
from workflows.validators import phone as normalise_phone

router = Router(prefix="/api/v1", tags=["api v1"])


class AgencyOut(BaseModel):
    id: str
    name: str
    address: str
    phone: str
    email: str
    hotline: str | None = None
    office_hours: str


class ProcedureSummary(BaseModel):
    code: str
    version: int
    slug: str
    name: str
    name_en: str | None
    level: str
    level_label: str
    agency: AgencyOut
    time_limit_text: str
    fee_text: str
    url: str


class ProcedureList(BaseModel):
    items: list[ProcedureSummary]
    total: int


class DocumentOut(BaseModel):
    key: str
    name: str
    kind: str
    kind_label: str
    quantity: int
    required: bool
    file_types: list[str]
    max_size_mb: float


class OptionOut(BaseModel):
    value: str
    label: str


class FieldOut(BaseModel):
    key: str
    type: str
    label: str
    required: bool = Field(description="must be filled before the application is submitted")
    help: str | None
    options: list[OptionOut]
    value_schema: dict[str, Any] = Field(
        alias="schema",
        description="JSON Schema of the value (Python re patterns) as POST /api/v1/applications accepts it",
    )
    max_length: int
    pattern: str | None = None
    format: str | None = Field(None, description="date: dd/mm/yyyy or yyyy-mm-dd; email")
    minimum: int | None = None
    maximum: int | None = None
    date_range: str | None = Field(None, description="past: not after today; future: not before today")
    enum: list[str] | None = None


class FeeOut(BaseModel):
    amount: int
    text: str
    payable_online: bool


class TimeLimitOut(BaseModel):
    working_days: int | None
    same_day: bool
    text: str


class ResultOut(BaseModel):
    name: str
    delivery: list[str]
    delivery_text: str


class ProcedureDetail(ProcedureSummary):
    effective_from: date
    summary: str | None
    online: bool
    online_payment: bool
    agencies: list[AgencyOut]
    authority: str
    applicants: str | None
    legal_basis: list[str]
    fee: FeeOut
    time_limit: TimeLimitOut
    result: ResultOut
    documents: list[DocumentOut]
    applicant_fields: list[FieldOut]
    fields: list[FieldOut]
    steps: list[str]
    apply_url: str


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang") or i18n.current_lang.get()
    return lang if lang in i18n.LANGUAGES else "vi"


def fee_text(d: Definition, lang: str = "vi") -> str:
    fee = d.fee
    if fee.is_free:
        return "Không thu phí, lệ phí" if lang == "vi" else "Free of charge"
    unit = {"dossier": "hồ sơ", "page": "trang", "copy": "bản"}[fee.unit]
    text = f"{i18n.money(fee.amount)}/{unit}"
    if fee.max_amount:
        text += f", tối đa {i18n.money(fee.max_amount)}"
    if fee.note:
        text += f" ({fee.note.get(lang)})"
    return text


def time_limit_text(d: Definition, lang: str = "vi") -> str:
    tl = d.time_limit
    if tl.same_day:
        text = (
            "Trong ngày (nhận sau 15:00 thì trả vào ngày làm việc tiếp theo)"
            if lang == "vi"
            else "Same day (after 15:00: next working day)"
        )
    else:
        text = f"{tl.working_days} ngày làm việc" if lang == "vi" else f"{tl.working_days} working days"
    if tl.note:
        text += f". {tl.note.get(lang)}"
    return text


def _agency(catalogue: Catalogue, agency_id: str, request: Request, lang: str) -> AgencyOut:
    a = catalogue.registry.agency(agency_id)
    hours = request.app.state.calendar.office_hours.text()
    return AgencyOut(
        id=a.id,
        name=a.name.get(lang),
        address=a.address,
        phone=a.phone,
        email=a.email,
        hotline=a.hotline,
        office_hours=hours,
    )


def _base(request: Request) -> str:
    return str(request.app.state.settings.base_url).rstrip("/")


def summary(d: Definition, catalogue: Catalogue, request: Request, lang: str) -> ProcedureSummary:
    return ProcedureSummary(
        code=d.code,
        version=d.version,
        slug=d.slug,
        name=d.name.get(lang),
        name_en=d.name.en,
        level=d.level.value,
        level_label=LEVEL_LABELS[d.level].get(lang),
        agency=_agency(catalogue, d.agencies[0], request, lang),
        time_limit_text=time_limit_text(d, lang),
        fee_text=fee_text(d, lang),
        url=f"{_base(request)}/thu-tuc/{d.slug}",
    )


@router.get("/procedures", response_model=ProcedureList, summary="Search the catalogue (ignores diacritics)")
def list_procedures(
    request: Request,
    catalogue: CatalogueDep,
    q: str = Query("", max_length=200),
    limit: int = Query(50, ge=1, le=100),
) -> ProcedureList:
    lang = _lang(request)
    hits = catalogue.search(q, vn_now().date(), limit=limit)
    return ProcedureList(
        items=[summary(h.definition, catalogue, request, lang) for h in hits], total=len(hits)
    )


@router.get(
    "/procedures/{code}",
    response_model=ProcedureDetail,
    responses=ERRORS,
    summary="One procedure as in force today",
)
def get_procedure(code: str, request: Request, catalogue: CatalogueDep) -> ProcedureDetail:
    lang = _lang(request)
    d = catalogue.get(code, vn_now().date())
    if d is None:
        raise ProcedureNotFound()
    base = summary(d, catalogue, request, lang)
    return ProcedureDetail(
        **base.model_dump(),
        effective_from=d.effective_from,
        summary=d.summary.get(lang) if d.summary else None,
        online=True,
        online_payment=d.online_payment,
        agencies=[_agency(catalogue, a, request, lang) for a in d.agencies],
        authority=d.authority.get(lang),
        applicants=d.applicants.get(lang) if d.applicants else None,
        legal_basis=[t.get(lang) for t in d.legal_basis],
        fee=FeeOut(amount=d.fee.amount, text=fee_text(d, lang), payable_online=d.fee.payable_online),
        time_limit=TimeLimitOut(
            working_days=d.time_limit.working_days,
            same_day=d.time_limit.same_day,
            text=time_limit_text(d, lang),
        ),
        result=ResultOut(
            name=d.result.get(lang),
            delivery=[x.value for x in d.delivery],
            delivery_text="; ".join(DELIVERY_LABELS[x].get(lang) for x in d.delivery),
        ),
        documents=[
            DocumentOut(
                key=doc.key,
                name=doc.name.get(lang),
                kind=doc.kind.value,
                kind_label=DOCUMENT_KIND_LABELS[doc.kind].get(lang),
                quantity=doc.quantity,
                required=doc.required,
                file_types=list(doc.file_types),
                max_size_mb=doc.max_size_mb,
            )
            for doc in d.documents
        ],
        applicant_fields=[_field_out(f, lang) for f in APPLICANT_FIELDS],
        fields=[_field_out(f, lang) for f in d.fields],
        steps=[s.get(lang) for s in d.steps],
        apply_url=f"{_base(request)}/thu-tuc/{d.slug}/nop-ho-so",
    )


def _field_out(f: FormField | ApplicantField, lang: str) -> FieldOut:
    today = vn_today()  # the validators' today (Vietnam's date)
    spec = f if isinstance(f, FormField) else None
    schema = form_field_schema(f, today) if isinstance(f, FormField) else applicant_field_schema(f, today)
    formats = {FieldType.DATE: "date", FieldType.EMAIL: "email"}
    return FieldOut(
        key=f.key,
        type=f.type.value,
        label=f.label.get(lang),
        required=f.required,
        help=f.help.get(lang) if f.help else None,
        options=[OptionOut(value=o.value, label=o.label.get(lang)) for o in spec.options] if spec else [],
        schema=schema,
        max_length=f.max_length,
        pattern=schema.get("pattern"),
        format=formats.get(f.type),
        minimum=spec.min if spec else None,
        maximum=spec.max if spec else None,
        date_range=spec.date_range if spec and f.type is FieldType.DATE else None,
        enum=[o.value for o in spec.options] if spec and spec.options else None,
    )


@router.get("/agencies", summary="Receiving agencies in force today, with contacts and office hours")
def list_agencies(request: Request, catalogue: CatalogueDep) -> dict[str, list[AgencyOut]]:
    lang = _lang(request)
    today = vn_now().date()
    return {
        "items": [
            _agency(catalogue, a.id, request, lang)
            for a in catalogue.registry.agencies.values()
            if a.in_force(today)
        ]
    }


class ApplicantIn(BaseModel):
    full_name: str = ""
    phone: str = ""
    email: str = ""
    cccd: str = ""
    address: str = ""


class ApplicationIn(BaseModel):
    procedure_code: str = Field(max_length=40)
    agency_id: str | None = None
    applicant: ApplicantIn = ApplicantIn()
    fields: dict[str, str] = {}


class ApplicationCreated(BaseModel):
    id: str
    status: str
    procedure_code: str
    resume_url: str
    missing: dict[str, str]


IDEMPOTENCY = (
    "`Idempotency-Key` is scoped to the caller: the service token, the signed-in citizen, or — for an "
    "anonymous caller — the client address together with the exact request body. Repeating a request "
    "with the same key returns the caller's own draft; the same key sent by any other caller creates a "
    "new draft for that caller and never returns another caller's draft or its `resume_url`. A key "
    "reused by the same caller for another procedure is refused (422)."
)


def _idempotency_scope(request: Request, key: str, body: ApplicationIn) -> str:
    """The stored key: the client's key in the caller's own namespace (a digest, so it fits the column
    whatever the scope). Anonymous callers have no identity but their address, which many share
    behind NAT; the body is part of their scope, so only a caller who already sent exactly these
    applicant details gets this draft back."""
    if is_service(request):
        scope = "service"
    elif (citizen_id := security.current_citizen_id(request)) is not None:
        scope = f"citizen:{citizen_id}"
    else:
        scope = f"anonymous:{client_ip(request)}:{body.model_dump_json()}"
    return "k2:" + hashlib.sha256(f"{scope}\x00{key}".encode()).hexdigest()


@router.post(
    "/applications",
    status_code=201,
    response_model=ApplicationCreated,
    responses=ERRORS,
    summary="Create a draft; returns its id and the link to finish it in the portal",
    description=IDEMPOTENCY,
)
def create_application(
    body: ApplicationIn,
    request: Request,
    service: Applications,
    catalogue: CatalogueDep,
    settings: SettingsDep,
    idempotency_key: str | None = Header(None, max_length=100, description=IDEMPOTENCY),
) -> ApplicationCreated:
    if not is_service(request):
        limiter = RateLimiter(service.repo.session)
        if limiter.hit(f"api-draft:{client_ip(request)}", window_seconds=600) > 60:
            raise RateLimited()
    d = catalogue.get(body.procedure_code, vn_now().date())
    if d is None:
        raise ProcedureNotFound()
    # a replayed key returns the first draft, but only to a body that is valid in itself
    invalid = forms.validate(d, body.applicant.model_dump(), body.fields, body.agency_id, draft=True).errors
    if invalid:
        raise ValidationFailed(fields={_api_field(k): v for k, v in invalid.items()})
    scoped_key = _idempotency_scope(request, idempotency_key, body) if idempotency_key else None
    if scoped_key:
        existing = service.repo.by_idempotency_key(scoped_key)
        if existing is not None:
            if existing.procedure_code != d.code:
                raise Conflict("Khoá Idempotency-Key đã được dùng cho một hồ sơ khác.")  # valid, but taken
            return _created(existing, service, request)
    app, _ = service.create_draft(
        d, citizen_id=security.current_citizen_id(request), idempotency_key=scoped_key
    )
    checked = service.save_draft(
        app, body.applicant.model_dump(), body.fields, body.agency_id, complete=False
    )
    if checked.errors:
        raise ValidationFailed(fields={_api_field(k): v for k, v in checked.errors.items()})
    return _created(app, service, request)


def _created(app: Any, service: ApplicationService, request: Request) -> ApplicationCreated:
    return ApplicationCreated(
        id=app.id,
        status=app.status,
        procedure_code=app.procedure_code,
        resume_url=f"{_base(request)}/ho-so/{app.id}/sua?t={service.access_token(app.id)}",
        missing={_api_field(k): v for k, v in service.missing(app).items()},
    )


class AttachmentOut(BaseModel):
    id: str
    document_key: str
    filename: str
    size: int
    sha256: str


def _draft_for_client(application_id: str, request: Request, service: ApplicationService) -> Any:
    app = service.repo.get(application_id)
    token = request.headers.get("X-Draft-Token") or request.query_params.get("t")
    if app is None or not (
        is_service(request)
        or service.may_access(app, citizen_id=security.current_citizen_id(request), token=token)
    ):
        raise NotFound("Không tìm thấy hồ sơ, hoặc bạn không có quyền với hồ sơ này.")
    return app


@router.post(
    "/applications/{application_id}/attachments",
    status_code=201,
    response_model=AttachmentOut,
    responses=ERRORS,
    summary="Attach one file to a document of a draft (multipart: document_key, file)",
)
@accepts_files
def add_attachment(application_id: str, request: Request, service: Applications, form: Form) -> AttachmentOut:
    # a plain def (thread pool): the body was received before this runs, the database work blocks
    app = _draft_for_client(application_id, request, service)
    key, upload = form.get("document_key"), form.get("file")
    if not isinstance(key, str) or not isinstance(upload, UploadFile):
        raise ValidationFailed(fields={"file": "Cần gửi document_key và file (multipart/form-data)."})
    # streamed to storage by attach(), hashed as it is written
    attachment, error = service.attach(
        app, Upload(key, upload.filename or "tep", size=upload.size, file=upload.file)
    )
    if error or attachment is None:
        raise ValidationFailed(error, fields={"file": error or ""})
    return AttachmentOut(
        id=attachment.id,
        document_key=attachment.document_key,
        filename=attachment.filename,
        size=attachment.size,
        sha256=attachment.sha256,
    )


class SubmitResult(BaseModel):
    id: str
    case_code: str
    status: str
    status_label: str
    submitted_at: datetime
    due_date: date
    due_date_text: str
    receipt_url: str


@router.post(
    "/applications/{application_id}/submit",
    response_model=SubmitResult,
    responses=ERRORS,
    summary="Submit a complete draft: case code, appointment date, receipt",
)
def submit_application(application_id: str, request: Request, service: Applications) -> SubmitResult:
    app = _draft_for_client(application_id, request, service)
    if app.is_draft:
        try:
            service.submit(app)
        except ValidationFailed as exc:
            raise ValidationFailed(
                "Hồ sơ còn thiếu thông tin hoặc giấy tờ.",
                fields={_api_field(k): v for k, v in exc.fields.items()},
            ) from exc
    assert app.case_code and app.submitted_at and app.due_date
    return SubmitResult(
        id=app.id,
        case_code=app.case_code,
        status=app.status,
        status_label=service.status_label(app, _lang(request)),
        submitted_at=app.submitted_at,
        due_date=app.due_date,
        due_date_text=i18n.fmt_date(app.due_date),
        receipt_url=f"{_base(request)}/ho-so/{app.id}/bien-nhan",
    )


class ProcedureRef(BaseModel):
    code: str
    name: str


class TimelineOut(BaseModel):
    at: datetime
    at_text: str  # the moment in Vietnam's time, as people write it (HH:MM dd/mm/yyyy)
    label: str
    comment: str | None


class CaseStatus(BaseModel):
    case_code: str
    procedure: ProcedureRef
    status: str
    status_label: str
    submitted_at: datetime | None
    due_date: date | None
    due_date_text: str
    timeline: list[TimelineOut]


def not_found_response() -> JSONResponse:
    error = CaseNotFound()
    return JSONResponse({"error": {"code": error.code, "message": error.message}}, status_code=404)


@router.get(
    "/applications/{case_code}",
    response_model=CaseStatus,
    responses=ERRORS,
    summary="Case status and timeline by case code + the applicant's phone",
)
def track_application(
    case_code: str,
    request: Request,
    service: Applications,
    settings: SettingsDep,
    phone: str = Query(..., max_length=20),
) -> CaseStatus:
    # the assistant's lookups count against the person it acts for, like theirs on the page
    limiter = RateLimiter(service.repo.session)
    if (
        limiter.hit(f"track:{lookup_client(request)}", window_seconds=settings.tracking_window_seconds)
        > settings.tracking_max_lookups
    ):
        raise RateLimited("Bạn đã tra cứu quá nhiều lần; vui lòng thử lại sau ít phút.")
    try:
        app = service.track(case_code, normalise_phone(phone))
    except InvalidValue:
        app = None
    if app is None:
        # answered, not raised: the rate-limit hit above must be committed with this request
        return not_found_response()  # type: ignore[return-value]
    lang = _lang(request)
    d = service.definition_of(app)
    return CaseStatus(
        case_code=app.case_code or "",
        procedure=ProcedureRef(code=d.code, name=d.name.get(lang)),
        status=app.status,
        status_label=service.status_label(app, lang),
        submitted_at=app.submitted_at,
        due_date=app.due_date,
        due_date_text=i18n.fmt_date(app.due_date),
        timeline=[
            TimelineOut(at=e.at, at_text=i18n.fmt_datetime(e.at), label=e.label, comment=e.comment)
            for e in service.timeline(app, lang)
        ],
    )


def _api_field(key: str) -> str:
    if key.startswith("applicant_"):
        return "applicant." + key.removeprefix("applicant_")
    if key.startswith("f_"):
        return "fields." + key[2:]
    if key.startswith("doc_"):
        return "documents." + key[4:]
    return key

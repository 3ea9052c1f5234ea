"""Rules for drafts, attachments, submission and tracking. Never commits."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, BinaryIO

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm.exc import StaleDataError

from portal.applications import forms
from portal.applications.repository import ApplicationRepository
from portal.applications.storage import CONTENT_TYPES, FileStore, TooLarge, extension, sniff_ok
from portal.cases.events import note_change
from portal.catalogue import Catalogue
from portal.db import utcnow
from portal.errors import Conflict, ValidationFailed
from portal.models import Application, Attachment, CaseEvent, new_id
from workflows.calendar import VN_TZ, WorkingCalendar
from workflows.definitions import Definition, Document
from workflows.text import fold


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Upload:
    document_key: str
    filename: str
    content: bytes = b""  # at most the document's limit + 1 bytes (portal.web.bodies.read_upload)
    size: int | None = None  # the whole file's size, when more was sent than was read
    file: BinaryIO | None = None  # or the file itself (a received upload): streamed to storage, not read


@dataclass
class TimelineEntry:
    at: datetime
    label: str
    comment: str | None


@dataclass(frozen=True)
class VerifiedApplicant:
    """The applicant's name, PID and birth date as the identity provider vouched for them."""

    full_name: str
    pid: str
    birth_date: date | None

    def as_data(self) -> dict[str, str | None]:
        return {
            "full_name": self.full_name,
            "pid": self.pid,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
        }


class ApplicationService:
    def __init__(
        self,
        repo: ApplicationRepository,
        catalogue: Catalogue,
        calendar: WorkingCalendar,
        files: FileStore,
        secret: str,
    ) -> None:
        self.secret = secret.encode()
        self.repo = repo
        self.catalogue = catalogue
        self.calendar = calendar
        self.files = files

    # -- definitions ---------------------------------------------------------

    def definition_of(self, app: Application) -> Definition:
        return self.catalogue.registry.get(app.procedure_code, app.definition_version)

    # -- drafts ----------------------------------------------------------------

    def create_draft(
        self, definition: Definition, *, citizen_id: int | None, idempotency_key: str | None = None
    ) -> tuple[Application, str]:
        """A new empty draft and the secret token that lets its creator resume it."""
        app = Application(
            id=new_id(),
            procedure_code=definition.code,
            definition_version=definition.version,
            agency_id=definition.agencies[0] if len(definition.agencies) == 1 else None,
            status="draft",
            citizen_id=citizen_id,
            access_token_hash=None,
            idempotency_key=idempotency_key or None,  # an empty header is no key (and not unique)
            data={},
        )
        token = self.access_token(app.id)
        app.access_token_hash = hash_token(token)
        self.repo.add(app)
        self.repo.add_event(
            CaseEvent(
                application_id=app.id,
                kind="draft_created",
                actor_kind="citizen",
                actor_id=str(citizen_id) if citizen_id else None,
                public=False,
            )
        )
        return app, token

    def access_token(self, application_id: str) -> str:
        """The secret in a draft's resume link: derived, so an idempotent replay can return it again."""
        digest = hmac.new(self.secret, f"draft:{application_id}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")

    def may_access(self, app: Application, *, citizen_id: int | None, token: str | None) -> bool:
        if citizen_id is not None and app.citizen_id == citizen_id:
            return True
        if token and app.access_token_hash:
            return hmac.compare_digest(app.access_token_hash, hash_token(token))
        return False

    def verified_applicant(self, citizen_id: int | None) -> VerifiedApplicant | None:
        """The identity the provider verified for this account (portal/identity), or None."""
        citizen = self.repo.citizen(citizen_id) if citizen_id is not None else None
        if citizen is None or not citizen.pid:
            return None
        return VerifiedApplicant(citizen.full_name, citizen.pid, citizen.birth_date)

    def save_draft(
        self,
        app: Application,
        applicant: dict[str, str],
        fields: dict[str, str],
        agency_id: str | None,
        *,
        complete: bool,
    ) -> forms.Validated:
        """Store everything typed (even invalid values, so nothing is lost) and return the checks."""
        self._require_draft(app)
        definition = self.definition_of(app)
        verified = self.verified_applicant(app.citizen_id)
        if verified is not None:
            # from the identity provider, not from the form: a posted different value changes nothing
            applicant = {**applicant, "full_name": verified.full_name, "cccd": verified.pid}
        checked = forms.validate(definition, applicant, fields, agency_id, draft=not complete)
        app.applicant_name = checked.applicant.get("full_name", "")[:100]
        app.applicant_cccd = checked.applicant.get("cccd", "")[:12]
        app.applicant_phone = checked.applicant.get("phone", "")[:15]
        app.applicant_email = checked.applicant.get("email", "")[:254]
        app.applicant_address = checked.applicant.get("address", "")[:300]
        data: dict[str, Any] = {"fields": _jsonable(checked.fields), "raw_agency": agency_id or ""}
        if verified is not None:
            data["verified_applicant"] = verified.as_data()
        app.data = data
        app.agency_id = checked.agency_id
        return checked

    def attach_all(
        self, app: Application, uploads: list[Upload]
    ) -> tuple[list[Attachment] | None, dict[str, str]]:
        """Store each upload, or explain at its document why not; the case's files are read once.
        Returns the case's attachments afterwards (None when nothing was uploaded) and the errors."""
        if not uploads:
            return None, {}
        # a draft created by this request has no files yet: nothing to read
        have = [] if self.repo.is_new(app) else self.repo.attachments(app.id)
        errors: dict[str, str] = {}
        for upload in uploads:
            attachment, error = self.attach(app, upload, existing=have)
            if error:
                errors[f"doc_{upload.document_key}"] = error
            elif attachment is not None:
                have.append(attachment)
        return have, errors

    def attach(
        self, app: Application, upload: Upload, *, existing: list[Attachment] | None = None
    ) -> tuple[Attachment | None, str | None]:
        """Store one uploaded file for a document, or explain in Vietnamese why not. ``existing``: the
        case's attachments when the caller has them already."""
        self._require_draft_or_supplement(app)
        definition = self.definition_of(app)
        doc = _document(definition, upload.document_key)
        if doc is None:
            return None, "Giấy tờ này không thuộc thành phần hồ sơ của thủ tục."
        ext = extension(upload.filename)
        allowed = ", ".join(t.upper() for t in doc.file_types)
        if ext not in doc.file_types:
            return None, f"Tệp «{upload.filename}» không đúng định dạng; chỉ nhận {allowed}."
        source = upload.file if upload.file is not None else io.BytesIO(upload.content)
        length = source.seek(0, io.SEEK_END)
        if length == 0:
            return None, f"Tệp «{upload.filename}» rỗng; vui lòng chọn lại tệp."
        size = max(length, upload.size or 0)
        if size > doc.max_bytes:
            return None, _too_large(upload.filename, size, doc)
        source.seek(0)
        if not sniff_ok(ext, source.read(16)):
            return None, f"Nội dung tệp «{upload.filename}» không phải là tệp {ext.upper()} hợp lệ."
        if existing is None:
            existing = self.repo.attachments(app.id)
        if sum(1 for a in existing if a.document_key == doc.key) >= doc.max_files:
            return None, f"Mỗi giấy tờ được đính kèm tối đa {doc.max_files} tệp."
        try:  # hashed while it is written: the file is not read a second time
            stored = self.files.save_stream(source, ext, limit=doc.max_bytes)
        except TooLarge:  # it grew after it was measured
            return None, _too_large(upload.filename, doc.max_bytes + 1, doc)
        attachment = self.repo.add_attachment(
            Attachment(
                id=new_id(),  # known now: the row is written with the others at the next flush
                created_at=utcnow(),  # the form's order, whatever the order the rows are written in
                application_id=app.id,
                document_key=doc.key,
                filename=_safe_name(upload.filename),
                content_type=CONTENT_TYPES[ext],
                size=stored.size,
                sha256=stored.sha256,
                storage_key=stored.key,
                uploaded_by="citizen",
            )
        )
        if not app.is_draft:  # a supplement: the case's documents changed
            note_change(self.repo.session, app.id, "attachment_added")
        return attachment, None

    def remove_attachment(self, app: Application, attachment_id: str) -> bool:
        self._require_draft_or_supplement(app)
        attachment = self.repo.attachment(app.id, attachment_id)
        if attachment is None:
            return False
        attachment.removed_at = utcnow()
        if not app.is_draft:
            note_change(self.repo.session, app.id, "attachment_removed")
        return True

    def missing(self, app: Application) -> dict[str, str]:
        """Everything still needed before submission: field errors and missing documents."""
        definition = self.definition_of(app)
        applicant = {
            "full_name": app.applicant_name,
            "cccd": app.applicant_cccd,
            "phone": app.applicant_phone,
            "email": app.applicant_email,
            "address": app.applicant_address,
        }
        fields = {k: "" if v is None else str(v) for k, v in (app.data or {}).get("fields", {}).items()}
        checked = forms.validate(definition, applicant, fields, app.agency_id, draft=False)
        errors = {**checked.errors, **self.missing_documents(app)}
        agency = self.catalogue.agency(app.agency_id or "")
        if agency is not None and not agency.password_accounts and "agency_id" not in errors:
            verified = self.verified_applicant(app.citizen_id)
            if verified is None or verified.pid != app.applicant_cccd:
                errors["agency_id"] = (
                    f"{agency.name.vi} chỉ nhận hồ sơ trực tuyến của người đăng nhập bằng VNeID / định danh "
                    "điện tử. Vui lòng đăng nhập bằng VNeID (hoặc liên kết tài khoản của bạn) rồi nộp."
                )
        return errors

    def missing_documents(self, app: Application, attached: list[Attachment] | None = None) -> dict[str, str]:
        """The required documents not attached yet (for a caller that has just validated the fields);
        ``attached``: the case's attachments when the caller has them already."""
        if attached is None:
            have = self.repo.attached_document_keys(app.id)
        else:
            have = {a.document_key for a in attached}
        return {
            f"doc_{doc.key}": f"Vui lòng đính kèm: {doc.name.vi}."
            for doc in self.definition_of(app).documents
            if doc.required and doc.key not in have
        }

    # -- submission ---------------------------------------------------------------

    def submit(self, app: Application, *, now: datetime | None = None) -> Application:
        """Turn a complete draft into a case: case code, appointment date, history."""
        self.repo.lock(app)  # a double-clicked "Nộp hồ sơ" waits for the first click's commit
        if not app.is_draft:
            raise Conflict("Hồ sơ này đã được nộp trước đó.")
        errors = self.missing(app)
        if errors:
            raise ValidationFailed(fields=errors)
        definition = self.definition_of(app)
        now = now or utcnow()
        local_day = now.astimezone(VN_TZ).date()
        assert app.agency_id is not None
        status = definition.workflow.initial
        due = self.calendar.due_date(
            now, working_days=definition.time_limit.working_days, same_day=definition.time_limit.same_day
        )
        quantity = 1
        if definition.fee.quantity_field:
            quantity = int((app.data or {}).get("fields", {}).get(definition.fee.quantity_field) or 1)
        # the history first (two INSERTs), while the case row is still as it was
        self.repo.add_event(
            CaseEvent(
                application_id=app.id,
                kind="submitted",
                at=now,
                actor_kind="citizen",
                actor_id=str(app.citizen_id) if app.citizen_id else None,
                actor_name=app.applicant_name,
                from_state="draft",
                to_state=status,
                details={"due_date": due.isoformat()},
            ),
            bump=False,  # the case's change_version rides on the one UPDATE below
        )
        self.repo.session.flush()
        # Last: the agency's daily number. Its row lock is held until the commit, so after it comes
        # only the one UPDATE that turns the draft into the case (the history entry's label reads the
        # code from the case: the code never changes once given).
        number = self.repo.next_case_number(app.agency_id, local_day)
        app.case_code = f"{app.agency_id}-{local_day:%y%m%d}-{number:04d}"
        app.status = status
        app.submitted_at = now
        app.due_date = due
        app.effective_due_date = due  # the back office moves it on pauses and apologies
        app.applicant_name_folded = fold(app.applicant_name)[:100]
        app.fee_amount = definition.fee.total(quantity)
        app.change_version = (app.change_version or 0) + 1  # a tracking page cached before is stale
        try:
            self.repo.session.flush()
        except StaleDataError as exc:
            raise Conflict("Hồ sơ này vừa được nộp trong một phiên khác.") from exc
        return app

    # -- tracking -----------------------------------------------------------------------

    def track(self, case_code: str, phone: str) -> Application | None:
        """A case by code + the applicant's phone; None when either does not match."""
        app = self.repo.by_case_code(case_code.strip().upper())
        if app is None or not app.applicant_phone:
            return None
        if not hmac.compare_digest(app.applicant_phone, phone):
            return None
        return app

    def track_version(self, case_code: str, phone: str) -> tuple[str, int] | None:
        """The case's id and ``change_version`` by code + the applicant's phone, None when either does
        not match (the same answer for both, the phone compared in constant time): one query."""
        row = self.repo.tracking_row(case_code.strip().upper())
        if row is None:
            return None
        case_id, applicant_phone, version = row
        if not applicant_phone or not hmac.compare_digest(applicant_phone, phone):
            return None
        return case_id, version

    def timeline(self, app: Application, lang: str = "vi") -> list[TimelineEntry]:
        definition = self.definition_of(app)
        entries = []
        for event in loaded_events(app) or self.repo.events(app.id):
            if not event.public:
                continue
            comment = None if (event.details or {}).get("internal_comment") else event.comment
            label = _event_label(event, definition, lang, app.case_code)
            entries.append(TimelineEntry(event.at, label, comment))
        return entries

    def status_label(self, app: Application, lang: str = "vi") -> str:
        if app.is_draft:
            return "Bản nháp (chưa nộp)" if lang == "vi" else "Draft (not submitted)"
        try:
            return self.definition_of(app).workflow.state(app.status).public_label(lang)
        except KeyError:
            return app.status

    def _require_draft(self, app: Application) -> None:
        if not app.is_draft:
            raise Conflict("Hồ sơ đã nộp không thể sửa; bạn có thể theo dõi tiến độ ở trang tra cứu.")

    def _require_draft_or_supplement(self, app: Application) -> None:
        if not (app.is_draft or app.status == "cho_bo_sung"):
            raise Conflict("Hồ sơ đã nộp không thể thay đổi giấy tờ.")


def loaded_events(app: Application) -> list[CaseEvent] | None:
    """The case's history when it was loaded with the case (``by_case_code`` does), else None: the
    tracking page needs it twice (timeline, rating) and need not query it again."""
    if "events" in sa_inspect(app).unloaded:
        return None
    return list(app.events)


def _too_large(filename: str, size: int, doc: Document) -> str:
    return (
        f"Tệp «{filename}» có dung lượng {size / 1024 / 1024:.1f} MB, vượt quá giới hạn "
        f"{doc.max_size_mb:g} MB."
    )


def _document(definition: Definition, key: str) -> Document | None:
    return next((d for d in definition.documents if d.key == key), None)


def _safe_name(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:200] or "tep"


def _jsonable(values: dict[str, object]) -> dict[str, object]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items()}


def _event_label(event: CaseEvent, definition: Definition, lang: str, case_code: str | None) -> str:
    vi = lang != "en"
    if event.kind == "submitted":
        due = date.fromisoformat(event.details["due_date"]) if event.details.get("due_date") else None
        when = f"{due:%d/%m/%Y}" if due else ""
        return (
            f"Hồ sơ được nộp trực tuyến, cấp mã {event.details.get('case_code') or case_code}; "
            f"hẹn trả kết quả ngày {when}."
            if vi
            else f"Submitted online as {event.details.get('case_code') or case_code}; result due on {when}."
        )
    label = event.details.get("label_en" if not vi else "label") if event.details else None
    if label:
        return str(label)
    if event.to_state:
        try:
            return definition.workflow.state(event.to_state).public_label(lang)
        except KeyError:
            pass
    return event.kind

"""Feedback and complaints (phản ánh, kiến nghị) about a case or a procedure. Never commits.

Deadlines in working days from the effective day of receipt (``WorkingCalendar``):
the responsible agency may refuse to handle a feedback (with reasons) within 2
working days, may ask the sender for more information within 5, and must answer
within 15. Refusing or asking later is not offered; a late answer is allowed and
recorded as late. Every change writes a history row; the sender follows the
feedback with its code and the phone number given.

A feedback about a case needs the case's code and the applicant's phone number
(anyone could otherwise lower an agency's satisfaction indicator); it then
counts as "a case with a complaint" for Decision 766 unless it was refused.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm.exc import StaleDataError

from portal.cases.events import note_change
from portal.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.quality.models import (
    FB_ANSWERED,
    FB_IN_PROGRESS,
    FB_KINDS,
    FB_NEEDS_INFO,
    FB_NEW,
    FB_OPEN,
    FB_REFUSED,
    Feedback,
    FeedbackEvent,
)
from portal.quality.repository import QualityRepository
from portal.staff.models import StaffMember
from workflows.calendar import VN_TZ, WorkingCalendar
from workflows.definitions import Registry
from workflows.validators import InvalidValue
from workflows.validators import phone as normalise_phone

REFUSE_DAYS, INFO_DAYS, RESOLVE_DAYS = 2, 5, 15
# Roles that handle feedback in the responsible agency (reception desk, specialists, the head).
FEEDBACK_ROLES = ("tiep_nhan", "chuyen_vien", "lanh_dao")

KIND_LABELS = {"phan_anh": "Phản ánh", "kien_nghi": "Kiến nghị"}
STATUS_LABELS = {
    FB_NEW: "Mới tiếp nhận, chờ xem xét",
    FB_NEEDS_INFO: "Chờ người gửi bổ sung thông tin",
    FB_IN_PROGRESS: "Đang xử lý",
    FB_ANSWERED: "Đã trả lời",
    FB_REFUSED: "Không tiếp nhận xử lý",
}
EVENT_LABELS = {
    "submitted": "Người gửi đã gửi phản ánh, kiến nghị.",
    "accept": "Cơ quan đã tiếp nhận xử lý.",
    "refuse": "Cơ quan không tiếp nhận xử lý.",
    "request_info": "Cơ quan đề nghị bổ sung thông tin.",
    "answer": "Cơ quan đã trả lời.",
    "reply": "Người gửi đã bổ sung thông tin.",
}
FORM_ORDER = (
    "kind",
    "case_code",
    "procedure",
    "agency_id",
    "subject",
    "content",
    "name",
    "phone",
    "email",
    "consent",
)
PUBLIC_COMMENTS = {"submitted", "refuse", "request_info", "answer", "reply"}  # addressed to the other side
SUBJECT_MAX, CONTENT_MAX, CONTENT_MIN, NAME_MAX, COMMENT_MAX = 200, 4000, 10, 100, 4000
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class StaffAction:
    key: str
    label: str
    from_: tuple[str, ...]
    to: str
    comment: str  # what the comment box asks for; "" = optional and internal
    deadline: str | None  # the Feedback attribute holding the deadline
    enforced: bool  # refused after the deadline (otherwise allowed and marked late)


STAFF_ACTIONS = (
    StaffAction("accept", "Tiếp nhận xử lý", (FB_NEW,), FB_IN_PROGRESS, "", None, False),
    StaffAction(
        "request_info",
        "Đề nghị bổ sung thông tin",
        (FB_NEW, FB_IN_PROGRESS),
        FB_NEEDS_INFO,
        "Nội dung cần người gửi bổ sung",
        "info_due",
        True,
    ),
    StaffAction(
        "refuse",
        "Không tiếp nhận (nêu rõ lý do)",
        (FB_NEW,),
        FB_REFUSED,
        "Lý do không tiếp nhận",
        "refuse_due",
        True,
    ),
    StaffAction(
        "answer",
        "Trả lời và kết thúc xử lý",
        (FB_NEW, FB_IN_PROGRESS),
        FB_ANSWERED,
        "Nội dung trả lời",
        "resolve_due",
        False,
    ),
)


def agencies_in_force(registry: Registry, today: date) -> dict[str, str]:
    """Agency id → name, for the agencies receiving dossiers today."""
    return {
        a.id: a.name.vi
        for a in registry.agencies.values()
        if a.effective_from <= today and (a.effective_to is None or today <= a.effective_to)
    }


def _today(now: datetime) -> date:
    return now.astimezone(VN_TZ).date()


class FeedbackService:
    def __init__(self, repo: QualityRepository, registry: Registry, calendar: WorkingCalendar) -> None:
        self.repo = repo
        self.registry = registry
        self.calendar = calendar

    # -- the sender ------------------------------------------------------------------------------

    def submit(self, form: dict[str, str], *, now: datetime) -> Feedback:
        """Validate the citizen's form and record the feedback (ValidationFailed with field errors)."""
        errors: dict[str, str] = {}
        kind = form.get("kind", "")
        if kind not in FB_KINDS:
            errors["kind"] = "Vui lòng chọn loại: phản ánh hoặc kiến nghị."
        name = " ".join(form.get("name", "").split())
        if not name:
            errors["name"] = "Vui lòng nhập họ và tên."
        elif len(name) > NAME_MAX:
            errors["name"] = f"Họ và tên không quá {NAME_MAX} ký tự."
        phone = ""
        try:
            phone = normalise_phone(form.get("phone", ""))
        except InvalidValue as exc:
            errors["phone"] = exc.message
        email = form.get("email", "").strip()
        if email and (len(email) > 254 or not EMAIL_RE.match(email)):
            errors["email"] = "Địa chỉ thư điện tử không hợp lệ, ví dụ ten@example.vn."
        subject = " ".join(form.get("subject", "").split())
        if not subject:
            errors["subject"] = "Vui lòng nhập tiêu đề."
        elif len(subject) > SUBJECT_MAX:
            errors["subject"] = f"Tiêu đề không quá {SUBJECT_MAX} ký tự."
        content = form.get("content", "").strip()
        if len(content) < CONTENT_MIN:
            errors["content"] = "Vui lòng trình bày nội dung phản ánh, kiến nghị (ít nhất 10 ký tự)."
        elif len(content) > CONTENT_MAX:
            errors["content"] = f"Nội dung không quá {CONTENT_MAX} ký tự (hiện có {len(content)})."
        if form.get("consent") != "1":
            errors["consent"] = (
                "Vui lòng đồng ý để cơ quan dùng thông tin liên hệ của bạn vào việc xử lý "
                "và trả lời phản ánh, kiến nghị."
            )
        application_id, procedure_code, agency_id = self._subject_of(form, phone, errors, _today(now))
        if errors:
            # in the order of the form, which the error summary follows
            order = {key: i for i, key in enumerate(FORM_ORDER)}
            raise ValidationFailed(fields=dict(sorted(errors.items(), key=lambda kv: order.get(kv[0], 99))))
        received = self.calendar.effective_receipt_day(now)
        feedback = Feedback(
            code=self._new_code(now),
            kind=kind,
            application_id=application_id,
            procedure_code=procedure_code,
            agency_id=agency_id,
            name=name,
            phone=phone,
            email=email,
            subject=subject,
            content=content,
            status=FB_NEW,
            received_at=now,
            updated_at=now,
            refuse_due=self.calendar.add_working_days(received, REFUSE_DAYS),
            info_due=self.calendar.add_working_days(received, INFO_DAYS),
            resolve_due=self.calendar.add_working_days(received, RESOLVE_DAYS),
        )
        self.repo.add_feedback(feedback)
        self._history(feedback, "submitted", None, FB_NEW, now, "citizen", None, name, content)
        return feedback

    def _subject_of(
        self, form: dict[str, str], phone: str, errors: dict[str, str], today: date
    ) -> tuple[str | None, str | None, str]:
        """(case id, procedure code, responsible agency) from the case code, or the procedure and agency."""
        case_code = form.get("case_code", "").strip().upper()
        if case_code:
            app = self.repo.application_by_code(case_code)
            if (
                app is None
                or app.is_draft
                or not phone
                or not hmac.compare_digest(app.applicant_phone, phone)
            ):
                if "phone" not in errors:
                    errors["case_code"] = (
                        "Không tìm thấy hồ sơ với mã hồ sơ và số điện thoại này; phản ánh về "
                        "một hồ sơ cần số điện thoại đã khai khi nộp hồ sơ."
                    )
                return None, None, ""
            return app.id, app.procedure_code, app.agency_id or ""
        code = form.get("procedure", "").strip()
        agency_id = form.get("agency_id", "").strip()
        definition = self.registry.current(code, today) if code else None
        if code and definition is None:
            errors["procedure"] = "Thủ tục không có trong danh mục."
        if agency_id not in agencies_in_force(self.registry, today):
            errors["agency_id"] = "Vui lòng chọn cơ quan bạn phản ánh, kiến nghị (hoặc nhập mã hồ sơ)."
        elif definition is not None and agency_id not in definition.agencies:
            errors["agency_id"] = "Cơ quan này không giải quyết thủ tục đã chọn."
        return None, code or None, agency_id

    def _new_code(self, now: datetime) -> str:
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        while True:
            code = f"PA-{_today(now):%y%m%d}-" + "".join(secrets.choice(alphabet) for _ in range(6))
            if not self.repo.code_taken(code):
                return code

    def track(self, code: str, phone: str) -> Feedback | None:
        feedback = self.repo.feedback_by_code(code.strip().upper())
        if feedback is None or not hmac.compare_digest(feedback.phone, phone):
            return None
        return feedback

    def reply(self, feedback: Feedback, content: str, *, now: datetime) -> None:
        """The sender adds the information the agency asked for."""
        content = content.strip()
        if feedback.status != FB_NEEDS_INFO:
            raise Conflict("Phản ánh, kiến nghị này không ở trạng thái chờ bổ sung thông tin.")
        if len(content) < CONTENT_MIN or len(content) > CONTENT_MAX:
            raise ValidationFailed(
                fields={"content": "Vui lòng nhập nội dung bổ sung (từ 10 đến 4000 ký tự)."}
            )
        self._move(
            feedback, "reply", FB_IN_PROGRESS, now, "citizen", None, feedback.name, content, late=False
        )

    # -- the responsible agency ------------------------------------------------------------------

    def for_staff(self, staff: StaffMember, feedback_id: int) -> Feedback:
        feedback = self.repo.feedback(feedback_id)
        if feedback is None or feedback.agency_id != staff.agency_id:
            raise NotFound("Không tìm thấy phản ánh, kiến nghị trong cơ quan của bạn.")
        return feedback

    def actions(self, feedback: Feedback, now: datetime) -> list[StaffAction]:
        today = _today(now)
        return [
            a
            for a in STAFF_ACTIONS
            if feedback.status in a.from_
            and not (a.enforced and a.deadline and today > getattr(feedback, a.deadline))
        ]

    def act(
        self,
        staff: StaffMember,
        feedback: Feedback,
        action_key: str,
        comment: str,
        *,
        version: int,
        now: datetime,
    ) -> None:
        if not staff.has_role(*FEEDBACK_ROLES) or feedback.agency_id != staff.agency_id:
            raise Forbidden("Tài khoản của bạn không có vai trò xử lý phản ánh, kiến nghị.")
        if version != feedback.lock_version:
            raise Conflict("Phản ánh này vừa được người khác xử lý; vui lòng xem lại trước khi thao tác.")
        action = next((a for a in STAFF_ACTIONS if a.key == action_key), None)
        if action is None or feedback.status not in action.from_:
            raise Conflict(
                f"Không thể thực hiện thao tác này khi phản ánh đang ở trạng thái "
                f"«{STATUS_LABELS[feedback.status]}»."
            )
        today = _today(now)
        late = bool(action.deadline and today > getattr(feedback, action.deadline))
        if late and action.enforced:
            raise Conflict(
                f"Đã quá hạn {action.label.lower()} ({getattr(feedback, str(action.deadline)):%d/%m/%Y}); "
                "phản ánh, kiến nghị phải được giải quyết và trả lời."
            )
        comment = comment.strip()
        if action.comment and not comment:
            raise ValidationFailed(fields={"comment": f"Vui lòng nhập: {action.comment.lower()}."})
        if len(comment) > COMMENT_MAX:
            raise ValidationFailed(fields={"comment": f"Nội dung không quá {COMMENT_MAX} ký tự."})
        if action.key == "answer":
            feedback.answer, feedback.answered_at = comment, now
        if action.key == "refuse":
            feedback.answer = comment
        feedback.handler_id = staff.id
        self._move(
            feedback, action.key, action.to, now, "staff", str(staff.id), staff.full_name, comment, late=late
        )

    def queue(self, agency_id: str, which: str) -> list[tuple[Feedback, str | None]]:
        statuses = {"dang-xu-ly": FB_OPEN, "da-tra-loi": (FB_ANSWERED,), "khong-tiep-nhan": (FB_REFUSED,)}
        return [(f, code) for f, code in self.repo.feedback_queue(agency_id, statuses.get(which, FB_OPEN))]

    def counts(self, agency_id: str, now: datetime) -> dict[str, int]:
        counts = self.repo.feedback_counts(agency_id)
        return {
            "open": sum(counts.get(s, 0) for s in FB_OPEN),
            "answered": counts.get(FB_ANSWERED, 0),
            "refused": counts.get(FB_REFUSED, 0),
            "overdue": self.repo.feedback_overdue(agency_id, FB_OPEN, _today(now)),
        }

    def history(self, feedback: Feedback, *, public_only: bool) -> list[dict[str, object]]:
        rows = []
        for e in self.repo.feedback_events(feedback.id):
            show_comment = not public_only or e.kind in PUBLIC_COMMENTS
            rows.append(
                {
                    "at": e.at,
                    "label": EVENT_LABELS.get(e.kind, e.kind),
                    "late": e.late,
                    "actor": e.actor_name if not public_only or e.actor_kind == "citizen" else None,
                    "comment": e.comment if show_comment else "",
                }
            )
        return rows

    # -- shared --------------------------------------------------------------------------------

    def _move(
        self,
        feedback: Feedback,
        kind: str,
        to: str,
        now: datetime,
        actor_kind: str,
        actor_id: str | None,
        actor_name: str | None,
        comment: str,
        *,
        late: bool,
    ) -> None:
        before = feedback.status
        feedback.status = to
        feedback.updated_at = now
        try:
            self.repo.session.flush()
        except StaleDataError as exc:
            raise Conflict(
                "Phản ánh này vừa được người khác xử lý; vui lòng xem lại trước khi thao tác."
            ) from exc
        self._history(feedback, kind, before, to, now, actor_kind, actor_id, actor_name, comment, late=late)

    def _history(
        self,
        feedback: Feedback,
        kind: str,
        before: str | None,
        to: str,
        now: datetime,
        actor_kind: str,
        actor_id: str | None,
        actor_name: str | None,
        comment: str,
        *,
        late: bool = False,
    ) -> None:
        note_change(self.repo.session, feedback.application_id, f"feedback_{kind}")  # complaint or not
        self.repo.add_feedback_event(
            FeedbackEvent(
                feedback_id=feedback.id,
                at=now,
                kind=kind,
                actor_kind=actor_kind,
                actor_id=actor_id,
                actor_name=(actor_name or "")[:100] or None,
                from_status=before,
                to_status=to,
                comment=comment,
                late=late,
            )
        )

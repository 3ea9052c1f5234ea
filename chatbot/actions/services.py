"""Submit actions of the forms, plus contact information."""

from __future__ import annotations

import uuid
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    INVOICE_STATUS,
    absolute_url,
    apologise_unavailable,
    local_date,
    local_time,
    metadata,
    portal_client,
)
from actions.forms import SKIPPED, missing
from actions.portal import PortalRejected, PortalUnavailable

# Portal field names (422 "fields") -> our slots, to re-ask the right one.
FIELD_TO_SLOT = {"applicant.phone": "phone", "applicant.full_name": "full_name", "applicant.email": "email"}


def _rejection_text(exc: PortalRejected) -> str:
    details = [m for m in exc.fields.values() if isinstance(m, str)]
    return exc.message + ("\n" + "\n".join(f"• {m}" for m in details) if details else "")


class ActionCaseStatus(Action):
    def name(self) -> str:
        return "action_case_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if missing(tracker, "case_code", "phone"):
            return []
        code, phone = tracker.get_slot("case_code"), tracker.get_slot("phone")
        try:
            async with portal_client(tracker) as client:
                case = await client.get_application(code, phone)
        except PortalUnavailable:
            apologise_unavailable(dispatcher)
            return []
        except PortalRejected as exc:
            dispatcher.utter_message(text=exc.message)
            # A wrong code or phone: forget both so that asking again starts clean.
            return [SlotSet("case_code", None)] if exc.status == 404 else []
        lines = [
            f"Hồ sơ {case.get('case_code', code)} – {(case.get('procedure') or {}).get('name', '')}".rstrip(
                " –"
            ),
            f"Trạng thái: {case.get('status_label') or case.get('status')}",
        ]
        if case.get("due_date_text") or case.get("due_date"):
            lines.append(f"Hẹn trả kết quả: {case.get('due_date_text') or case.get('due_date')}")
        timeline = case.get("timeline") or []
        if timeline:
            lines.append("Diễn biến gần nhất:")
            for step in timeline[-3:]:
                line = f"• {step.get('at_text') or local_time(step.get('at'))} {step.get('label', '')}".strip()
                if step.get("comment"):
                    line += f": {step['comment']}"
                lines.append(line)
        dispatcher.utter_message(text="\n".join(lines))
        return [SlotSet("case_code", None)]


class ActionCreateApplication(Action):
    def name(self) -> str:
        return "action_create_application"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if tracker.get_slot("application_confirmed") is not True or missing(
            tracker, "procedure", "full_name", "phone"
        ):
            return [SlotSet("application_confirmed", None)]
        key = tracker.get_slot("application_key") or str(uuid.uuid4())
        email = tracker.get_slot("email")
        applicant = {"full_name": tracker.get_slot("full_name"), "phone": tracker.get_slot("phone")}
        if email and email != SKIPPED:
            applicant["email"] = email
        if tracker.get_slot("cccd"):
            applicant["cccd"] = tracker.get_slot("cccd")
        payload = {"procedure_code": tracker.get_slot("procedure"), "applicant": applicant, "fields": {}}
        try:
            async with portal_client(tracker) as client:
                created = await client.create_application(payload, idempotency_key=key)
        except PortalUnavailable:
            apologise_unavailable(dispatcher)
            dispatcher.utter_message(
                text='Bấm "Thử lại" khi bạn sẵn sàng, hồ sơ sẽ không bị tạo trùng.',
                buttons=[{"title": "Thử lại", "payload": "/start_application"}],
            )
            # Keep every slot and the same Idempotency-Key for the retry.
            return [SlotSet("application_key", key), SlotSet("application_confirmed", None)]
        except PortalRejected as exc:
            cleared = [SlotSet(slot, None) for f, slot in FIELD_TO_SLOT.items() if f in exc.fields]
            # Only the refused fields are asked again; the rest is kept.
            buttons = [{"title": "Nhập lại", "payload": "/start_application"}] if cleared else None
            dispatcher.utter_message(text=_rejection_text(exc), buttons=buttons)
            return cleared + [SlotSet("application_key", None), SlotSet("application_confirmed", None)]
        link = absolute_url(created.get("resume_url"), tracker)
        dispatcher.utter_message(
            text=(
                f"Đã tạo hồ sơ nháp (mã {created.get('id')}). Bạn mở đường dẫn sau để hoàn thiện "
                f"thông tin, đính kèm giấy tờ và nộp hồ sơ:\n{link}"
            ),
            buttons=[{"title": "Hoàn thiện hồ sơ", "payload": link}] if link else None,
        )
        return [
            SlotSet("application_key", None),
            SlotSet("application_confirmed", None),
            SlotSet("form_retries", 0.0),
        ]


class ActionSchoolFees(Action):
    def name(self) -> str:
        return "action_school_fees"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if missing(tracker, "student_code", "link_code"):
            return []
        try:
            async with portal_client(tracker) as client:
                data = await client.get_invoices(tracker.get_slot("student_code"), tracker.get_slot("link_code"))
        except PortalUnavailable:
            apologise_unavailable(dispatcher)
            return []
        except PortalRejected as exc:
            dispatcher.utter_message(text=exc.message)
            # a wrong code pair: ask both again rather than keep a guess
            return [SlotSet("student_code", None), SlotSet("link_code", None)] if exc.status == 404 else []
        student = data.get("student") or {}
        who = ", ".join(
            x
            for x in (
                student.get("name"),
                student.get("class") and f"lớp {student['class']}",
                student.get("school"),
            )
            if x
        )
        items = data.get("items") or []
        if not items:
            dispatcher.utter_message(text=f"Học sinh {who} hiện không có khoản thu nào cần đóng.")
            return []
        lines = [f"Các khoản thu của học sinh {who}:"]
        for item in items:
            line = f"• {item.get('title')}: {item.get('amount_text') or item.get('amount')}"
            due = item.get("due_date_text") or local_date(item.get("due_date"))
            if due:
                line += f", hạn {due}"
            status = item.get("status_label") or INVOICE_STATUS.get(item.get("status") or "")
            if status:
                line += f" ({status.lower()})"
            lines.append(line)
        if data.get("total_due_text"):
            lines.append(f"Tổng cần đóng: {data['total_due_text']}")
        pay = absolute_url(data.get("pay_url"), tracker)
        if pay:
            lines.append(f"Thanh toán trực tuyến: {pay}")
        dispatcher.utter_message(text="\n".join(lines))
        return []


class ActionContactInfo(Action):
    def name(self) -> str:
        return "action_contact_info"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        try:
            async with portal_client(tracker) as client:
                agencies = await client.list_agencies()
        except PortalUnavailable:
            apologise_unavailable(dispatcher)
            return []
        except PortalRejected as exc:
            dispatcher.utter_message(text=exc.message)
            return []
        if not agencies:
            dispatcher.utter_message(text="Cổng chưa công bố thông tin liên hệ của cơ quan nào.")
            return []
        blocks = []
        for a in agencies[:4]:
            lines = [a.get("name", "")]
            for label, key in (
                ("Địa chỉ", "address"),
                ("Giờ làm việc", "office_hours"),
                ("Điện thoại", "phone"),
                ("Đường dây nóng", "hotline"),
                ("Email", "email"),
            ):
                if a.get(key):
                    lines.append(f"{label}: {a[key]}")
            blocks.append("\n".join(lines))
        dispatcher.utter_message(text="\n\n".join(blocks))
        return []


class ActionRequestCallback(Action):
    def name(self) -> str:
        return "action_request_callback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if missing(tracker, "full_name", "phone"):
            return []
        note = "Yêu cầu gọi lại từ trợ lý ảo."
        if tracker.get_slot("procedure_name"):
            note += f" Đang hỏi về thủ tục: {tracker.get_slot('procedure_name')}."
        if metadata(tracker).get("user_id"):
            note += f" Tài khoản cổng: {metadata(tracker)['user_id']}."
        payload = {
            "full_name": tracker.get_slot("full_name"),
            "phone": tracker.get_slot("phone"),
            "note": note,
            "conversation_id": tracker.sender_id,
        }
        try:
            async with portal_client(tracker) as client:
                await client.request_callback(payload, idempotency_key=str(uuid.uuid4()))
        except PortalUnavailable:
            apologise_unavailable(dispatcher)
            return []
        except PortalRejected as exc:
            dispatcher.utter_message(text=_rejection_text(exc))
            return []
        dispatcher.utter_message(
            text=(
                f"Mình đã chuyển yêu cầu. Cán bộ sẽ gọi lại cho {tracker.get_slot('full_name')} "
                f"qua số {tracker.get_slot('phone')} trong giờ làm việc."
            )
        )
        return []

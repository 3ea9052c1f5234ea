"""Form validation: strict checks, a retry limit, and the confirmation step."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import portal_client
from actions.portal import PortalRejected, PortalUnavailable
from actions.procedures import choice_buttons, resolve_value
from actions.validators import (
    find_case_code,
    normalize_email,
    normalize_full_name,
    normalize_phone,
    normalize_link_code,
    normalize_student_code,
)

MAX_RETRIES = 3
SKIPPED = "-"  # email slot value when the user has none

MSG_PHONE = "Số điện thoại chưa hợp lệ: cần 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09 (hoặc +84)."
MSG_NAME = "Mình chưa nhận ra họ tên. Bạn nhập họ và tên đầy đủ, chỉ gồm chữ cái (ví dụ: Nguyễn Văn An)."
MSG_STOPPED = (
    "Mình chưa nhận được thông tin hợp lệ sau {n} lần nên tạm dừng ở đây. "
    'Bạn có thể bắt đầu lại, hoặc nhắn "gặp nhân viên" để cán bộ hỗ trợ.'
)


class StrictFormValidation(FormValidationAction, ABC):
    """Counts invalid answers in the current form and stops it after MAX_RETRIES.

    Abstract, so that rasa-sdk does not register it as an action.
    """

    @abstractmethod
    def name(self) -> str: ...

    def invalid(
        self, slot: str, message: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        if slot != tracker.get_slot("requested_slot"):
            # Picked up in passing (e.g. a number typed for another question):
            # drop it quietly, the form will ask for it in its turn.
            return {slot: None}
        retries = int(tracker.get_slot("form_retries") or 0) + 1
        if retries >= MAX_RETRIES:
            dispatcher.utter_message(text=MSG_STOPPED.format(n=retries))
            # requested_slot=None ends the form; the submit action sees it incomplete.
            return {slot: None, "form_retries": 0.0, "requested_slot": None}
        dispatcher.utter_message(text=message)
        return {slot: None, "form_retries": float(retries)}

    def extract_full_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Take a well-formed name even when NLU read it as a question.

        The from_text mapping skips question intents so that a real question
        mid-form is answered; an unusual name ("Trịnh Văn Quyết") can be
        classified as one, and would then be refused. A text that passes the
        strict name check is a name, whatever its intent.
        """
        if tracker.get_slot("requested_slot") != "full_name":
            return {}
        if tracker.slots_to_validate().get("full_name") is not None:
            return {}
        name = normalize_full_name((tracker.latest_message or {}).get("text") or "")
        return {"full_name": name} if name else {}

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        phone = normalize_phone(str(value or ""))
        if phone is None:
            return self.invalid("phone", MSG_PHONE, dispatcher, tracker)
        return {"phone": phone}

    def validate_full_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        name = normalize_full_name(str(value or ""))
        if name is None:
            return self.invalid("full_name", MSG_NAME, dispatcher, tracker)
        return {"full_name": name}


class ValidateCaseStatusForm(StrictFormValidation):
    def name(self) -> str:
        return "validate_case_status_form"

    def validate_case_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        code = find_case_code(str(value or ""))
        if code is None:
            return self.invalid(
                "case_code",
                "Mã hồ sơ chưa đúng định dạng. Mã có dạng H29.12.10-261128-0001 (in trên giấy biên nhận).",
                dispatcher,
                tracker,
            )
        return {"case_code": code}


class ValidateFeesForm(StrictFormValidation):
    def name(self) -> str:
        return "validate_fees_form"

    def validate_student_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        code = normalize_student_code(str(value or ""))
        if code is None:
            return self.invalid(
                "student_code",
                "Mã học sinh chưa đúng: gồm 6–12 chữ số (có thể có chữ cái đầu, ví dụ HS12345678).",
                dispatcher,
                tracker,
            )
        return {"student_code": code}

    def validate_link_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        code = normalize_link_code(str(value or ""))
        if code is None:
            return self.invalid(
                "link_code",
                "Mã liên kết gồm 8 chữ và số, in trên thông báo thu của nhà trường (ví dụ ABCD-2345).",
                dispatcher,
                tracker,
            )
        return {"link_code": code}


class ValidateCallbackForm(StrictFormValidation):
    def name(self) -> str:
        return "validate_callback_form"


class ValidateApplicationForm(StrictFormValidation):
    def name(self) -> str:
        return "validate_application_form"

    async def validate_procedure(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if not text or text.startswith("/"):
            return self.invalid("procedure", "Bạn cho mình biết tên thủ tục nhé.", dispatcher, tracker)
        try:
            async with portal_client(tracker) as client:
                found = await resolve_value(client, text, text)
        except PortalUnavailable:
            # Keep what the user typed; the portal checks it again on submission.
            return {"procedure": text}
        except PortalRejected as exc:
            return self.invalid("procedure", exc.message, dispatcher, tracker)
        if found.choices:
            dispatcher.utter_message(
                text="Bạn muốn nộp hồ sơ thủ tục nào dưới đây?", buttons=choice_buttons(found.choices)
            )
            return {"procedure": None}
        if not found.detail:
            return self.invalid(
                "procedure",
                f"Mình không tìm thấy thủ tục «{text}» trong danh mục. Bạn thử gõ tên khác nhé.",
                dispatcher,
                tracker,
            )
        detail = found.detail
        if not detail.get("online", True):
            dispatcher.utter_message(
                text=(
                    f"Thủ tục «{detail['name']}» chưa nhận hồ sơ trực tuyến; "
                    "bạn vui lòng nộp trực tiếp tại cơ quan giải quyết."
                )
            )
            return {"procedure": None, "requested_slot": None}
        return {"procedure": detail["code"], "procedure_name": detail["name"]}

    def validate_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value == SKIPPED:
            return {"email": SKIPPED}
        email = normalize_email(str(value or ""))
        if email is None:
            return self.invalid(
                "email",
                'Email chưa hợp lệ (ví dụ: ten@gmail.com). Bấm "Bỏ qua" nếu không có.',
                dispatcher,
                tracker,
            )
        return {"email": email}

    def validate_application_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # cleared by action_reset_form_retries, nothing to check
            return {}
        if value is True:
            return {"application_confirmed": True}
        dispatcher.utter_message(
            text="Đã hủy, mình chưa tạo hồ sơ nào. Bạn có thể bắt đầu lại bất cứ lúc nào."
        )
        return {
            "application_confirmed": None,
            "full_name": None,
            "email": None,
            "application_key": None,
            "requested_slot": None,
        }


class ActionAskApplicationConfirmed(Action):
    """The confirmation step: show what will be sent, ask with buttons."""

    def name(self) -> str:
        return "action_ask_application_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        email = tracker.get_slot("email")
        procedure = tracker.get_slot("procedure_name") or tracker.get_slot("procedure")
        dispatcher.utter_message(
            text=(
                "Mình sẽ tạo hồ sơ nháp với thông tin:\n"
                f"• Thủ tục: {procedure}\n"
                f"• Họ tên: {tracker.get_slot('full_name')}\n"
                f"• Điện thoại: {tracker.get_slot('phone')}\n"
                f"• Email: {email if email and email != SKIPPED else '(không có)'}\n"
                "Thông tin đã đúng chưa ạ?"
            ),
            buttons=[
                {"title": "Đúng, tạo hồ sơ", "payload": "/affirm"},
                {"title": "Hủy", "payload": "/deny"},
            ],
        )
        return []


class ActionResetFormRetries(Action):
    def name(self) -> str:
        return "action_reset_form_retries"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        return [SlotSet("form_retries", 0.0), SlotSet("application_confirmed", None)]


def missing(tracker: Tracker, *slots: str) -> str | None:
    return next((s for s in slots if not tracker.get_slot(s)), None)

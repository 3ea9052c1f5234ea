"""Form validation: strict values, retry limit, procedure resolution, confirmation."""

from actions.forms import (
    ActionAskApplicationConfirmed,
    ValidateApplicationForm,
    ValidateCallbackForm,
    ValidateCaseStatusForm,
)

from conftest import make_tracker, texts

DOMAIN = {
    "forms": {
        "application_form": {
            "required_slots": ["procedure", "full_name", "phone", "email", "application_confirmed"]
        },
        "case_status_form": {"required_slots": ["case_code", "phone"]},
    },
    "slots": {},
}


async def test_phone_is_normalised(dispatcher):
    tracker = make_tracker("+84 912 345 678", slots={"phone": "+84 912 345 678"})
    result = ValidateCaseStatusForm().validate_phone("+84 912 345 678", dispatcher, tracker, DOMAIN)
    assert result == {"phone": "0912345678"}
    assert dispatcher.messages == []


async def test_invalid_answers_count_and_stop_the_form_at_three(dispatcher):
    form = ValidateCaseStatusForm()
    tracker = make_tracker("abc", slots={"form_retries": 0.0}, requested_slot="phone")
    first = form.validate_phone("abc", dispatcher, tracker, DOMAIN)
    assert first == {"phone": None, "form_retries": 1.0}
    assert "10 chữ số" in texts(dispatcher)

    tracker = make_tracker("abc", slots={"form_retries": 2.0}, requested_slot="phone")
    third = form.validate_phone("abc", dispatcher, tracker, DOMAIN)
    assert third == {"phone": None, "form_retries": 0.0, "requested_slot": None}
    assert "tạm dừng" in texts(dispatcher)


async def test_invalid_value_for_another_slot_is_dropped_quietly(dispatcher):
    tracker = make_tracker("123", slots={"form_retries": 1.0}, requested_slot="case_code")
    result = ValidateCaseStatusForm().validate_phone("123", dispatcher, tracker, DOMAIN)
    assert result == {"phone": None}
    assert dispatcher.messages == []


async def test_yes_is_not_a_name(dispatcher):
    tracker = make_tracker("có", requested_slot="full_name")
    result = ValidateApplicationForm().validate_full_name("có", dispatcher, tracker, DOMAIN)
    assert result["full_name"] is None


async def test_case_code_format(dispatcher):
    form = ValidateCaseStatusForm()
    ok = form.validate_case_code("mã là h29.12.10-261128-0001", dispatcher, make_tracker(), DOMAIN)
    assert ok == {"case_code": "H29.12.10-261128-0001"}
    bad = form.validate_case_code("12345", dispatcher, make_tracker(requested_slot="case_code"), DOMAIN)
    assert bad["case_code"] is None and "H29.12.10-261128-0001" in texts(dispatcher)


async def test_procedure_typed_as_text_is_resolved_to_its_code(portal, dispatcher):
    result = await ValidateApplicationForm().validate_procedure(
        "chuyen truong", dispatcher, make_tracker("chuyen truong"), DOMAIN
    )
    assert result == {
        "procedure": "2.002481",
        "procedure_name": "Chuyển trường đối với học sinh trung học cơ sở",
    }


async def test_ambiguous_procedure_offers_buttons(portal, dispatcher):
    result = await ValidateApplicationForm().validate_procedure(
        "văn bằng", dispatcher, make_tracker("văn bằng", requested_slot="procedure"), DOMAIN
    )
    assert result == {"procedure": None}
    assert len(dispatcher.messages[0]["buttons"]) == 2


async def test_procedure_not_online_stops_the_form(portal, dispatcher):
    result = await ValidateApplicationForm().validate_procedure(
        "1.004555", dispatcher, make_tracker("1.004555"), DOMAIN
    )
    assert result == {"procedure": None, "requested_slot": None}
    assert "chưa nhận hồ sơ trực tuyến" in texts(dispatcher)


async def test_procedure_kept_when_portal_is_down(portal, dispatcher):
    portal.fail_next = [502]
    result = await ValidateApplicationForm().validate_procedure(
        "1.005092", dispatcher, make_tracker("1.005092"), DOMAIN
    )
    assert result == {"procedure": "1.005092"}


async def test_email_can_be_skipped(dispatcher):
    form = ValidateApplicationForm()
    assert form.validate_email("-", dispatcher, make_tracker(), DOMAIN) == {"email": "-"}
    assert form.validate_email("An@x.vn", dispatcher, make_tracker(), DOMAIN) == {"email": "an@x.vn"}
    invalid = form.validate_email("khong biet", dispatcher, make_tracker(requested_slot="email"), DOMAIN)
    assert invalid["email"] is None and "Email chưa hợp lệ" in texts(dispatcher)


async def test_confirmation_denied_cancels(dispatcher):
    result = ValidateApplicationForm().validate_application_confirmed(
        False, dispatcher, make_tracker(), DOMAIN
    )
    assert result["requested_slot"] is None and result["application_confirmed"] is None
    assert "Đã hủy" in texts(dispatcher)


async def test_confirmation_question_summarises_and_offers_buttons(dispatcher):
    tracker = make_tracker(
        slots={
            "procedure": "2.002481",
            "procedure_name": "Chuyển trường THCS",
            "full_name": "Nguyễn Văn An",
            "phone": "0912345678",
            "email": "-",
        }
    )
    await ActionAskApplicationConfirmed().run(dispatcher, tracker, DOMAIN)
    message = dispatcher.messages[0]
    assert "Chuyển trường THCS" in message["text"] and "(không có)" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/deny"]


async def test_name_read_as_a_question_is_still_taken(dispatcher):
    form = ValidateApplicationForm()
    tracker = make_tracker(
        "Trịnh Văn Quyết", "ask_how_to_apply", requested_slot="full_name", active_loop="application_form"
    )
    assert form.extract_full_name(dispatcher, tracker, DOMAIN) == {"full_name": "Trịnh Văn Quyết"}
    question = make_tracker(
        "lệ phí bao nhiêu", "ask_fee", requested_slot="full_name", active_loop="application_form"
    )
    assert form.extract_full_name(dispatcher, question, DOMAIN) == {}
    other_slot = make_tracker("Trịnh Văn Quyết", "inform", requested_slot="phone")
    assert form.extract_full_name(dispatcher, other_slot, DOMAIN) == {}


async def test_validation_action_runs_extraction_then_validation(dispatcher):
    tracker = make_tracker(
        "Trịnh Văn Quyết", "ask_how_to_apply", requested_slot="full_name", active_loop="callback_form"
    )
    domain = {"forms": {"callback_form": {"required_slots": ["full_name", "phone"]}}, "slots": {}}
    events = await ValidateCallbackForm().run(dispatcher, tracker, domain)
    assert {"event": "slot", "name": "full_name", "value": "Trịnh Văn Quyết", "timestamp": None} in events

"""Submit actions: the exact portal calls and how errors reach the user."""

import json

import httpx

from actions.services import (
    ActionCaseStatus,
    ActionContactInfo,
    ActionCreateApplication,
    ActionRequestCallback,
    ActionSchoolFees,
)

from conftest import make_tracker, slot_events, texts

APPLICANT = {
    "procedure": "2.002481",
    "full_name": "Nguyễn Văn An",
    "phone": "0912345678",
    "email": "an@x.vn",
    "application_confirmed": True,
}


async def test_create_application_posts_draft_and_returns_resume_link(portal, dispatcher):
    tracker = make_tracker(slots=APPLICANT, metadata={"portal_base_url": "https://dvc.example.vn"})
    events = await ActionCreateApplication().run(dispatcher, tracker, {})
    request = portal.requests[0]
    assert (request.method, request.url.path) == ("POST", "/api/v1/applications")
    assert json.loads(request.content) == {
        "procedure_code": "2.002481",
        "applicant": {"full_name": "Nguyễn Văn An", "phone": "0912345678", "email": "an@x.vn"},
        "fields": {},
    }
    assert request.headers["Idempotency-Key"]
    assert "https://dvc.example.vn/ho-so/nhap/1" in texts(dispatcher)
    assert slot_events(events)["application_key"] is None


async def test_create_application_retries_once_with_the_same_key(portal, dispatcher):
    portal.fail_next = [503]
    await ActionCreateApplication().run(dispatcher, make_tracker(slots=APPLICANT), {})
    keys = [r.headers["Idempotency-Key"] for r in portal.requests]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert len(portal.applications) == 1


async def test_outage_keeps_slots_and_key_for_a_later_retry(portal, dispatcher):
    portal.fail_next = [503, httpx.ConnectTimeout("down")]
    events = await ActionCreateApplication().run(dispatcher, make_tracker(slots=APPLICANT), {})
    key = slot_events(events)["application_key"]
    assert key == portal.requests[0].headers["Idempotency-Key"]
    assert "Xin lỗi" in texts(dispatcher)
    assert dispatcher.messages[-1]["buttons"][0]["payload"] == "/start_application"
    assert not {"full_name", "phone", "procedure"} & set(slot_events(events))

    # The user retries later: the same key is sent again.
    retry = make_tracker(slots={**APPLICANT, "application_key": key})
    await ActionCreateApplication().run(dispatcher, retry, {})
    assert portal.requests[-1].headers["Idempotency-Key"] == key


async def test_validation_error_shows_portal_messages_and_clears_the_field(portal, dispatcher):
    tracker = make_tracker(slots={**APPLICANT, "phone": "0312345678"})
    events = await ActionCreateApplication().run(dispatcher, tracker, {})
    assert "Dữ liệu chưa hợp lệ." in texts(dispatcher)
    assert "• Số điện thoại không đúng." in texts(dispatcher)
    assert slot_events(events)["phone"] is None
    assert dispatcher.messages[0]["buttons"] == [{"title": "Nhập lại", "payload": "/start_application"}]


async def test_unconfirmed_application_is_not_sent(portal, dispatcher):
    tracker = make_tracker(slots={**APPLICANT, "application_confirmed": None})
    await ActionCreateApplication().run(dispatcher, tracker, {})
    assert portal.requests == []


async def test_case_status_answer(portal, dispatcher):
    tracker = make_tracker(slots={"case_code": "H29.12.10-261128-0001", "phone": "0912345678"})
    await ActionCaseStatus().run(dispatcher, tracker, {})
    assert portal.paths() == ["GET /api/v1/applications/H29.12.10-261128-0001?phone=0912345678"]
    answer = texts(dispatcher)
    assert "Đang thẩm định" in answer and "05/12/2026" in answer and "Chuyển thẩm định: Đủ hồ sơ" in answer
    # moments in Vietnam's time as people write them, never the API's UTC ISO string
    assert "• 09:00 28/11/2026 Tiếp nhận" in answer
    assert "• 14:00 28/11/2026 Chuyển thẩm định" in answer
    assert "2026-11-28T" not in answer and "Z " not in answer


async def test_case_not_found_shows_portal_message(portal, dispatcher):
    tracker = make_tracker(slots={"case_code": "H29.12.10-261128-0002", "phone": "0912345678"})
    events = await ActionCaseStatus().run(dispatcher, tracker, {})
    assert texts(dispatcher) == "Không tìm thấy hồ sơ với mã và số điện thoại này."
    assert slot_events(events) == {"case_code": None}


async def test_rate_limited_shows_portal_message(portal, dispatcher):
    tracker = make_tracker(slots={"case_code": "H29.12.10-261128-0429", "phone": "0912345678"})
    await ActionCaseStatus().run(dispatcher, tracker, {})
    assert "quá nhiều lần" in texts(dispatcher)


async def test_school_fees(portal, dispatcher):
    tracker = make_tracker(slots={"student_code": "HS12345678", "link_code": "ABCD2345"})
    await ActionSchoolFees().run(dispatcher, tracker, {})
    assert portal.paths() == ["GET /api/v1/fees/invoices?student_code=HS12345678&link_code=ABCD2345"]
    answer = texts(dispatcher)
    assert "Nguyễn Minh Khôi, lớp 7A, THCS Lê Lợi" in answer
    assert "Học phí tháng 11: 300.000 đ, hạn 30/11/2026 (chưa nộp)" in answer
    assert "2026-11-30" not in answer and "unpaid" not in answer
    assert "http://portal.test/thanh-toan/hs/HS12345678" in answer


async def test_student_not_found(portal, dispatcher):
    tracker = make_tracker(slots={"student_code": "HS0000001", "link_code": "ABCD2345"})
    events = await ActionSchoolFees().run(dispatcher, tracker, {})
    assert texts(dispatcher) == "Không tìm thấy học sinh."
    assert {e["name"]: e["value"] for e in events} == {"student_code": None, "link_code": None}


async def test_contact_info(portal, dispatcher):
    await ActionContactInfo().run(dispatcher, make_tracker(), {})
    assert portal.paths() == ["GET /api/v1/agencies"]
    assert "Đường dây nóng: 1900 0000" in texts(dispatcher)


async def test_callback_is_posted_with_conversation_id(portal, dispatcher):
    tracker = make_tracker(
        slots={"full_name": "Lê Thị Hoa", "phone": "0987654321", "procedure_name": "Chuyển trường THCS"},
        metadata={"user_id": "u-42"},
    )
    await ActionRequestCallback().run(dispatcher, tracker, {})
    assert portal.callbacks == [
        {
            "full_name": "Lê Thị Hoa",
            "phone": "0987654321",
            "note": (
                "Yêu cầu gọi lại từ trợ lý ảo. Đang hỏi về thủ tục: Chuyển trường THCS. Tài khoản cổng: u-42."
            ),
            "conversation_id": "test-user",
        }
    ]
    assert "0987654321" in texts(dispatcher)


def test_dates_from_the_api_are_read_in_vietnam_time():
    from actions.common import local_date, local_time

    assert local_time("2026-12-02T02:39:07.526249Z") == "09:39 02/12/2026"
    assert local_time("2026-12-31T17:30:00+00:00") == "00:30 01/01/2027"  # the next day in Vietnam
    assert local_time("2026-12-02T09:39:00+07:00") == "09:39 02/12/2026"
    assert local_time("not a date") == "" and local_time(None) == ""
    assert local_date("2027-02-10") == "10/02/2027" and local_date("") == ""

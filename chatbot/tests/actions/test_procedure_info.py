"""action_procedure_info: resolve the procedure via the portal, answer from it."""

import httpx

from actions.procedures import ActionProcedureInfo, free_text_query

from conftest import entity, make_tracker, slot_events, texts


async def run(tracker, dispatcher):
    return await ActionProcedureInfo().run(dispatcher, tracker, {})


async def test_key_demo_diploma_copy_documents_without_diacritics(portal, dispatcher):
    text = "cho hoi lam lai bang tot nghiep can giay to gi"
    # NLU: entity "lam lai bang tot nghiep", mapped by synonym to the code.
    tracker = make_tracker(text, "ask_documents", [entity(text, "lam lai bang tot nghiep", "1.005092")])
    events = await run(tracker, dispatcher)
    assert portal.paths() == ["GET /api/v1/procedures/1.005092"]
    answer = texts(dispatcher)
    assert "Cấp bản sao văn bằng, chứng chỉ từ sổ gốc" in answer
    assert "Đơn đề nghị" in answer and "Căn cước công dân" in answer
    assert "Giấy ủy quyền (Bản chính, số lượng: 1) – nếu có" in answer
    assert "http://portal.test/thu-tuc/1.005092" in answer
    assert slot_events(events)["procedure"] == "1.005092"
    assert portal.requests[0].headers["Authorization"] == "Bearer svc-token"


async def test_entity_text_is_resolved_through_search(portal, dispatcher):
    text = "chuyển trường mất bao lâu"
    tracker = make_tracker(text, "ask_time_limit", [entity(text, "chuyển trường")])
    events = await run(tracker, dispatcher)
    assert portal.paths()[0] == "GET /api/v1/procedures?q=chuyển trường&limit=5"
    assert portal.paths()[1] == "GET /api/v1/procedures/2.002481"
    assert "5 ngày làm việc" in texts(dispatcher)
    assert slot_events(events)["procedure"] == "2.002481"


async def test_unknown_code_falls_back_to_searching_the_typed_words(portal, dispatcher):
    portal.catalogue.pop("2.002481")
    portal.catalogue["9.999999"] = dict(
        portal.catalogue["1.005092"], code="9.999999", name="Chuyển trường cho học sinh"
    )
    text = "chuyen truong can gi"
    tracker = make_tracker(text, "ask_documents", [entity(text, "chuyen truong", "2.002481")])
    await run(tracker, dispatcher)
    assert portal.paths()[0] == "GET /api/v1/procedures/2.002481"
    assert portal.paths()[1].startswith("GET /api/v1/procedures?q=chuyen truong")
    assert "Chuyển trường cho học sinh" in texts(dispatcher)


async def test_several_matches_ask_which_one_with_buttons(portal, dispatcher):
    text = "văn bằng cần gì"
    tracker = make_tracker(text, "ask_documents", [entity(text, "văn bằng")])
    events = await run(tracker, dispatcher)
    message = dispatcher.messages[0]
    assert message["text"] == "Bạn hỏi về thủ tục nào dưới đây?"
    assert {b["payload"] for b in message["buttons"]} == {
        '/inform{"procedure": "1.005092"}',
        '/inform{"procedure": "2.001914"}',
    }
    assert slot_events(events) == {"procedure_question": "documents"}


async def test_chosen_button_answers_the_pending_question(portal, dispatcher):
    tracker = make_tracker(
        '/inform{"procedure":"2.001914"}',
        "inform",
        [{"entity": "procedure", "value": "2.001914"}],
        slots={"procedure_question": "documents"},
    )
    events = await run(tracker, dispatcher)
    assert "Hồ sơ thủ tục «Chỉnh sửa nội dung văn bằng, chứng chỉ» gồm" in texts(dispatcher)
    assert slot_events(events)["procedure_question"] is None


async def test_nothing_matches_says_so_and_invents_nothing(portal, dispatcher):
    text = "thủ tục đăng ký khai sinh cần gì"
    tracker = make_tracker(
        text, "ask_documents", [entity(text, "đăng ký khai sinh")], slots={"procedure": "2.002481"}
    )
    events = await run(tracker, dispatcher)
    assert "không tìm thấy thủ tục nào khớp với «đăng ký khai sinh»" in texts(dispatcher)
    assert all("/procedures/" not in p for p in portal.paths())  # no detail fetched
    assert slot_events(events)["procedure"] is None


async def test_follow_up_question_uses_the_procedure_slot(portal, dispatcher):
    tracker = make_tracker("lệ phí bao nhiêu", "ask_fee", slots={"procedure": "1.005092"})
    await run(tracker, dispatcher)
    assert portal.paths() == ["GET /api/v1/procedures/1.005092"]
    assert "2.000 đồng/trang" in texts(dispatcher)
    assert "thanh toán trực tuyến" in texts(dispatcher)


async def test_no_procedure_at_all_offers_the_catalogue(portal, dispatcher):
    portal.list_all_on_empty_query = True
    tracker = make_tracker("cần giấy tờ gì", "ask_documents")
    events = await run(tracker, dispatcher)
    assert portal.paths() == ["GET /api/v1/procedures?q=&limit=10"]
    assert "thủ tục nào" in texts(dispatcher)
    assert len(dispatcher.messages[0]["buttons"]) == 4
    assert slot_events(events) == {"procedure_question": "documents"}


async def test_online_answer_offers_to_start_an_application(portal, dispatcher):
    tracker = make_tracker(
        "nộp online được không",
        "ask_online",
        slots={"procedure": "2.002481"},
        metadata={"portal_base_url": "https://dichvucong.example.vn"},
    )
    await run(tracker, dispatcher)
    message = dispatcher.messages[0]
    assert "toàn trình" in message["text"]
    assert "https://dichvucong.example.vn/thu-tuc/2.002481/nop-ho-so" in message["text"]
    assert message["buttons"][0]["payload"] == '/start_application{"procedure": "2.002481"}'


async def test_where_and_how_answers(portal, dispatcher):
    tracker = make_tracker("nộp ở đâu", "ask_where_submit", slots={"procedure": "2.002481"})
    await run(tracker, dispatcher)
    assert "1 Lê Duẩn, Quận 1" in texts(dispatcher)
    dispatcher.messages.clear()
    tracker = make_tracker("làm thế nào", "ask_how_to_apply", slots={"procedure": "2.002481"})
    await run(tracker, dispatcher)
    assert "1. Nộp hồ sơ\n2. Cán bộ thẩm định\n3. Nhận kết quả" in texts(dispatcher)


async def test_server_error_apologises_and_keeps_slots(portal, dispatcher):
    portal.fail_next = [503]
    tracker = make_tracker("lệ phí bao nhiêu", "ask_fee", slots={"procedure": "1.005092"})
    events = await run(tracker, dispatcher)
    assert "Xin lỗi" in texts(dispatcher)
    assert events == []


async def test_timeout_apologises(portal, dispatcher):
    portal.fail_next = [httpx.ReadTimeout("slow")]
    tracker = make_tracker("lệ phí bao nhiêu", "ask_fee", slots={"procedure": "1.005092"})
    assert await run(tracker, dispatcher) == []
    assert "gián đoạn" in texts(dispatcher)


def test_free_text_query_drops_question_words():
    assert free_text_query("cho hỏi thành lập trường tiểu học cần giấy tờ gì") == "thanh lap truong tieu hoc"
    assert free_text_query("lệ phí bao nhiêu") == ""
    assert free_text_query('/inform{"procedure":"1"}') == ""


async def test_free_text_without_entity_is_searched(portal, dispatcher):
    tracker = make_tracker("cho hỏi thành lập trường tiểu học cần giấy tờ gì", "ask_documents")
    await run(tracker, dispatcher)
    assert portal.paths()[0] == "GET /api/v1/procedures?q=thanh lap truong tieu hoc&limit=5"
    assert "Thành lập trường tiểu học công lập" in texts(dispatcher)


async def test_closest_match_is_labelled_as_such(portal, dispatcher):
    text = "thành lập trường thcs cần gì"
    tracker = make_tracker(text, "ask_documents", [entity(text, "thành lập trường thcs")])
    await run(tracker, dispatcher)
    assert portal.paths() == [
        "GET /api/v1/procedures?q=thành lập trường thcs&limit=5",
        "GET /api/v1/procedures/1.004555",
    ]
    assert texts(dispatcher).startswith(
        "Danh mục không có thủ tục đúng tên «thành lập trường thcs»; "
        "thủ tục gần nhất là «Thành lập trường tiểu học công lập»."
    )


async def test_inform_without_procedure_is_not_searched(portal, dispatcher):
    tracker = make_tracker("Tran Thi Mai", "inform")
    await run(tracker, dispatcher)
    assert portal.paths() == ["GET /api/v1/procedures?q=&limit=10"]
    assert "thủ tục nào" in texts(dispatcher)


async def test_reset_confirmation_is_not_a_cancellation(dispatcher):
    from actions.forms import ValidateApplicationForm

    assert (
        ValidateApplicationForm().validate_application_confirmed(None, dispatcher, make_tracker(), {}) == {}
    )
    assert dispatcher.messages == []

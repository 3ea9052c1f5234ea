"""One-stop documents as pages and PDFs; the PDF text (pdftotext) keeps the Vietnamese and the facts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.backoffice.staff_builders import act, state_of
from tests.builders import submit_transfer
from tests.pdftext import PdfText, pdf_pages
from tests.pdftext import pdf_text as read_pdf


def pdf_text(client: TestClient, url: str) -> PdfText:
    response = client.get(url)
    assert response.status_code == 200, response.text[:2000]
    assert response.headers["content-type"] == "application/pdf"
    assert pdf_pages(response.content) == 1, url  # each slip fits its page
    return read_pdf(response.content)


def test_supplement_request_lists_every_item(
    client: TestClient, as_role: Callable[[str], TestClient]
) -> None:
    app_id, code = submit_transfer(client)
    reception = as_role("tiep_nhan")
    assert (
        reception.get(f"/can-bo/ho-so/{app_id}/van-ban/yeu-cau-bo-sung").status_code == 404
    )  # not issued yet
    assert (
        act(
            reception,
            app_id,
            "request_supplement",
            comment="Ảnh học bạ bị mờ",
            items="Học bạ bản chụp rõ nét\nGiấy khai sinh của học sinh",
        ).status_code
        == 303
    )
    page = reception.get(f"/can-bo/ho-so/{app_id}/van-ban/yeu-cau-bo-sung")
    assert page.status_code == 200 and "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ" in page.text
    text = pdf_text(reception, f"/can-bo/ho-so/{app_id}/van-ban/yeu-cau-bo-sung.pdf")
    assert "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ" in text
    assert code in text and "Trần Thị Mai" in text
    assert "Học bạ bản chụp rõ nét" in text and "Giấy khai sinh của học sinh" in text
    assert "Ảnh học bạ bị mờ" in text and "Phạm Thu Hà" in text
    # the applicant downloads the same letter from the receipt side
    own = pdf_text(client, f"/ho-so/{app_id}/van-ban/yeu-cau-bo-sung.pdf")
    assert "Giấy khai sinh của học sinh" in own


def test_refusal_slip_carries_the_reason(client: TestClient, as_role: Callable[[str], TestClient]) -> None:
    app_id, _ = submit_transfer(client)
    assert (
        act(
            as_role("tiep_nhan"),
            app_id,
            "refuse",
            reason="khong_du_dieu_kien",
            comment="Học sinh chưa hoàn thành năm học",
        ).status_code
        == 303
    )
    text = pdf_text(as_role("tiep_nhan"), f"/can-bo/ho-so/{app_id}/van-ban/tu-choi.pdf")
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ" in text
    assert "Không đủ điều kiện theo quy định" in text and "Học sinh chưa hoàn thành năm học" in text


def test_apology_letter_gives_the_new_date(
    client: TestClient, as_role: Callable[[str], TestClient], db_session: Session
) -> None:
    from workflows.calendar import load_calendar

    app_id, _ = submit_transfer(client)
    assert act(as_role("tiep_nhan"), app_id, "accept").status_code == 303
    due = state_of(db_session, app_id).effective_due_date
    assert due is not None
    new_date = load_calendar().add_working_days(due, 2)
    assert (
        act(
            as_role("lanh_dao"),
            app_id,
            "apologise",
            comment="Phải xác minh hồ sơ với trường nơi đi",
            new_date=new_date.isoformat(),
        ).status_code
        == 303
    )
    text = pdf_text(as_role("chuyen_vien"), f"/can-bo/ho-so/{app_id}/van-ban/xin-loi.pdf")
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in text
    assert f"ngày {new_date:%d/%m/%Y}" in text and "Phải xác minh hồ sơ với trường nơi đi" in text
    assert "Nguyễn Quốc Bảo" in text


def test_process_control_slip_has_a_row_per_hand_over(
    client: TestClient, as_role: Callable[[str], TestClient], staff: dict[str, Any]
) -> None:
    app_id, code = submit_transfer(client)
    assert (
        act(as_role("tiep_nhan"), app_id, "accept", assignee=str(staff["chuyen_vien"]["id"])).status_code
        == 303
    )
    assert act(as_role("chuyen_vien"), app_id, "appraise", comment="Đủ điều kiện").status_code == 303
    assert (
        act(as_role("lanh_dao"), app_id, "return_for_rework", comment="Bổ sung ý kiến trường").status_code
        == 303
    )
    text = pdf_text(as_role("lanh_dao"), f"/can-bo/ho-so/{app_id}/van-ban/kiem-soat.pdf")
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in text and code in text
    for who in ("Phạm Thu Hà", "Võ Minh Tuấn", "Nguyễn Quốc Bảo"):
        assert who in text
    assert text.count("Đúng hạn") == 3  # accept, appraise, return — all the same day
    page = as_role("lanh_dao").get(f"/can-bo/ho-so/{app_id}/van-ban/kiem-soat").text
    for who in ("Cán bộ tiếp nhận: Phạm Thu Hà", "Chuyên viên: Võ Minh Tuấn", "Lãnh đạo: Nguyễn Quốc Bảo"):
        assert who in page
    assert page.count("<tr>") == 1 + 4  # header, submission, three hand-overs
    assert "Bổ sung ý kiến trường" in page


def test_receipt_slip_is_the_citizen_side_receipt(
    client: TestClient, as_role: Callable[[str], TestClient]
) -> None:
    app_id, code = submit_transfer(client)
    text = pdf_text(as_role("tiep_nhan"), f"/can-bo/ho-so/{app_id}/van-ban/tiep-nhan.pdf")
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text.upper() and code in text


def test_control_slip_marks_a_late_step(db_session: Session, app: Any) -> None:
    """Unit-level: a step handed over after its budget is 'Quá hạn'."""
    from datetime import UTC, date, datetime

    from portal.backoffice.documents import process_control_rows
    from portal.models import CaseEvent
    from tests.backoffice.staff_builders import insert_case

    case = insert_case(
        db_session,
        due=date(2026, 11, 5),
        number=1,
        status="cho_phe_duyet",
        submitted=datetime(2026, 11, 2, 2, 0, tzinfo=UTC),
    )  # Monday 09:00 in Hà Nội time
    definition = app.state.registry.get("2.002481", 2)
    events = [
        CaseEvent(
            application_id=case.id,
            kind="accept",
            at=datetime(2026, 11, 2, 3, 0, tzinfo=UTC),
            actor_kind="staff",
            actor_name="A",
            from_state="cho_tiep_nhan",
            to_state="dang_tham_dinh",
            details={"action_label": "Tiếp nhận hồ sơ"},
        ),
        CaseEvent(
            application_id=case.id,
            kind="appraise",
            at=datetime(2026, 11, 5, 3, 0, tzinfo=UTC),
            actor_kind="staff",
            actor_name="B",
            from_state="dang_tham_dinh",
            to_state="cho_phe_duyet",
            details={"action_label": "Trình lãnh đạo phê duyệt"},
        ),
    ]
    rows = process_control_rows(case, definition, events, app.state.calendar)
    assert [r.on_time for r in rows] == [None, True, False]  # appraisal had 1 working day, took 3
    assert rows[2].due == date(2026, 11, 3)
    db_session.rollback()

"""Queues: deadline status and order, keyset pages, counts, search, masking."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from portal.backoffice.deadlines import clock_for, status_for_due
from portal.backoffice.repository import Cursor, QueueFilter, QueueRepository
from tests.backoffice.staff_builders import act, insert_case
from tests.builders import submit_transfer
from workflows.calendar import VN_TZ, load_calendar
from workflows.engine import ClockEvent, DeadlineStatus

CAL = load_calendar()


def _rows(html: str) -> list[str]:
    return re.findall(r'class="case-link">([^<]+)<', html)


def test_queue_orders_by_deadline_and_shows_its_status(
    app: FastAPI, db_session: Session, as_role: Callable[[str], TestClient], now: datetime
) -> None:
    today = now.date()
    on_time = insert_case(db_session, due=CAL.add_working_days(today, 5), number=1)
    overdue = insert_case(db_session, due=today - timedelta(days=3), number=2)
    soon = insert_case(db_session, due=today, number=3)
    paused = insert_case(db_session, due=today - timedelta(days=1), number=4, status="cho_bo_sung")
    db_session.commit()
    html = as_role("chuyen_vien").get("/can-bo/ho-so?hang=dang-xu-ly").text
    assert _rows(html) == [overdue.case_code, paused.case_code, soon.case_code, on_time.case_code]
    badges = re.findall(r'class="badge badge-(\w+)">([^<]+)<', html)
    assert badges == [
        ("overdue", "Quá hạn"),
        ("paused", "Tạm dừng (chờ bổ sung)"),
        ("due_soon", "Sắp đến hạn"),
        ("on_time", "Trong hạn"),
    ]
    late = as_role("chuyen_vien").get("/can-bo/ho-so?han=qua-han").text
    assert _rows(late) == [overdue.case_code]  # a paused clock is not overdue
    assert _rows(as_role("chuyen_vien").get("/can-bo/ho-so?han=sap-den-han").text) == [soon.case_code]
    assert _rows(as_role("chuyen_vien").get("/can-bo/ho-so?han=trong-han").text) == [on_time.case_code]


def test_list_status_agrees_with_the_deadline_clock(app: FastAPI, db_session: Session) -> None:
    """The queue derives the status from the stored due date; it must say what DeadlineClock says."""
    definition = app.state.registry.get("2.002481", 2)
    case = insert_case(
        db_session, due=date(2026, 2, 9), number=9, submitted=datetime(2026, 2, 5, 9, 0, tzinfo=VN_TZ)
    )  # a Thursday before Tết 2026
    db_session.rollback()
    events = [
        ClockEvent("pause", datetime(2026, 2, 6, 10, 0, tzinfo=VN_TZ)),
        ClockEvent("resume", datetime(2026, 2, 25, 8, 0, tzinfo=VN_TZ)),
    ]
    clock = clock_for(case, definition, CAL, events)
    day = date(2026, 2, 4)
    while day < date(2026, 3, 20):
        at = datetime.combine(day, time(10, 0), VN_TZ)
        if not clock.is_paused(at):
            assert status_for_due(CAL, clock.due_date(at), day) is clock.status(at), day
        day += timedelta(days=1)


def test_a_real_case_shows_the_same_status_in_the_list_and_on_its_page(
    client: TestClient, as_role: Callable[[str], TestClient]
) -> None:
    app_id, code = submit_transfer(client)
    assert act(as_role("tiep_nhan"), app_id, "accept").status_code == 303
    listed = as_role("chuyen_vien").get(f"/can-bo/ho-so?q={code}").text
    page = as_role("chuyen_vien").get(f"/can-bo/ho-so/{app_id}").text
    label = re.search(r'id="deadline-status">([^<]+)<', page)
    assert label and f'">{label.group(1)}<' in listed


def test_keyset_pages_cover_every_case_once(
    app: FastAPI, db_session: Session, as_role: Callable[[str], TestClient], now: datetime
) -> None:
    today = now.date()
    for n in range(60):
        insert_case(db_session, due=today + timedelta(days=n % 7), number=100 + n)
    db_session.commit()
    specialist = as_role("chuyen_vien")
    seen: list[str] = []
    url = "/can-bo/ho-so"
    pages = 0
    while url:
        html = specialist.get(url).text
        codes = _rows(html)
        seen += codes
        pages += 1
        if pages == 1:
            # a case added meanwhile, due earlier than everything after page 1, does not shift the pages
            insert_case(db_session, due=today - timedelta(days=1), number=999)
            db_session.commit()
        nxt = re.search(r'rel="next" href="([^"]+)"', html)
        url = nxt.group(1).replace("&amp;", "&") if nxt else ""
    assert pages == 3 and len(seen) == 60 and len(set(seen)) == 60
    rows = QueueRepository(db_session).page(QueueFilter("H29.41.04"), limit=100)
    keys = [(r.effective_due_date, r.id) for r in rows]
    assert keys == sorted(keys)
    db_session.rollback()


def test_keyset_query_has_no_offset_and_a_bad_cursor_is_page_one(db_session: Session) -> None:
    repo = QueueRepository(db_session)
    compiled = str(_page_sql(repo))
    assert "OFFSET" not in compiled.upper() and "LIMIT" in compiled.upper()
    assert Cursor.decode("not-a-cursor!!") is None
    token = Cursor(date(2026, 12, 1), "abc").encode()
    assert Cursor.decode(token) == Cursor(date(2026, 12, 1), "abc")


def _page_sql(repo: QueueRepository) -> Any:
    captured: list[Any] = []
    real = repo.session.execute

    def spy(stmt: Any, *args: Any, **kwargs: Any) -> Any:
        captured.append(stmt.compile(compile_kwargs={"literal_binds": True}))
        return real(stmt, *args, **kwargs)

    repo.session.execute = spy  # type: ignore[method-assign]
    try:
        repo.page(QueueFilter("H29.41.04"), after=Cursor(date(2026, 12, 1), "x"), limit=5)
    finally:
        repo.session.execute = real  # type: ignore[method-assign]
    return captured[0]


def test_counts_per_queue(
    app: FastAPI,
    db_session: Session,
    as_role: Callable[[str], TestClient],
    staff: dict[str, Any],
    now: datetime,
) -> None:
    today = now.date()
    me = staff["chuyen_vien"]["id"]
    insert_case(db_session, due=today - timedelta(days=2), number=1, assignee=me)
    insert_case(db_session, due=CAL.add_working_days(today, 4), number=2, assignee=me)
    insert_case(db_session, due=today, number=3)  # unassigned, appraisal
    insert_case(db_session, due=today, number=4, status="cho_tiep_nhan")  # unassigned, reception's
    insert_case(db_session, due=today, number=5, status="da_tra_ket_qua", closed=True)
    insert_case(db_session, due=today, number=6, procedure="2.001914", version=2)
    insert_case(db_session, due=today, number=7, agency="H29.41.01")  # another agency
    db_session.commit()
    html = as_role("chuyen_vien").get("/can-bo/ho-so").text

    def count(label: str) -> int:
        found = re.search(re.escape(label) + r' <span class="count">(\d+)</span>', html)
        assert found, label
        return int(found.group(1))

    assert count("Hồ sơ của tôi") == 2
    assert count("Chưa phân công") == 2  # appraisal cases without a holder (reception's are not mine to take)
    assert count("Tất cả hồ sơ đang giải quyết") == 5
    assert count("Quá hạn") == 1
    assert count("Sắp đến hạn (trong 1 ngày làm việc)") == 3
    assert count("Chuyên viên đang thẩm định") == 4
    assert 'trang_thai=da_tra_ket_qua">Đã trả kết quả</a>' in html  # closed states are listed, not counted
    assert count("Chuyển trường đối với học sinh trung học cơ sở") == 4
    mine = as_role("chuyen_vien").get("/can-bo/ho-so?hang=cua-toi").text
    assert len(_rows(mine)) == 2
    reception = as_role("tiep_nhan").get("/can-bo/ho-so?hang=chua-phan-cong").text
    assert _rows(reception) == ["H29.41.04-261201-0004"]

    # landing without a choice: one's own cases first, then what one's role may take, else all
    assert "<h1>Hồ sơ: Hồ sơ của tôi</h1>" in html and len(_rows(html)) == 2
    landing = as_role("tiep_nhan").get("/can-bo/ho-so").text
    assert "<h1>Hồ sơ: Chưa phân công</h1>" in landing and _rows(landing) == ["H29.41.04-261201-0004"]
    everything = as_role("chuyen_vien").get("/can-bo/ho-so?hang=dang-xu-ly").text
    assert len(_rows(everything)) == 5
    # the call-back requests the assistant takes are linked from reception's navigation
    assert 'href="/can-bo/goi-lai"' in landing
    assert 'href="/can-bo/goi-lai"' not in html  # a specialist does not handle them


def test_search_by_code_cccd_and_name_without_accents(
    app: FastAPI, db_session: Session, as_role: Callable[[str], TestClient], now: datetime
) -> None:
    today = now.date()
    insert_case(db_session, due=today, number=1, name="Trần Thị Mai", cccd="079185012345")
    insert_case(db_session, due=today, number=2, name="Đỗ Văn Đức", cccd="001090000001")
    insert_case(
        db_session, due=today, number=3, name="Đỗ Thị Hoa", cccd="001090000002", status="tu_choi", closed=True
    )
    db_session.commit()
    staff_client = as_role("tiep_nhan")
    assert _rows(staff_client.get("/can-bo/ho-so?q=h29.41.04-261201-0003").text) == ["H29.41.04-261201-0003"]
    assert _rows(staff_client.get("/can-bo/ho-so?q=001090000001").text) == ["H29.41.04-261201-0002"]
    assert _rows(staff_client.get("/can-bo/ho-so?q=tran thi").text) == ["H29.41.04-261201-0001"]
    assert _rows(staff_client.get("/can-bo/ho-so?q=do").text) == ["H29.41.04-261201-0002"]
    assert len(_rows(staff_client.get("/can-bo/ho-so?q=do&ca_da_xong=1").text)) == 2
    assert _rows(staff_client.get("/can-bo/ho-so?q=100%25").text) == []  # LIKE wildcards are literal


def test_lists_mask_the_cccd_and_htmx_gets_the_results_only(
    app: FastAPI, db_session: Session, as_role: Callable[[str], TestClient], now: datetime
) -> None:
    insert_case(db_session, due=now.date(), number=1, cccd="079185012345")
    db_session.commit()
    page = as_role("tiep_nhan").get("/can-bo/ho-so", headers={"HX-Request": "true", "HX-Target": "results"})
    assert page.text.lstrip().startswith('<div id="results"')
    assert "079******345" in page.text and "079185012345" not in page.text


def test_deadline_status_values() -> None:
    today = date(2026, 12, 4)  # a Friday
    assert status_for_due(CAL, date(2026, 12, 3), today) is DeadlineStatus.OVERDUE
    assert status_for_due(CAL, date(2026, 12, 4), today) is DeadlineStatus.DUE_SOON
    assert (
        status_for_due(CAL, date(2026, 12, 7), today) is DeadlineStatus.DUE_SOON
    )  # next working day (Monday)
    assert status_for_due(CAL, date(2026, 12, 8), today) is DeadlineStatus.ON_TIME

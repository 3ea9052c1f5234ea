"""Demo data for the quality pages (`make run`): a few cases processed through the back office, rated.

Each demo case is submitted like a citizen's, then handled with
:class:`portal.backoffice.service.CaseService` at past times (so deadlines,
signed results and e-mails are the real ones), rated and, for one, complained
about and answered. Idempotent: a case is created once per idempotency key.
A case whose processing fails (e.g. signing unavailable) is skipped and named.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Application
from workflows.calendar import VN_TZ, WorkingCalendar
from workflows.calendar import now as vn_now

log = logging.getLogger("portal.quality")

# (working-day offset from receipt, hour, action, who: a staff login or "citizen")
Step = tuple[int, int, str, str]
ACCEPT: list[Step] = [(0, 10, "accept", "tiepnhan@demo")]
RESULT: list[Step] = [
    (1, 9, "appraise", "chuyenvien@demo"),
    (1, 14, "approve", "lanhdao@demo"),
    (2, 9, "issue", "vanthu@demo"),
    (2, 10, "return_result", "tiepnhan@demo"),
]


@dataclass(frozen=True)
class DemoCase:
    key: str
    procedure: str
    days_ago: int  # working days before today it was received
    steps: list[Step]
    person: tuple[str, str, str]  # name, phone, CCCD
    rating: str | None = None
    channel: str = "online"
    complaint: str = ""


DEMO_CASES = (
    DemoCase(
        "q1", "2.002481", 30, ACCEPT + RESULT, ("Phan Thị Hoa", "0931000001", "079185000001"), "rat_hai_long"
    ),
    DemoCase(
        "q2",
        "2.002481",
        25,
        ACCEPT
        + [
            (2, 9, "appraise", "chuyenvien@demo"),
            (4, 9, "approve", "lanhdao@demo"),
            (5, 9, "issue", "vanthu@demo"),
            (5, 10, "return_result", "tiepnhan@demo"),
        ],
        ("Đinh Văn Long", "0931000002", "079090000002"),
        "khong_hai_long",
        complaint="Hồ sơ chuyển trường trả kết quả trễ hai ngày so với giấy hẹn.",
    ),
    DemoCase(
        "q3",
        "2.001914",
        20,
        [
            (1, 9, "request_supplement", "tiepnhan@demo"),
            (4, 9, "submit_supplement", "citizen"),
            (4, 10, "accept", "tiepnhan@demo"),
            (5, 9, "appraise", "chuyenvien@demo"),
            (6, 9, "approve", "lanhdao@demo"),
            (7, 9, "issue", "vanthu@demo"),
            (7, 10, "return_result", "tiepnhan@demo"),
        ],
        ("Mai Thanh Tâm", "0931000003", "079301000003"),
        "hai_long",
    ),
    DemoCase(
        "q4",
        "2.001914",
        15,
        [(1, 10, "refuse", "tiepnhan@demo")],
        ("Tạ Quang Vinh", "0931000004", "079201000004"),
        "hai_long",
        channel="desk",
    ),
    DemoCase(
        "q5", "2.002481", 10, [(1, 8, "withdraw", "citizen")], ("Kiều Thu Hà", "0931000005", "079301000005")
    ),
    DemoCase("q6", "2.001914", 2, ACCEPT, ("La Minh Đức", "0931000006", "079201000006")),
    DemoCase("q7", "2.002481", 12, ACCEPT, ("Âu Ngọc Lan", "0931000007", "079301000007")),
    DemoCase(
        "q8",
        "2.002481",
        8,
        ACCEPT
        + [
            (0, 14, "appraise", "chuyenvien@demo"),
            (1, 9, "approve", "lanhdao@demo"),
            (1, 10, "issue", "vanthu@demo"),
            (1, 11, "return_result", "tiepnhan@demo"),
        ],
        ("Quách Gia Hân", "0931000008", "079301000008"),
        "rat_hai_long",
    ),
)
INPUTS: dict[str, dict[str, Any]] = {
    "appraise": {"comment": "Hồ sơ đủ điều kiện; đề nghị phê duyệt."},
    "request_supplement": {"comment": "Đề nghị bổ sung giấy tờ.", "items": ("Bản sao giấy khai sinh",)},
    "submit_supplement": {"comment": "Đã bổ sung giấy khai sinh."},
    "refuse": {"comment": "Văn bằng không do cơ quan cấp.", "reason": "khong_thuoc_tham_quyen"},
    "withdraw": {"comment": "Gia đình đổi ý."},
}


def _working_days_back(calendar: WorkingCalendar, day: date, n: int) -> date:
    while n > 0:
        day -= timedelta(days=1)
        if calendar.is_working_day(day):
            n -= 1
    return day


def _at(calendar: WorkingCalendar, received: date, offset: int, hour: int) -> datetime:
    return datetime.combine(calendar.add_working_days(received, offset), time(hour), tzinfo=VN_TZ)


def seed_quality_demo(
    session: Session, *, registry: Any, calendar: WorkingCalendar, files: Any, settings: Any
) -> list[str]:
    from portal.applications.repository import ApplicationRepository
    from portal.applications.service import ApplicationService, Upload
    from portal.backoffice.effects import DefaultEffects
    from portal.backoffice.service import CaseService
    from portal.catalogue import Catalogue
    from portal.notifications.service import Mailer
    from portal.quality.feedback import FeedbackService
    from portal.quality.repository import QualityRepository
    from portal.quality.service import RatingService
    from portal.samples import demo_value, tiny_pdf
    from portal.staff.repository import StaffRepository
    from workflows.engine import ActionInputs

    applications = ApplicationService(
        ApplicationRepository(session), Catalogue(registry), calendar, files, settings.secret_key
    )
    effects = DefaultEffects(settings, Catalogue(registry), Mailer(settings))
    cases = CaseService(session, registry, calendar, effects, str(settings.base_url))
    staff = StaffRepository(session)
    repo = QualityRepository(session)
    ratings = RatingService(repo, registry, settings.secret_key, settings.rating_edit_days)
    feedback = FeedbackService(repo, registry, calendar)
    today = vn_now().date()
    made, skipped = [], []
    for demo in DEMO_CASES:
        key = f"demo-quality-{demo.key}"
        if session.scalars(select(Application).where(Application.idempotency_key == key)).first() is not None:
            continue
        received_day = _working_days_back(calendar, today, demo.days_ago)
        try:
            with session.begin_nested():
                definition = registry.current(demo.procedure, today)
                app, _ = applications.create_draft(definition, citizen_id=None, idempotency_key=key)
                name, phone, cccd = demo.person
                applicant = {
                    "full_name": name,
                    "cccd": cccd,
                    "phone": phone,
                    "email": "",
                    "address": "Phường Thới An, TP. Hồ Chí Minh",
                }
                fields = {f.key: demo_value(f) for f in definition.fields}
                applications.save_draft(app, applicant, fields, "H29.41.04", complete=True)
                for doc in definition.documents:
                    if doc.required:
                        applications.attach(app, Upload(doc.key, f"{doc.key}.pdf", tiny_pdf(doc.key)))
                app.channel = demo.channel
                applications.submit(app, now=datetime.combine(received_day, time(8, 30), tzinfo=VN_TZ))
                for offset, hour, action, who in demo.steps:
                    at = _at(calendar, received_day, offset, hour)
                    inputs = ActionInputs(**INPUTS.get(action, {}))
                    if who == "citizen":
                        cases.act_as_citizen(
                            app,
                            action,
                            inputs,
                            app.lock_version,
                            actor_id=f"nguoi-nop:{app.id[:8]}",
                            actor_name=name,
                            at=at,
                        )
                    else:
                        member = staff.by_login(who)
                        assert member is not None, f"demo staff {who} missing"
                        cases.act(member, app, action, inputs, app.lock_version, at=at)
                    session.refresh(app)
                closed = _at(calendar, received_day, demo.steps[-1][0] + 1, 9)
                if demo.rating:
                    ratings.save(
                        app,
                        {
                            "overall": demo.rating,
                            "on_time": "dung_hen",
                            "staff_attitude": demo.rating,
                            "ease_of_use": "hai_long",
                            "contacts": "1",
                            "comment": "",
                        },
                        via="link",
                        now=closed,
                        actor_id=f"nguoi-nop:{app.id[:8]}",
                    )
                if demo.complaint:
                    item = feedback.submit(
                        {
                            "kind": "phan_anh",
                            "case_code": app.case_code or "",
                            "name": name,
                            "phone": phone,
                            "subject": "Trả kết quả trễ hẹn",
                            "content": demo.complaint,
                            "consent": "1",
                        },
                        now=closed,
                    )
                    head = staff.by_login("lanhdao@demo")
                    assert head is not None
                    feedback.act(
                        head,
                        item,
                        "answer",
                        "Cơ quan xin lỗi ông/bà; đã chấn chỉnh khâu thẩm định.",
                        version=item.lock_version,
                        now=closed + timedelta(days=3),
                    )
            made.append(app.case_code or key)
        except Exception as exc:  # a demo case that cannot be processed here is skipped, not fatal
            log.warning("demo case %s skipped: %s", key, exc)
            skipped.append(f"{demo.key} ({exc.__class__.__name__})")
    out = []
    if made:
        out.append(
            f"quality demo cases {', '.join(made)} (dashboard /can-bo/chat-luong as lanhdao@demo; /thong-ke)"
        )
    if skipped:
        out.append(f"quality demo cases skipped: {', '.join(skipped)}")
    return out

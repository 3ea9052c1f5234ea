"""Demo school fees for `make run`: a school, two classes, students (two of them the demo parent's,
linked to the demo citizen account as if the parent had entered their link codes), fee items and this
month's invoices. Idempotent: a second run changes nothing."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import Citizen
from portal.payments_app.models import School
from portal.payments_app.repository import SchoolRepository
from portal.payments_app.schools import SchoolFeeService, show_link_code
from workflows.calendar import VN_TZ

DEMO_SCHOOL = "79760101"
DEMO_AGENCY = "H29.41.04"  # the back office's demo agency: its accountant ketoan@demo manages the school
DEMO_PARENT_PHONE = "0912345678"  # the demo citizen of portal.demo (when it exists)
DEMO_STUDENTS = (
    "Mã học sinh,Họ và tên,Lớp,Số định danh (CCCD),SĐT phụ huynh\n"
    "7976010001,Nguyễn Minh An,1A,079215000001,0912345678\n"
    "7976010002,Trần Bảo Ngọc,1A,,0987654321\n"
    "7976010003,Lê Gia Huy,1A,,0909123456\n"
    "7976010004,Nguyễn Minh Khang,3B,079216000004,0912345678\n"
    "7976010005,Phạm Thu Hà,3B,,0933111222\n"
)
DEMO_ITEMS = (
    ("TIENAN", "Tiền ăn bán trú", "day", "35000", False),
    ("BANTRU", "Phí phục vụ bán trú", "month", "350000", False),
    ("NGOAIGIO", "Chăm sóc ngoài giờ", "month", "200000", False),
    ("HOCPHI", "Học phí (lớp chất lượng cao)", "month", "500000", True),
)


def seed_payments_demo(session: Session) -> list[str]:
    repo = SchoolRepository(session)
    fees = SchoolFeeService(session)
    school = repo.school_by_code(DEMO_SCHOOL)
    created = []
    if school is None:
        school = repo.add(
            School(
                code=DEMO_SCHOOL,
                name="Trường Tiểu học Thới An",
                agency_id=DEMO_AGENCY,
                address="Lê Thị Riêng, phường Thới An, TP. Hồ Chí Minh",
                bank_bin="970415",
                bank_account="113366668888",
                bank_account_name="TRUONG TIEU HOC THOI AN",
            )
        )
        created.append("school Trường Tiểu học Thới An")
    result = fees.import_students(school, DEMO_STUDENTS.encode())
    assert result.ok, result.errors
    for code, name, unit, amount, exemptible in DEMO_ITEMS:
        if repo.fee_item_by_code(school.id, code) is None:
            fees.add_fee_item(school, code, name, unit, amount, exemptible)
    today = utcnow().astimezone(VN_TZ).date()
    period = f"{today:%Y-%m}"
    items = [i.id for i in repo.fee_items(school.id)]
    issued = 0
    for klass in repo.classes(school.id):
        issued += len(
            fees.issue_invoices(
                school,
                klass,
                period=period,
                due_date=date(today.year, today.month, 10),
                item_ids=items,
                school_days=20,
                adjustments={},
                issued_by="Dữ liệu mẫu",
            ).created
        )
    linked = _link_demo_parent(session, school)
    if result.created or issued or linked:
        codes = ", ".join(f"{s.code} {show_link_code(s.link_code)}" for s in repo.students_of(school.id))
        created.append(
            f"school fees: {result.created} students, {issued} invoices for {period} "
            f"(citizen {DEMO_PARENT_PHONE} is linked to {', '.join(linked) or 'no student yet'}; "
            f"student code + parent link code: {codes}; the accountant ketoan@demo sees them "
            "on each class page; /hoc-phi)"
        )
    return created


def _link_demo_parent(session: Session, school: School) -> list[str]:
    """The school told us the demo citizen is the parent of these students (seed data only: a real
    link needs the code from the notice)."""
    citizen = session.scalars(select(Citizen).where(Citizen.phone == DEMO_PARENT_PHONE)).first()
    if citizen is None:
        return []
    fees = SchoolFeeService(session)
    children = [s for s in fees.repo.students_of(school.id) if s.parent_phone == DEMO_PARENT_PHONE]
    return [s.code for s in children if fees.link_parent(citizen.id, s)]

"""Demo staff for `make run`: one account per role at agency H29.41.04, and an admin. Idempotent."""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal.staff.models import StaffMember, StaffRole
from portal.staff.repository import StaffRepository
from portal.staff.service import hash_password

DEMO_AGENCY = "H29.41.04"
DEMO_STAFF_PASSWORD = "matkhau123"  # noqa: S105 (demo data, printed by `make run`)
DEMO_STAFF = (
    ("tiepnhan@demo", "Phạm Thu Hà", ("tiep_nhan",)),
    ("chuyenvien@demo", "Võ Minh Tuấn", ("chuyen_vien",)),
    ("chuyenvien2@demo", "Đặng Thị Lan", ("chuyen_vien",)),
    ("lanhdao@demo", "Nguyễn Quốc Bảo", ("lanh_dao",)),
    ("vanthu@demo", "Lê Thị Hồng", ("van_thu",)),
    ("ketoan@demo", "Trương Văn Phúc", ("ke_toan",)),
    ("quantri@demo", "Quản trị hệ thống", ("admin",)),
)


def seed_staff(session: Session) -> list[str]:
    repo = StaffRepository(session)
    created = []
    for login, name, roles in DEMO_STAFF:
        if repo.by_login(login) is not None:
            continue
        repo.add(
            StaffMember(
                login=login,
                full_name=name,
                email=f"{login.split('@')[0]}@thoian.demo.vn",
                agency_id=DEMO_AGENCY,
                password_hash=hash_password(DEMO_STAFF_PASSWORD),
                active=True,
                session_epoch=1,
                role_rows=[StaffRole(role=r) for r in roles],
            )
        )
        created.append(login)
    if created:
        return [
            f"staff {', '.join(created)} / {DEMO_STAFF_PASSWORD} (log in at /can-bo/dang-nhap; "
            "lanhdao, ketoan and quantri enrol an authenticator app at their first sign-in)"
        ]
    return []

"""Demo data for `make run`: a citizen account and a few submitted cases. Idempotent."""

from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from sqlalchemy import select

from portal.applications.repository import ApplicationRepository
from portal.applications.service import ApplicationService, Upload
from portal.cases.changes import drain
from portal.composition import build_services, case_consumers
from portal.config import get_settings
from portal.models import Citizen
from portal.payments_app.demo import seed_payments_demo
from portal.quality.seed import seed_quality_demo
from portal.samples import demo_value, tiny_pdf
from portal.staff.seed import seed_staff
from workflows.calendar import now as vn_now

DEMO_PHONE = "0912345678"
DEMO_PASSWORD = "matkhau123"


DEMO_CASES = [
    (
        "2.002481",
        {
            "full_name": "Trần Thị Mai",
            "cccd": "079185012345",
            "phone": "0987654321",
            "email": "mai.tran@example.vn",
            "address": "12 Lê Văn Khương, phường Thới An",
        },
        {
            "student_name": "Nguyễn Minh Khôi",
            "student_birth_date": "2012-03-14",
            "grade": "7",
            "school_from": "THCS Nguyễn Huệ",
            "school_to": "THCS Phan Bội Châu",
            "reason": "Gia đình chuyển nơi ở",
        },
        "H29.41.04",
    ),
    (
        "2.001914",
        {
            "full_name": "Lê Văn Hùng",
            "cccd": "079090001234",
            "phone": "0909123456",
            "email": "",
            "address": "45 Tô Ký, phường Trung Mỹ Tây",
        },
        None,
        "H29.41.02",
    ),
]


def seed_demo() -> str:
    services = build_services(get_settings(), pool_size=2)
    settings, db, registry = services.settings, services.db, services.registry
    catalogue, calendar, files = services.catalogue, services.calendar, services.files
    created = []
    with db.sessions() as session:
        citizen = session.scalars(select(Citizen).where(Citizen.phone == DEMO_PHONE)).first()
        if citizen is None:
            citizen = Citizen(
                full_name="Nguyễn Văn An",
                phone=DEMO_PHONE,
                email="an.nguyen@example.vn",
                cccd="079088001122",
                password_hash=PasswordHasher().hash(DEMO_PASSWORD),
            )
            session.add(citizen)
            session.flush()
            created.append(f"citizen {DEMO_PHONE} / {DEMO_PASSWORD}")
        service = ApplicationService(
            ApplicationRepository(session), catalogue, calendar, files, settings.secret_key
        )
        if not service.repo.for_citizen(citizen.id):
            for code, applicant, fields, agency in DEMO_CASES:
                definition = registry.current(code, vn_now().date())
                if definition is None:
                    continue
                app, _ = service.create_draft(definition, citizen_id=citizen.id)
                values = fields or {f.key: demo_value(f) for f in definition.fields}
                service.save_draft(
                    app, applicant, {k: str(v) for k, v in values.items()}, agency, complete=True
                )
                for doc in definition.documents:
                    if doc.required:
                        service.attach(app, Upload(doc.key, f"{doc.key}.pdf", tiny_pdf(doc.key)))
                missing = service.missing(app)
                if missing:
                    created.append(f"skipped demo case {code}: {missing}")
                    continue
                service.submit(app, now=vn_now() - timedelta(days=1))
                created.append(f"case {app.case_code} (phone {app.applicant_phone})")
        created += seed_staff(session)
        created += seed_quality_demo(
            session, registry=registry, calendar=calendar, files=files, settings=settings
        )
        created += seed_payments_demo(session)
        session.commit()
    # the dashboard counts the demo cases now, not at the next worker run
    drain(db.sessions, case_consumers(services))
    db.dispose()
    return "demo data: " + ("; ".join(created) if created else "already present")

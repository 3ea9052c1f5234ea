"""Demo data for `make run`: a citizen account and a few submitted cases. Idempotent."""

from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from sqlalchemy import select

from portal.applications.repository import ApplicationRepository
from portal.applications.service import ApplicationService, Upload
from portal.applications.storage import FileStore
from portal.catalogue import Catalogue
from portal.config import get_settings
from portal.db import Database
from portal.models import Citizen
from portal.payments_app.demo import seed_payments_demo
from portal.quality.seed import seed_quality_demo
from portal.staff.seed import seed_staff
from workflows.calendar import load_calendar
from workflows.calendar import now as vn_now
from workflows.definitions import load_registry

DEMO_PHONE = "0912345678"
DEMO_PASSWORD = "matkhau123"


def tiny_pdf(title: str) -> bytes:
    """A valid one-page PDF, so demo attachments open in any viewer."""
    text = title.encode("latin-1", "replace")
    stream = b"BT /F1 14 Tf 72 760 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


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
    settings = get_settings()
    db = Database(settings.database_url)
    registry = load_registry(settings.definitions_dir)
    catalogue = Catalogue(registry)
    calendar = load_calendar(settings.calendar_file)
    files = FileStore(settings.upload_dir)
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
                values = fields or {f.key: _demo_value(f) for f in definition.fields}
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
    db.dispose()
    return "demo data: " + ("; ".join(created) if created else "already present")


def _demo_value(field: object) -> str:
    ftype = getattr(field, "type").value  # noqa: B009
    options = getattr(field, "options")  # noqa: B009
    return {
        "select": options[0].value if options else "",
        "date": "2010-05-20",
        "number": str(getattr(field, "min", None) or 1),
        "cccd": "079210012345",
        "student": "079210012345",
        "phone": "0912345678",
        "email": "demo@example.vn",
    }.get(ftype, "Thông tin mẫu")

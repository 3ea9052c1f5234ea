"""A fresh PostgreSQL database for the benchmark, migrated and seeded with cases to track."""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

from portal.applications.repository import ApplicationRepository
from portal.applications.service import ApplicationService, Upload
from portal.applications.storage import FileStore
from portal.catalogue import Catalogue
from portal.cli import migrate
from portal.config import Settings
from portal.db import Database
from portal.samples import tiny_pdf
from workflows.calendar import load_calendar
from workflows.calendar import now as vn_now
from workflows.definitions import load_registry

TRACK_PHONE = "0987654321"
TRANSFER_SLUG = "chuyen-truong-thcs"
APPLICANT = {
    "full_name": "Trần Thị Mai",
    "cccd": "079185012345",
    "phone": TRACK_PHONE,
    "email": "mai@example.vn",
    "address": "12 Lê Văn Khương, phường Thới An",
}
TRANSFER_FIELDS = {
    "student_name": "Nguyễn Minh Khôi",
    "student_birth_date": "14/03/2012",
    "grade": "7",
    "school_from": "THCS Nguyễn Huệ",
    "school_to": "THCS Phan Bội Châu",
    "reason": "Gia đình chuyển nơi ở",
}
AGENCY = "H29.41.04"


def form_fields() -> dict[str, str]:
    """The HTML form's field names and values for a complete school-transfer application."""
    return {
        **{f"applicant_{k}": v for k, v in APPLICANT.items()},
        **{f"f_{k}": v for k, v in TRANSFER_FIELDS.items()},
        "agency_id": AGENCY,
    }


def reset_database(admin_url: str, name: str) -> None:
    """DROP (forcing other sessions out) and CREATE the benchmark database."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def seed(settings: Settings, cases: int = 20) -> list[str]:
    """Submit ``cases`` school-transfer applications through the service layer; their case codes."""
    migrate(settings.database_url)
    registry = load_registry(settings.definitions_dir)
    db = Database(settings.database_url)
    service_args = (
        Catalogue(registry),
        load_calendar(settings.calendar_file),
        FileStore(settings.upload_dir),
        settings.secret_key,
    )
    definition = registry.by_slug(TRANSFER_SLUG, vn_now().date())
    assert definition is not None, "school transfer procedure not in force"
    codes = []
    with db.sessions() as session:
        service = ApplicationService(ApplicationRepository(session), *service_args)
        for _ in range(cases):
            app, _token = service.create_draft(definition, citizen_id=None)
            service.save_draft(app, APPLICANT, TRANSFER_FIELDS, AGENCY, complete=True)
            for doc in definition.documents:
                if doc.required:
                    service.attach(app, Upload(doc.key, f"{doc.key}.pdf", tiny_pdf(doc.key)))
            service.submit(app)
            assert app.case_code
            codes.append(app.case_code)
        session.commit()
    db.dispose()
    return codes


def required_documents(settings: Settings) -> list[str]:
    registry = load_registry(settings.definitions_dir)
    definition = registry.by_slug(TRANSFER_SLUG, vn_now().date())
    assert definition is not None
    return [d.key for d in definition.documents if d.required]


def upload_dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())

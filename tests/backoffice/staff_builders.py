"""Builders for back-office tests: staff accounts, logins, actions over HTTP, cases inserted directly."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.backoffice.effects import Effects
from portal.models import Application, new_id
from portal.staff.models import StaffMember, StaffRole
from workflows.text import fold

PASSWORD = "matkhau-can-bo-1"  # noqa: S105 (test data)
_HASH_CACHE: dict[str, str] = {}


def _hash(password: str) -> str:
    from portal.staff.service import hash_password

    if password not in _HASH_CACHE:  # argon2 is slow on purpose; one hash serves every test
        _HASH_CACHE[password] = hash_password(password)
    return _HASH_CACHE[password]


def create_staff(
    session: Session,
    login: str,
    name: str,
    roles: list[str],
    *,
    agency: str = "H29.41.04",
    email: str | None = None,
) -> StaffMember:
    member = StaffMember(
        login=login,
        full_name=name,
        email=email or f"{login}@thoian.test",
        agency_id=agency,
        password_hash=_hash(PASSWORD),
        active=True,
        session_epoch=1,
        role_rows=[StaffRole(role=r) for r in roles],
    )
    session.add(member)
    session.flush()
    return member


def page_csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
        r'"X-CSRF-Token": "([^"]+)"', html
    )
    assert found, "no CSRF token on the page"
    return found.group(1)


def login(client: Any, login_name: str, password: str, *, app: FastAPI | None = None) -> Any:
    """Signs in as a staff member would: the password, then — for roles that need it — the second
    factor (enrolling through the page the first time). ``app``: the app whose database and clock
    the server uses (a TestClient's own app by default; pass it for an httpx client of a live server)."""
    token = page_csrf(client.get("/can-bo/dang-nhap").text)
    response = client.post(
        "/can-bo/dang-nhap",
        data={"csrf_token": token, "login": login_name, "password": password},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:1000]
    if response.headers["location"].startswith("/can-bo/xac-thuc"):
        response = second_factor(client, login_name, app or client.app)
    return response


def totp_secret(app: FastAPI, login_name: str) -> str:
    """The member's TOTP secret, read as the server does (decrypted with the app's key)."""
    from portal.staff import totp

    with app.state.db.sessions() as session:
        member = session.scalars(select(StaffMember).where(StaffMember.login == login_name)).one()
        assert member.totp_secret_enc, f"{login_name} has not enrolled"
        secret = totp.decrypt_secret(app.state.settings.secret_key, member.totp_secret_enc)
    assert secret
    return secret


def current_code(app: FastAPI, secret: str, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows at the app's clock (``app.state.clock``)."""
    from portal.staff import totp

    return totp.code_at(secret, totp.time_step(app.state.clock()) + steps_ahead)


def forget_last_code(app: FastAPI, login_name: str) -> None:
    """Tests sign one person in several times within one 30-s step (often at a stopped clock); the
    server refuses a code of a step already used (a replay). Only builders clear that record —
    tests of the replay rule (tests/backoffice/test_staff_mfa.py) do not."""
    with app.state.db.sessions() as session:
        session.execute(
            update(StaffMember).where(StaffMember.login == login_name).values(totp_last_step=None)
        )
        session.commit()


TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 (test data: builders enrol it)


def enrol(app: FastAPI, login_name: str, secret: str = TOTP_SECRET) -> None:
    """Enrols the member in two-factor with a known secret, as the enrolment page would leave it
    (encrypted with the app's key). The page itself is tested in tests/backoffice/test_staff_mfa.py."""
    from portal.staff import totp

    with app.state.db.sessions() as session:
        session.execute(
            update(StaffMember)
            .where(StaffMember.login == login_name)
            .values(
                totp_secret_enc=totp.encrypt_secret(app.state.settings.secret_key, secret),
                totp_enabled_at=app.state.clock(),
                totp_last_step=None,
            )
        )
        session.commit()


def second_factor(client: Any, login_name: str, app: FastAPI) -> Any:
    """The code step after the password: enrols a known secret first if the member has none yet."""
    page = client.get("/can-bo/xac-thuc", follow_redirects=False)
    if page.status_code == 303 and page.headers["location"] == "/can-bo/xac-thuc/dang-ky":
        enrol(app, login_name)
        page = client.get("/can-bo/xac-thuc", follow_redirects=False)
    assert page.status_code == 200, page.text[:500]
    forget_last_code(app, login_name)
    response = client.post(
        "/can-bo/xac-thuc",
        data={"csrf_token": page_csrf(page.text), "code": current_code(app, totp_secret(app, login_name))},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:1000]
    return response


def case_version(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found, "no action form on the case page"
    return found.group(1)


def act(client: TestClient, app_id: str, action: str, *, version: str | None = None, **fields: Any) -> Any:
    """Take ``action`` from the case page as a staff member would (CSRF token and version from the page)."""
    html = client.get(f"/can-bo/ho-so/{app_id}").text
    data: dict[str, Any] = {"csrf_token": page_csrf(html), "version": version or _version_or_zero(html)}
    data.update(fields)
    return client.post(f"/can-bo/ho-so/{app_id}/thao-tac/{action}", data=data, follow_redirects=False)


def _version_or_zero(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    return found.group(1) if found else "0"


def state_of(session: Session, app_id: str) -> Application:
    """The case as committed now, with its history, detached (no transaction left holding SQLite's lock)."""
    session.rollback()
    app = session.get(Application, app_id, populate_existing=True)
    assert app is not None
    _ = list(app.events)
    session.expunge_all()
    session.rollback()
    return app


def insert_case(
    session: Session,
    *,
    due: date,
    number: int,
    agency: str = "H29.41.04",
    status: str = "dang_tham_dinh",
    name: str = "Trần Thị Mai",
    cccd: str = "079185012345",
    assignee: int | None = None,
    procedure: str = "2.002481",
    version: int = 2,
    closed: bool = False,
    submitted: datetime | None = None,
    closed_at: datetime | None = None,
) -> Application:
    """A submitted case written directly (queue tests need many; the HTTP flow is tested elsewhere)."""
    submitted = submitted or datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    app = Application(
        id=new_id(),
        procedure_code=procedure,
        definition_version=version,
        agency_id=agency,
        status=status,
        case_code=f"{agency}-261201-{number:04d}",
        applicant_name=name,
        applicant_name_folded=fold(name),
        applicant_cccd=cccd,
        applicant_phone="0987654321",
        data={"fields": {}},
        submitted_at=submitted,
        due_date=due,
        effective_due_date=due,
        assignee_id=assignee,
        closed_at=(closed_at or submitted) if closed else None,  # not the wall clock: closed when received
    )
    session.add(app)
    session.flush()
    return app


@dataclass
class RecordingEffects:
    """Wraps the real effects: records each call, then delegates (real signing/e-mail when installed)."""

    delegate: Effects | None = None
    signed: list[tuple[str, int]] = field(default_factory=list)
    emails: list[dict[str, Any]] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)

    def issue_result(self, session: Session, application: Application, definition: Any, signer: Any) -> Any:
        self.signed.append((application.id, signer.id))
        result = None
        if self.delegate is not None and _installed("portal.signing"):
            result = self.delegate.issue_result(session, application, definition, signer)
        self.results.append(result)
        return result

    def enqueue_email(
        self,
        session: Session,
        *,
        to: str,
        template: str,
        context: dict[str, Any],
        case_id: str,
        dedupe_key: str,
    ) -> None:
        self.emails.append(
            {"to": to, "template": template, "context": context, "case_id": case_id, "dedupe_key": dedupe_key}
        )
        if self.delegate is not None:
            self.delegate.enqueue_email(
                session, to=to, template=template, context=context, case_id=case_id, dedupe_key=dedupe_key
            )

    def templates(self) -> list[str]:
        return [e["template"] for e in self.emails]


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None

"""Signed results: the PDF's PAdES signature checked by pyHanko's validator with the CA as the
only trust root, tamper detection, the public /verify page, and the applicant's download."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from sqlalchemy import select

from portal.models import Application, CaseEvent
from portal.signing import ResultDocument, issue_result
from portal.signing.pki import signing_material
from portal.signing.service import result_store
from tests.builders import APPLICANT, TRANSFER_FIELDS, csrf, submit_transfer
from tests.pdftext import pdf_pages, pdf_text

SIGNER = "Nguyễn Văn Bình"


class Staff:
    id = 7
    full_name = "Lê Thị Hồng Nhung"


def issue(app: FastAPI, application_id: str, signer: object = SIGNER) -> ResultDocument:
    with app.state.db.sessions() as session:
        application = session.get(Application, application_id)
        assert application is not None
        definition = app.state.registry.get(application.procedure_code, application.definition_version)
        document = issue_result(
            session,
            application,
            definition,
            signer=signer,
            settings=app.state.settings,
            catalogue=app.state.catalogue,
        )
        session.commit()
        return document


def stored_pdf(app: FastAPI, document: ResultDocument) -> Path:
    return result_store(app.state.settings).path(document.storage_key)


def validate(pdf: bytes, ca_pem: Path):  # type: ignore[no-untyped-def]
    """pyHanko's own validator, independent of portal.signing.check_signature."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    assert len(reader.embedded_signatures) == 1
    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(ca_pem))])
    return validate_pdf_signature(reader.embedded_signatures[0], context)


@pytest.fixture
def issued(app: FastAPI, client: TestClient) -> tuple[str, str, ResultDocument]:
    application_id, case_code = submit_transfer(client)
    return application_id, case_code, issue(app, application_id)


def test_signed_pdf_validates_against_the_local_ca(
    app: FastAPI, issued: tuple[str, str, ResultDocument]
) -> None:
    _, _, document = issued
    pdf = stored_pdf(app, document).read_bytes()
    status = validate(pdf, signing_material(app.state.settings).ca_cert)
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.bottom_line
    assert status.coverage is SignatureCoverageLevel.ENTIRE_FILE
    assert "/ETSI.CAdES.detached" in pdf.decode("latin-1")  # PAdES subfilter, not adbe.pkcs7
    assert len(document.sha256) == 64 and document.issued_at.tzinfo is not None
    assert document.signer_name == SIGNER and document.revoked_at is None


def test_a_foreign_ca_is_not_trusted(
    app: FastAPI, issued: tuple[str, str, ResultDocument], tmp_path: Path
) -> None:
    from portal.signing.pki import ensure_dev_pki

    other = ensure_dev_pki(tmp_path / "other-pki")
    status = validate(stored_pdf(app, issued[2]).read_bytes(), other.ca_cert)
    assert status.intact and status.valid and not status.trusted and not status.bottom_line


def test_tampered_pdf_fails_verification(
    app: FastAPI, client: TestClient, issued: tuple[str, str, ResultDocument]
) -> None:
    _, _, document = issued
    path = stored_pdf(app, document)
    original = path.read_bytes()
    # flip one byte inside the first content stream (covered by the signature's byte range)
    at = original.index(b"stream", original.index(b"/Length")) + 40
    tampered = original[:at] + bytes([original[at] ^ 0x01]) + original[at + 1 :]
    status = validate(tampered, signing_material(app.state.settings).ca_cert)
    assert not status.intact and not status.bottom_line

    assert "Văn bản hợp lệ." in client.get(f"/verify/{document.id}").text
    path.write_bytes(tampered)
    page = client.get(f"/verify/{document.id}")
    assert page.status_code == 200
    assert "Không xác thực được văn bản." in page.text and "Văn bản hợp lệ." not in page.text


def test_content_appended_after_signing_is_refused(
    app: FastAPI, client: TestClient, issued: tuple[str, str, ResultDocument]
) -> None:
    _, _, document = issued
    path = stored_pdf(app, document)
    path.write_bytes(path.read_bytes() + b"\n% appended\n")
    assert "Không xác thực được văn bản." in client.get(f"/verify/{document.id}").text


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")
def test_pdf_text_is_vietnamese(
    app: FastAPI, issued: tuple[str, str, ResultDocument], tmp_path: Path
) -> None:
    _, case_code, document = issued
    content = stored_pdf(app, document).read_bytes()
    assert pdf_pages(content) == 1
    text = pdf_text(content)
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập – Tự do – Hạnh phúc",
        case_code,
        "Chuyển trường đối với học sinh trung học cơ sở",
        APPLICANT["applicant_full_name"],
        TRANSFER_FIELDS["f_student_name"],
        SIGNER,
        "Đã ký số",
        f"/verify/{document.id}",
    ):
        assert expected in text, expected
    assert APPLICANT["applicant_cccd"] not in text and APPLICANT["applicant_phone"] not in text


def test_verify_page_shows_masked_holder_and_no_personal_data(
    client: TestClient, issued: tuple[str, str, ResultDocument]
) -> None:
    _, case_code, document = issued
    fresh = TestClient(client.app)  # a stranger who scanned the QR code
    page = fresh.get(f"/verify/{document.id}")
    assert page.status_code == 200
    html = page.text
    assert "Văn bản hợp lệ." in html
    assert case_code in html and "Trần T. M." in html
    assert "Chuyển trường đối với học sinh trung học cơ sở" in html
    for secret in (
        APPLICANT["applicant_full_name"],
        APPLICANT["applicant_cccd"],
        APPLICANT["applicant_phone"],
        "987654321",
        APPLICANT["applicant_email"],
        APPLICANT["applicant_address"],
        TRANSFER_FIELDS["f_student_name"],
    ):
        assert secret not in html, secret


def test_unknown_document_is_a_404_page(client: TestClient) -> None:
    for document_id in ("00000000-0000-4000-8000-000000000000", "not-a-uuid"):
        page = client.get(f"/verify/{document_id}")
        assert page.status_code == 404
        assert "Không tìm thấy văn bản" in page.text


def test_reissue_revokes_the_previous_document(
    app: FastAPI, client: TestClient, issued: tuple[str, str, ResultDocument]
) -> None:
    application_id, _, first = issued
    second = issue(app, application_id, signer=Staff())
    assert second.signer_name == "Lê Thị Hồng Nhung"
    assert "đã bị thu hồi hoặc thay thế" in client.get(f"/verify/{first.id}").text
    assert "Văn bản hợp lệ." in client.get(f"/verify/{second.id}").text
    download = client.get(f"/ho-so/{application_id}/ket-qua.pdf")
    assert download.content == stored_pdf(app, second).read_bytes()


def test_applicant_downloads_the_signed_result(app: FastAPI, client: TestClient) -> None:
    application_id, _ = submit_transfer(client)
    assert client.get(f"/ho-so/{application_id}/ket-qua.pdf").status_code == 404  # nothing issued yet
    receipt = client.get(f"/ho-so/{application_id}/bien-nhan").text
    assert "ket-qua.pdf" not in receipt

    document = issue(app, application_id)
    response = client.get(f"/ho-so/{application_id}/ket-qua.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert (
        response.content.startswith(b"%PDF-") and response.content == stored_pdf(app, document).read_bytes()
    )
    assert f"/ho-so/{application_id}/ket-qua.pdf" in client.get(f"/ho-so/{application_id}/bien-nhan").text

    stranger = TestClient(client.app)
    assert stranger.get(f"/ho-so/{application_id}/ket-qua.pdf").status_code == 404


def test_the_result_downloads_on_any_device_after_code_and_phone(app: FastAPI, client: TestClient) -> None:
    """UX review 2026-12: the signed result was a 404 in any browser but the one that applied. Proving
    the case code + phone on the tracking page opens it on another device, with its verification link;
    each download is kept in the case's history; a wrong phone opens nothing."""
    application_id, case_code = submit_transfer(client)
    document = issue(app, application_id)
    phone = APPLICANT["applicant_phone"]

    other_device = TestClient(client.app)
    url = f"/ho-so/{application_id}/ket-qua.pdf"
    assert other_device.get(url).status_code == 404
    token = csrf(other_device, "/tra-cuu")
    wrong = other_device.post(
        "/tra-cuu", data={"csrf_token": token, "case_code": case_code, "phone": "0912000111"}
    )
    assert url not in wrong.text and other_device.get(url).status_code == 404

    page = other_device.post("/tra-cuu", data={"csrf_token": token, "case_code": case_code, "phone": phone})
    assert url in page.text and f"/verify/{document.id}" in page.text
    download = other_device.get(url)
    assert download.status_code == 200 and download.content == stored_pdf(app, document).read_bytes()
    assert "no-store" in download.headers["cache-control"]

    with app.state.db.sessions() as session:
        rows = session.scalars(
            select(CaseEvent).where(
                CaseEvent.application_id == application_id, CaseEvent.kind == "result_downloaded"
            )
        ).all()
        assert [(r.public, r.details["via"], r.details["document_id"]) for r in rows] == [
            (False, "tracking", document.id)
        ]


def test_partly_online_procedures_are_not_downloadable(app: FastAPI, client: TestClient) -> None:
    application_id, _ = submit_transfer(client)
    with app.state.db.sessions() as session:  # a case kept under the district-era (một phần) version
        application = session.get(Application, application_id)
        assert application is not None
        application.definition_version, application.agency_id = 1, "H29.12.10"
        session.commit()
    document = issue(app, application_id)
    assert client.get(f"/ho-so/{application_id}/ket-qua.pdf").status_code == 404
    assert "ket-qua.pdf" not in client.get(f"/ho-so/{application_id}/bien-nhan").text
    assert "Văn bản hợp lệ." in client.get(f"/verify/{document.id}").text


def test_issue_never_commits(app: FastAPI, client: TestClient) -> None:
    application_id, _ = submit_transfer(client)
    with app.state.db.sessions() as session:
        application = session.get(Application, application_id)
        assert application is not None
        definition = app.state.registry.get(application.procedure_code, application.definition_version)
        document = issue_result(
            session,
            application,
            definition,
            signer=SIGNER,
            settings=app.state.settings,
            catalogue=app.state.catalogue,
        )
        session.rollback()
    assert client.get(f"/verify/{document.id}").status_code == 404


def test_signing_and_checking_work_inside_a_running_event_loop(app: FastAPI, client: TestClient) -> None:
    """pyHanko's sync API uses asyncio.run; an ``async def`` caller must still be able to sign."""
    import asyncio

    from portal.signing.service import check_signature

    application_id, _ = submit_transfer(client)

    async def from_async_handler() -> tuple[ResultDocument, bool]:
        document = issue(app, application_id)
        pdf = stored_pdf(app, document).read_bytes()
        return document, check_signature(pdf, signing_material(app.state.settings).ca_cert).valid

    document, valid = asyncio.run(from_async_handler())
    assert valid and len(document.sha256) == 64

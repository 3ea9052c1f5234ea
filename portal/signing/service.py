"""Issue and verify signed result documents. Never commits: the caller's transaction does.

``issue_result`` renders ``templates/documents/result.html`` (WeasyPrint), prints a QR code
of the public verification URL, signs the PDF (PAdES B-B, pyHanko) with the agency key,
stores it and writes a ``ResultDocument``. ``verify_document`` re-hashes the stored file and
validates the signature against the configured CA as the only trust root.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from portal.applications.documents import qr_svg, render_pdf
from portal.applications.storage import FileStore
from portal.cases.events import record_event
from portal.catalogue import Catalogue
from portal.config import Settings
from portal.db import utcnow
from portal.models import Application, CaseEvent
from portal.signing.models import ResultDocument, new_document_id
from portal.signing.pki import SigningMaterial, signing_material
from portal.signing.repository import ResultDocumentRepository
from workflows.calendar import VN_TZ
from workflows.definitions import Definition, FieldType, Level

log = logging.getLogger("portal.signing")
T = TypeVar("T")

SIGNATURE_FIELD = "ChuKySo"
# identifiers and contact data stay out of the result text (data minimisation)
_OMITTED_FIELD_TYPES = {FieldType.CCCD, FieldType.PHONE, FieldType.EMAIL, FieldType.STUDENT}


def result_store(settings: Settings) -> FileStore:
    return FileStore(settings.upload_dir / "results")


def offers_download(definition: Definition) -> bool:
    """Toàn trình procedures hand the signed result to the applicant online."""
    return definition.level is Level.TOAN_TRINH


def signer_display_name(signer: Any) -> str:
    name = getattr(signer, "full_name", None) or str(signer)
    return " ".join(str(name).split())[:100] or "Cán bộ có thẩm quyền"


# -- issuing --------------------------------------------------------------------------------


def issue_result(
    session: Session,
    application: Application,
    definition: Definition,
    *,
    signer: Any,
    settings: Settings,
    catalogue: Catalogue,
    now: datetime | None = None,
) -> ResultDocument:
    """Render, sign and store the result of ``application``; the previous one (if any) is revoked."""
    repo = ResultDocumentRepository(session)
    issued_at = now or utcnow()
    signer_name = signer_display_name(signer)
    document_id = new_document_id()
    base_url = str(settings.base_url).rstrip("/")
    verify_url = f"{base_url}/verify/{document_id}"
    agency = catalogue.agency(application.agency_id or "")

    pdf = render_pdf(
        "documents/result.html",
        {
            "app": application,
            "d": definition,
            "agency": agency,
            "document_id": document_id,
            "verify_url": verify_url,
            "qr": qr_svg(verify_url),
            "issued_on": issued_at.astimezone(VN_TZ).date(),
            "signer_name": signer_name,
            "content": result_content(application, definition),
        },
    )
    material = signing_material(settings)
    signed = sign_pdf(
        pdf,
        material,
        signer_name=signer_name,
        location=agency.name.vi if agency else "Việt Nam",
        reason=f"Trả kết quả hồ sơ {application.case_code or application.id}",
    )
    stored = result_store(settings).save(signed, "pdf")
    try:
        for previous in repo.active_for(application.id):
            previous.revoked_at = issued_at
        document = repo.add(
            ResultDocument(
                id=document_id,
                application_id=application.id,
                sha256=stored.sha256,
                storage_key=stored.key,
                size=stored.size,
                signer_name=signer_name,
                issued_at=issued_at,
            )
        )
        record_event(
            session,
            CaseEvent(
                application_id=application.id,
                kind="result_signed",
                at=issued_at,
                actor_kind="staff",
                actor_id=str(getattr(signer, "id", "")) or None,
                actor_name=signer_name,
                public=False,
                details={"document_id": document_id, "sha256": stored.sha256},
            ),
        )
        session.flush()
    except Exception:
        result_store(settings).path(stored.key).unlink(missing_ok=True)
        raise
    return document


def result_content(app: Application, definition: Definition) -> list[tuple[str, str]]:
    """(label, value) lines of the application that the result text repeats."""
    values = (app.data or {}).get("fields", {})
    lines = []
    for spec in definition.fields:
        raw = values.get(spec.key)
        if raw in (None, "") or spec.type in _OMITTED_FIELD_TYPES:
            continue
        value = str(raw)
        if spec.type is FieldType.DATE:
            with contextlib.suppress(ValueError):
                value = f"{date.fromisoformat(value):%d/%m/%Y}"
        elif spec.type is FieldType.SELECT:
            value = next((o.label.vi for o in spec.options if o.value == value), value)
        lines.append((spec.label.vi, value))
    return lines


def _off_event_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """pyHanko's synchronous API calls ``asyncio.run``, which fails inside a running event loop
    (an ``async def`` handler); then run it on a short-lived thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyhanko") as pool:
        return pool.submit(fn, *args, **kwargs).result()


@lru_cache(maxsize=4)
def _load_signer(key: Path, cert: Path, ca: Path, _mtime: float) -> Any:
    from pyhanko.sign import signers

    signer = signers.SimpleSigner.load(  # type: ignore[no-untyped-call]
        str(key), str(cert), ca_chain_files=(str(ca),)
    )
    if signer is None:
        raise RuntimeError(f"cannot load the signing key {key} / certificate {cert}")
    return signer


def sign_pdf(pdf: bytes, material: SigningMaterial, *, signer_name: str, reason: str, location: str) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    signer = _load_signer(
        material.key,
        material.cert,
        material.ca_cert,
        max(p.stat().st_mtime for p in (material.key, material.cert, material.ca_cert)),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        name=signer_name,
        reason=reason,
        location=location,
    )
    out = _off_event_loop(signers.sign_pdf, IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer)
    return out.getvalue()  # type: ignore[no-any-return]


# -- verification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureCheck:
    valid: bool
    signer_subject: str | None = None
    signed_at: datetime | None = None
    problem: str | None = None


def check_signature(pdf: bytes, ca_cert: Path, *, allow_fetching: bool = False) -> SignatureCheck:
    """Validate the single PAdES signature of ``pdf`` with ``ca_cert`` as the only trust root.

    Valid means: intact, cryptographically valid, chained to the CA, and covering the whole
    file (nothing appended after signing).
    """
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
        if len(signatures) != 1:
            return SignatureCheck(False, problem=f"expected one signature, found {len(signatures)}")
        context = ValidationContext(
            trust_roots=[load_cert_from_pemder(str(ca_cert))],  # type: ignore[no-untyped-call]
            allow_fetching=allow_fetching,
        )
        status = _off_event_loop(validate_pdf_signature, signatures[0], context)
    except Exception as exc:  # a damaged file is an invalid document, not a server error
        log.info("signature check failed: %s", exc)
        return SignatureCheck(False, problem=f"{type(exc).__name__}: {exc}")
    subject = status.signing_cert.subject.native.get("common_name") if status.signing_cert else None
    problems = []
    if not status.intact:
        problems.append("the signed content was altered")
    if not status.valid:
        problems.append("the signature value is invalid")
    if not status.trusted:
        problems.append("the certificate does not chain to the trusted CA")
    if status.coverage is not SignatureCoverageLevel.ENTIRE_FILE:
        problems.append("content was added after signing")
    ok = status.bottom_line and not problems
    return SignatureCheck(ok, subject, status.signer_reported_dt, "; ".join(problems) or None)


@dataclass(frozen=True)
class Verification:
    document: ResultDocument
    application: Application
    file_intact: bool
    signature: SignatureCheck

    @property
    def authentic(self) -> bool:
        return self.file_intact and self.signature.valid

    @property
    def status(self) -> str:
        if not self.authentic:
            return "invalid"
        return "revoked" if self.document.is_revoked else "valid"


def verify_document(session: Session, document_id: str, settings: Settings) -> Verification | None:
    """None when no such document exists (the page shows 404)."""
    document = ResultDocumentRepository(session).get(document_id)
    if document is None:
        return None
    application = session.get(Application, document.application_id)
    if application is None:
        return None
    try:
        content = result_store(settings).read(document.storage_key)
    except (OSError, ValueError) as exc:
        log.error("result document %s: stored file unreadable: %s", document.id, exc)
        return Verification(document, application, False, SignatureCheck(False, problem="file missing"))
    intact = hashlib.sha256(content).hexdigest() == document.sha256
    material = signing_material(settings)
    check = check_signature(content, material.ca_cert, allow_fetching=settings.environment == "production")
    return Verification(document, application, intact, check)


def current_result(session: Session, application_id: str) -> ResultDocument | None:
    return ResultDocumentRepository(session).current_for(application_id)


def read_result(settings: Settings, document: ResultDocument) -> bytes:
    return result_store(settings).read(document.storage_key)

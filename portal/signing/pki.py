"""Signing key material: configured paths, or a local test CA generated on first use.

Production must name its key, certificate and CA (PORTAL_SIGNING_KEY / _CERT / _CA_CERT).
Development and test fall back to ``PORTAL_DEV_PKI_DIR`` (``var/pki/``; the test suite uses a
fresh one per run): a self-signed "test CA" and an agency signing certificate
(digitalSignature + nonRepudiation) issued by it. The directory is created atomically
(generated elsewhere, then renamed), so two processes starting at once never mix one run's
key with the other's certificate. It is generated again when a certificate is expired, about
to expire or not yet valid (made under a later clock), since every signature would then fail.
Never commit var/.

Run ``python -m portal.signing`` (``make pki``) to create it ahead of time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from portal.config import Settings

KEY_FILE, CERT_FILE, CA_FILE, CA_KEY_FILE = "signer.key.pem", "signer.pem", "ca.pem", "ca.key.pem"
SIGNER_VALIDITY, CA_VALIDITY = timedelta(days=825), timedelta(days=3650)
# a test CA whose certificates expire sooner than this is replaced (a signed result must verify for a while)
RENEW_BEFORE = timedelta(days=30)


class SigningNotConfigured(RuntimeError):
    pass


@dataclass(frozen=True)
class SigningMaterial:
    key: Path
    cert: Path
    ca_cert: Path


def signing_material(settings: Settings, *, dev_dir: Path | None = None) -> SigningMaterial:
    configured = (settings.signing_key, settings.signing_cert, settings.signing_ca_cert)
    if all(configured):
        key, cert, ca = (Path(p) for p in configured)  # type: ignore[arg-type]
        return SigningMaterial(key, cert, ca)
    if settings.environment == "production":
        raise SigningNotConfigured(
            "PORTAL_SIGNING_KEY, PORTAL_SIGNING_CERT and PORTAL_SIGNING_CA_CERT must be set in production; "
            "a test CA is generated only in development and test"
        )
    if any(configured):
        raise SigningNotConfigured(
            "set all of PORTAL_SIGNING_KEY, PORTAL_SIGNING_CERT, PORTAL_SIGNING_CA_CERT, "
            "or none of them (a local test CA is then used)"
        )
    return ensure_dev_pki(dev_dir or settings.dev_pki_dir)


def ensure_dev_pki(directory: Path, *, now: datetime | None = None) -> SigningMaterial:
    """The local test CA in ``directory``: created if missing, replaced if out of validity at ``now``.

    A certificate that is expired, expires within :data:`RENEW_BEFORE`, or is not yet valid (the
    directory was made by a run with a later clock) would make every signature invalid, so the
    whole directory is generated again rather than used.
    """
    now = now or datetime.now(UTC)
    material = SigningMaterial(directory / KEY_FILE, directory / CERT_FILE, directory / CA_FILE)
    if _usable(material, now):
        return material
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".pki-", dir=directory.parent))
    retired: Path | None = None
    try:
        _write_dev_pki(staging, now)
        if _usable(material, now):
            return material  # another process renewed it meanwhile
        if directory.exists():
            # out of validity (or incomplete): move it aside, so the rename below is atomic
            retired = Path(tempfile.mkdtemp(prefix=".pki-old-", dir=directory.parent))
            with contextlib.suppress(OSError):  # another process moved or replaced it first
                os.rename(directory, retired / "pki")
        try:
            os.rename(staging, directory)
        except OSError:
            # another process won the race: keep theirs if complete and valid
            if not _usable(material, now):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    return material


def _usable(material: SigningMaterial, now: datetime) -> bool:
    if not (material.key.exists() and material.cert.exists() and material.ca_cert.exists()):
        return False
    try:
        certs = [x509.load_pem_x509_certificate(p.read_bytes()) for p in (material.cert, material.ca_cert)]
    except (OSError, ValueError):
        return False
    return all(c.not_valid_before_utc <= now < c.not_valid_after_utc - RENEW_BEFORE for c in certs)


def _name(common_name: str, unit: str | None = None) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "TP. Hồ Chí Minh"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Cổng dịch vụ công ngành Giáo dục (thử nghiệm)"),
    ]
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _key_usage(*, signing: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signing,
        content_commitment=signing,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signing,
        crl_sign=not signing,
        encipher_only=False,
        decipher_only=False,
    )


def _write_dev_pki(directory: Path, at: datetime) -> None:
    now = at - timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("CA thử nghiệm — KHÔNG dùng cho văn bản thật")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signing=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Cơ quan giải quyết TTHC (chữ ký số thử nghiệm)", "Bộ phận Một cửa"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + SIGNER_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signing=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(directory / CA_KEY_FILE, ca_key)
    _write_key(directory / KEY_FILE, key)
    (directory / CA_FILE).write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (directory / CERT_FILE).write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def main() -> int:
    from portal.config import get_settings

    try:
        material = signing_material(get_settings())
    except SigningNotConfigured as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"signing key: {material.key}\ncertificate: {material.cert}\ntrust root (CA): {material.ca_cert}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

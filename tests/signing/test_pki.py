"""The local test CA is valid at the clock it is asked for, and replaced when it is not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509

from portal.signing.pki import RENEW_BEFORE, SigningMaterial, ensure_dev_pki

T0 = datetime(2027, 2, 6, 3, 0, tzinfo=UTC)  # mùng 1 Tết 2027, 10:00 in Vietnam


def _certs(material: SigningMaterial) -> list[x509.Certificate]:
    return [x509.load_pem_x509_certificate(p.read_bytes()) for p in (material.cert, material.ca_cert)]


def _valid_at(material: SigningMaterial, at: datetime) -> bool:
    return all(c.not_valid_before_utc <= at < c.not_valid_after_utc for c in _certs(material))


def test_created_valid_at_the_given_clock_and_kept_while_valid(tmp_path: Path) -> None:
    material = ensure_dev_pki(tmp_path / "pki", now=T0)
    assert _valid_at(material, T0)
    ca = material.ca_cert.read_bytes()
    assert ensure_dev_pki(tmp_path / "pki", now=T0 + timedelta(days=400)).ca_cert.read_bytes() == ca


def test_replaced_when_expired_or_about_to_expire(tmp_path: Path) -> None:
    material = ensure_dev_pki(tmp_path / "pki", now=T0)
    ca = material.ca_cert.read_bytes()
    signer_expires = _certs(material)[0].not_valid_after_utc
    later = signer_expires - RENEW_BEFORE + timedelta(seconds=1)
    renewed = ensure_dev_pki(tmp_path / "pki", now=later)
    assert renewed.ca_cert.read_bytes() != ca and _valid_at(renewed, later)
    assert _valid_at(renewed, later + timedelta(days=365))
    assert not list(tmp_path.glob(".pki-*")), "no staging or retired directory is left behind"


def test_replaced_when_not_yet_valid(tmp_path: Path) -> None:
    """A directory made by a run with a later clock (faketime) is not trusted by an earlier one."""
    ensure_dev_pki(tmp_path / "pki", now=T0 + timedelta(days=400))
    material = ensure_dev_pki(tmp_path / "pki", now=T0)
    assert _valid_at(material, T0)


def test_an_incomplete_directory_is_replaced(tmp_path: Path) -> None:
    material = ensure_dev_pki(tmp_path / "pki", now=T0)
    material.cert.unlink()
    assert _valid_at(ensure_dev_pki(tmp_path / "pki", now=T0), T0)

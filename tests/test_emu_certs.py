"""Local TLS material: CA + server certificate properties, reuse, regeneration and the CA bundle."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import certifi
import pytest
from cert_tools import load
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from azext_communication.emulator.certs import ensure_certificates


@pytest.fixture(autouse=True)
def _no_env_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def test_ca_and_server_certificate(tmp_path: Path) -> None:
    p = ensure_certificates(tmp_path)
    ca, leaf = load(p.ca_cert), load(p.server_cert)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    leaf.verify_directly_issued_by(ca)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    for key in (p.ca_key, p.server_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    bundle = p.bundle.read_text()
    first_root = Path(certifi.where()).read_text().split("-----END CERTIFICATE-----")[0]
    assert first_root.strip() in bundle and p.ca_cert.read_text().strip() in bundle


def test_reuse_and_regeneration(tmp_path: Path) -> None:
    p = ensure_certificates(tmp_path)
    before = {f: f.read_bytes() for f in (p.ca_cert, p.ca_key, p.server_cert, p.server_key, p.bundle)}
    ensure_certificates(tmp_path)
    assert {f: f.read_bytes() for f in before} == before  # still valid: reused as they are
    p.server_cert.write_text("garbage")
    ensure_certificates(tmp_path)
    assert p.ca_cert.read_bytes() == before[p.ca_cert]  # same CA, so existing trust settings keep working
    assert p.server_cert.read_bytes() != before[p.server_cert]
    load(p.server_cert).verify_directly_issued_by(load(p.ca_cert))
    ensure_certificates(tmp_path, ["10.1.2.3"])
    san = load(p.server_cert).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("10.1.2.3") in san.get_values_for_type(x509.IPAddress)
    p.ca_key.write_text("lost")
    ensure_certificates(tmp_path)
    assert p.ca_cert.read_bytes() != before[p.ca_cert]
    load(p.server_cert).verify_directly_issued_by(load(p.ca_cert))
    assert p.ca_cert.read_text().strip() in p.bundle.read_text()


def test_bundle_keeps_roots_the_environment_already_trusts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = ensure_certificates(tmp_path / "other")  # stands in for e.g. a corporate proxy CA
    corp = tmp_path / "corp.pem"
    corp.write_bytes(other.ca_cert.read_bytes())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(corp))
    p = ensure_certificates(tmp_path / "mine")
    bundle = p.bundle.read_text()
    assert corp.read_text().strip() in bundle and p.ca_cert.read_text().strip() in bundle
    assert bundle.startswith(Path(certifi.where()).read_text().rstrip("\n"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # nothing new: no duplicate roots
    p = ensure_certificates(tmp_path / "mine")
    assert p.bundle.read_text().count("-----BEGIN CERTIFICATE-----") == Path(certifi.where()).read_text().count(
        "-----BEGIN CERTIFICATE-----") + 1

"""Local TLS material: a private CA, a server certificate signed by it, and a CA bundle (certifi roots + CA).

The SDKs refuse bearer tokens over plain http, so the emulator must speak HTTPS with a certificate the
client trusts. Pointing `REQUESTS_CA_BUNDLE` at the bundle trusts the emulator without breaking other
HTTPS calls in the same shell. Existing, still-valid material is reused so the trust setting stays stable.
The CA is name-constrained (critical NameConstraints: localhost, 127.0.0.0/8, ::1 and the --host) so that a
browser or system store that trusts it (`az communication emulator trust`) trusts it for no other site; a CA
without such constraints, or whose constraints leave out the current host, is replaced (one warning line).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import ipaddress
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .files import open_private, private_folder

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
SERVER_CERT = "server.pem"
SERVER_KEY = "server-key.pem"
BUNDLE = "ca-bundle.pem"
DEFAULT_HOSTS = ("127.0.0.1", "localhost")
RENEW_BEFORE = dt.timedelta(days=7)
CA_NAME_PREFIX = "ACS Emulator Local CA"
# What the CA may vouch for, whatever --host is: a browser that trusts it trusts no other site.
PERMITTED_ALWAYS: tuple[x509.GeneralName, ...] = (
    x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_network("127.0.0.0/8")),
    x509.IPAddress(ipaddress.ip_network("::1/128")))

log = logging.getLogger("azext_communication.emulator")


@dataclass(frozen=True)
class CertPaths:
    """Where the TLS files live."""

    folder: Path
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    bundle: Path


def _paths(folder: Path) -> CertPaths:
    return CertPaths(folder, folder / CA_CERT, folder / CA_KEY, folder / SERVER_CERT, folder / SERVER_KEY,
                     folder / BUNDLE)


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Exclusive lock so that emulators starting at the same time do not generate two different CAs."""
    private_folder(folder)
    with open_private(folder / ".lock") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Atomic write (tmp + rename) with restrictive permissions for keys."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.replace(tmp, path)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _san_entries(hosts: Iterable[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for h in dict.fromkeys(hosts):
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            out.append(x509.DNSName(h))
    return out


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _host_name(host: str) -> x509.GeneralName:
    """The permitted subtree of one host: that address alone (/32, /128) or that DNS name (and its subdomains)."""
    try:
        return x509.IPAddress(ipaddress.ip_network(host))
    except ValueError:
        return x509.DNSName(host.lower().rstrip("."))


def _permits(subtrees: Iterable[x509.GeneralName], host: str) -> bool:
    """Whether a permitted-subtree list lets a certificate for `host` through (RFC 5280 4.2.1.10 matching)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    name = host.lower().rstrip(".")
    for tree in subtrees:
        if address is not None and isinstance(tree, x509.IPAddress):
            if isinstance(tree.value, (ipaddress.IPv4Network, ipaddress.IPv6Network)) and address in tree.value:
                return True
        elif address is None and isinstance(tree, x509.DNSName):
            base = tree.value.lower().lstrip(".")
            if base and (name == base or name.endswith("." + base)):
                return True
    return False


def ca_constraints(ca: x509.Certificate) -> list[x509.GeneralName] | None:
    """The CA's permitted subtrees when it carries a critical NameConstraints of DNS names and addresses only
    (and nothing excluded that we did not put there); None for an unconstrained CA."""
    try:
        ext = ca.extensions.get_extension_for_class(x509.NameConstraints)
    except x509.ExtensionNotFound:
        return None
    permitted = ext.value.permitted_subtrees or []
    if not ext.critical or not permitted or any(not isinstance(t, (x509.DNSName, x509.IPAddress)) for t in permitted):
        return None
    return list(permitted)


def _constraints_for(hosts: Iterable[str], keep: Iterable[x509.GeneralName] = ()) -> list[x509.GeneralName]:
    out = list(PERMITTED_ALWAYS)
    for tree in keep:
        if tree not in out:
            out.append(tree)
    for host in hosts:
        if not _permits(out, host):
            out.append(_host_name(host))
    return out


def describe(subtrees: Iterable[x509.GeneralName]) -> str:
    """'localhost, 127.0.0.0/8, ::1' (single addresses without their /32 or /128)."""
    parts = []
    for tree in subtrees:
        value = tree.value
        if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)) and value.num_addresses == 1:
            value = value.network_address
        parts.append(str(value))
    return ", ".join(parts)


def _make_ca(permitted: list[x509.GeneralName]) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Azure Communication Services Emulator"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"{CA_NAME_PREFIX} {os.urandom(4).hex()}")])
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .add_extension(x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def _make_leaf(ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey,
               hosts: Iterable[str]) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    hosts = list(dict.fromkeys([*DEFAULT_HOSTS, *hosts]))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=397))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, key_cert_sign=False,
                                         crl_sign=False, content_commitment=False, data_encipherment=False,
                                         key_agreement=True, encipher_only=False, decipher_only=False),
                           critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(_san_entries(hosts)), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def _load_cert(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey | None:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    return key if isinstance(key, ec.EllipticCurvePrivateKey) else None


def _valid(cert: x509.Certificate | None) -> bool:
    if cert is None:
        return False
    now = _now()
    return cert.not_valid_before_utc <= now and cert.not_valid_after_utc - RENEW_BEFORE > now


def _leaf_ok(leaf: x509.Certificate | None, ca: x509.Certificate, hosts: Iterable[str]) -> bool:
    if not _valid(leaf) or leaf.issuer != ca.subject:
        return False
    try:
        leaf.verify_directly_issued_by(ca)
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except Exception:
        return False
    have = {str(v) for v in san.get_values_for_type(x509.IPAddress)} | set(san.get_values_for_type(x509.DNSName))
    return all(h in have for h in [*DEFAULT_HOSTS, *hosts])


_PEM_RE = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n.+?-----END CERTIFICATE-----", re.S)


def _base_roots(own_bundle: Path) -> bytes:
    """certifi's roots, plus the certificates of the bundle the environment already points requests at
    (e.g. a corporate proxy CA), so that exporting our bundle keeps every other HTTPS call of the shell working."""
    certifi_pem = Path(certifi.where()).read_bytes()
    blocks = dict.fromkeys(_PEM_RE.findall(certifi_pem))
    extra: list[bytes] = []
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        value = os.environ.get(var)
        if not value:
            continue
        with contextlib.suppress(OSError):
            path = Path(value).resolve()
            if path.is_file() and path != own_bundle.resolve():
                for block in _PEM_RE.findall(path.read_bytes()):
                    if block not in blocks:
                        blocks[block] = None
                        extra.append(block)
    out = certifi_pem.rstrip(b"\n") + b"\n"
    if extra:
        out += b"\n# roots from $REQUESTS_CA_BUNDLE / $CURL_CA_BUNDLE at generation time\n" + b"\n".join(extra) + b"\n"
    return out


def ensure_certificates(folder: str | os.PathLike, hosts: Iterable[str] = ()) -> CertPaths:
    """Create (or reuse when still valid) the CA, the server certificate and the CA bundle in `folder`."""
    p = _paths(Path(folder))
    hosts = [h for h in hosts if h and h not in ("0.0.0.0", "::", "")]
    needed = [*DEFAULT_HOSTS, *hosts]
    with folder_lock(p.folder):
        ca, ca_key = _load_cert(p.ca_cert), _load_key(p.ca_key)
        fresh_ca = not (_valid(ca) and ca_key is not None and ca.public_key() == ca_key.public_key())
        permitted = None if fresh_ca else ca_constraints(ca)
        missing = [h for h in needed if permitted is not None and not _permits(permitted, h)]
        if not fresh_ca and (permitted is None or missing):
            fresh_ca = True
            why = ("was not name-constrained" if permitted is None
                   else f"was constrained to {describe(permitted)}, which leaves out {', '.join(missing)}")
            permitted = _constraints_for(hosts, permitted or ())
            log.warning("replaced the emulator CA in %s: it %s; the new one may vouch only for %s (trust it again: "
                        "az communication emulator trust)", p.folder, why, describe(permitted))
        if fresh_ca:
            ca, ca_key = _make_ca(permitted or _constraints_for(hosts))
            write_private(p.ca_key, _key_pem(ca_key))
            write_private(p.ca_cert, ca.public_bytes(serialization.Encoding.PEM), 0o644)
        leaf, leaf_key = _load_cert(p.server_cert), _load_key(p.server_key)
        if fresh_ca or leaf_key is None or not _leaf_ok(leaf, ca, hosts) or leaf.public_key() != leaf_key.public_key():
            leaf, leaf_key = _make_leaf(ca, ca_key, hosts)
            write_private(p.server_key, _key_pem(leaf_key))
            write_private(p.server_cert, leaf.public_bytes(serialization.Encoding.PEM), 0o644)
        ca_pem = ca.public_bytes(serialization.Encoding.PEM)
        bundle = _base_roots(p.bundle) + b"\n# Azure Communication Services emulator local CA\n" + ca_pem
        try:
            current = p.bundle.read_bytes()
        except OSError:
            current = b""
        if current != bundle:
            write_private(p.bundle, bundle, 0o644)
    return p

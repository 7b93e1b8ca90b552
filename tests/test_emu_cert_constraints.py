"""The emulator's CA is name-constrained: trusting it (in a browser, with `emulator trust`) vouches for the
emulator's own names and addresses only. A foreign name signed by it is refused by OpenSSL; an older
unconstrained CA is replaced (one warning line) and the server certificate reissued under the new one."""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
from pathlib import Path

import pytest
import requests
from azure.communication.identity import CommunicationIdentityClient
from cert_tools import leaf_under, load, unconstrained_ca
from cryptography import x509
from emulator_process import running_emulator

from azext_communication.emulator.certs import ca_constraints, ensure_certificates


@pytest.fixture(autouse=True)
def _no_env_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def permitted(ca: x509.Certificate) -> set[str]:
    ext = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert ext.critical
    assert ext.value.excluded_subtrees is None
    return {str(t.value) for t in ext.value.permitted_subtrees}




def handshake(tmp_path: Path, ca_file: Path, cert_pem: bytes, key_pem: bytes, server_name: str) -> None:
    """A TLS handshake in memory: a server with `cert_pem`, a client that trusts only `ca_file` and checks
    `server_name` (ssl.SSLCertVerificationError when OpenSSL refuses the chain)."""
    (tmp_path / "leaf.pem").write_bytes(cert_pem + key_pem)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(tmp_path / "leaf.pem")
    client_ctx = ssl.create_default_context(cafile=str(ca_file))
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=server_name)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(20):
        for name, end in (("client", client), ("server", server)):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return
    raise AssertionError("the handshake did not finish")




def test_ca_is_constrained_to_the_emulators_own_names(tmp_path: Path) -> None:
    p = ensure_certificates(tmp_path / "default")
    assert permitted(load(p.ca_cert)) == {"localhost", "127.0.0.0/8", "::1/128"}
    p = ensure_certificates(tmp_path / "named", ["chat.test"])
    assert permitted(load(p.ca_cert)) == {"localhost", "127.0.0.0/8", "::1/128", "chat.test"}
    p = ensure_certificates(tmp_path / "lan", ["192.168.7.9", "0.0.0.0"])  # 0.0.0.0 is "every interface"
    assert permitted(load(p.ca_cert)) == {"localhost", "127.0.0.0/8", "::1/128", "192.168.7.9/32"}
    san = load(p.server_cert).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("192.168.7.9") in san.get_values_for_type(x509.IPAddress)


def test_a_foreign_name_signed_by_the_ca_is_refused(tmp_path: Path) -> None:
    p = ensure_certificates(tmp_path)
    own = leaf_under(tmp_path, ["localhost", "127.0.0.1"])
    handshake(tmp_path, p.ca_cert, *own, "localhost")  # the control: the CA vouches for its own names
    foreign = leaf_under(tmp_path, ["example.com"])
    with pytest.raises(ssl.SSLCertVerificationError, match="permitted subtree violation"):
        handshake(tmp_path, p.ca_cert, *foreign, "example.com")
    outside = leaf_under(tmp_path, ["10.0.0.1"])
    with pytest.raises(ssl.SSLCertVerificationError, match="permitted subtree violation"):
        handshake(tmp_path, p.ca_cert, *outside, "10.0.0.1")
    sneaky = leaf_under(tmp_path, ["localhost", "example.com"])  # one name in, one out: the whole cert is refused
    with pytest.raises(ssl.SSLCertVerificationError, match="permitted subtree violation"):
        handshake(tmp_path, p.ca_cert, *sneaky, "localhost")


def test_an_unconstrained_ca_is_replaced_with_one_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    unconstrained_ca(tmp_path)
    old = (tmp_path / "ca.pem").read_bytes()
    with caplog.at_level(logging.WARNING, logger="azext_communication.emulator"):
        p = ensure_certificates(tmp_path)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "\n" not in lines[0], lines
    assert "replaced the emulator CA" in lines[0] and "not name-constrained" in lines[0]
    assert "az communication emulator trust" in lines[0]
    assert p.ca_cert.read_bytes() != old and ca_constraints(load(p.ca_cert)) is not None
    load(p.server_cert).verify_directly_issued_by(load(p.ca_cert))
    bundle = p.bundle.read_text()
    assert p.ca_cert.read_text().strip() in bundle and old.decode().strip() not in bundle
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="azext_communication.emulator"):
        ensure_certificates(tmp_path)
    assert caplog.records == []  # constrained now: kept


def test_a_ca_that_leaves_out_the_host_is_replaced_and_keeps_its_names(tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    first = ensure_certificates(tmp_path, ["chat.test"]).ca_cert.read_bytes()
    with caplog.at_level(logging.WARNING, logger="azext_communication.emulator"):
        p = ensure_certificates(tmp_path, ["10.1.2.3"])
    assert [r.getMessage() for r in caplog.records][0].count("leaves out 10.1.2.3") == 1
    assert p.ca_cert.read_bytes() != first
    assert permitted(load(p.ca_cert)) == {"localhost", "127.0.0.0/8", "::1/128", "chat.test", "10.1.2.3/32"}
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="azext_communication.emulator"):
        again = ensure_certificates(tmp_path, ["chat.test"]).ca_cert.read_bytes()
    assert again == p.ca_cert.read_bytes() and caplog.records == []


def test_the_python_sdk_trusts_the_constrained_ca_after_a_replacement(tmp_path: Path) -> None:
    """A home with an old unconstrained CA: the emulator process says so on stderr, once, and the identity SDK
    (requests + OpenSSL) verifies the reissued server certificate against the new CA."""
    unconstrained_ca(tmp_path)
    (tmp_path / "old-ca.pem").write_bytes((tmp_path / "ca.pem").read_bytes())
    with running_emulator(env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(tmp_path)}) as emu:
        client = CommunicationIdentityClient.from_connection_string(emu.connection_string,
                                                                    connection_verify=str(tmp_path / "ca.pem"))
        user = client.create_user()
        assert user.properties["id"].startswith("8:acs:")
        err = emu.stderr_text()
        assert err.count("replaced the emulator CA") == 1, err
        line = next(x for x in err.splitlines() if "replaced the emulator CA" in x)
        assert str(tmp_path) in line and "not name-constrained" in line
        with pytest.raises(requests.exceptions.SSLError):  # the server certificate was reissued
            requests.get(emu.endpoint, verify=str(tmp_path / "old-ca.pem"), timeout=10)


def test_the_host_option_reaches_the_constraint(tmp_path: Path) -> None:
    """`--host <this machine's name>`: the CA permits that name, and a client reaching the emulator by that name
    verifies it (the machine's name must resolve to a loopback address here, as Debian's /etc/hosts makes it)."""
    name = socket.gethostname()
    try:
        local = ipaddress.ip_address(socket.gethostbyname(name)).is_loopback
    except (OSError, ValueError):
        local = False
    if not local or name == "localhost":
        pytest.skip(f"the host name {name!r} does not resolve to a loopback address on this machine")
    home = tmp_path / "home"
    with running_emulator("--host", name, env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(home)}) as emu:
        assert name.lower() in permitted(load(home / "ca.pem"))
        port = emu.endpoint.rstrip("/").rsplit(":", 1)[1]
        answer = requests.get(f"https://{name}:{port}/chat/threads?api-version=2024-03-07",
                              verify=str(home / "ca.pem"), timeout=10)
        assert answer.status_code == 401

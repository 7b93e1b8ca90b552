"""`az communication emulator trust [--remove]` against a temporary HOME with real NSS databases (certutil from
libnss3-tools): what it adds, replaces, keeps and removes, and what it prints without certutil or without a CA."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cli_harness
import pytest
from cert_tools import unconstrained_ca

from azext_communication.emulator.certs import ensure_certificates

pytestmark = pytest.mark.skipif(shutil.which("certutil") is None, reason="needs certutil (apt-get install "
                                                                         "libnss3-tools; make browser-deps)")


def certutil(*args: str) -> str:
    return subprocess.run(["certutil", *args], check=True, capture_output=True, text=True).stdout


def nicknames(db: Path) -> dict[str, str]:
    """nickname -> trust flags of every certificate in an NSS database."""
    out = {}
    for line in certutil("-d", f"sql:{db}", "-L").splitlines()[4:]:
        nick, _, flags = line.rstrip().rpartition(" ")
        if nick.strip():
            out[nick.strip()] = flags
    return out


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A user home with one Firefox profile (its own cert9.db) and no Chromium database yet."""
    profile = tmp_path / "home" / ".mozilla" / "firefox" / "abcd1234.default-release"
    profile.mkdir(parents=True)
    certutil("-d", f"sql:{profile}", "-N", "--empty-password")
    return tmp_path / "home"


def az(home: Path, emu_home: Path, *args: str, path: str | None = None) -> cli_harness.CliResult:
    env = {"HOME": str(home), "AZURE_COMMUNICATION_EMULATOR_HOME": str(emu_home)}
    if path is not None:
        env["PATH"] = path
    return cli_harness.run("communication", "emulator", "trust", *args, env=env)


def ca_name(emu_home: Path) -> str:
    from cryptography import x509

    ca = x509.load_pem_x509_certificate((emu_home / "ca.pem").read_bytes())
    return ca.subject.rfc4514_string().split("CN=")[1].split(",")[0]


def test_trust_adds_replaces_and_removes(home: Path, tmp_path: Path) -> None:
    emu_home = tmp_path / "emu"
    ensure_certificates(emu_home)
    chromium_db = home / ".pki" / "nssdb"
    firefox_db = next((home / ".mozilla" / "firefox").iterdir())
    # an older emulator CA and an unrelated user CA are already trusted in the Firefox profile
    unconstrained_ca(tmp_path / "old")
    certutil("-d", f"sql:{firefox_db}", "-A", "-t", "C,,", "-n", "ACS Emulator Local CA 00000000",
             "-i", str(tmp_path / "old" / "ca.pem"))
    unconstrained_ca(tmp_path / "corp")
    certutil("-d", f"sql:{firefox_db}", "-A", "-t", "C,,", "-n", "Corp CA", "-i", str(tmp_path / "corp" / "ca.pem"))

    added = az(home, emu_home)
    assert added.exit_code == 0, added
    name = ca_name(emu_home)
    assert nicknames(chromium_db) == {name: "C,,"}
    assert nicknames(firefox_db) == {name: "C,,", "Corp CA": "C,,"}
    said = added.stdout
    assert f"created the NSS database {chromium_db}" in said
    assert f"Chromium/Chrome: added '{name}' as a trusted CA in {chromium_db}" in said
    assert "Firefox profile abcd1234.default-release: removed an older emulator CA 'ACS Emulator Local CA 00000000'" \
        in said
    assert "may vouch only for localhost, 127.0.0.0/8, ::1" in said

    again = az(home, emu_home)
    assert again.exit_code == 0 and f"kept '{name}'" in again.stdout, again
    assert nicknames(chromium_db) == {name: "C,,"}

    removed = az(home, emu_home, "--remove")
    assert removed.exit_code == 0, removed
    assert nicknames(chromium_db) == {} and nicknames(firefox_db) == {"Corp CA": "C,,"}
    assert f"removed '{name}' from {chromium_db}" in removed.stdout
    nothing = az(home, emu_home, "--remove")
    assert nothing.exit_code == 0 and "nothing to remove" in nothing.stdout, nothing


def test_no_ca_yet_is_one_line_and_exit_1(home: Path, tmp_path: Path) -> None:
    result = az(home, tmp_path / "never-started")
    assert result.exit_code == 1, result
    assert result.error_lines == [f"ERROR: No emulator CA in {tmp_path / 'never-started'} yet: start the emulator "
                                  "once ('az communication emulator start'), then run this again."]
    assert "Traceback" not in result.stderr
    assert not (home / ".pki").exists()


def test_an_unconstrained_ca_is_not_added(home: Path, tmp_path: Path) -> None:
    unconstrained_ca(tmp_path / "emu")
    result = az(home, tmp_path / "emu")
    assert result.exit_code == 1 and len(result.error_lines) == 1, result
    assert "not name-constrained" in result.error_lines[0]
    assert not (home / ".pki").exists()


def test_without_certutil_it_prints_what_to_run(home: Path, tmp_path: Path) -> None:
    emu_home = tmp_path / "emu"
    ensure_certificates(emu_home)
    empty = tmp_path / "bin"
    empty.mkdir()
    result = az(home, emu_home, path=str(empty))
    assert result.exit_code == 1, result
    assert len(result.error_lines) == 1 and "certutil is not installed" in result.error_lines[0]
    assert "libnss3-tools" in result.error_lines[0] and "nothing was changed" in result.error_lines[0]
    assert not (home / ".pki").exists()
    commands = result.stdout.strip().splitlines()
    assert len(commands) == 3 and all("certutil -d sql:" in line for line in commands), commands
    # the printed commands do the job when run as printed
    subprocess.run(["bash", "-euc", "\n".join(commands)], check=True, capture_output=True)
    name = ca_name(emu_home)
    assert nicknames(home / ".pki" / "nssdb") == {name: "C,,"}
    assert nicknames(next((home / ".mozilla" / "firefox").iterdir())) == {name: "C,,"}

    removal = az(home, emu_home, "--remove", path=str(empty))
    assert removal.exit_code == 1, removal
    subprocess.run(["bash", "-euc", removal.stdout], check=True, capture_output=True)
    assert nicknames(home / ".pki" / "nssdb") == {}

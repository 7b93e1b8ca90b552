"""`az communication emulator trust`: the emulator's CA in the user's NSS databases (Chromium/Chrome on Linux use
~/.pki/nssdb, each Firefox profile its own cert9.db), added or removed with NSS's `certutil`.

Browsers do not read REQUESTS_CA_BUNDLE; a page on http://localhost that calls the emulator needs its CA in the
browser's own store. The CA is name-constrained (see emulator/certs.py), so trusting it vouches for no other site.
Without certutil nothing is changed and the exact commands to run are printed instead.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from azure.cli.core.azclierror import UnclassifiedUserFault

NICKNAME_PREFIX = "ACS Emulator Local CA"  # the CA's common name starts with it (emulator/certs.py)
TRUST_FLAGS = "C,,"  # a trusted CA for TLS servers only (not e-mail, not code signing)
CERTUTIL_HINT = ("certutil is not installed (Debian/Ubuntu: apt-get install libnss3-tools; Fedora: dnf install "
                 "nss-tools; Arch: pacman -S nss): nothing was changed; run the commands above")
_LIST_LINE = re.compile(r"^(?P<nick>.*\S)\s+(?P<trust>[A-Za-z]*,[A-Za-z]*,[A-Za-z]*)\s*$")


@dataclass(frozen=True)
class NssDb:
    """One NSS database and the browser that reads it."""

    folder: Path
    browser: str

    @property
    def spec(self) -> str:
        return f"sql:{self.folder}"


def databases(home: Path) -> list[NssDb]:
    """Chromium/Chrome's shared database (created when adding, if missing) and every Firefox profile's."""
    found = [NssDb(home / ".pki" / "nssdb", "Chromium/Chrome")]
    for root in (home / ".mozilla" / "firefox", home / "snap" / "firefox" / "common" / ".mozilla" / "firefox"):
        if root.is_dir():
            found += [NssDb(db.parent, f"Firefox profile {db.parent.name}") for db in sorted(root.glob("*/cert9.db"))]
    return found


def _ca(folder: Path, adding: bool) -> tuple[Path, str, str] | None:
    """The CA file, its nickname (its common name) and what it may vouch for; a one-line error when there is
    none to add, or when it is not name-constrained."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    from azext_communication.emulator.certs import ca_constraints, describe

    path = folder / "ca.pem"
    try:
        ca = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        if not adding:
            return None
        raise UnclassifiedUserFault(f"No emulator CA in {folder} yet: start the emulator once ('az communication "
                                    "emulator start'), then run this again.") from None
    names = ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    nickname = str(names[0].value) if names else ""
    if not nickname.startswith(NICKNAME_PREFIX):
        nickname = f"{NICKNAME_PREFIX} ({nickname or 'unnamed'})"
    permitted = ca_constraints(ca)
    if adding and permitted is None:
        raise UnclassifiedUserFault(f"The CA in {folder} is not name-constrained (an older emulator made it): "
                                    "start the emulator once to replace it, then run this again.")
    return path, nickname, describe(permitted or ())


def _certutil(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["certutil", *args], capture_output=True, text=True, timeout=60, check=False)


def _emulator_nicknames(db: NssDb) -> list[str]:
    listed = _certutil("-d", db.spec, "-L")
    if listed.returncode:
        raise UnclassifiedUserFault(f"certutil could not read {db.folder}: {_first_line(listed.stderr)}")
    nicks = [m["nick"] for m in map(_LIST_LINE.match, listed.stdout.splitlines()) if m]
    return [n for n in nicks if n.startswith(NICKNAME_PREFIX)]


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or ["no message"])[0]


def _run_or_fail(db: NssDb, *args: str) -> None:
    done = _certutil("-d", db.spec, *args)
    if done.returncode:
        raise UnclassifiedUserFault(f"certutil failed on {db.folder}: {_first_line(done.stderr)}")


def _add(db: NssDb, ca_file: Path, nickname: str) -> list[str]:
    said = []
    if not (db.folder / "cert9.db").exists():
        db.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        _run_or_fail(db, "-N", "--empty-password")
        said.append(f"{db.browser}: created the NSS database {db.folder}")
    present = _emulator_nicknames(db)
    for old in present:
        if old != nickname:
            _run_or_fail(db, "-D", "-n", old)
            said.append(f"{db.browser}: removed an older emulator CA '{old}' from {db.folder}")
    _run_or_fail(db, "-A", "-t", TRUST_FLAGS, "-n", nickname, "-i", str(ca_file))
    verb = "kept" if nickname in present else "added"
    said.append(f"{db.browser}: {verb} '{nickname}' as a trusted CA in {db.folder}")
    return said


def _remove(db: NssDb) -> list[str]:
    if not (db.folder / "cert9.db").exists():
        return []
    said = []
    for nick in _emulator_nicknames(db):
        _run_or_fail(db, "-D", "-n", nick)
        said.append(f"{db.browser}: removed '{nick}' from {db.folder}")
    return said


def _commands(dbs: list[NssDb], ca: tuple[Path, str, str], remove: bool) -> list[str]:
    """The certutil lines that do the same by hand (for a machine without certutil)."""
    path, nickname, _scope = ca
    lines = []
    for db in dbs:
        spec = shlex.quote(db.spec)
        if remove:
            lines.append(f"certutil -d {spec} -D -n {shlex.quote(nickname)}")
            continue
        if not (db.folder / "cert9.db").exists():
            lines.append(f"mkdir -p {shlex.quote(str(db.folder))} && certutil -d {spec} -N --empty-password")
        lines.append(f"certutil -d {spec} -A -t {TRUST_FLAGS} -n {shlex.quote(nickname)} -i {shlex.quote(str(path))}")
    return lines


def trust(folder: Path, home: Path, out: IO[str], remove: bool = False) -> None:
    """Add (or remove) the CA of the emulator folder `folder` in the NSS databases under `home`; says what it did."""
    ca = _ca(folder, adding=not remove)
    dbs = databases(home)
    if shutil.which("certutil") is None:
        if ca is None:
            raise UnclassifiedUserFault(f"No emulator CA in {folder} and certutil is not installed: nothing to do.")
        out.write("\n".join(_commands(dbs, ca, remove)) + "\n")
        out.flush()
        raise UnclassifiedUserFault(CERTUTIL_HINT)
    said: list[str] = []
    for db in dbs:
        said += _remove(db) if remove else _add(db, ca[0], ca[1])
    if remove:
        said = said or [f"No emulator CA was in {', '.join(str(db.folder) for db in dbs)}: nothing to remove."]
    else:
        said.append(f"It may vouch only for {ca[2]}. Restart the browser to use it; undo with 'az communication "
                    "emulator trust --remove'.")
    out.write("\n".join(said) + "\n")
    out.flush()


def default_home() -> Path:
    """The user's home folder ($HOME), where the browsers keep their databases."""
    return Path(os.path.expanduser("~"))

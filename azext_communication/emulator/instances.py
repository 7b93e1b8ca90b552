"""Which emulators are running for a home folder, and where.

Why: a user who opens a second terminal, or a script that wants to reuse a running emulator, needs to
know whether one runs and at which endpoint. While it serves, `emulator start` records itself in
`<home>/running/<pid>.json` (endpoint, connection string, CA bundle, web page URL with its key, data folder);
the file goes when it stops. A record whose process is gone (kill -9) is stale and removed; one whose port does
not answer is left out (its process may be another one by now, or busy). The file holds secrets (the access
key, the web page's key): it is created 0600, never readable by others even for a moment.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .files import private_folder

RUNNING_DIR = "running"
PROBE_TIMEOUT = 0.5


def record(home: Path, info: dict[str, Any]) -> Path:
    """Write this process's record (atomically) and return its path."""
    folder = Path(home) / RUNNING_DIR
    private_folder(folder)
    path = folder / f"{os.getpid()}.json"
    data = {"pid": os.getpid(), "startedOn": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **info}
    tmp = path.with_suffix(".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(data))  # created 0600: the connection string holds the access key
    os.chmod(tmp, 0o600)  # whatever the umask
    tmp.replace(path)
    return path


def forget(path: Path | None) -> None:
    """Remove a record written by `record` (quietly: it may be gone already)."""
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def _answers(endpoint: str) -> bool:
    parsed = urlparse(endpoint)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 443), PROBE_TIMEOUT):
            return True
    except OSError:
        return False


def running(home: Path) -> list[dict[str, Any]]:
    """The live records of `home`, oldest first; stale ones are removed."""
    folder = Path(home) / RUNNING_DIR
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
            alive = _process_alive(int(info["pid"]))
        except (OSError, ValueError, KeyError, TypeError):
            alive, info = False, None
        if not alive:
            forget(path)
        elif _answers(str(info.get("endpoint", ""))):
            found.append(info)
    return sorted(found, key=lambda i: str(i.get("startedOn", "")))

"""Start and stop local emulator processes for tests (free port, JSON handshake, never left running)."""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import requests

if TYPE_CHECKING:
    from azext_communication.emulator.server import EmulatorServer

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0


@dataclass
class EmulatorProcess:
    """A running emulator: what its `--json` line said, plus the process to stop."""

    endpoint: str
    connection_string: str
    ca_bundle: str
    process: subprocess.Popen
    args: list[str] = field(default_factory=list)
    log: IO[bytes] | None = None  # the process's stderr (a file, so a chatty emulator never blocks on a pipe)

    def stderr_text(self) -> str:
        """What the emulator logged so far."""
        if self.log is None or self.log.closed:
            return ""
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    @property
    def access_key(self) -> str:
        return dict(p.split("=", 1) for p in self.connection_string.split(";") if "=" in p)["accesskey"]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Stop the process with `sig` (SIGKILL for a crash) and return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        for stream in (self.process.stdout, self.process.stderr, self.log):
            if stream:
                stream.close()
        return self.process.returncode


def start_emulator(*extra: str, data_dir: str | os.PathLike | None = None, port: int = 0,
                   env: dict | None = None) -> EmulatorProcess:
    """Start `python -m azext_communication.emulator --json` and wait for its one JSON line."""
    args = [sys.executable, "-m", "azext_communication.emulator", "--port", str(port), "--json", *extra]
    if data_dir is not None:
        args += ["--data-dir", str(data_dir)]
    proc_env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc_env.update(env or {})
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by EmulatorProcess.stop
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, env=proc_env,
                            cwd=str(ROOT))
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + START_TIMEOUT
    line = b""
    while time.monotonic() < deadline and not line.endswith(b"\n"):
        if proc.poll() is not None:
            break
        if sel.select(timeout=0.2):
            chunk = proc.stdout.readline()
            if not chunk:
                break
            line += chunk
    sel.close()
    if not line.strip():
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
        log.seek(0)
        err = log.read().decode(errors="replace")
        log.close()
        raise RuntimeError(f"emulator did not start: {err[-2000:]}")
    info = json.loads(line)
    return EmulatorProcess(info["endpoint"], info["connectionString"], info["caBundle"], proc, args, log)


@contextlib.contextmanager
def running_emulator(*extra: str, data_dir: str | os.PathLike | None = None, port: int = 0,
                     env: dict | None = None) -> Iterator[EmulatorProcess]:
    """Context manager around `start_emulator` that always stops the process."""
    emu = start_emulator(*extra, data_dir=data_dir, port=port, env=env)
    try:
        yield emu
    finally:
        emu.stop()


CHAT_API = "api-version=2024-03-07"
IDENTITY_API = "api-version=2023-10-01"


class EmulatorApi:
    """Raw HTTPS calls to an emulator (HMAC-signed identity calls, bearer chat calls), for wire-level tests.

    The session ignores the environment so that the emulator's own CA bundle is the one that counts.
    """

    def __init__(self, emu: EmulatorProcess) -> None:
        self.emu = emu
        self.s = requests.Session()
        self.s.trust_env = False
        self.s.verify = emu.ca_bundle

    def signed(self, method: str, target: str, body: object = None):
        """An identity call signed with the emulator's access key, exactly as the SDK signs it."""
        from azext_communication.emulator.tokens import sign_request

        raw = b"" if body is None else json.dumps(body).encode()
        headers = sign_request(method, self.emu.endpoint + target, raw, self.emu.access_key)
        return self.s.request(method, self.emu.endpoint + target, data=raw, headers=headers, timeout=30)

    def bearer(self, method: str, target: str, token: str, body: object = None):
        """A chat call with a user token; `target` is a path or an absolute nextLink."""
        url = target if target.startswith("https://") else self.emu.endpoint + target
        return self.s.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def user(self) -> tuple[str, str]:
        """A new user and its chat token."""
        resp = self.signed("POST", f"/identities?{IDENTITY_API}", {"createTokenWithScopes": ["chat"]})
        assert resp.status_code == 201, resp.text
        body = resp.json()
        return body["identity"]["id"], body["accessToken"]["token"]

    def thread(self, token: str) -> str:
        """A new thread created by the token's user."""
        resp = self.bearer("POST", f"/chat/threads?{CHAT_API}", token, {"topic": "t", "participants": []})
        assert resp.status_code == 201, resp.text
        return resp.json()["chatThread"]["id"]

    def all_messages(self, token: str, tid: str) -> list[dict]:
        """Every message of a thread, following nextLinks."""
        from urllib.parse import quote

        url = f"/chat/threads/{quote(tid, safe='')}/messages?maxPageSize=200&{CHAT_API}"
        out: list[dict] = []
        while url:
            resp = self.bearer("GET", url, token)
            assert resp.status_code == 200, resp.text
            body = resp.json()
            out += body["value"]
            url = body.get("nextLink")
        return out


@contextlib.contextmanager
def in_process_emulator(home: str | os.PathLike) -> Iterator[EmulatorServer]:
    """An `EmulatorServer` on a free port whose certificates and key live in `home`, not the user's home."""
    from azext_communication.emulator.server import HOME_ENV, EmulatorServer

    old = os.environ.get(HOME_ENV)
    os.environ[HOME_ENV] = str(home)
    server = EmulatorServer(port=0)
    try:
        yield server.start()
    finally:
        server.stop()
        if old is None:
            os.environ.pop(HOME_ENV, None)
        else:
            os.environ[HOME_ENV] = old


class KeepAliveClient:
    """One keep-alive HTTPS connection (http.client, trusting the emulator's CA), for load and crash scripts.

    Lighter than requests, so a client process measures the emulator rather than itself.
    """

    def __init__(self, endpoint: str, ca_file: str, access_key: str) -> None:
        import http.client
        import ssl
        from urllib.parse import urlsplit

        parts = urlsplit(endpoint)
        self.endpoint, self.access_key = endpoint, access_key
        self.conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=30,
                                                context=ssl.create_default_context(cafile=ca_file))

    @classmethod
    def to(cls, emu: EmulatorProcess) -> KeepAliveClient:
        """A client of a running emulator process, trusting its CA certificate alone."""
        return cls(emu.endpoint, str(Path(emu.ca_bundle).with_name("ca.pem")), emu.access_key)

    def call(self, method: str, path: str, token: str | None, body: object = None) -> tuple[int, bytes]:
        """An identity call signed with the access key (token None) or a chat call with a bearer token."""
        from azext_communication.emulator.tokens import sign_request

        raw = b"" if body is None else json.dumps(body).encode()
        if token is None:
            headers = sign_request(method, self.endpoint + path, raw, self.access_key)
        else:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.conn.request(method, path, body=raw or None, headers=headers)
        resp = self.conn.getresponse()
        return resp.status, resp.read()

    def close(self) -> None:
        self.conn.close()

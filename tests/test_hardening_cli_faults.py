"""Faults injected by the emulator (`POST /admin/faults`): the CLI retries and succeeds once a fault clears, fails in
one line with exit 1 when it persists, and a retried thread create never makes two threads.

What azure-core's RetryPolicy does (and these tests pin): 429/503 answers are retried (Retry-After honoured, 4
attempts in all); connection errors and read timeouts are retried for GET/PUT/DELETE only, never for POST,
because the service may already have acted on it. Waits are kept short: Retry-After 0/1, stalls of 1-2 s against
AZURE_COMMUNICATION_TIMEOUT=0.5.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from cli_harness import CliResult, run
from emulator_process import EmulatorProcess, running_emulator

from azext_communication.emulator.tokens import sign_request

pytestmark = pytest.mark.live



class Faults:
    """The emulator's fault queue, through its HMAC-signed admin endpoint."""

    def __init__(self, emu: EmulatorProcess) -> None:
        self.emu = emu
        self.url = emu.endpoint.rstrip("/") + "/admin/faults"
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = emu.ca_bundle

    def _call(self, method: str, body: dict | None = None) -> requests.Response:
        raw = b"" if body is None else json.dumps(body).encode()
        headers = sign_request(method, self.url, raw, self.emu.access_key)
        response = self.session.request(method, self.url, data=raw, headers=headers, timeout=10)
        assert response.ok, response.text
        return response

    def add(self, mode: str, count: int, retry_after: int = 0, stall_seconds: float = 1.0) -> None:
        self._call("POST", {"mode": mode, "count": count, "retryAfter": retry_after, "stallSeconds": stall_seconds})

    def pending(self) -> int:
        """How many faulted requests are still queued (so attempts = injected - pending)."""
        return sum(f["count"] for f in self._call("GET").json()["faults"])

    def clear(self) -> None:
        self._call("DELETE")


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """An emulator of its own: its fault queue is global, so no other test may share it."""
    home = tmp_path_factory.mktemp("faults-home")
    with running_emulator(env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(home)}) as process:
        yield process


@pytest.fixture
def faults(emu: EmulatorProcess) -> Iterator[Faults]:
    queue = Faults(emu)
    queue.clear()
    yield queue
    queue.clear()


@pytest.fixture
def env(emu: EmulatorProcess, faults: Faults) -> dict[str, str | None]:
    """A fresh user (so its thread list holds only this test's threads) with its token, all in variables."""
    base = {"REQUESTS_CA_BUNDLE": emu.ca_bundle, "AZURE_COMMUNICATION_CONNECTION_STRING": emu.connection_string,
            "AZURE_COMMUNICATION_ENDPOINT": emu.endpoint.rstrip("/"), "AZURE_COMMUNICATION_TIMEOUT": None}
    issued = run("communication", "identity", "token", "issue", "--scope", "chat", env=base)
    assert issued.exit_code == 0, issued
    return {**base, "AZURE_COMMUNICATION_ACCESS_TOKEN": issued.result["token"]}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every request the transport sends (retries included), as (method, path, headers)."""
    from azure.core.pipeline.transport import RequestsTransport

    log: list[Any] = []
    original = RequestsTransport.send

    def spy(self: Any, request: Any, **kwargs: Any) -> Any:
        log.append((request.method, request.url.split("?", 1)[0], dict(request.headers)))
        return original(self, request, **kwargs)

    monkeypatch.setattr(RequestsTransport, "send", spy)
    return log


def chat(*args: str, env: dict[str, str | None]) -> CliResult:
    return run("communication", "chat", *args, env=env)


def ok(result: CliResult) -> Any:
    assert result.exit_code == 0, result
    assert not result.error_lines, result
    return result.result


def error_line(result: CliResult) -> str:
    assert result.exit_code == 1, result
    assert "Traceback" not in result.stderr, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ERROR: "), result
    return lines[0][len("ERROR: "):]


def topics(env: dict[str, str | None]) -> list[str]:
    return [t["topic"] for t in ok(chat("thread", "list", env=env))]


# ------------------------------------------------------------------------------------------ retried, then ok
def test_two_503s_then_thread_create_succeeds_once_with_one_repeatability_id(faults: Faults, env: dict,
                                                                             sent: list) -> None:
    faults.add("503", 2, retry_after=0)
    created = ok(chat("thread", "create", "--topic", "after-503", env=env))
    posts = [headers for method, path, headers in sent if method == "POST" and path.endswith("/chat/threads")]
    assert len(posts) == 3 and faults.pending() == 0
    ids = {headers.get("repeatability-request-id") for headers in posts}
    assert len(ids) == 1 and None not in ids, "every attempt must carry the same repeatability-request-id"
    assert topics(env) == ["after-503"]
    assert created["chatThread"]["topic"] == "after-503"


def test_closed_connection_on_a_read_is_retried(faults: Faults, env: dict, sent: list) -> None:
    ok(chat("thread", "create", "--topic", "t", env=env))
    faults.add("close", 1)
    mark = len(sent)
    assert [t["topic"] for t in ok(chat("thread", "list", env=env))] == ["t"]
    assert len(sent) - mark == 2 and faults.pending() == 0


def test_stall_past_the_timeout_on_a_read_is_retried(faults: Faults, env: dict, sent: list) -> None:
    faults.add("stall", 1, stall_seconds=2)
    mark = len(sent)
    start = time.monotonic()
    assert ok(chat("thread", "list", env={**env, "AZURE_COMMUNICATION_TIMEOUT": "0.5"})) == []
    assert len(sent) - mark == 2 and time.monotonic() - start < 1.9


def test_throttled_identity_call_is_retried(faults: Faults, env: dict) -> None:
    faults.add("429", 1, retry_after=1)
    created = ok(run("communication", "identity", "user", "create", env=env))
    assert created["rawId"].startswith("8:acs:") and faults.pending() == 0


# ------------------------------------------------------------------------------------------ persisting faults
def test_persisting_429_fails_after_the_sdk_retries(faults: Faults, env: dict) -> None:
    faults.add("429", 6, retry_after=1)
    start = time.monotonic()
    result = chat("thread", "list", env=env)
    elapsed = time.monotonic() - start
    assert error_line(result) == ("The service is still throttling requests after retries "
                                  "(429 TooManyRequests: Rate limit exceeded.).")
    assert faults.pending() == 2, "4 attempts: the first and 3 retries"
    assert 2.5 < elapsed < 10, "Retry-After: 1 was honoured between attempts"


def test_stall_past_the_timeout_fails_a_post_without_retry(faults: Faults, env: dict, sent: list) -> None:
    tid = ok(chat("thread", "create", "--topic", "t", env=env))["chatThread"]["id"]
    faults.add("stall", 1, stall_seconds=1.5)
    mark = len(sent)
    result = chat("message", "send", "-t", tid, "--content", "late", env={**env, "AZURE_COMMUNICATION_TIMEOUT": "0.5"})
    assert len(sent) - mark == 1
    line = error_line(result)
    assert line == (f"{env['AZURE_COMMUNICATION_ENDPOINT']} did not answer within 0.5 seconds (read timeout); the "
                    "request may still have been processed. Set AZURE_COMMUNICATION_TIMEOUT (seconds) to wait longer.")


def test_stalled_identity_call_fails_in_one_line_without_the_key(emu: EmulatorProcess, faults: Faults,
                                                                 env: dict) -> None:
    faults.add("stall", 1, stall_seconds=1.5)
    result = run("communication", "identity", "user", "create", env={**env, "AZURE_COMMUNICATION_TIMEOUT": "0.5"})
    assert error_line(result).startswith(f"{emu.endpoint.rstrip('/')} did not answer within 0.5 seconds")
    assert emu.access_key not in result.stderr


def test_closed_connection_fails_a_post_without_retry(faults: Faults, env: dict, sent: list) -> None:
    tid = ok(chat("thread", "create", "--topic", "t", env=env))["chatThread"]["id"]
    faults.add("close", 1)
    mark = len(sent)
    result = chat("message", "send", "-t", tid, "--content", "hello", env=env)
    assert error_line(result) == (f"The connection to {env['AZURE_COMMUNICATION_ENDPOINT']} was closed before an "
                                  "answer arrived; the request may still have been processed.")
    assert len(sent) - mark == 1


def test_timed_out_thread_create_repeated_with_its_idempotency_token_makes_one_thread(faults: Faults,
                                                                                      env: dict) -> None:
    """The recovery the timeout message points to: the service may have created the thread, so the message names
    the idempotency token the command sent; the same command with that token returns the thread instead of
    making a second one (whether it arrives before or after the stalled request is processed)."""
    faults.add("stall", 1, stall_seconds=1)
    first = error_line(chat("thread", "create", "--topic", "once", env={**env, "AZURE_COMMUNICATION_TIMEOUT": "0.5"}))
    assert "did not answer within 0.5 seconds" in first
    token = first.split("Repeat the command with --idempotency-token ", 1)[1].split(" ", 1)[0]
    assert str(uuid.UUID(token)) == token
    again = ok(chat("thread", "create", "--topic", "once", "--idempotency-token", token, env=env))
    time.sleep(0.8)  # let the stalled first request finish on the emulator
    assert ok(chat("thread", "create", "--topic", "once", "--idempotency-token", token, env=env))["chatThread"][
        "id"] == again["chatThread"]["id"]
    assert topics(env) == ["once"]


def test_given_idempotency_token_is_named_when_the_connection_closes(faults: Faults, env: dict) -> None:
    token = str(uuid.uuid4())
    faults.add("close", 1)
    line = error_line(chat("thread", "create", "--topic", "closed", "--idempotency-token", token, env=env))
    assert line.endswith(f"Repeat the command with --idempotency-token {token} to get that thread rather than a "
                         "second one.")
    assert ok(chat("thread", "create", "--topic", "closed", "--idempotency-token", token, env=env))
    assert topics(env) == ["closed"]

"""No secret in any output, `--debug` included: every command runs with the token and the connection string in
environment variables and `--debug`, on success and on error paths (401, 404, validation), and neither the
token, nor the access key, nor the connection string may appear in stdout or stderr. The only exception is the
token that `token issue` / `get-for-teams-user` print as their result on stdout.

In-process runs capture every log record (root logger at DEBUG: azure-core, urllib3, core, the extension) with a
fresh handler per command; a few runs go through a real `az` process, where knack configures the console
handlers itself, to prove the same for what users actually see.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cli_harness import CONFIG_DIR, ROOT, CliResult, run

pytestmark = pytest.mark.live

UNKNOWN_USER = "8:acs:00000000-0000-0000-0000-000000000000_0000dead-0000-0000-0000-00000000beef"
UNKNOWN_THREAD = "19:00000000000000000000000000000000@thread.v2"
# An Entra-looking token for the Teams exchange (the emulator reads exp/oid/appid when it is a readable JWT).
AAD_TOKEN = "eyJhbGciOiJub25lIn0." + base64.urlsafe_b64encode(json.dumps(
    {"exp": 4102444800, "oid": "00000000-0000-0000-0000-0000000000bb", "appid": "00000000-0000-0000-0000-0000000000aa"}
).encode()).decode().rstrip("=") + ".c2lnbmF0dXJlLW9mLXRoZS1lbnRyYS10b2tlbg"


@contextlib.contextmanager
def capture_everything() -> Iterator[io.StringIO]:
    """Every record of every logger at DEBUG, as `--debug` would print it, in a handler of its own."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(name)s: %(message)s"))
    saved = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)


class Secrets:
    """The secrets of the run, and every output seen so far."""

    def __init__(self, emulator: Any) -> None:
        self.values: dict[str, str] = {
            "connection string": emulator.connection_string,
            "access key": emulator.access_key,
        }
        self.env: dict[str, str | None] = {
            "REQUESTS_CA_BUNDLE": emulator.ca_bundle,
            "AZURE_COMMUNICATION_ENDPOINT": emulator.endpoint.rstrip("/"),
            "AZURE_COMMUNICATION_CONNECTION_STRING": emulator.connection_string,
        }
        self.checked: list[str] = []
        self.last_debug_log = ""
        self.last_command = ""
        self.last_outputs: dict[str, str] = {}

    def add_token(self, name: str, token: str) -> None:
        """A token is a secret as a whole and by its signature (the part that makes it usable). The outputs of
        the command that produced it are checked again, now that it is known."""
        self.values[name] = token
        self.values[name + " signature"] = token.rsplit(".", 1)[-1]
        self.check(self.last_command + " (again)", self.last_outputs)

    def az(self, *args: str, token: str | None = None, result_is_secret: bool = False) -> CliResult:
        """Run `az <args> --debug` with the secrets in variables; check stdout (unless the command's result is
        the secret), stderr and every log record."""
        env = dict(self.env)
        if token is not None:
            env["AZURE_COMMUNICATION_ACCESS_TOKEN"] = token
        with capture_everything() as logs:
            result = run(*args, "--debug", env=env)
        outputs = {"stderr": result.stderr, "debug log": logs.getvalue()}
        self.last_debug_log = logs.getvalue()
        if not result_is_secret:
            outputs["stdout"] = result.stdout
        self.last_command, self.last_outputs = " ".join(args), outputs
        self.check(self.last_command, outputs)
        return result

    def check(self, what: str, outputs: dict[str, str]) -> None:
        for where, text in outputs.items():
            for name, value in self.values.items():
                assert value not in text, f"{what}: the {name} appears in {where}"
        self.checked.append(what)


def ok(result: CliResult) -> Any:
    assert result.exit_code == 0, result
    return result.result


@pytest.fixture(scope="module")
def secrets(emulator: Any) -> Secrets:
    return Secrets(emulator)


def test_no_secret_in_any_output_of_any_command_with_debug(secrets: Secrets, tmp_path: Path) -> None:
    s = secrets
    issued = ok(s.az("communication", "identity", "token", "issue", "--scope", "chat", result_is_secret=True))
    owner, token = issued["user_id"], issued["token"]
    s.add_token("owner token", token)
    assert token not in s.az("communication", "identity", "token", "issue", "--scope", "chat", "-o", "table").stdout
    other = ok(s.az("communication", "identity", "user", "create"))["rawId"]
    third = ok(s.az("communication", "user-identity", "user", "create"))["rawId"]
    other_token = ok(s.az("communication", "user-identity", "token", "issue", "--scope", "chat", "voip", "--user",
                          other, "--expires-in-minutes", "60", result_is_secret=True))["token"]
    s.add_token("second token", other_token)
    aad_file = tmp_path / "aad-token"
    aad_file.write_text(AAD_TOKEN + "\n")
    s.add_token("Entra token", AAD_TOKEN)
    teams = ok(s.az("communication", "identity", "token", "get-for-teams-user", "--aad-token", f"@{aad_file}",
                    "--client", "00000000-0000-0000-0000-0000000000aa", "--aad-user",
                    "00000000-0000-0000-0000-0000000000bb", result_is_secret=True))
    s.add_token("Teams token", teams["token"])

    chat = ("communication", "chat")
    tid = ok(s.az(*chat, "thread", "create", "--topic", "secrets", "--participant", other,
                  token=token))["chatThread"]["id"]
    ok(s.az(*chat, "thread", "list", token=token))
    assert "urllib3.connectionpool" in s.last_debug_log and "GET /chat/threads" in s.last_debug_log, \
        "the capture must see the request-level debug records"
    ok(s.az(*chat, "thread", "show", "-t", tid, token=token))
    ok(s.az(*chat, "thread", "update-topic", "-t", tid, "--topic", "secrets 2", token=token))
    ok(s.az(*chat, "thread", "update", "-t", tid, "--metadata", "k=v", "--retention-days", "30", token=token))
    ok(s.az(*chat, "participant", "add", "-t", tid, "--user", third, token=token))
    ok(s.az(*chat, "participant", "list", "-t", tid, "-o", "table", token=token))
    ok(s.az(*chat, "participant", "remove", "-t", tid, "--user", third, "--yes", token=token))
    third_token = ok(s.az("communication", "identity", "token", "issue", "--scope", "chat", "--user", third,
                          result_is_secret=True))["token"]
    s.add_token("third token", third_token)
    mid = ok(s.az(*chat, "message", "send", "-t", tid, "--content", "hi", "--metadata", "a=b", token=token))["id"]
    ok(s.az(*chat, "message", "list", "-t", tid, "--max-items", "5", token=token))
    ok(s.az(*chat, "message", "get", "-t", tid, "--message-id", mid, token=token))
    ok(s.az(*chat, "message", "update", "-t", tid, "--message-id", mid, "--content", "hi!", token=token))
    ok(s.az(*chat, "message", "receipt", "send", "-t", tid, "--message-id", mid, token=other_token))
    ok(s.az(*chat, "message", "receipt", "list", "-t", tid, token=token))
    ok(s.az(*chat, "typing", "send", "-t", tid, token=token))
    ok(s.az(*chat, "message", "watch", "-t", tid, "--after", mid, "--interval", "0.5", "--timeout", "0", token=token))
    ok(s.az(*chat, "message", "wait", "-t", tid, "--start-time", "2020-01-01", "--contains", "hi", token=token))
    ok(s.az(*chat, "message", "delete", "-t", tid, "--message-id", mid, "--yes", token=token))

    # error paths: validation, 403, 404 (chat and identity), 401 after revocation
    assert s.az(*chat, "message", "send", "-t", tid, "--content", "", token=token).exit_code == 2
    assert s.az("communication", "identity", "token", "issue", "--scope", "email").exit_code == 2
    forbidden = s.az(*chat, "participant", "list", "-t", tid, token=third_token)
    assert forbidden.exit_code == 1 and "not allowed" in forbidden.stderr
    assert s.az(*chat, "thread", "show", "-t", UNKNOWN_THREAD, token=token).exit_code == 3
    assert s.az("communication", "identity", "user", "delete", "--user", UNKNOWN_USER, "--yes").exit_code == 3
    ok(s.az("communication", "identity", "token", "revoke", "--user", owner, "--yes"))
    refused = s.az(*chat, "thread", "list", token=token)
    assert refused.exit_code == 1 and "access token was refused" in refused.stderr
    ok(s.az(*chat, "thread", "delete", "-t", tid, "--yes", token=other_token))
    ok(s.az("communication", "identity", "user", "delete", "--user", other, "--yes"))
    from test_cli_commands import EXPECTED_COMMANDS

    skipped = ("communication emulator", "communication user-identity")
    every = {c for c in EXPECTED_COMMANDS if not c.startswith(skipped)}
    missed = {c for c in every if not any(f"{ran} ".startswith(c + " ") for ran in s.checked)}
    assert not missed, f"commands not run with --debug: {sorted(missed)}"


def _az_process(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """A real `az` process: knack installs its own console handlers, as for users."""
    full_env = dict(os.environ, AZURE_CONFIG_DIR=str(CONFIG_DIR), AZURE_EXTENSION_DEV_SOURCES=str(ROOT),
                    AZURE_CORE_COLLECT_TELEMETRY="no", AZURE_CORE_NO_COLOR="true", **env)
    return subprocess.run([sys.executable, "-m", "azure.cli", *args, "--debug"], env=full_env, capture_output=True,
                          text=True, timeout=60, cwd=str(ROOT))


def test_no_secret_in_the_debug_output_of_a_real_az_process(emulator: Any, secrets: Secrets) -> None:
    env = {"REQUESTS_CA_BUNDLE": emulator.ca_bundle, "AZURE_COMMUNICATION_ENDPOINT": emulator.endpoint.rstrip("/"),
           "AZURE_COMMUNICATION_CONNECTION_STRING": emulator.connection_string}
    issued = _az_process(["communication", "identity", "token", "issue", "--scope", "chat"], env)
    assert issued.returncode == 0, issued.stderr[-2000:]
    body = json.loads(issued.stdout)
    secrets.last_command, secrets.last_outputs = "token issue (process)", {"stderr": issued.stderr}
    secrets.add_token("process token", body["token"])
    assert "DEBUG: " in issued.stderr and "/identities" in issued.stderr, "--debug output was expected"

    env["AZURE_COMMUNICATION_ACCESS_TOKEN"] = body["token"]
    runs = {
        "thread list": ["communication", "chat", "thread", "list"],
        "404": ["communication", "chat", "thread", "show", "-t", UNKNOWN_THREAD],
        "validation": ["communication", "chat", "message", "send", "-t", UNKNOWN_THREAD, "--content", ""],
        "identity 404": ["communication", "identity", "user", "delete", "--user", UNKNOWN_USER, "--yes"],
    }
    with ThreadPoolExecutor(2) as pool:
        done = dict(zip(runs, pool.map(lambda a: _az_process(a, env), runs.values()), strict=True))
    assert [done[k].returncode for k in runs] == [0, 3, 2, 3]
    for name, proc in done.items():
        secrets.check(f"{name} (process)", {"stdout": proc.stdout, "stderr": proc.stderr})

    revoke = _az_process(["communication", "identity", "token", "revoke", "--user", body["user_id"], "--yes"], env)
    assert revoke.returncode == 0
    refused = _az_process(["communication", "chat", "thread", "list"], env)
    assert refused.returncode == 1 and "access token was refused" in refused.stderr
    secrets.check("401 (process)", {"stdout": refused.stdout, "stderr": refused.stderr, "revoke": revoke.stderr})


def test_redacting_filter_cleans_what_a_network_trace_would_print() -> None:
    """Should anything log a request or response (an SDK's network trace, a traceback), the extension's handler
    filter removes tokens, keys and signatures before a handler prints the record."""
    from azext_communication._errors import RedactingFilter

    token = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.c2lnbmF0dXJlc2lnbmF0dXJl"
    key = base64.b64encode(b"k" * 32).decode()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("azext_communication.test_trace")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug("Response content: %s", json.dumps({"accessToken": {"token": "opaque-non-jwt", "expiresOn": "x"}}))
        logger.debug("Response content: %s", json.dumps({"token": token}))
        logger.debug("    'Authorization': 'Bearer %s'", token)
        logger.debug("    'Authorization': 'HMAC-SHA256 SignedHeaders=x-ms-date;host&Signature=abcDEF123+/='")
        logger.debug("connection string endpoint=https://x/;accesskey=%s", key)
        try:
            raise ValueError(f"bad token {token}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    for secret in (token, "opaque-non-jwt", "abcDEF123", key):
        assert secret not in text, secret
    assert text.count("<redacted>") >= 6 and "Traceback" in text

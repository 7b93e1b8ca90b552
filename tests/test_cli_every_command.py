"""Every command of the extension, run at least once live against the emulator, through whichever azure-cli-core
this interpreter has: the whole suite runs it on the pinned core, and `make test-compat` (with the command table
checks) on azure-cli 2.60, or with COMPAT_CORE=2.57.0 on the oldest core the extension declares."""

from __future__ import annotations

import itertools
import json
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from cli_harness import CliResult, az_emulator_start, chat_user, load_command_table, run
from webhook_receiver import Receiver

pytestmark = pytest.mark.live


class Commands:
    """`run` that remembers which commands it ran successfully."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.ran: set[str] = set()

    def ok(self, *args: str, env: dict[str, str | None] | None = None) -> CliResult:
        result = run("communication", *args, env={**self.env, **(env or {})})
        assert result.exit_code == 0, result
        assert not result.error_lines, result
        assert "preview" not in result.stderr.lower(), result.stderr
        self.ran.add(" ".join(["communication", *itertools.takewhile(lambda a: not a.startswith("-"), args)]))
        return result


def _command_names() -> set[str]:
    loader = load_command_table().invocation.commands_loader
    return {name for name in loader.command_table if name.startswith("communication")}


def test_every_command_runs_live_against_the_emulator(emulator, tmp_path: Path) -> None:
    env, user = chat_user(emulator)
    cmd = Commands(env)
    cmd.ran.add("communication identity token issue")  # chat_user ran it

    # identity, under both group names
    for group in ("identity", "user-identity"):
        other = cmd.ok(group, "user", "create").result["rawId"]
        token = cmd.ok(group, "token", "issue", "--scope", "chat", "--user", other).result
        assert token["user_id"] == other and token["token"]
        teams = cmd.ok(group, "token", "get-for-teams-user", "--aad-token", "opaque-entra-token", "--client",
                       "00000000-0000-0000-0000-0000000000aa", "--aad-user", "00000000-0000-0000-0000-0000000000bb")
        assert teams.result["token"]
        cmd.ok(group, "token", "revoke", "--user", other, "--yes")
        cmd.ok(group, "user", "delete", "--user", other, "--yes")
    second = cmd.ok("identity", "user", "create").result["rawId"]

    # chat
    thread = cmd.ok("chat", "thread", "create", "--topic", "every command").result["chatThread"]["id"]
    assert thread in [t["id"] for t in cmd.ok("chat", "thread", "list").result]
    cmd.ok("chat", "thread", "update-topic", "-t", thread, "--topic", "first name")
    cmd.ok("chat", "thread", "update", "-t", thread, "--topic", "renamed")
    assert cmd.ok("chat", "thread", "show", "-t", thread).result["topic"] == "renamed"
    cmd.ok("chat", "participant", "add", "-t", thread, "--user", second)
    members = {p["identifier"]["rawId"] for p in cmd.ok("chat", "participant", "list", "-t", thread).result}
    assert members == {user, second}
    sent = cmd.ok("chat", "message", "send", "-t", thread, "--content", "hello").result["id"]
    assert cmd.ok("chat", "message", "get", "-t", thread, "--message-id", sent).result["content"]["message"] == "hello"
    cmd.ok("chat", "message", "update", "-t", thread, "--message-id", sent, "--content", "hello again")
    texts = [m["content"]["message"] for m in cmd.ok("chat", "message", "list", "-t", thread).result
             if m["type"] == "text"]
    assert texts == ["hello again"]
    found = cmd.ok("chat", "message", "wait", "-t", thread, "--contains", "again", "--start-time",
                   "2000-01-01T00:00:00Z", "--timeout", "30").result
    assert found["id"] == sent
    watched = cmd.ok("chat", "message", "watch", "-t", thread, "--start-time", "2000-01-01T00:00:00Z",
                     "--timeout", "1", "--interval", "0.5", "-o", "json")
    assert sent in watched.stdout
    cmd.ok("chat", "message", "receipt", "send", "-t", thread, "--message-id", sent)
    assert [r["chatMessageId"] for r in cmd.ok("chat", "message", "receipt", "list", "-t", thread).result] == [sent]
    cmd.ok("chat", "typing", "send", "-t", thread)
    cmd.ok("chat", "message", "delete", "-t", thread, "--message-id", sent, "--yes")
    cmd.ok("chat", "participant", "remove", "-t", thread, "--user", second, "--yes")
    cmd.ok("chat", "thread", "delete", "-t", thread, "--yes")

    # the emulator's own commands
    home = {"AZURE_COMMUNICATION_EMULATOR_HOME": str(tmp_path / "home")}
    with Receiver() as hook:
        started = _start_emulator_with_az(tmp_path, home)
        try:
            info, proc = started
            admin = {"AZURE_COMMUNICATION_CONNECTION_STRING": info["connectionString"],
                     "REQUESTS_CA_BUNDLE": info["caBundle"], **home}
            assert cmd.ok("emulator", "status", env=admin).result["emulators"][0]["pid"] == proc.pid
            cmd.ok("emulator", "subscription", "create", "--name", "every", "--endpoint", hook.url, env=admin)
            assert [s["name"] for s in cmd.ok("emulator", "subscription", "list", env=admin).result] == ["every"]
            assert cmd.ok("emulator", "subscription", "show", "--name", "every", env=admin).result["name"] == "every"
            cmd.ok("emulator", "subscription", "delete", "--name", "every", "--yes", env=admin)
        finally:
            _stop(started[1])
    cmd.ran.add("communication emulator start")
    user_home = {"HOME": str(tmp_path / "user"), **home}  # the CA that start made, into this user's browsers
    if shutil.which("certutil"):
        assert "Chromium/Chrome: added" in cmd.ok("emulator", "trust", env=user_home).stdout
        assert "Chromium/Chrome: removed" in cmd.ok("emulator", "trust", "--remove", env=user_home).stdout
    else:  # without NSS's tools the command prints what to run and exits 1
        result = run("communication", "emulator", "trust", env={**env, **user_home})
        assert result.exit_code == 1 and "certutil is not installed" in result.stderr, result
        cmd.ran.add("communication emulator trust")

    assert cmd.ran == _command_names()


def _start_emulator_with_az(tmp_path: Path, home: dict[str, str]) -> tuple[dict, subprocess.Popen]:
    """`az communication emulator start --port 0 --json` as its own az process (it runs until stopped)."""
    proc, line = az_emulator_start(tmp_path, env=home)
    if not line:
        _stop(proc)
        pytest.fail(f"az communication emulator start printed nothing: {proc.stderr.read()[-2000:]!r}")
    return json.loads(line), proc


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()

"""`message watch` / `message wait` through a real outage: the emulator process stopped and started again on the
same port, with its state kept (--data-dir) or lost (in memory)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import pytest
from cli_harness import CliResult, run
from emulator_process import EmulatorProcess, start_emulator

pytestmark = pytest.mark.live


def _issue(emu: EmulatorProcess) -> tuple[str, str]:
    from azure.communication.identity import CommunicationIdentityClient

    client = CommunicationIdentityClient.from_connection_string(emu.connection_string, connection_verify=emu.ca_bundle)
    user, token = client.create_user_and_token(["chat"])
    return user.raw_id, token.token


def _thread_client(emu: EmulatorProcess, token: str, thread_id: str | None = None) -> object:
    from azure.communication.chat import ChatClient, ChatThreadClient, CommunicationTokenCredential

    if thread_id is None:
        chat = ChatClient(emu.endpoint, CommunicationTokenCredential(token), connection_verify=emu.ca_bundle)
        thread_id = chat.create_chat_thread("outage").chat_thread.id
    return ChatThreadClient(emu.endpoint, CommunicationTokenCredential(token), thread_id,
                            connection_verify=emu.ca_bundle)


def _restart(emu: EmulatorProcess, home: Path, data_dir: Path | None) -> EmulatorProcess:
    """Stop the emulator and start it again on the same port (and home: same certificate and access key)."""
    port = urlparse(emu.endpoint).port
    emu.stop()
    time.sleep(1.5)  # the outage: the watch meets refused connections
    return start_emulator(data_dir=data_dir, port=port, env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(home)})


def _watch_during(emu: EmulatorProcess, token: str, thread_id: str, script: Callable[[], None],
                  *args: str) -> CliResult:
    errors: list[BaseException] = []

    def body() -> None:
        try:
            time.sleep(2.0)  # the watch has placed its start by then
            script()
        except BaseException as ex:  # reported below, not lost in the thread
            errors.append(ex)

    worker = threading.Thread(target=body, daemon=True)
    worker.start()
    result = run("communication", "chat", "message", *args, "-t", thread_id, "--interval", "0.5",
                 "--endpoint", emu.endpoint, "--access-token", token, env={"REQUESTS_CA_BUNDLE": emu.ca_bundle})
    worker.join(60)
    assert not errors, errors
    return result


def _warnings(result: CliResult) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("WARNING") and "preview" not in line]


def test_a_restart_with_data_dir_is_one_line_away_one_line_back_and_loses_nothing(tmp_path: Path):
    home, data = tmp_path / "home", tmp_path / "data"
    emu = start_emulator(data_dir=data, env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(home)})
    box = {"emu": emu}
    try:
        _, token = _issue(emu)
        owner = _thread_client(emu, token)
        sent: list[str] = []

        def restart_then_send() -> None:
            sent.append(owner.send_message("before").id)
            box["emu"] = _restart(emu, home, data)
            sent.append(_thread_client(box["emu"], token, owner.thread_id).send_message("after").id)

        t0 = time.monotonic()
        result = _watch_during(emu, token, owner.thread_id, restart_then_send, "watch", "--timeout", "16")
        assert result.exit_code == 0 and not result.error_lines, result
        assert [line.split('"id":"')[1].split('"')[0] for line in result.stdout.splitlines()] == sent
        warnings = _warnings(result)
        assert len(warnings) == 2, warnings
        assert "is not answering (connection refused)" in warnings[0] and "nothing is lost" in warnings[0]
        assert "is back after" in warnings[1]
        assert time.monotonic() - t0 < 30
    finally:
        box["emu"].stop()


def test_a_restart_without_data_dir_says_the_endpoint_no_longer_knows_the_token(tmp_path: Path):
    home = tmp_path / "home"
    emu = start_emulator(env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(home)})
    box = {"emu": emu}
    try:
        _, token = _issue(emu)
        owner = _thread_client(emu, token)

        def restart() -> None:
            box["emu"] = _restart(emu, home, None)

        result = _watch_during(emu, token, owner.thread_id, restart, "wait", "--timeout", "30")
        assert result.exit_code == 1, result
        [error] = result.error_lines
        assert "The access token was refused" in error and "signature is invalid" in error, error
        assert "Likely cause: this endpoint does not know the token" in error
        assert "restarted without --data-dir" in error
        assert len(_warnings(result)) == 1 and "is not answering" in _warnings(result)[0], result.stderr
    finally:
        box["emu"].stop()

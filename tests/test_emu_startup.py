"""What the emulator tells a new user: paste-ready start-up lines, one line when it cannot start, a log line per
request, and a record that `az communication emulator status` reads."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from azext_communication.emulator import instances
from azext_communication.emulator.cli import build_parser, check_port, main, run_emulator

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("value", ["99999", "-1", "65536", "abc", "8443.5", ""])
def test_a_port_out_of_range_is_one_line_and_exit_2(value: str, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AZURE_COMMUNICATION_EMULATOR_HOME", str(tmp_path))
    with pytest.raises(ValueError, match="expected an integer from 0 to 65535"):
        check_port(value)
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["--port", value])
    assert exc.value.code == 2
    capsys.readouterr()
    if value.lstrip("-").isdigit():  # what reaches run_emulator from other callers (bind raised OverflowError)
        assert run_emulator(port=int(value)) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: invalid port") and "Traceback" not in err


def test_a_port_in_use_is_one_line_and_exit_1(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AZURE_COMMUNICATION_EMULATOR_HOME", str(tmp_path))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--port", str(port)]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [f"error: could not start the emulator: 127.0.0.1:{port} is already in use (another emulator? "
                     "'az communication emulator status' says; --port 0 picks a free port)"], err
    assert not list((tmp_path / instances.RUNNING_DIR).glob("*.json"))


def _start(home: Path, *extra: str) -> tuple[subprocess.Popen, list[str]]:
    """A real emulator process without --json; returns it and its start-up text (up to 'Press Ctrl+C')."""
    env = dict(os.environ, AZURE_COMMUNICATION_EMULATOR_HOME=str(home),
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with open(home / "stderr.log", "w") as stderr:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "-m", "azext_communication.emulator", "--port", "0", *extra],
                                stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(line.rstrip("\n") for line in proc.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and not (
            lines and ("Press Ctrl+C" in lines[-1] or lines[0].startswith("{"))):
        time.sleep(0.05)
    return proc, list(lines)


def test_start_up_text_is_paste_ready_and_each_request_is_logged(tmp_path) -> None:
    proc, lines = _start(tmp_path)
    try:
        exports = [line.strip() for line in lines if line.strip().startswith("export ")]
        assert [e.split("=", 1)[0] for e in exports] == [
            "export AZURE_COMMUNICATION_ENDPOINT", "export AZURE_COMMUNICATION_CONNECTION_STRING",
            "export REQUESTS_CA_BUNDLE", "export AZURE_COMMUNICATION_ACCESS_TOKEN"], lines
        # pasted into a shell, the first three give exactly what the emulator recorded for `status`
        shell = "\n".join(exports[:3]) + '\nprintf "%s\\n" "$AZURE_COMMUNICATION_ENDPOINT" ' \
            '"$AZURE_COMMUNICATION_CONNECTION_STRING" "$REQUESTS_CA_BUNDLE"'
        pasted = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, check=True).stdout.split("\n")
        [record] = instances.running(tmp_path)
        assert pasted[:3] == [record["endpoint"], record["connectionString"], record["caBundle"]]
        assert record["pid"] == proc.pid and "az communication identity token issue --scope chat" in exports[3]
        import ssl
        import urllib.request

        context = ssl.create_default_context(cafile=record["caBundle"])
        with pytest.raises(urllib.error.HTTPError):  # unsigned: 401, logged like any other request
            urllib.request.urlopen(record["endpoint"] + "/chat/threads?api-version=2024-03-07", context=context)
        deadline = time.monotonic() + 10
        while "GET /chat/threads 401 " not in (tmp_path / "stderr.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        log = (tmp_path / "stderr.log").read_text()
        assert " INFO GET /chat/threads 401 " in log and " ms" in log and "api-version" not in log, log
    finally:
        proc.terminate()
        proc.wait(15)
    assert instances.running(tmp_path) == [] and not list((tmp_path / instances.RUNNING_DIR).glob("*.json"))


def test_a_record_left_by_a_killed_emulator_is_not_reported(tmp_path) -> None:
    proc, _ = _start(tmp_path, "--json")
    try:
        assert [r["pid"] for r in instances.running(tmp_path)] == [proc.pid]
    finally:
        proc.kill()
        proc.wait(15)
    assert list((tmp_path / instances.RUNNING_DIR).glob("*.json"))  # kill -9 left it behind
    assert instances.running(tmp_path) == []
    assert not list((tmp_path / instances.RUNNING_DIR).glob("*.json"))  # and it was cleaned up


def test_json_start_up_stays_one_line(tmp_path) -> None:
    proc, lines = _start(tmp_path, "--json")
    try:
        time.sleep(0.5)
        assert len(lines) == 1 and set(json.loads(lines[0])) == {"endpoint", "connectionString", "caBundle",
                                                                 "inspectorUrl"}
    finally:
        proc.terminate()
        proc.wait(15)

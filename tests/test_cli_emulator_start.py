"""`az communication emulator start` takes the options of `python -m azext_communication.emulator` that tune the
server (`--log-level`, `--request-timeout`, `--idle-timeout`), refuses bad values in one line (exit 2) naming the
value as typed, and `--log-level WARNING` really leaves the request log out."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest
import requests
from cli_harness import az_emulator_start, prepare, run


def _one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1, result
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("args, message", [
    (["--log-level", "LOUD"], "ERROR: --log-level 'LOUD' is not allowed; allowed values: DEBUG, INFO, WARNING, ERROR."),
    (["--request-timeout", "0"], "ERROR: --request-timeout: invalid duration '0': expected seconds greater than 0 and "
                                 "at most 86400"),
    (["--idle-timeout", "2m"], "ERROR: --idle-timeout: invalid duration '2m': expected seconds greater than 0 and at "
                               "most 86400"),
    (["--idle-timeout", "nan"], "ERROR: --idle-timeout: invalid duration 'nan': expected seconds greater than 0 and "
                                "at most 86400"),
    (["--retention-day-seconds", "0"], "ERROR: Invalid --retention-day-seconds '0': expected seconds greater than 0 "
                                       "and at most 31536000 (default 86400)"),
    (["--retention-day-seconds", "1e9"], "ERROR: Invalid --retention-day-seconds '1e9': expected seconds greater "
                                         "than 0 and at most 31536000 (default 86400)"),
    (["--event-retry-scale", "-1"], "ERROR: --event-retry-scale: invalid factor '-1': expected a number greater than 0 "
                                    "and at most 1000"),
])
def test_bad_values_are_one_line_naming_the_value_as_typed(tmp_path, args: list[str], message: str) -> None:
    result = run("communication", "emulator", "start", "--port", "0", *args,
                 env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(tmp_path)})
    assert _one_error_line(result) == message


def test_the_options_reach_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    from azext_communication.emulator import cli

    seen: dict = {}
    monkeypatch.setattr(cli, "run_emulator", lambda **kwargs: seen.update(kwargs) or 0)
    result = run("communication", "emulator", "start", "--port", "0", "--log-level", "warning",
                 "--request-timeout", "2.5", "--idle-timeout", "7", "--retention-day-seconds", "0.5")
    assert result.exit_code == 0, result
    assert (seen["log_level"], seen["request_timeout"], seen["idle_timeout"], seen["retention_day_seconds"]) == (
        "WARNING", 2.5, 7.0, 0.5)
    seen.clear()
    assert run("communication", "emulator", "start", "--port", "0").exit_code == 0
    assert "log_level" not in seen and "request_timeout" not in seen and "idle_timeout" not in seen  # defaults


def _az_start(tmp_path, *extra: str) -> tuple[dict, subprocess.Popen]:
    prepare()
    tmp_path.mkdir()
    proc, line = az_emulator_start(tmp_path, *extra, env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(tmp_path)})
    if not line:
        proc.kill()
        pytest.fail(f"az communication emulator start printed nothing: {proc.communicate(timeout=10)[1][-2000:]!r}")
    return json.loads(line), proc


def _request_then_stop(info: dict, proc: subprocess.Popen) -> str:
    """One request the emulator logs at INFO, then SIGTERM; returns what it wrote on stderr."""
    try:
        session = requests.Session()
        session.trust_env = False
        answer = session.get(info["endpoint"].rstrip("/") + "/chat/threads?api-version=2024-03-07",
                             verify=info["caBundle"], timeout=30)
        assert answer.status_code == 401  # no token: refused, and logged like any request
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return err.decode(errors="replace")


@pytest.mark.live
def test_log_level_warning_under_az_leaves_the_request_log_out(tmp_path) -> None:
    info, proc = _az_start(tmp_path / "quiet", "--log-level", "WARNING", "--request-timeout", "5", "--idle-timeout",
                           "5")
    quiet = _request_then_stop(info, proc)
    assert "GET /chat/threads" not in quiet and " INFO " not in quiet, quiet
    info, proc = _az_start(tmp_path / "default")
    logged = _request_then_stop(info, proc)
    assert "INFO GET /chat/threads 401" in logged, logged  # the same request is logged at the default level

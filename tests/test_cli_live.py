"""Checks that only make sense against a real emulator process: TLS trust and `az communication emulator start`."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest
from cli_harness import az_emulator_start, run
from cli_recording import PLACEHOLDER_TOKEN

pytestmark = pytest.mark.live


def test_untrusted_certificate_says_how_to_trust_the_emulator(emulator):
    """Without REQUESTS_CA_BUNDLE the emulator's certificate is refused (verification stays on)."""
    endpoint = emulator.endpoint.rstrip("/")
    result = run("communication", "chat", "thread", "list", "--endpoint", endpoint, "--access-token",
                 PLACEHOLDER_TOKEN, env={"REQUESTS_CA_BUNDLE": None, "CURL_CA_BUNDLE": None})
    assert result.exit_code == 1, result
    assert len(result.error_lines) == 1, result
    line = result.error_lines[0]
    assert f"TLS verification failed for {endpoint}" in line
    assert "export REQUESTS_CA_BUNDLE=" in line and "az communication emulator start" in line
    assert "Traceback" not in result.stderr


def test_identity_over_untrusted_certificate_also_fails_cleanly(emulator):
    result = run("communication", "identity", "user", "create", "--connection-string", emulator.connection_string,
                 env={"REQUESTS_CA_BUNDLE": None, "CURL_CA_BUNDLE": None})
    assert result.exit_code == 1, result
    assert "TLS verification failed for https://127.0.0.1:" in result.error_lines[0]
    assert emulator.access_key not in result.stderr


@pytest.mark.slow
def test_az_communication_emulator_start_runs_the_emulator(tmp_path):
    """`az communication emulator start --port 0 --json` (a real az process) prints the JSON line, serves
    requests, and stops cleanly on SIGTERM."""
    proc, line = az_emulator_start(tmp_path, "--data-dir", str(tmp_path / "data"),
                                   env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(tmp_path / "home")})
    try:
        assert line, proc.stderr.read1(4000) if proc.poll() is not None else "no output"
        info = json.loads(line)
        assert info["endpoint"].startswith("https://127.0.0.1:")
        assert (tmp_path / "data").is_dir()
        created = run("communication", "identity", "user", "create", "--connection-string", info["connectionString"],
                      env={"REQUESTS_CA_BUNDLE": info["caBundle"]})
        assert created.exit_code == 0, created
        assert created.result["rawId"].startswith("8:acs:")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
            raise
        finally:
            proc.stdout.close()
            proc.stderr.close()
    assert code == 0


@pytest.mark.slow
def test_throttling_and_unavailability_are_retried_then_reported(tmp_path):
    """503 and 429 (with Retry-After) are retried by the SDK (4 attempts); then the service's message, one line."""
    from cli_recording import open_target
    from emulator_process import running_emulator

    with running_emulator("--fault", "503:4:1", "--fault", "429:4:1",
                          env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(tmp_path / "home")}) as emu, \
            open_target("live", "faults", emu, tmp_path) as target:
        unavailable = target.identity("user", "create")
        assert unavailable.exit_code == 1, unavailable
        assert len(target.request_log()) == 4
        assert len(unavailable.error_lines) == 1 and "503" in unavailable.error_lines[0]
        assert type(unavailable.error).__name__ == "AzureInternalError"

        throttled = target.identity("user", "create")
        assert throttled.exit_code == 1, throttled
        assert len(target.request_log()) == 8
        assert "429" in throttled.error_lines[0] and "throttling" in throttled.error_lines[0]

        assert target.identity("user", "create").exit_code == 0

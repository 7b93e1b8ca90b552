"""Argument parsing of the emulator command line (the process itself is covered by test_emu_process)."""

from __future__ import annotations

import pytest

from azext_communication.emulator.cli import build_parser, main, parse_fault, run_emulator


def test_defaults() -> None:
    args = build_parser().parse_args([])
    assert (args.host, args.port, args.data_dir, args.access_key, args.throttle, args.json_output, args.fault) == (
        "127.0.0.1", 8443, None, None, False, False, None)
    args = build_parser().parse_args(["--port", "0", "--json", "--throttle", "--fault", "429:2", "--fault",
                                      "stall:1:0.5", "--data-dir", "/tmp/x", "--access-key", "QUJD"])
    assert args.port == 0 and args.json_output and args.throttle and args.fault == ["429:2", "stall:1:0.5"]


@pytest.mark.parametrize(("spec", "expected"), [
    ("429:3", {"mode": "429", "count": 3}),
    ("503:1:4", {"mode": "503", "count": 1, "retryAfter": 4}),
    ("close:2", {"mode": "close", "count": 2}),
    ("stall:1:2.5", {"mode": "stall", "count": 1, "stallSeconds": 2.5}),
])
def test_parse_fault(spec: str, expected: dict) -> None:
    assert parse_fault(spec) == expected


@pytest.mark.parametrize("spec", ["429", "boom:1", "429:x", "429:0", "stall:1:x", "429:1:2:3"])
def test_parse_fault_rejects(spec: str) -> None:
    with pytest.raises(ValueError, match="invalid fault"):
        parse_fault(spec)
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["--fault", spec])
    assert exc.value.code == 2


def test_bad_access_key_is_a_usage_error(tmp_path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("AZURE_COMMUNICATION_EMULATOR_HOME", str(tmp_path))
    assert run_emulator(port=0, access_key="not base64!") == 2
    assert main(["--port", "0", "--access-key", "%%%"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and "base64" in out.err


def test_timeout_options() -> None:
    args = build_parser().parse_args([])
    assert (args.request_timeout, args.idle_timeout) == (30.0, 120.0)
    args = build_parser().parse_args(["--request-timeout", "1.5", "--idle-timeout", "3"])
    assert (args.request_timeout, args.idle_timeout) == (1.5, 3.0)
    for bad in ("0", "-1", "x", "nan", "1e9"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["--request-timeout", bad])


def test_an_in_process_run_leaves_the_logger_as_it_found_it(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`az communication emulator start` runs the emulator in az's process (and tests in theirs): once it returns,
    the request log must be off again, or every later in-process emulator writes its INFO lines to stderr."""
    import logging

    monkeypatch.setenv("AZURE_COMMUNICATION_EMULATOR_HOME", str(tmp_path))
    log = logging.getLogger("azext_communication.emulator")
    before = (list(log.handlers), log.level, log.propagate)
    assert run_emulator(port=0, access_key="not base64!", report=lambda _: None) == 2
    assert main(["--port", "0", "--access-key", "%%%", "--log-level", "DEBUG"]) == 2
    assert (list(log.handlers), log.level, log.propagate) == before


def test_event_and_retention_options_of_api_version_2025() -> None:
    args = build_parser().parse_args([])
    assert (args.events_typing, args.events_sequence_id, args.retention_day_seconds) == (False, True, 86400.0)
    args = build_parser().parse_args(["--events-typing", "--events-no-sequence-id", "--retention-day-seconds", "1"])
    assert (args.events_typing, args.events_sequence_id, args.retention_day_seconds) == (True, False, 1.0)

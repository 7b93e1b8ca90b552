"""`--cors-origin` on every way to start the emulator: its own command line, `az communication emulator start`,
and `azext_communication.testing.local_emulator()`; patterns and matching of `realtime/cors.py`."""

from __future__ import annotations

import pytest

from azext_communication.emulator.cli import build_parser, run_emulator
from azext_communication.emulator.realtime import DEFAULT_ORIGINS, CorsPolicy, check_origin_pattern

BAD = ["ftp://x", "http://localhost/path", "localhost:3000", "http://host:99999", "http://host:0", ""]


def test_the_default_allows_any_port_of_localhost_and_127_0_0_1_only() -> None:
    assert build_parser().parse_args([]).cors_origins is None
    policy = CorsPolicy(DEFAULT_ORIGINS)
    for origin in ("http://localhost:3000", "https://localhost:8443", "http://127.0.0.1:5173", "http://localhost"):
        assert policy.allows(origin), origin
    for origin in ("http://example.org:3000", "http://localhost.evil.org:3000", "null", "", "file://", None):
        assert not policy.allows(origin), origin


def test_explicit_origins_replace_the_default() -> None:
    args = build_parser().parse_args(["--cors-origin", "http://app.test:8080", "https://*.bad:*"][:2])
    assert args.cors_origins == ["http://app.test:8080"]
    policy = CorsPolicy(args.cors_origins)
    assert policy.allows("http://app.test:8080") and policy.allows("HTTP://APP.TEST:8080")
    assert not policy.allows("http://app.test:8081") and not policy.allows("http://localhost:3000")
    assert CorsPolicy(["*"]).allows("https://anything.example")


@pytest.mark.parametrize("value", BAD)
def test_a_bad_origin_is_a_one_line_usage_error(value: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(ValueError, match="^invalid origin"):
        check_origin_pattern(value)
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["--cors-origin", value])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith("(e.g. http://localhost:*), or * for any origin")


def test_run_emulator_reports_a_bad_origin_as_usage(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_COMMUNICATION_EMULATOR_HOME", str(tmp_path))
    problems: list[str] = []
    assert run_emulator(port=0, cors_origins=["ftp://x"], report=problems.append) == 2
    assert len(problems) == 1 and problems[0].startswith("invalid origin 'ftp://x'")


def test_local_emulator_takes_cors_origins() -> None:
    from azext_communication.testing import local_emulator

    with local_emulator(cors_origins=["http://app.test:8080"]) as emu:
        assert emu.server.realtime.cors.allows("http://app.test:8080")
        assert not emu.server.realtime.cors.allows("http://localhost:3000")
    with pytest.raises(ValueError, match="invalid origin"), local_emulator(cors_origins=["nope"]):
        pass


def test_az_emulator_start_refuses_a_bad_origin_in_one_line(tmp_path) -> None:
    from cli_harness import run

    result = run("communication", "emulator", "start", "--port", "0", "--cors-origin", "http://localhost:3000",
                 "ftp://x", env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(tmp_path)})
    assert result.exit_code == 2, result
    lines = [line for line in result.stderr.splitlines() if line.strip() and "is in preview" not in line]
    assert len(lines) == 1 and lines[0].startswith("ERROR: --cors-origin: invalid origin 'ftp://x'"), result.stderr


def test_az_emulator_start_hands_the_origins_to_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    from azext_communication import custom_emulator
    from azext_communication.emulator import cli

    seen: dict = {}
    monkeypatch.setattr(cli, "run_emulator", lambda **kwargs: seen.update(kwargs) or 0)
    custom_emulator.start_emulator(port=0, cors_origins=["http://localhost:3000", "https://app.test:*"])
    assert seen["cors_origins"] == ["http://localhost:3000", "https://app.test:*"]
    seen.clear()
    custom_emulator.start_emulator(port=0)
    assert "cors_origins" not in seen  # the emulator's default applies

"""Shared fixtures. Kept light: the emulator tests load this file too, so nothing here imports azure.cli at
import time, and no emulator starts unless a test asks for the `emulator` fixture."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

RECORD_SWITCH = "AZEXT_COMMUNICATION_RECORD"


def recording_requested() -> bool:
    """AZEXT_COMMUNICATION_RECORD=1 re-records the cassettes against a freshly started emulator."""
    return os.environ.get(RECORD_SWITCH, "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def emulator() -> Iterator[Any]:
    """One emulator for the whole session, on a free port, with its own home folder; always stopped."""
    from emulator_process import start_emulator

    with tempfile.TemporaryDirectory(prefix="azext-communication-emu-") as home:
        emu = start_emulator(env={"AZURE_COMMUNICATION_EMULATOR_HOME": home})
        try:
            yield emu
        finally:
            emu.stop()


@pytest.fixture(scope="session")
def az_ready() -> None:
    """The checkout's egg-info (made if missing) and a first CLI object created without network, before any
    cassette is active (the first CLI object per config folder sends a version check)."""
    from cli_harness import prepare

    prepare()


@pytest.fixture(params=["playback", "live"])
def target(request: pytest.FixtureRequest, tmp_path: Path, az_ready: None) -> Iterator[Any]:
    """Where a scenario runs: its recorded cassette (playback; re-recorded when asked) or the live emulator.

    Both go through the same scrubbing, so a scenario asserts the same things in both modes.
    """
    from cli_recording import open_target

    mode = request.param
    if mode == "playback" and recording_requested():
        mode = "record"
    emu = request.getfixturevalue("emulator") if mode in ("live", "record") else None
    name = request.node.originalname
    with open_target(mode, name, emu, tmp_path) as tgt:
        yield tgt

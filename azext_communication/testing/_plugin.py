"""pytest fixtures around `local_emulator` (registered by `-p azext_communication.testing` or the entry point)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ._emulator import LocalEmulator, local_emulator

MARKER = "acs_emulator"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(**options): options for the acs_emulator fixture, e.g. throttle=True")


@pytest.fixture(scope="session")
def acs_emulator_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Certificates and access key shared by the session's emulators (generated once, not per test)."""
    return tmp_path_factory.mktemp("acs-emulator-home")


@pytest.fixture
def acs_emulator(request: pytest.FixtureRequest, acs_emulator_home: Path) -> Iterator[LocalEmulator]:
    """A fresh emulator for this test on a free port, stopped after it (pass or fail, Ctrl-C included).

    Options come from `@pytest.mark.acs_emulator(...)` (the keyword arguments of `local_emulator`).
    """
    marker = request.node.get_closest_marker(MARKER)
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    options.setdefault("home", acs_emulator_home)
    with local_emulator(**options) as emu:
        yield emu


@pytest.fixture
def acs_emulator_factory(acs_emulator_home: Path) -> Iterator[Callable[..., LocalEmulator]]:
    """Start emulators with options inside a test (`acs_emulator_factory(throttle=True)`); all stopped after it."""
    with contextlib.ExitStack() as stack:

        def start(**options: Any) -> LocalEmulator:
            options.setdefault("home", acs_emulator_home)
            return stack.enter_context(local_emulator(**options))

        yield start

"""Test helpers for code built on Communication Services chat: a local emulator per test.

Outside pytest::

    from azext_communication.testing import local_emulator

    with local_emulator() as emu:             # free port; stopped when the block ends, even on Ctrl-C
        bot = emu.issue_token()                # a new user and its chat token
        client = emu.chat_client(bot)          # ChatClient that trusts the emulator's CA

In pytest, enable the plugin with `-p azext_communication.testing` (or `pytest_plugins =
["azext_communication.testing"]` in the top conftest; a pip-installed wheel registers it through the `pytest11`
entry point) and ask for the
`acs_emulator` fixture (options with `@pytest.mark.acs_emulator(throttle=True)`) or `acs_emulator_factory`.
Nothing here imports azure-cli: a test suite needs only this package and the Communication SDKs.
"""

from __future__ import annotations

from ._emulator import EmulatorRequestError, IssuedToken, LocalEmulator, local_emulator

__all__ = ["EmulatorRequestError", "IssuedToken", "LocalEmulator", "local_emulator"]

try:
    import pytest  # noqa: F401  (the fixtures exist only where pytest does)
except ImportError:  # pragma: no cover - exercised by installs without pytest
    pass
else:
    from ._plugin import acs_emulator, acs_emulator_factory, acs_emulator_home, pytest_configure  # noqa: F401

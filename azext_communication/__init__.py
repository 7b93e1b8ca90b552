"""Azure CLI extension `communication`: Communication Services chat and identity data plane, and a local emulator.

Core imports this package and instantiates COMMAND_LOADER_CLS. The loader (and with it azure-cli) is imported only
when core asks for it, so the emulator (`azext_communication.emulator`) and the test helpers
(`azext_communication.testing`) work in environments without azure-cli.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("COMMAND_LOADER_CLS", "CommunicationCommandsLoader"):
        from azext_communication._loader import CommunicationCommandsLoader

        return CommunicationCommandsLoader
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

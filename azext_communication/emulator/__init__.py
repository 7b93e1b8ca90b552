"""Local emulator of the Azure Communication Services Chat and Identity data planes.

Self-contained: it never imports the CLI side of the extension, azure.cli or knack. Heavy modules are
loaded lazily so importing the package stays cheap.
"""

from __future__ import annotations

__all__ = ["EmulatorServer", "run_emulator"]


def __getattr__(name: str) -> object:
    if name == "EmulatorServer":
        from .server import EmulatorServer

        return EmulatorServer
    if name == "run_emulator":
        from .cli import run_emulator

        return run_emulator
    raise AttributeError(name)

"""How the emulator reaches its `Deliverer`: in this process (tests) or in a child process (the emulator)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import struct
import subprocess
import sys
import threading

from .deliverer import Deliverer
from .journal import Journal

log = logging.getLogger("azext_communication.emulator")


class LocalLink:
    """The deliverer in this process: commands are calls, the status is read live."""

    def __init__(self, **settings: object) -> None:
        self.deliverer = Deliverer(**settings)  # type: ignore[arg-type]
        self.journal = self.deliverer.journal

    def send(self, msg: dict) -> None:
        self.deliverer.handle(msg)

    def status(self) -> dict:
        return self.deliverer.status()

    def close(self) -> None:
        self.deliverer.stop()


def frame(msg: dict) -> bytes:
    """One command for the child: 4-byte length, then a pickle (cheaper than JSON for the parent, whose CPU the
    chat API shares; both ends are this package, so nothing foreign is ever unpickled)."""
    data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
    return struct.pack("<I", len(data)) + data


class ProcessLink:
    """The deliverer in a child process (its own GIL): framed commands on its stdin, JSON status lines on its
    stdout; the child exits when stdin closes, so it never outlives the emulator, even after kill -9."""

    def __init__(self, topic: str, folder: str | None, scale: float = 1.0, include_actor: bool = False,
                 capacity: int | None = None) -> None:
        settings = {"topic": topic, "folder": folder, "scale": scale, "includeActor": include_actor,
                    "logLevel": logging.getLevelName(log.getEffectiveLevel())}
        if capacity is not None:
            settings["capacity"] = capacity
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
        env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "azext_communication.emulator.events", json.dumps(settings)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self._status: dict = {}
        self.journal = Journal()  # a mirror of the delivery process's
        self._write = threading.Lock()
        self._reader = threading.Thread(target=self._read, name="acs-events-link", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
                self._status = msg["status"]
                self.journal.extend(msg.get("journal") or [])
            except (ValueError, KeyError, TypeError):
                continue
        if self.proc.poll() not in (0, None):
            log.error("the event delivery process stopped (exit code %s): chat events are no longer delivered",
                      self.proc.returncode)

    def send(self, msg: dict) -> None:
        data = frame(msg)
        with self._write:
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except (OSError, ValueError):
                log.error("the event delivery process is gone: chat events are no longer delivered")

    def status(self) -> dict:
        return self._status

    def close(self) -> None:
        if self.proc.poll() is None:
            self.send({"op": "stop"})
        with self._write, contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._reader.join(2)

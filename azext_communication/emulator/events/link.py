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
import time
from collections import deque

from .deliverer import Deliverer
from .journal import Journal

log = logging.getLogger("azext_communication.emulator")

RESTART_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)  # seconds before restart n of the delivery process
STABLE_SECONDS = 60.0  # a child that ran this long restarts quickly again
REPLAY_LIMIT = 100_000  # facts kept for a restart


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
    stdout; the child exits when stdin closes, so it never outlives the emulator, even after kill -9.

    Supervised: when the child dies (killed, crashed), it is started again after a back-off (`RESTART_DELAYS`),
    one line on stderr says so, and it gets the subscriptions back (each from the progress it last reported) and
    every fact not yet handled by all of them (kept here, at most `REPLAY_LIMIT`): events are delivered at least
    once across the restart.
    """

    def __init__(self, topic: str, folder: str | None, scale: float = 1.0, include_actor: bool = False,
                 capacity: int | None = None) -> None:
        self.settings = {"topic": topic, "folder": folder, "scale": scale, "includeActor": include_actor,
                         "logLevel": logging.getLevelName(log.getEffectiveLevel())}
        if capacity is not None:
            self.settings["capacity"] = capacity
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
        self._env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self._status: dict = {}
        self.journal = Journal()  # a mirror of the delivery process's
        self._journal_base = 0  # added to a restarted process's sequence numbers, which begin at 1 again
        self._write = threading.Lock()  # the child's stdin, `proc`, `_subs` and the tail of `_facts`
        self._subs: dict[str, dict] = {}  # lower-cased name -> its `add` command
        self._facts: deque[dict] = deque()  # facts sent and not yet handled by every subscription, by seq
        self._dropped = 0
        self._closing = threading.Event()
        self.restarts = 0
        with self._write:
            self.proc = self._spawn()
        self._reader = threading.Thread(target=self._supervise, name="acs-events-link", daemon=True)
        self._reader.start()

    def _spawn(self) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "azext_communication.emulator.events", json.dumps(self.settings)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=self._env)

    # ------------------------------------------------------------------ supervision
    def _supervise(self) -> None:
        proc: subprocess.Popen | None = self.proc
        code, failures = 0, 0
        while True:
            started = time.monotonic()
            if proc is not None:
                self._read(proc)
                code = proc.wait()
                with contextlib.suppress(OSError):
                    proc.stdout.close()
            if self._closing.is_set():
                return
            if time.monotonic() - started > STABLE_SECONDS:
                failures = 0  # it had run well: the next restart is quick again
            delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)]
            failures += 1
            if self._closing.wait(delay):
                return
            proc = self._restart(code, delay)
            if proc is None and self._closing.is_set():
                return

    def _restart(self, code: int, delay: float) -> subprocess.Popen | None:
        """A new child with every subscription and every fact not yet handled (None: closing, or it failed)."""
        with self._write:
            if self._closing.is_set():
                return None
            with contextlib.suppress(OSError):
                self.proc.stdin.close()  # the dead child's pipe
            try:
                self.proc = self._spawn()
            except OSError as exc:
                log.error("the event delivery process could not be started again: %s", exc)
                return None
            self.restarts += 1
            self._journal_base = self.journal.seq
            for key, add in self._subs.items():
                st = self._status.get(key)
                if st:  # resume from the progress the dead child reported last
                    add = {**add, "from": max(add["from"], st["doneBelow"] - 1),
                           "counts": {k: st[k] for k in ("delivered", "failed", "deadLettered")}}
                    self._subs[key] = add
                self._put(add)
            facts = list(self._facts)
            if facts:
                self._put({"op": "facts", "facts": facts})
            proc = self.proc
        how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        log.warning("the event delivery process stopped (%s); restarted it after %.1f s with %d undelivered "
                    "fact(s) (restart %d)", how, delay, len(facts), self.restarts)
        return proc

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            try:
                msg = json.loads(line)
                self._status = msg["status"]
                self.journal.extend(renumber(msg.get("journal") or [], self._journal_base, self.restarts))
            except (ValueError, KeyError, TypeError):
                continue
            self._forget_handled()

    def _forget_handled(self) -> None:
        """Drop the facts every subscription has handled (only this thread takes from the left)."""
        status = self._status
        floors = [status[key]["doneBelow"] if key in status else add["from"] + 1
                  for key, add in list(self._subs.items())]
        floor = min(floors, default=None)
        while self._facts and (floor is None or self._facts[0]["seq"] < floor):
            self._facts.popleft()

    # ------------------------------------------------------------------ commands
    def _put(self, msg: dict) -> None:
        try:
            self.proc.stdin.write(frame(msg))
            self.proc.stdin.flush()
        except (OSError, ValueError):
            pass  # the child is gone: the supervisor starts a new one and sends it what it needs again

    def send(self, msg: dict) -> None:
        with self._write:
            op = msg["op"]
            if op == "facts":
                self._facts.extend(msg["facts"])
                if len(self._facts) > REPLAY_LIMIT:
                    for _ in range(len(self._facts) - REPLAY_LIMIT):
                        self._facts.popleft()
                        self._dropped += 1
                    if self._dropped == 1 or self._dropped % REPLAY_LIMIT == 0:
                        log.warning("%d undelivered chat event fact(s) will not be delivered again if the event "
                                    "delivery process dies (more than %d wait)", self._dropped, REPLAY_LIMIT)
            elif op == "add":
                self._subs[parse_name(msg)] = msg
            elif op == "remove":
                self._subs.pop(msg["name"].lower(), None)
            elif op == "redeliver":
                dl_id = child_dead_letter_id(msg["id"], self.restarts)
                if dl_id is None:
                    log.warning("dead letter %s can no longer be redelivered: the event delivery process that kept "
                                "its event was restarted", msg["id"])
                    return
                msg = {**msg, "id": dl_id}
            self._put(msg)

    def status(self) -> dict:
        return self._status

    def close(self) -> None:
        self._closing.set()
        with self._write:
            proc = self.proc
            if proc.poll() is None:
                self._put({"op": "stop"})
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        self._reader.join(2)


def renumber(records: list[dict], base: int, generation: int) -> list[dict]:
    """Journal records of the `generation`-th restarted delivery process as the mirror numbers them: sequence
    numbers go on from `base` (a new process counts from 1 again) and dead-letter ids get `.r<generation>`, so
    that an id of the dead process never names an event of the new one."""
    for r in records:
        r["seq"] = int(r.get("seq", 0)) + base
        if generation and r.get("kind") == "deadLetter" and "id" in r:
            r["id"] = f"{r['id']}.r{generation}"
    return records


def child_dead_letter_id(dl_id: str, generation: int) -> str | None:
    """The id the current delivery process knows a mirrored dead letter by; None when an earlier process (gone
    with its events) wrote it."""
    suffix = f".r{generation}" if generation else ""
    if generation and not dl_id.endswith(suffix):
        return None
    if not generation and ".r" in dl_id:
        return None
    return dl_id[:-len(suffix)] if suffix else dl_id


def parse_name(add: dict) -> str:
    """The lower-cased subscription name of an `add` command (the key the deliverer's status uses)."""
    return str(add["sub"]["name"]).lower()

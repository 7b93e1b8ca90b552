"""What makes the web page live: version counters per topic that a long poll waits on, who is typing, and the
ring of recent request lines.

The model calls `Live.observe` with each `Change` (inside its lock: it only counts and notes); the request reader
calls `RequestLog.add` after each answer. A page waiting in `Live.wait` is woken as soon as a topic it knows an
older version of moves on.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

TOPICS = ("model", "requests", "events", "faults")
TYPING_MS = 8000  # how long a typing notification is shown (the SDKs send one at most every 8 s)
REQUESTS_KEPT = 200


class Live:
    """Version counters of the page's topics and a condition to wait for their change."""

    def __init__(self, events_version: Callable[[], int] = lambda: 0) -> None:
        self._cond = threading.Condition()
        self._versions = dict.fromkeys(TOPICS, 0)
        self._events_version = events_version
        self._typing: dict[str, dict[str, tuple[str, int]]] = {}  # thread id -> raw id -> (name, at ms)
        self._closed = False

    def bump(self, topic: str) -> None:
        with self._cond:
            self._versions[topic] += 1
            self._cond.notify_all()

    def observe(self, change: Any) -> None:
        """A model observer: every change moves the `model` topic; typing notifications are noted."""
        if change.kind == "typing":
            per_thread = self._typing.setdefault(change.thread.id, {})
            name = getattr(change, "sender_display_name", None) or getattr(change, "display_name", None)
            per_thread[change.actor] = (name or "", change.at_ms)
        elif change.kind == "message.sent" and change.thread.id in self._typing:
            self._typing[change.thread.id].pop(change.actor, None)  # a sent message ends the typing
        self.bump("model")

    def typing(self, tid: str, now_ms: int) -> list[dict]:
        """Who typed in the thread within the last TYPING_MS (raw id, display name, when)."""
        per_thread = self._typing.get(tid) or {}
        return [{"rawId": raw, "displayName": name, "at": at} for raw, (name, at) in list(per_thread.items())
                if now_ms - at < TYPING_MS]

    def versions(self) -> dict[str, int]:
        with self._cond:
            return {**self._versions, "events": self._events_version()}

    def wait(self, since: dict[str, int], timeout: float) -> dict[str, int]:
        """The versions, as soon as one of the topics named in `since` differs from it (at once when it names
        none; else after `timeout` seconds, or on close). A page names only the topics of the view it shows, so
        that a load test's requests do not keep waking a page that shows a thread."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.versions()
            if self._closed or not since.keys() & current.keys() or any(
                    k in since and since[k] != v for k, v in current.items()):
                return current
            left = deadline - time.monotonic()
            if left <= 0:
                return current
            with self._cond:  # delivery records arrive from another process: look again every 0.2 s
                self._cond.wait(min(left, 0.2))

    def close(self) -> None:
        """Release every waiting page (the emulator stops)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class RequestLog:
    """The last REQUESTS_KEPT request lines (time, method, path without query, status, ms): nothing secret is in
    them, as in the log on stderr. The web page's own requests are not kept."""

    def __init__(self, live: Live | None = None, size: int = REQUESTS_KEPT) -> None:
        self._lines: deque[dict] = deque(maxlen=size)
        self._live = live
        self._lock = threading.Lock()
        self._seq = 0

    def add(self, method: str, path: str, status: object, ms: float) -> None:
        with self._lock:
            self._seq += 1
            self._lines.append({"seq": self._seq, "at": int(time.time() * 1000), "method": method,
                                "path": path.partition("?")[0], "status": status, "ms": round(ms, 1)})
        if self._live is not None:
            self._live.bump("requests")

    def lines(self) -> list[dict]:
        """Newest first."""
        with self._lock:
            return list(reversed(self._lines))

"""Rate limits (`--throttle`): the documented per-operation windows (wire spec §4, §9) as sliding-window counters."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from ..errors import TooManyRequests

# op -> [(scope, limit, window seconds)]; scope in resource|user|thread|user_thread (wire spec §4, §9)
RATE_LIMITS: dict[str, list[tuple[str, int, int]]] = {
    "identity.create": [("resource", 1000, 30)],
    "identity.delete": [("resource", 500, 30)],
    "identity.get": [("resource", 1000, 30)],
    "token.issue": [("resource", 1000, 30)],
    "token.revoke": [("resource", 500, 30)],
    "token.exchange": [("resource", 500, 30)],
    "thread.create": [("user", 10, 10)],
    "thread.delete": [("user", 10, 10)],
    "thread.update": [("thread", 5, 10)],
    "thread.get": [("user", 50, 10)],
    "thread.list": [("user", 50, 10)],
    "participants.change": [("thread", 10, 10), ("thread", 30, 60)],
    "participants.list": [("user_thread", 10, 10), ("thread", 250, 10)],
    "message.get": [("user_thread", 50, 10), ("thread", 250, 10)],
    "message.list": [("user_thread", 50, 10), ("user_thread", 200, 60), ("thread", 250, 10), ("thread", 400, 60)],
    "message.write": [("thread", 10, 10), ("thread", 30, 60)],
    "receipt.list": [("user_thread", 5, 10), ("thread", 100, 10)],
    "receipt.send": [("user_thread", 10, 10), ("user_thread", 30, 60)],
    "typing": [("user_thread", 5, 10), ("user_thread", 15, 60), ("thread", 10, 10), ("thread", 30, 60)],
}


class RateLimiter:
    """Sliding-window counters per operation and scope; raises TooManyRequests with a Retry-After."""

    def __init__(self, enabled: bool = False, clock: Callable[[], float] = time.monotonic,
                 limits: dict[str, list[tuple[str, int, int]]] | None = None) -> None:
        self.enabled = enabled
        self._clock = clock
        self._limits = RATE_LIMITS if limits is None else limits
        self._windows: dict[tuple, deque] = {}
        self._lock = threading.Lock()

    def hit(self, op: str, user: str | None = None, thread: str | None = None) -> None:
        """Count one call of `op`; raise TooManyRequests when any of its windows is full."""
        if not self.enabled:
            return
        rules = self._limits.get(op)
        if not rules:
            return
        now = self._clock()
        keys = {"resource": "", "user": user or "", "thread": thread or "", "user_thread": f"{user}|{thread}"}
        with self._lock:
            logs = []
            for scope, limit, window in rules:
                key = (op, scope, keys[scope], window)
                log = self._windows.get(key)
                if log is None:
                    log = self._windows[key] = deque()
                while log and log[0] <= now - window:
                    log.popleft()
                if len(log) >= limit:
                    raise TooManyRequests(retry_after=math.ceil(log[0] + window - now))
                logs.append(log)
            for log in logs:
                log.append(now)
            if len(self._windows) > 100_000:
                self._windows = {k: v for k, v in self._windows.items() if v and v[-1] > now - k[3]}

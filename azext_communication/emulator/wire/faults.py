"""Fault injection and its admin API (`/admin/faults`, signed like identity calls): the next N non-admin requests
fail with 429, 503, a dropped connection or a stall, for client retry and hardening tests."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import BadRequest
from .http import Request, Result, allow

if TYPE_CHECKING:
    from .app import WireApp

FAULT_MODES = ("429", "503", "close", "stall")


@dataclass
class Fault:
    mode: str
    remaining: int
    retry_after: int = 1
    stall_seconds: float = 1.0

    def describe(self) -> dict:
        return {"mode": self.mode, "count": self.remaining, "retryAfter": self.retry_after,
                "stallSeconds": self.stall_seconds}


class FaultInjector:
    """Queue of faults applied to the next N non-admin requests (for client retry/hardening tests)."""

    def __init__(self) -> None:
        self._queue: list[Fault] = []
        self._lock = threading.Lock()

    @staticmethod
    def parse(spec: Mapping) -> Fault:
        mode = str(spec.get("mode", ""))
        if mode not in FAULT_MODES:
            raise BadRequest(f"mode must be one of {', '.join(FAULT_MODES)}.", code="ValidationError")
        count = spec.get("count", 1)
        retry_after = spec.get("retryAfter", 1)
        stall = spec.get("stallSeconds", 1.0)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise BadRequest("count must be a positive integer.", code="ValidationError")
        if isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0:
            raise BadRequest("retryAfter must be a non-negative integer.", code="ValidationError")
        if isinstance(stall, bool) or not isinstance(stall, (int, float)) or not 0 <= stall <= 600:
            raise BadRequest("stallSeconds must be between 0 and 600.", code="ValidationError")
        return Fault(mode, count, retry_after, float(stall))

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._queue.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def pending(self) -> list[dict]:
        with self._lock:
            return [f.describe() for f in self._queue]

    def take(self) -> Fault | None:
        """Consume one unit of the first queued fault, if any."""
        if not self._queue:  # fast path without the lock
            return None
        with self._lock:
            if not self._queue:
                return None
            f = self._queue[0]
            f.remaining -= 1
            if f.remaining <= 0:
                self._queue.pop(0)
            return f


def handle_admin(app: WireApp, req: Request) -> Result:
    """GET lists the pending faults, POST queues one, DELETE clears them."""
    allow(req, "GET", "POST", "DELETE")
    app.check_hmac(req)
    if req.method == "DELETE":
        app.faults.clear()
        return 204, None, []
    if req.method == "POST":
        app.faults.add(FaultInjector.parse(req.json()))
    return 200, {"faults": app.faults.pending()}, []

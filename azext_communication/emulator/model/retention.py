"""Retention policies (api-version 2025-03-15): when each thread falls due, and the sweeper that deletes it then.

A thread with a `threadCreationDate` policy is due at `createdOn + deleteThreadAfterDays x day`, recomputed from
creation on every policy change. A "day" is `day_seconds` long (86,400 by default; tests shrink it). Due threads
are deleted lazily by any request touching them (`ChatModel` checks before each thread-scoped operation) and by
`Sweeper`, a thread that wakes at the next due time; a deletion that fell due while the emulator was down happens
at the first sweep after the next start, because due times are derived from stored state, never kept apart.
"""

from __future__ import annotations

import heapq
import logging
import threading
from collections.abc import Callable, Iterable

from .records import Thread

log = logging.getLogger("azext_communication.emulator")

DAY_SECONDS = 86400.0
MAX_DAY_SECONDS = 86400.0 * 365
MAX_SWEEP_WAIT = 60.0


def check_day_seconds(value: object) -> float:
    """The length of a retention "day" in seconds: a number greater than 0 and at most 365 days."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_DAY_SECONDS:
        raise ValueError(f"retention day seconds must be a number greater than 0 and at most {MAX_DAY_SECONDS:.0f}")
    return float(value)


class Schedule:
    """Due times (epoch ms) of the live threads that have a `threadCreationDate` policy."""

    def __init__(self, day_seconds: float = DAY_SECONDS) -> None:
        self.day_ms = check_day_seconds(day_seconds) * 1000.0
        self.due: dict[str, int] = {}
        self._heap: list[tuple[int, str]] = []
        self.changed = threading.Event()  # set when a due time is added or moved: the sweeper recomputes

    def due_at(self, t: Thread) -> int | None:
        days = t.retention_days
        if days is None or t.deleted_ms is not None:
            return None
        return t.created_ms + int(round(days * self.day_ms))

    def track(self, t: Thread) -> None:
        """Recompute one thread's due time (after a create, a policy change or a deletion)."""
        when = self.due_at(t)
        if when is None:
            self.due.pop(t.id, None)
            return
        if self.due.get(t.id) != when:
            self.due[t.id] = when
            heapq.heappush(self._heap, (when, t.id))
            self.changed.set()

    def track_all(self, threads: Iterable[Thread]) -> None:
        for t in threads:
            self.track(t)

    def is_due(self, tid: str, now: int) -> bool:
        when = self.due.get(tid)
        return when is not None and when <= now

    def due_now(self, now: int) -> list[str]:
        """Ids of the threads due at `now`, earliest first (they stay tracked until `track` drops them)."""
        if (self.next_due() or now + 1) > now:
            return []
        return [tid for tid, when in sorted(self.due.items(), key=lambda kv: kv[1]) if when <= now]

    def next_due(self) -> int | None:
        while self._heap and self.due.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)  # a stale entry (policy changed or thread deleted)
        return self._heap[0][0] if self._heap else None


class Sweeper:
    """Background thread: runs `sweep()` (which returns the next due time in epoch ms, or None) at each due time."""

    def __init__(self, sweep: Callable[[], int | None], schedule: Schedule, clock: Callable[[], int]) -> None:
        self._sweep = sweep
        self._schedule = schedule
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="acs-emulator-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._schedule.changed.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._schedule.changed.clear()
            try:
                nxt = self._sweep()
            except Exception:  # e.g. the store failed: keep sweeping, the next request will report it
                log.exception("retention sweep failed")
                nxt = self._clock() + 1000
            wait = MAX_SWEEP_WAIT if nxt is None else min(MAX_SWEEP_WAIT, max(0.0, (nxt - self._clock()) / 1000.0))
            if wait > 0:
                self._schedule.changed.wait(wait)

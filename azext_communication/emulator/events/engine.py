"""Scheduling of deliveries for one subscription: a bounded queue, per-thread order, retries, dead-lettering.

One worker per subscription. Its queue is split into lanes, one per chat thread: only the head of a lane is
attempted, and while it is in flight or waits for a retry the rest of that lane waits too (so a subscriber sees
each thread's events in the order the writes were acknowledged), while other lanes go on. The worker has
`CONCURRENCY` delivery threads, each with its own connection, so that different chat threads' events are in
flight at once (Event Grid delivers concurrently too); one lane is never in flight twice. How an event is sent
is the target's business (`targets.py`); this module only decides when, how often, and what happens after.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from . import deadletter as dl
from .journal import Journal
from .subscriptions import CLOUD_EVENT_SCHEMA, Subscription
from .targets import Result, Target

log = logging.getLogger("azext_communication.emulator")

RETRY_SCHEDULE = (10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200)  # seconds after failure n (decision 10)
NON_RETRIED = frozenset({400, 401, 403, 413})
DEFAULT_CAPACITY = 10_000
CONCURRENCY = 4  # delivery threads (connections) per subscription


def retry_delay(failures: int, scale: float = 1.0) -> float:
    """Seconds to wait after the `failures`-th failed attempt (1-based), scaled for tests."""
    return RETRY_SCHEDULE[min(failures, len(RETRY_SCHEDULE)) - 1] * scale


@dataclass
class Item:
    seq: int
    lane: str
    event: dict
    publish_ms: int
    attempts: int = 0
    last: Result | None = None
    last_ms: int | None = None
    redelivery: bool = False  # sent again from the web page: not part of the outbox progress


@dataclass
class Counts:
    delivered: int = 0
    failed: int = 0  # failed attempts (each retry that failed counts)
    dead_lettered: int = 0

    def to_json(self, pending: int) -> dict:
        return {"delivered": self.delivered, "failed": self.failed, "pending": pending,
                "deadLettered": self.dead_lettered}


@dataclass
class _Progress:
    """Which facts (by outbox sequence number) this worker has fully handled: for checkpoints and clean-up."""

    fanned: int  # highest sequence number offered so far
    outstanding: dict[int, int] = field(default_factory=dict)  # seq -> items not yet completed

    def done_below(self) -> int:
        return min(self.outstanding) if self.outstanding else self.fanned + 1


class Worker:
    """Delivers one subscription's events through its target (see the module doc)."""

    def __init__(self, sub: Subscription, targets: Callable[[], Target], sink: dl.DeadLetterSink,
                 scale: float = 1.0, capacity: int = DEFAULT_CAPACITY, from_seq: int = 0,
                 counts: Counts | None = None, clock: Callable[[], float] = time.time,
                 concurrency: int = CONCURRENCY, journal: Journal | None = None) -> None:
        self.sub = sub
        self.journal = journal
        self.targets = [targets() for _ in range(concurrency)]
        self.sink = sink
        self.scale = scale
        self.capacity = capacity
        self.counts = counts or Counts()
        self.clock = clock
        self.progress = _Progress(from_seq)
        self.from_seq = from_seq
        self._cond = threading.Condition()
        self._lanes: dict[str, deque[Item]] = {}
        self._ready: deque[str] = deque()
        self._delayed: list[tuple[float, int, str]] = []
        self._pending = 0
        self._stop = False
        self._inflight = 0
        self._ticket = 0
        self._threads = [threading.Thread(target=self._run, args=(t,), name=f"acs-events-{sub.name}-{i}", daemon=True)
                         for i, t in enumerate(self.targets)]

    # ------------------------------------------------------------------ producer side (the dispatcher)
    def offer(self, seq: int, lane: str, events: list[dict], publish_ms: int) -> None:
        """Queue the events of fact `seq` (already filtered); dead-letter them at once when the queue is full."""
        overflow: list[dict] = []
        with self._cond:
            self.progress.fanned = max(self.progress.fanned, seq)
            if not events:
                return
            for event in events:
                if self._pending >= self.capacity:
                    overflow.append(event)
                    continue
                item = Item(seq, lane, event, publish_ms)
                q = self._lanes.get(lane)
                if q is None:
                    q = self._lanes[lane] = deque()
                    self._ready.append(lane)
                q.append(item)
                self._pending += 1
                self.progress.outstanding[seq] = self.progress.outstanding.get(seq, 0) + 1
            self.counts.dead_lettered += len(overflow)
            self._cond.notify()
        for event in overflow:
            self.sink.write(self.sub.name, event, self.cloud, dl.QUEUE_FULL, 0, "Full", publish_ms, None)
            if self.journal is not None:
                self.journal.dead_letter(self.sub.name, lane, event, dl.QUEUE_FULL, 0, "Full", None, "")

    def redeliver(self, lane: str, event: dict) -> None:
        """Queue a dead-lettered event once more, as a new delivery (attempts from 0), behind its thread's lane."""
        with self._cond:
            q = self._lanes.get(lane)
            if q is None:
                q = self._lanes[lane] = deque()
                self._ready.append(lane)
            q.append(Item(-1, lane, event, int(self.clock() * 1000), redelivery=True))
            self._pending += 1
            self._cond.notify()

    @property
    def cloud(self) -> bool:
        return self.sub.schema == CLOUD_EVENT_SCHEMA

    def snapshot(self) -> dict:
        with self._cond:
            return self.counts.to_json(self._pending)

    def done_below(self) -> int:
        with self._cond:
            return self.progress.done_below()

    def idle(self) -> bool:
        """Nothing queued and nothing in flight (tests and benchmarks wait for this)."""
        with self._cond:
            return self._pending == 0 and not self._inflight

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Worker:
        for t in self._threads:
            t.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        for target in self.targets:
            target.close()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            if t.is_alive() and t is not threading.current_thread():
                t.join(max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ the worker thread
    def _next(self) -> Item | None:
        """The head of the next ready lane, waiting as long as nothing is due; None when stopping."""
        with self._cond:
            while not self._stop:
                now = time.monotonic()
                while self._delayed and self._delayed[0][0] <= now:
                    _, _, lane = heapq.heappop(self._delayed)
                    self._ready.append(lane)
                if self._ready:
                    lane = self._ready.popleft()
                    self._inflight += 1
                    return self._lanes[lane][0]
                timeout = self._delayed[0][0] - now if self._delayed else None
                self._cond.wait(timeout)
            return None

    def _run(self, target: Target) -> None:
        while True:
            item = self._next()
            if item is None:
                return
            try:
                self._attempt(item, target)
            except Exception:  # a bug must not kill the subscription's delivery for good
                log.exception("event delivery to subscription %s failed unexpectedly", self.sub.name)
                self._finish(item, delivered=False)

    def _attempt(self, item: Item, target: Target) -> None:
        ttl_ms = self.sub.event_ttl_minutes * 60_000 * self.scale
        now_ms = int(self.clock() * 1000)
        if item.attempts and now_ms - item.publish_ms > ttl_ms:  # checked at the next scheduled attempt only
            self._dead_letter(item, dl.TTL_EXCEEDED)
            return
        started = time.perf_counter()
        result = target.deliver(item.event, item.attempts)
        item.attempts += 1
        item.last = result
        item.last_ms = int(self.clock() * 1000)
        if self.journal is not None:
            self.journal.attempt(self.sub.name, item.event, item.attempts, result.status, result.outcome, result.ok,
                                 (time.perf_counter() - started) * 1000)
        log.info("event %s to subscription %s: %s (attempt %d)", item.event["eventType"], self.sub.name,
                 result.status if result.status is not None else result.outcome, item.attempts)
        if result.ok:
            self._finish(item, delivered=True)
        elif result.status in NON_RETRIED:
            self._failed()
            self._dead_letter(item, dl.NON_RETRIABLE)
        elif item.attempts >= self.sub.max_delivery_attempts:
            self._failed()
            self._dead_letter(item, dl.MAX_ATTEMPTS_EXCEEDED)
        else:
            with self._cond:
                self.counts.failed += 1
                self._ticket += 1
                due = time.monotonic() + retry_delay(item.attempts, self.scale)
                heapq.heappush(self._delayed, (due, self._ticket, item.lane))
                self._inflight -= 1
                self._cond.notify()  # a waiting thread recomputes its timeout

    def _failed(self) -> None:
        with self._cond:
            self.counts.failed += 1

    def _dead_letter(self, item: Item, reason: str) -> None:
        last = item.last
        self.sink.write(self.sub.name, item.event, self.cloud, reason, item.attempts,
                        last.outcome if last else "Delivering", item.publish_ms, item.last_ms,
                        last.status if last else None, last.excerpt if last else "")
        if self.journal is not None:
            self.journal.dead_letter(self.sub.name, item.lane, item.event, reason, item.attempts,
                                     last.outcome if last else "Delivering", last.status if last else None,
                                     last.excerpt if last else "")
        self._finish(item, delivered=False)

    def _finish(self, item: Item, delivered: bool) -> None:
        """Remove the head of its lane and mark the lane ready again if more is queued behind it."""
        with self._cond:
            q = self._lanes[item.lane]
            q.popleft()
            if q:
                self._ready.append(item.lane)
            else:
                del self._lanes[item.lane]
            self._pending -= 1
            self._inflight -= 1
            if not item.redelivery:
                left = self.progress.outstanding[item.seq] - 1
                if left:
                    self.progress.outstanding[item.seq] = left
                else:
                    del self.progress.outstanding[item.seq]
            if delivered:
                self.counts.delivered += 1
            else:
                self.counts.dead_lettered += 1
            if q:
                self._cond.notify()

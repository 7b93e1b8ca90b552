"""The most recent delivery attempts and dead letters, kept in memory for the emulator's web page.

Why a journal apart from the counts: a developer whose webhook fails wants to see which event, which status,
which attempt and how long it took, without reading the log. The delivery process keeps one `Journal` (workers
write to it); its status lines carry the records added since the previous line, and the emulator keeps a mirror
(`Journal.extend`). Both ends are bounded. The events of the last dead letters stay in the delivery process only,
so that one can be delivered again (`redeliverable`).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict, deque

ATTEMPTS_KEPT = 200
DEAD_LETTERS_KEPT = 100
REPORT_LIMIT = 100  # records per status line at most: the emulator's CPU is the chat API's too


def _now_ms() -> int:
    return int(time.time() * 1000)


class Journal:
    """Bounded rings of attempt and dead-letter records, each with a sequence number (`seq`, increasing)."""

    def __init__(self, attempts: int = ATTEMPTS_KEPT, dead_letters: int = DEAD_LETTERS_KEPT) -> None:
        self._lock = threading.Lock()
        self._attempts: deque[dict] = deque(maxlen=attempts)
        self._dead: deque[dict] = deque(maxlen=dead_letters)
        self._events: OrderedDict[str, tuple[str, str, dict]] = OrderedDict()  # id -> (subscription, lane, event)
        self._ids = itertools.count(1)
        self.seq = 0
        self.version = 0  # changes whenever anything here does (what the web page waits on)

    def _add(self, ring: deque, record: dict) -> dict:
        with self._lock:
            self.seq += 1
            self.version += 1
            record["seq"] = self.seq
            ring.append(record)
        return record

    def attempt(self, subscription: str, event: dict, attempt: int, status: int | None, outcome: str, ok: bool,
                latency_ms: float) -> None:
        """One delivery attempt (1-based `attempt`) and what it gave."""
        self._add(self._attempts, {
            "kind": "attempt", "subscription": subscription, "eventType": event.get("eventType"),
            "eventId": event.get("id"), "subject": event.get("subject"), "attempt": attempt, "status": status,
            "outcome": outcome, "ok": ok, "latencyMs": round(latency_ms, 1), "at": _now_ms()})

    def dead_letter(self, subscription: str, lane: str, event: dict, reason: str, attempts: int, outcome: str,
                    status: int | None, excerpt: str) -> None:
        """An event given up on, with Event Grid's reason; its event is kept for a redelivery."""
        dl_id = f"dl-{next(self._ids)}"
        with self._lock:
            self._events[dl_id] = (subscription, lane, event)
            while len(self._events) > self._dead.maxlen:
                self._events.popitem(last=False)
        self._add(self._dead, {
            "kind": "deadLetter", "id": dl_id, "subscription": subscription, "eventType": event.get("eventType"),
            "eventId": event.get("id"), "subject": event.get("subject"), "reason": reason, "attempts": attempts,
            "outcome": outcome, "status": status, "excerpt": excerpt[:200], "at": _now_ms()})

    def take_event(self, dl_id: str) -> tuple[str, str, dict] | None:
        """(subscription, lane, event) of a dead letter, removed so that it is redelivered once."""
        with self._lock:
            return self._events.pop(dl_id, None)

    def since(self, seq: int, limit: int = REPORT_LIMIT) -> list[dict]:
        """Records with a sequence number above `seq`, oldest first (the newest `limit` of them)."""
        with self._lock:
            if seq >= self.seq:
                return []
            out = [r for r in itertools.chain(self._attempts, self._dead) if r["seq"] > seq]
        out.sort(key=lambda r: r["seq"])
        return out[-limit:]

    def extend(self, records: list[dict]) -> None:
        """Mirror records reported by the delivery process (keeps their sequence numbers)."""
        with self._lock:
            for r in records:
                (self._dead if r.get("kind") == "deadLetter" else self._attempts).append(r)
                self.seq = max(self.seq, int(r.get("seq", 0)))
            self.version += 1 if records else 0

    def redelivered(self, dl_id: str) -> None:
        """Mark a mirrored dead letter as sent again (the page hides its button)."""
        with self._lock:
            for r in self._dead:
                if r.get("id") == dl_id:
                    r["redelivered"] = True
            self.version += 1

    def snapshot(self) -> dict:
        """{"attempts": [...], "deadLetters": [...]}, newest first."""
        with self._lock:
            return {"attempts": [dict(r) for r in reversed(self._attempts)],
                    "deadLetters": [dict(r) for r in reversed(self._dead)]}

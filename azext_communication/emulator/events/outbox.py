"""The outbox: the model writes what happened here, inside its own store transaction; the dispatcher reads it.

A fact is one chat operation that produces events:

    {"seq": n, "op": "message.sent", "tx": "<transaction id>", "at": <epoch ms>, "actor": "<rawId>",
     "thread": {"id", "topic", "createTime", "version", "metadata"?, "retentionPolicy"?},
     "members": [[rawId, displayName, metadata?], ...],   # P: after the operation, before it for delete/remove
     "message": {"id", "type", "body", "metadata", "senderName", "composeTime", "version", "seq"},  # message ops
     "added": [[rawId, displayName, metadata?], ...], "removed": [rawId, displayName, metadata?],  # participant ops
     "reason": "deletedByUser" | "deletedByPolicy",     # thread.deleted (policy: `actor` is the thread's creator)
     "typing": {"senderName"}}                           # typing (--events-typing)

Facts written by an older emulator lack `seq`, `reason` and metadata; the builders treat them as before.

With a data folder the fact is a record of the same transaction as the chat write (kind `event`), so it is on
disk exactly when the write is; it is deleted once every subscription has handled it. Without subscriptions
nothing is recorded (`active` is False), so events cost nothing when nobody listens.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque

from ..store import Store

KIND = "event"


def key(seq: int) -> str:
    return f"{seq:016d}"


class Outbox:
    """Facts in the order the model applied them (the model calls `record` under its lock)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.active = False
        self.seq = 0
        self._cond = threading.Condition()
        self.lock = self._cond  # held while subscriptions are added or removed: no fact is missed or doubled
        self._queue: deque[dict] = deque()
        self._stored: deque[int] = deque()  # sequence numbers of facts in the store, ascending

    def load(self) -> list[dict]:
        """Facts left in the data folder by the previous run (not yet handled by every subscription)."""
        facts = [fact for _, fact in self.store.load(KIND)]
        facts.sort(key=lambda f: f["seq"])
        with self._cond:
            self._stored.extend(f["seq"] for f in facts)
            if facts:
                self.seq = max(self.seq, facts[-1]["seq"])
        return facts

    def record(self, op: str, at: int, actor: str, thread: dict, members: list, **details: object) -> None:
        """Record one operation (call inside the model's store transaction, under the model's lock)."""
        if not self.active:
            return
        with self._cond:
            self.seq += 1
            fact = {"seq": self.seq, "op": op, "tx": uuid.uuid4().hex, "at": at, "actor": actor, "thread": thread,
                    "members": members, **details}
            if self.store.persistent:
                self.store.put(KIND, key(self.seq), fact)
                self._stored.append(self.seq)
            self._queue.append(fact)
            if len(self._queue) == 1:
                self._cond.notify()

    def take(self, timeout: float) -> list[dict]:
        """Everything recorded so far (waits up to `timeout` seconds for the first fact)."""
        with self._cond:
            if not self._queue and timeout > 0:
                self._cond.wait(timeout)
            out = list(self._queue)
            self._queue.clear()
            return out

    def queued(self) -> int:
        with self._cond:
            return len(self._queue)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def forget_below(self, seq: int) -> None:
        """Delete stored facts below `seq` (every subscription has handled them); call inside a transaction."""
        with self._cond:
            while self._stored and self._stored[0] < seq:
                self.store.delete(KIND, key(self._stored.popleft()))

    def now_ms(self) -> int:
        return int(time.time() * 1000)

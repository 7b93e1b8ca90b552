"""The registry of real-time clients: allocations (`POST /v4/a`), handshake sessions (`sid`), registrations, and
the live sockets of each user; and the fan-out of the model's changes to them.

`Hub.observe` is a `ChatModel` observer: it runs inside the model lock, in commit order, and only appends to the
recipients' socket queues (each socket's own thread writes them out once the write is durable), so the chat API
never waits for a browser.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..model import Caller, ChatModel
from .bodies import notifications

log = logging.getLogger("azext_communication.emulator")

CONNECTION_TTL_S = 86400  # what `trouter.connected` and the allocation announce
SID_TTL_S = 60.0  # a handshake's sid must be used for a WebSocket within this
MAX_PENDING = 10000  # allocations and unused sids kept at most (oldest dropped first)


class Outlet(Protocol):
    """A live socket as the hub sees it."""

    user_id: str

    def push(self, event_id: int, body: str) -> None: ...

    def end(self, reason: str | None) -> None: ...


@dataclass
class Allocation:
    """One `POST /v4/a`: a connection id for a user's token."""

    id: str
    user_id: str
    epid: str
    created: float = field(default_factory=time.monotonic)


@dataclass
class Session:
    """One handshake: the `sid` the WebSocket must present, bound to the token that made it."""

    sid: str
    user_id: str
    token: str
    connection_id: str
    epid: str
    created: float = field(default_factory=time.monotonic)


class Hub:
    """Allocations, sessions, registrations and live sockets; all methods are thread-safe."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model
        self._lock = threading.Lock()
        self.allocations: dict[str, Allocation] = {}
        self.sessions: dict[str, Session] = {}
        self.registrations: dict[str, dict] = {}
        self.live: dict[str, set[Outlet]] = {}
        self.pushed = 0

    # ------------------------------------------------------------------ the protocol steps
    def authenticate(self, token: str) -> Caller:
        """The user behind an ACS token (Unauthorized for a bad, expired or revoked one)."""
        return self.model.authenticate(token)

    def allocate(self, caller: Caller, epid: str) -> Allocation:
        alloc = Allocation(secrets.token_hex(16), caller.user_id, epid)
        with self._lock:
            _bounded_put(self.allocations, alloc.id, alloc)
        return alloc

    def handshake(self, caller: Caller, token: str, connection_id: str, epid: str) -> Session:
        session = Session(secrets.token_urlsafe(24), caller.user_id, token, connection_id, epid)
        with self._lock:
            _bounded_put(self.sessions, session.sid, session)
        return session

    def claim(self, sid: str) -> Session | None:
        """The session of a sid (once: a sid opens one socket), None when unknown, used or stale."""
        with self._lock:
            session = self.sessions.pop(sid, None)
        if session is None or time.monotonic() - session.created > SID_TTL_S:
            return None
        return session

    def register(self, caller: Caller, body: dict) -> None:
        with self._lock:
            _bounded_put(self.registrations, str(body.get("registrationId") or ""),
                         {"user": caller.user_id, "body": body})

    def unregister(self, caller: Caller, registration_id: str) -> bool:
        with self._lock:
            reg = self.registrations.get(registration_id)
            if reg is None or reg["user"] != caller.user_id:
                return False
            del self.registrations[registration_id]
            return True

    # ------------------------------------------------------------------ live sockets
    def attach(self, outlet: Outlet) -> None:
        with self._lock:
            self.live.setdefault(outlet.user_id, set()).add(outlet)

    def detach(self, outlet: Outlet) -> None:
        with self._lock:
            sockets = self.live.get(outlet.user_id)
            if sockets is not None:
                sockets.discard(outlet)
                if not sockets:
                    del self.live[outlet.user_id]

    @property
    def connected(self) -> int:
        """Live sockets right now."""
        with self._lock:
            return sum(len(s) for s in self.live.values())

    def close_all(self) -> None:
        """Tell every socket to go (the emulator stops)."""
        with self._lock:
            outlets = [o for s in self.live.values() for o in s]
        for o in outlets:
            o.end(None)

    def wait_durable(self) -> None:
        """Block until every write published so far is on disk (a push never shows what a crash could lose).

        A change is published inside the model lock, before its transaction is handed to the store's committer
        (still inside the lock): taking the lock once makes sure it was handed over, so the wait covers it."""
        store = self.model.store
        if store.persistent:
            with self.model.lock:
                pass
            store.wait_durable()

    # ------------------------------------------------------------------ fan-out
    def observe(self, change: Any) -> None:
        """The model observer: queue each notice on every live socket of each recipient (in commit order)."""
        if not self.live:
            return
        for notice in notifications(change):
            for user in notice.recipients:
                outlets = self.live.get(user)
                if not outlets:
                    continue
                body = notice.body(user)
                for outlet in tuple(outlets):
                    outlet.push(notice.event_id, body)
                    self.pushed += 1


def _bounded_put(table: dict, key: str, value: object) -> None:
    if len(table) >= MAX_PENDING:
        del table[next(iter(table))]
    table[key] = value

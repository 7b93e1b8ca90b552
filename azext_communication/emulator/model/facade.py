"""`ChatModel`: the one object the wire layer talks to. It owns the store, the clock and the model lock, and
delegates each operation to its aggregate (identities, threads, messages).

Every successful chat write passes through `_publish` with a `Change` (thread, actor, members, participants,
message), inside the model lock and inside the write's store transaction, in the order the writes happened:
observers registered in `observers` (e.g. an event outbox) see each write exactly once and may add records to
the same transaction. Observers must not raise: the in-memory state has already changed.

Retention: before a thread-scoped operation, a thread whose policy is due is deleted (its own transaction and
`Change`, actor None), so the operation then sees it deleted; `expire_due` (the sweeper) does the same for all.
"""

from __future__ import annotations

import base64
import os
import threading
import uuid
from collections.abc import Callable

from ..store import MemoryStore, Store
from ..tokens import TokenCodec
from .identities import Identities
from .messages import Messages
from .records import Caller, Change, Identity, Message, Page, ParticipantSpec, Thread, now_ms
from .retention import DAY_SECONDS, Schedule
from .threads import Threads


class ChatModel:
    """All identities, tokens, threads, participants, messages and read receipts, with the service's rules."""

    def __init__(self, store: Store | None = None, resource_id: str | None = None,
                 token_secret: bytes | None = None, clock: Callable[[], int] = now_ms,
                 retention_day_seconds: float = DAY_SECONDS) -> None:
        self.retention = Schedule(retention_day_seconds)  # ValueError for a bad day length, before the store
        self.store = store or MemoryStore()
        self.clock = clock
        self.lock = threading.RLock()
        self.observers: list[Callable[[Change], None]] = []
        stored_resource = self.store.get_meta("resourceId")
        self.resource_id = stored_resource or resource_id or str(uuid.uuid4())
        secret = self.store.get_meta("tokenSecret")
        if secret is None:
            secret_bytes = token_secret or os.urandom(32)
            self.store.set_meta("tokenSecret", base64.b64encode(secret_bytes).decode())
        else:
            secret_bytes = base64.b64decode(secret)
        if stored_resource is None:
            self.store.set_meta("resourceId", self.resource_id)
        self.codec = TokenCodec(secret_bytes)
        self._identities = Identities(self.store, clock, self.resource_id, self.codec)
        self._threads = Threads(self.store, clock, self._identities)
        self._messages = Messages(self.store, clock, self._threads)
        self._threads.load_idempotency()
        self.retention.track_all(self._threads.threads.values())

    # state, for observers and tests (read under `lock`)
    @property
    def identities(self) -> dict[str, Identity]:
        return self._identities.identities

    @property
    def threads(self) -> dict[str, Thread]:
        return self._threads.threads

    @property
    def memberships(self) -> dict[str, list[str]]:
        return self._threads.memberships

    def _publish(self, change: Change | None) -> None:
        """Hand one successful chat write to the observers (caller holds the lock and the transaction)."""
        if change is not None:
            for observer in self.observers:
                observer(change)

    # ------------------------------------------------------------------ retention
    def _expire(self, tid: str) -> None:
        """Delete the thread now if its retention policy is due (before an operation that touches it)."""
        if tid in self.retention.due and self.retention.is_due(tid, self.clock()):
            self.expire_due()

    def expire_due(self) -> int | None:
        """Delete every thread whose policy is due (the sweeper; also at start). Returns the next due time (ms)."""
        with self.lock:
            now = self.clock()
            for tid in self.retention.due_now(now):
                with self.store.transaction():
                    change = self._threads.delete_by_policy(self._threads.threads[tid], now)
                    self.retention.track(change.thread)
                    self._publish(change)
            return self.retention.next_due()

    def close(self) -> None:
        """Close the store (the model must not be used afterwards)."""
        with self.lock:
            self.store.close()

    # ------------------------------------------------------------------ identity
    def new_user_id(self) -> str:
        return self._identities.new_user_id()

    def create_identity(self) -> Identity:
        """Create a new ACS user (POST /identities)."""
        with self.lock:
            return self._identities.create()

    def get_identity(self, user_id: str) -> Identity:
        """A live identity, NotFound for unknown or deleted ones, BadRequest for malformed ids."""
        return self._identities.get(user_id)

    def delete_identity(self, user_id: str) -> None:
        """Delete a user; this revokes all of its tokens."""
        with self.lock:
            self._identities.delete(user_id)
        self._identities.forget_tokens()

    def revoke_tokens(self, user_id: str) -> None:
        """Invalidate every token issued so far for the user (immediately, unlike the real service)."""
        with self.lock:
            self._identities.revoke(user_id)
        self._identities.forget_tokens()

    def issue_token(self, user_id: str, scopes: object, expires_in_minutes: object = None, *,
                    expires_at: int | None = None) -> tuple[str, int]:
        """Issue a token; returns (token, exp epoch seconds). `expires_at` is for tests only (may be past)."""
        with self.lock:
            return self._identities.issue(user_id, scopes, expires_in_minutes, expires_at=expires_at)

    def exchange_teams_token(self, aad_token: object, app_id: object, user_id: object) -> tuple[str, int]:
        """Exchange a Teams (Entra ID) token for an ACS token of user `8:orgid:<userId>` (voip scope)."""
        with self.lock:
            return self._identities.exchange_teams(aad_token, app_id, user_id)

    def authenticate(self, token: str) -> Caller:
        """Caller behind a bearer token; Unauthorized for forged, expired, revoked or deleted-user tokens."""
        return self._identities.authenticate(token)

    # ------------------------------------------------------------------ threads and participants
    def create_thread(self, caller: Caller, topic: object, participants: list[ParticipantSpec],
                      request_id: str | None = None, props: dict | None = None) -> tuple[Thread, list[dict]]:
        """Create a thread with the caller plus valid participants; returns (thread, invalidParticipants).

        `props`: the request's `metadata` / `retentionPolicy` (api-version 2025-03-15), absent keys not given."""
        with self.lock, self.store.transaction():
            t, invalid, change = self._threads.create(caller, topic, participants, request_id, props)
            self.retention.track(t)
            self._publish(change)
            return t, invalid

    def get_thread(self, caller: Caller, tid: str) -> Thread:
        self._expire(tid)
        with self.lock:
            return self._threads.member_thread(caller, tid)

    def update_thread(self, caller: Caller, tid: str, body: dict) -> None:
        """Merge-patch the thread (`topic`, `metadata`, `retentionPolicy`); see `Threads.update`."""
        self._expire(tid)
        with self.lock, self.store.transaction():
            change = self._threads.update(caller, tid, body)
            if change is not None:
                self.retention.track(change.thread)
            self._publish(change)
        if change is not None and self.retention.is_due(tid, self.clock()):
            self.expire_due()  # a policy whose due time is already past deletes at once

    def update_topic(self, caller: Caller, tid: str, topic: object) -> None:
        """Change the topic (chat scope); adds a topicUpdated system message. `None` is a no-op."""
        self.update_thread(caller, tid, {"topic": topic})

    def delete_thread(self, caller: Caller, tid: str) -> None:
        """Mark the thread deleted; afterwards every thread-scoped call answers 404."""
        self._expire(tid)
        with self.lock, self.store.transaction():
            change = self._threads.delete(caller, tid)
            self.retention.track(change.thread)
            self._publish(change)

    def list_threads(self, caller: Caller, max_page_size: int, start_ms: int | None,
                     cursor: dict | None = None) -> Page:
        """Threads the caller is or was in, most recent activity first."""
        self.expire_due()
        with self.lock:
            return self._threads.list(caller, max_page_size, start_ms, cursor)

    def add_participants(self, caller: Caller, tid: str, participants: list[ParticipantSpec]) -> list[dict]:
        """Add participants; unknown users come back as invalidParticipants. One participantAdded message."""
        self._expire(tid)
        with self.lock, self.store.transaction():
            invalid, change = self._threads.add_participants(caller, tid, participants)
            self._publish(change)
            return invalid

    def list_participants(self, caller: Caller, tid: str, max_page_size: int, skip: int,
                          cursor: dict | None = None) -> Page:
        self._expire(tid)
        with self.lock:
            return self._threads.list_participants(caller, tid, max_page_size, skip, cursor)

    def remove_participant(self, caller: Caller, tid: str, raw_id: str) -> None:
        """Remove a participant (may be the caller); adds a participantRemoved message."""
        self._expire(tid)
        with self.lock, self.store.transaction():
            self._publish(self._threads.remove_participant(caller, tid, raw_id))

    # ------------------------------------------------------------------ messages and read receipts
    def send_message(self, caller: Caller, tid: str, content: object, message_type: object = "text",
                     sender_display_name: object = None, metadata: object = None) -> Message:
        """Append a user message; returns it (id = epoch ms, unique and increasing per thread)."""
        self._expire(tid)
        new = self._messages.prepare(content, message_type, sender_display_name, metadata)
        with self.lock, self.store.transaction():
            change = self._messages.send(caller, tid, new)
            self._publish(change)
            return change.message

    def get_message(self, caller: Caller, tid: str, mid: str) -> Message:
        self._expire(tid)
        with self.lock:
            return self._messages.get(caller, tid, mid)

    def list_messages(self, caller: Caller, tid: str, max_page_size: int, start_ms: int | None,
                      cursor: dict | None = None) -> Page:
        """Messages newest first (system and soft-deleted included), honouring shareHistoryTime."""
        self._expire(tid)
        with self.lock:
            return self._messages.list(caller, tid, max_page_size, start_ms, cursor)

    def update_message(self, caller: Caller, tid: str, mid: str, content: object = None,
                       metadata: object = None) -> None:
        """Edit own message: sets editedOn, bumps version; metadata merges (null removes a key)."""
        self._expire(tid)
        with self.lock, self.store.transaction():
            self._publish(self._messages.update(caller, tid, mid, content, metadata))

    def delete_message(self, caller: Caller, tid: str, mid: str) -> None:
        """Soft delete own message: content emptied, deletedOn set, version bumped (repeat is a no-op)."""
        self._expire(tid)
        with self.lock, self.store.transaction():
            self._publish(self._messages.delete(caller, tid, mid))

    def send_typing(self, caller: Caller, tid: str, sender_display_name: object = None) -> None:
        """Typing notifications change no state (only the access rules apply); observers see a `typing` change."""
        self._expire(tid)
        with self.lock, self.store.transaction():
            self._publish(self._messages.typing(caller, tid, sender_display_name))

    def send_read_receipt(self, caller: Caller, tid: str, mid: object) -> None:
        """Remember the caller's latest receipt (ignored in threads with more than 20 participants)."""
        self._expire(tid)
        with self.lock, self.store.transaction():
            self._publish(self._messages.send_receipt(caller, tid, mid))

    def list_read_receipts(self, caller: Caller, tid: str, max_page_size: int, skip: int,
                           cursor: dict | None = None) -> Page:
        """One receipt per participant (their latest), oldest first."""
        self._expire(tid)
        with self.lock:
            return self._messages.list_receipts(caller, tid, max_page_size, skip, cursor)

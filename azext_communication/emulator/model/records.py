"""The model's data: plain classes for identities, threads, participants, messages and receipts, plus `Change`,
the account of one successful chat write that the facade hands to its observers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

CHAT_SCOPES = ("chat", "chat.join", "chat.join.limited")


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds (the model's only time unit)."""
    return int(time.time() * 1000)


@dataclass
class Identity:
    id: str
    kind: str = "acs"
    created_ms: int = 0
    gen: int = 0
    deleted: bool = False

    def record(self) -> dict:
        return {"kind": self.kind, "created": self.created_ms, "gen": self.gen, "deleted": self.deleted}


@dataclass(frozen=True)
class Caller:
    """An authenticated chat caller: user raw id and token scopes."""

    user_id: str
    scopes: frozenset

    @property
    def can_chat(self) -> bool:
        return any(s in self.scopes for s in CHAT_SCOPES)

    @property
    def full_chat(self) -> bool:
        return "chat" in self.scopes

    @property
    def can_manage_participants(self) -> bool:
        return "chat" in self.scopes or "chat.join" in self.scopes


@dataclass
class ParticipantSpec:
    """A participant as requested by a client (already validated raw id)."""

    raw_id: str
    display_name: str | None = None
    share_history_ms: int = 0
    metadata: dict | None = None  # api-version 2025-03-15; None = never given


@dataclass
class Member:
    raw_id: str
    display_name: str | None
    share_history_ms: int
    removed_ms: int | None = None
    metadata: dict | None = None  # None = never given (omitted on the wire), {} = given empty

    def record(self) -> dict:
        out = {"raw": self.raw_id, "name": self.display_name, "share": self.share_history_ms,
               "removed": self.removed_ms}
        if self.metadata is not None:
            out["meta"] = self.metadata
        return out


@dataclass
class Message:
    id: str
    type: str
    seq: int
    version: str
    created_ms: int
    sender: str | None = None
    sender_display_name: str | None = None
    content: dict = field(default_factory=dict)
    metadata: dict | None = None
    edited_ms: int | None = None
    deleted_ms: int | None = None

    def record(self) -> dict:
        return {"id": self.id, "type": self.type, "seq": self.seq, "version": self.version,
                "created": self.created_ms, "sender": self.sender, "senderName": self.sender_display_name,
                "content": self.content, "metadata": self.metadata, "edited": self.edited_ms,
                "deleted": self.deleted_ms}

    @classmethod
    def from_record(cls, r: dict) -> Message:
        return cls(r["id"], r["type"], r["seq"], r["version"], r["created"], r.get("sender"), r.get("senderName"),
                   r.get("content") or {}, r.get("metadata"), r.get("edited"), r.get("deleted"))


@dataclass
class Receipt:
    raw_id: str
    message_id: str
    read_ms: int


@dataclass
class Thread:
    id: str
    topic: str
    created_ms: int
    created_by: str
    deleted_ms: int | None = None
    seq: int = 0
    last_id: int = 0
    last_message_ms: int | None = None
    activity_ms: int = 0
    members: dict[str, Member] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)  # index = seq - 1
    by_id: dict[str, Message] = field(default_factory=dict)
    receipts: dict[str, Receipt] = field(default_factory=dict)
    metadata: dict | None = None  # None = never given (omitted on the wire), {} = given empty
    retention: dict | None = None  # the policy as set: {"kind": "none"} or {"kind": "threadCreationDate", ...}
    deleted_by_policy: bool = False

    def record(self) -> dict:
        out = {"id": self.id, "topic": self.topic, "created": self.created_ms, "createdBy": self.created_by,
               "deleted": self.deleted_ms, "seq": self.seq, "lastId": self.last_id,
               "lastMessage": self.last_message_ms, "activity": self.activity_ms}
        if self.metadata is not None:
            out["metadata"] = self.metadata
        if self.retention is not None:
            out["retention"] = self.retention
        if self.deleted_by_policy:
            out["byPolicy"] = True
        return out

    @property
    def retention_days(self) -> int | None:
        """Days after creation at which the policy deletes the thread; None without a threadCreationDate policy."""
        if self.retention and self.retention.get("kind") == "threadCreationDate":
            return int(self.retention["deleteThreadAfterDays"])
        return None

    def active_members(self) -> list[Member]:
        return [m for m in self.members.values() if m.removed_ms is None]

    def is_member(self, raw_id: str) -> bool:
        m = self.members.get(raw_id)
        return m is not None and m.removed_ms is None

    def member_ids(self) -> tuple[str, ...]:
        """Raw ids of the current participants, in the order they joined."""
        return tuple(m.raw_id for m in self.members.values() if m.removed_ms is None)

    def append(self, mtype: str, sender: str | None, content: dict, now: int, *,
               sender_display_name: str | None = None, metadata: dict | None = None) -> Message:
        """Add a user or system message: id = epoch ms, unique and increasing; the next sequence id."""
        mid = max(now, self.last_id + 1)
        self.last_id = mid
        self.seq += 1
        m = Message(str(mid), mtype, self.seq, str(mid), now, sender, sender_display_name, content, metadata)
        self.messages.append(m)
        self.by_id[m.id] = m
        self.activity_ms = max(self.activity_ms, now)
        if sender is not None:
            self.last_message_ms = now
        return m


@dataclass
class Page:
    """One page of a listing; `cursor` (JSON-able dict) is None on the last page."""

    items: list
    cursor: dict | None

    @classmethod
    def at_offset(cls, items: list, offset: int, size: int) -> Page:
        """Items [offset, offset + size) of a list paged by position (participants, receipts)."""
        chunk = items[offset:offset + size]
        nxt = offset + len(chunk)
        return cls(chunk, {"o": nxt} if nxt < len(items) and chunk else None)


@dataclass(slots=True)
class Change:
    """What one successful chat write did, with what an observer (e.g. an event outbox) needs to describe it.

    `kind` is one of CHANGE_KINDS; `actor` is the caller's raw id (None for a deletion by the retention policy,
    which has no actor); `members` are the raw ids of the thread's
    participants after the write (before it for `thread.deleted` and `participant.removed`, so the removed user
    is included); `participants` are the members added or removed; `message` is the message written (for
    `thread.topicUpdated`, the topicUpdated system message). `at_ms` is the model time of the write.
    The thread's `metadata` and `retention` are as after the write. `updated` names what a thread update changed
    (`topic`, `metadata`, `retentionPolicy`); `reason` is `deletedByUser` or `deletedByPolicy` for
    `thread.deleted`. `thread.propertiesUpdated` is an update that changed no topic (no system message);
    `typing` is a typing notification (`sender_display_name` as sent).
    `receipt` is a read receipt (`message` is the message read), for outlets that push it (real-time).
    """

    kind: str
    thread: Thread
    actor: str | None
    at_ms: int
    members: tuple[str, ...] = ()
    participants: tuple[Member, ...] = ()
    message: Message | None = None
    updated: tuple[str, ...] = ()
    reason: str | None = None
    sender_display_name: str | None = None


CHANGE_KINDS = ("thread.created", "thread.topicUpdated", "thread.propertiesUpdated", "thread.deleted",
                "participants.added", "participant.removed", "message.sent", "message.edited", "message.deleted",
                "typing", "receipt")

"""Messages and read receipts: sending, reading (with shareHistoryTime windows), editing, soft deletion, typing,
and one latest receipt per participant.

The facade (`ChatModel`) holds the model lock around every call; each write runs in one store transaction and
returns a `Change` describing it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from ..errors import BadRequest, Forbidden, NotFound
from ..store import Store
from .persist import save_message, save_receipt
from .records import Caller, Change, Message, Page, Receipt, Thread
from .rules import MAX_RECEIPT_PARTICIPANTS, check_display_name, check_message_size, check_metadata
from .threads import Threads, require_chat


class NewMessage(NamedTuple):
    """A checked message to send."""

    content: str
    type: str
    sender_display_name: str
    metadata: dict | None


def _not_found(mid: str) -> NotFound:
    return NotFound(f"Message {mid} was not found.", code="NotFound")


class Messages:
    """The messages and receipts stored in each thread of `threads`."""

    def __init__(self, store: Store, clock: Callable[[], int], threads: Threads) -> None:
        self.store = store
        self.clock = clock
        self.threads = threads
        self._load()

    def _load(self) -> None:
        by_thread = self.threads.threads
        msgs: dict[str, list[Message]] = {}
        for key, r in self.store.load("message"):
            msgs.setdefault(key.split("|", 1)[0], []).append(Message.from_record(r))
        for tid, items in msgs.items():
            t = by_thread.get(tid)
            if t is None:
                continue
            items.sort(key=lambda m: m.seq)
            t.messages = items
            t.by_id = {m.id: m for m in items}
            if items:  # a user message does not rewrite its thread's record: its counters are derived here
                t.seq = max(t.seq, items[-1].seq)
                t.last_id = max(t.last_id, int(items[-1].id))
                t.activity_ms = max(t.activity_ms, items[-1].created_ms)
                sent = [m.created_ms for m in items if m.sender is not None]
                if sent:
                    t.last_message_ms = max(t.last_message_ms or 0, max(sent))
        for key, r in self.store.load("receipt"):
            t = by_thread.get(key.split("|", 1)[0])
            if t is not None:
                t.receipts[r["raw"]] = Receipt(r["raw"], r["message"], r["read"])

    # ------------------------------------------------------------------ messages
    @staticmethod
    def prepare(content: object, message_type: object = "text", sender_display_name: object = None,
                metadata: object = None) -> NewMessage:
        """Check a message to send (no state needed: the facade runs this outside the model lock)."""
        if not isinstance(content, str) or not content:
            raise BadRequest("The message content is required.", code="ValidationError")
        mtype = "text" if message_type is None else message_type
        if not isinstance(mtype, str) or mtype.lower() not in ("text", "html"):
            raise BadRequest(f"Invalid message type '{message_type}'.", code="ValidationError")
        name = check_display_name(sender_display_name)
        meta = check_metadata(metadata)
        meta = {k: v for k, v in meta.items() if v is not None} if meta else None
        check_message_size(content, meta)
        return NewMessage(content, mtype.lower(), name if name is not None else "", meta or None)

    def send(self, caller: Caller, tid: str, new: NewMessage) -> Change:
        """Append a user message (id = epoch ms, unique and increasing per thread)."""
        t = self.threads.member_thread(caller, tid)
        with self.store.transaction():  # the message record alone: the thread's counters follow from it
            m = t.append(new.type, caller.user_id, {"message": new.content}, self.clock(),
                         sender_display_name=new.sender_display_name, metadata=new.metadata)
            save_message(self.store, t, m)
        return Change("message.sent", t, caller.user_id, m.created_ms, t.member_ids(), message=m)

    def _visible(self, t: Thread, caller: Caller) -> tuple[int, int | None]:
        """(from_ms, until_ms) window of messages the caller may read; Forbidden if none."""
        require_chat(caller)
        m = t.members.get(caller.user_id)
        if m is None:
            raise Forbidden()
        return m.share_history_ms, m.removed_ms

    def get(self, caller: Caller, tid: str, mid: str) -> Message:
        t = self.threads.thread(tid)
        lo, hi = self._visible(t, caller)
        m = t.by_id.get(mid)
        if m is None or m.created_ms < lo or (hi is not None and m.created_ms > hi):
            raise _not_found(mid)
        return m

    def list(self, caller: Caller, tid: str, max_page_size: int, start_ms: int | None,
             cursor: dict | None = None) -> Page:
        """Messages newest first (system and soft-deleted included), honouring shareHistoryTime."""
        t = self.threads.thread(tid)
        lo, hi = self._visible(t, caller)
        if cursor:
            start_ms = cursor.get("s")
            before = int(cursor.get("b", 0))
        else:
            before = t.seq + 1
        floor = max(lo, start_ms or 0)
        items: list[Message] = []
        i = min(before - 1, len(t.messages)) - 1
        more = False
        while i >= 0:
            m = t.messages[i]
            i -= 1
            if m.created_ms < floor or (hi is not None and m.created_ms > hi):
                continue
            if len(items) >= max_page_size:
                more = True
                break
            items.append(m)
        return Page(items, {"b": items[-1].seq, "s": start_ms} if more and items else None)

    def _own(self, caller: Caller, tid: str, mid: str) -> tuple[Thread, Message]:
        t = self.threads.member_thread(caller, tid)
        m = t.by_id.get(mid)
        member = t.members[caller.user_id]
        if m is None or m.created_ms < member.share_history_ms:
            raise _not_found(mid)
        if m.sender != caller.user_id:
            raise Forbidden("Only the sender can change a message.")
        return t, m

    @staticmethod
    def _bump_version(m: Message, now: int) -> None:
        m.version = str(max(now, int(m.version) + 1))

    def update(self, caller: Caller, tid: str, mid: str, content: object = None, metadata: object = None) -> Change:
        """Edit own message: sets editedOn, bumps version; metadata merges (null or "" removes a key, as the
        service does for an empty value)."""
        if content is not None and (not isinstance(content, str) or not content):
            raise BadRequest("The message content must be a non-empty string.", code="ValidationError")
        meta = check_metadata(metadata)
        t, m = self._own(caller, tid, mid)
        if m.deleted_ms is not None:
            raise Forbidden("A deleted message cannot be edited.")
        new_meta = dict(m.metadata or {})
        if meta:
            for k, v in meta.items():
                if v is None or v == "":
                    new_meta.pop(k, None)
                else:
                    new_meta[k] = v
        new_content = content if content is not None else m.content.get("message", "")
        check_message_size(new_content, new_meta)
        with self.store.transaction():
            now = self.clock()
            m.content = {"message": new_content}
            m.metadata = new_meta or None
            m.edited_ms = now
            self._bump_version(m, now)
            save_message(self.store, t, m)
        return Change("message.edited", t, caller.user_id, now, t.member_ids(), message=m)

    def delete(self, caller: Caller, tid: str, mid: str) -> Change | None:
        """Soft delete own message: content emptied, deletedOn set, version bumped (repeat is a no-op)."""
        t, m = self._own(caller, tid, mid)
        if m.deleted_ms is not None:
            return None
        with self.store.transaction():
            now = self.clock()
            m.content = {"message": ""}
            m.deleted_ms = now
            self._bump_version(m, now)
            save_message(self.store, t, m)
        return Change("message.deleted", t, caller.user_id, now, t.member_ids(), message=m)

    def typing(self, caller: Caller, tid: str, sender_display_name: object = None) -> Change:
        """Typing notifications are stateless; only the access rules apply. The change is for observers only."""
        name = check_display_name(sender_display_name)
        t = self.threads.member_thread(caller, tid)
        return Change("typing", t, caller.user_id, self.clock(), t.member_ids(), sender_display_name=name)

    # ------------------------------------------------------------------ read receipts
    def send_receipt(self, caller: Caller, tid: str, mid: object) -> Change | None:
        """Remember the caller's latest receipt (ignored in threads with more than 20 participants)."""
        if not isinstance(mid, str) or not mid:
            raise BadRequest("The chatMessageId is required.", code="ValidationError")
        t = self.threads.member_thread(caller, tid)
        m = t.by_id.get(mid)
        if m is None or m.created_ms < t.members[caller.user_id].share_history_ms:
            raise _not_found(mid)
        if len(t.active_members()) > MAX_RECEIPT_PARTICIPANTS:
            return None
        r = Receipt(caller.user_id, mid, self.clock())
        with self.store.transaction():
            t.receipts.pop(caller.user_id, None)
            t.receipts[caller.user_id] = r
            save_receipt(self.store, t, r)
        return Change("receipt", t, caller.user_id, r.read_ms, t.member_ids(), message=m)

    def list_receipts(self, caller: Caller, tid: str, max_page_size: int, skip: int,
                      cursor: dict | None = None) -> Page:
        """One receipt per participant (their latest), oldest first."""
        t = self.threads.member_thread(caller, tid)
        offset = int(cursor.get("o", 0)) if cursor else skip
        return Page.at_offset(list(t.receipts.values()), offset, max_page_size)

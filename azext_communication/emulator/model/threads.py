"""Threads and participants: creation (with idempotency), topic, deletion, listing, adding and removing members,
and the access rules every thread-scoped operation starts with.

The facade (`ChatModel`) holds the model lock around every call; each write runs in one store transaction and
returns a `Change` describing it.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterable

from ..errors import BadRequest, Forbidden, NotFound
from ..store import Store
from .identifiers import validate_raw_id
from .identities import Identities
from .persist import save_member, save_message, save_thread
from .records import Caller, Change, Member, Message, Page, ParticipantSpec, Thread
from .rules import (
    MAX_BATCH,
    MAX_PARTICIPANTS,
    check_map_metadata,
    check_metadata_size,
    check_retention,
    check_topic,
    merge_metadata,
)

# keys of a thread update (PATCH body) beside the topic, api-version 2025-03-15
THREAD_PROPERTIES = ("topic", "metadata", "retentionPolicy")


def require_chat(caller: Caller) -> None:
    if not caller.can_chat:
        raise Forbidden("The access token does not have a chat scope.")


def _participants_content(members: Iterable[Member], initiator: str) -> dict:
    return {"participants": [{"raw": m.raw_id, "name": m.display_name, "share": m.share_history_ms}
                             for m in members], "initiator": initiator}


def _invalid(raw_id: str) -> dict:
    return {"code": "403", "message": "Permissions check failed", "target": raw_id}


class Threads:
    """Every thread with its members, the per-user index of threads and the create-thread idempotency keys."""

    def __init__(self, store: Store, clock: Callable[[], int], identities: Identities) -> None:
        self.store = store
        self.clock = clock
        self.identities = identities
        self.threads: dict[str, Thread] = {}
        self.memberships: dict[str, list[str]] = {}  # user -> thread ids (current and former)
        self.idempotency: dict[str, dict] = {}
        for key, r in store.load("thread"):  # records of schema 1 have no metadata / retention / byPolicy
            self.threads[key] = Thread(r["id"], r["topic"], r["created"], r["createdBy"], r.get("deleted"),
                                       r.get("seq", 0), r.get("lastId", 0), r.get("lastMessage"),
                                       r.get("activity", r["created"]), metadata=r.get("metadata"),
                                       retention=r.get("retention"), deleted_by_policy=bool(r.get("byPolicy")))
        for key, r in store.load("member"):
            t = self.threads.get(key.split("|", 1)[0])
            if t is not None:
                t.members[r["raw"]] = Member(r["raw"], r.get("name"), r.get("share", 0), r.get("removed"),
                                             r.get("meta"))
                self.memberships.setdefault(r["raw"], []).append(t.id)

    def load_idempotency(self) -> None:
        """Idempotency keys are reloaded last (after the messages), as they always were."""
        for key, r in self.store.load("idem"):
            self.idempotency[key] = r

    # ------------------------------------------------------------------ access rules
    def thread(self, tid: str) -> Thread:
        """A live thread, NotFound for unknown and deleted ones."""
        t = self.threads.get(tid)
        if t is None or t.deleted_ms is not None:
            raise NotFound(f"Thread {tid} was not found.", code="NotFound")
        return t

    def member_thread(self, caller: Caller, tid: str) -> Thread:
        """A live thread the caller currently belongs to (chat scope), else 403/404."""
        require_chat(caller)
        t = self.thread(tid)
        if not t.is_member(caller.user_id):
            raise Forbidden()
        return t

    def system_message(self, t: Thread, mtype: str, content: dict) -> Message:
        """Append and save a system message (participantAdded, participantRemoved, topicUpdated)."""
        m = t.append(mtype, None, content, self.clock())
        save_message(self.store, t, m)
        return m

    def _index(self, user: str, tid: str) -> None:
        lst = self.memberships.setdefault(user, [])
        if tid not in lst:
            lst.append(tid)

    def _add_member(self, t: Thread, p: ParticipantSpec) -> Member:
        m = Member(p.raw_id, p.display_name, p.share_history_ms, metadata=p.metadata)
        t.members.pop(p.raw_id, None)
        t.members[p.raw_id] = m
        save_member(self.store, t, m)
        self._index(p.raw_id, t.id)
        return m

    def _new_specs(self, t: Thread | None, caller: Caller,
                   participants: list[ParticipantSpec]) -> tuple[dict[str, ParticipantSpec], list[dict]]:
        """Participants to add (first mention wins) and the invalidParticipants entries for unknown users."""
        specs: dict[str, ParticipantSpec] = {}
        invalid: list[dict] = []
        for p in participants:
            if p.raw_id in specs or (t is not None and t.is_member(p.raw_id)) or any(
                    i["target"] == p.raw_id for i in invalid):
                continue
            if (t is None and p.raw_id == caller.user_id) or self.identities.known_user(p.raw_id):
                specs[p.raw_id] = p
            else:
                invalid.append(_invalid(p.raw_id))
        return specs, invalid

    # ------------------------------------------------------------------ threads
    def create(self, caller: Caller, topic: object, participants: list[ParticipantSpec],
               request_id: str | None = None, props: dict | None = None) -> tuple[Thread, list[dict], Change | None]:
        """Create a thread with the caller plus valid participants; (thread, invalidParticipants, change).

        `props` holds the `metadata` / `retentionPolicy` of the request when its api-version has them (absent key
        = not given). A repeated `repeatability-request-id` returns the original thread and no change."""
        require_chat(caller)
        if not caller.full_chat:
            raise Forbidden("The access token scope does not allow creating threads.")
        topic = check_topic(topic)
        props = props or {}
        metadata = None
        if props.get("metadata") is not None:
            metadata = check_metadata_size(check_map_metadata(props["metadata"], "thread"), "thread")
        retention = None
        if "retentionPolicy" in props:
            retention = check_retention(props["retentionPolicy"])
        if len(participants) > MAX_BATCH:
            raise BadRequest(f"At most {MAX_BATCH} participants can be added at once.", code="ValidationError")
        idem_key = f"{caller.user_id}|{request_id}" if request_id else None
        if idem_key and idem_key in self.idempotency:
            prior = self.idempotency[idem_key]
            t = self.threads.get(prior["thread"])
            if t is not None:
                return t, list(prior.get("invalid", [])), None
        with self.store.transaction():
            now = self.clock()
            specs, invalid = self._new_specs(None, caller, participants)
            creator = specs.pop(caller.user_id, ParticipantSpec(caller.user_id))
            ordered = [creator, *specs.values()]
            if len(ordered) > MAX_PARTICIPANTS:
                raise BadRequest(f"A thread can have at most {MAX_PARTICIPANTS} participants.",
                                 code="ValidationError")
            tid = "19:" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=") + "1@thread.v2"
            t = Thread(tid, topic, now, caller.user_id, activity_ms=now, metadata=metadata, retention=retention)
            added = tuple(self._add_member(t, p) for p in ordered)
            self.threads[tid] = t
            self.system_message(t, "participantAdded", _participants_content(t.members.values(), caller.user_id))
            self.system_message(t, "topicUpdated", {"topic": topic, "initiator": caller.user_id})
            save_thread(self.store, t)
            if idem_key:
                self.idempotency[idem_key] = {"thread": tid, "invalid": invalid}
                if self.store.persistent:
                    self.store.put("idem", idem_key, self.idempotency[idem_key])
            return t, invalid, Change("thread.created", t, caller.user_id, now, t.member_ids(), added)

    def update(self, caller: Caller, tid: str, body: dict) -> Change | None:
        """Apply a thread PATCH (merge patch): `topic` (None = unchanged), `metadata` merged key-wise (a null or ""
        value deletes the key, null clears the map), `retentionPolicy` replaced whole (null = none).

        Everything is checked before anything changes; `{}` (or only a null topic) is a no-op (None)."""
        t = self.member_thread(caller, tid)
        if not caller.full_chat:
            raise Forbidden("The access token scope does not allow updating threads.")
        topic = body.get("topic")
        topic = None if topic is None else check_topic(topic)
        updated = [] if topic is None else ["topic"]
        metadata = t.metadata
        if "metadata" in body:
            raw = body["metadata"]
            metadata = {} if raw is None else merge_metadata(t.metadata, check_map_metadata(raw, "thread", patch=True))
            check_metadata_size(metadata, "thread")
            updated.append("metadata")
        retention = t.retention
        if "retentionPolicy" in body:
            retention = check_retention(body["retentionPolicy"])
            updated.append("retentionPolicy")
        if not updated:
            return None
        with self.store.transaction():
            t.metadata, t.retention = metadata, retention
            m = None
            if topic is not None:
                t.topic = topic
                m = self.system_message(t, "topicUpdated", {"topic": topic, "initiator": caller.user_id})
            save_thread(self.store, t)
        kind, at = ("thread.topicUpdated", m.created_ms) if m else ("thread.propertiesUpdated", self.clock())
        return Change(kind, t, caller.user_id, at, t.member_ids(), message=m, updated=tuple(updated))

    def delete(self, caller: Caller, tid: str) -> Change:
        """Mark the thread deleted; afterwards every thread-scoped call answers 404."""
        t = self.member_thread(caller, tid)
        if not caller.full_chat:
            raise Forbidden("The access token scope does not allow deleting threads.")
        with self.store.transaction():
            t.deleted_ms = self.clock()
            t.activity_ms = max(t.activity_ms, t.deleted_ms)
            save_thread(self.store, t)
        return Change("thread.deleted", t, caller.user_id, t.deleted_ms, t.member_ids(), reason="deletedByUser")

    def delete_by_policy(self, t: Thread, now: int) -> Change:
        """The retention policy's deletion: what `delete` does, without an actor (caller holds a transaction)."""
        t.deleted_ms = now
        t.deleted_by_policy = True
        t.activity_ms = max(t.activity_ms, now)
        save_thread(self.store, t)
        return Change("thread.deleted", t, None, now, t.member_ids(), reason="deletedByPolicy")

    def list(self, caller: Caller, max_page_size: int, start_ms: int | None, cursor: dict | None = None) -> Page:
        """Threads the caller is or was in, most recent activity first."""
        require_chat(caller)
        if cursor:
            start_ms, offset = cursor.get("s"), int(cursor.get("o", 0))
        else:
            offset = 0
        threads = [self.threads[tid] for tid in self.memberships.get(caller.user_id, ()) if tid in self.threads]
        if start_ms is not None:
            threads = [t for t in threads if t.activity_ms >= start_ms]
        threads.sort(key=lambda t: (t.activity_ms, t.created_ms), reverse=True)
        items = threads[offset:offset + max_page_size]
        nxt = offset + len(items)
        more = nxt < len(threads)
        return Page(items, {"o": nxt, "s": start_ms} if more else None)

    # ------------------------------------------------------------------ participants
    def add_participants(self, caller: Caller, tid: str,
                         participants: list[ParticipantSpec]) -> tuple[list[dict], Change | None]:
        """Add participants; unknown users come back as invalidParticipants. One participantAdded message."""
        if not participants:
            raise BadRequest("At least one participant is required.", code="ValidationError")
        if len(participants) > MAX_BATCH:
            raise BadRequest(f"At most {MAX_BATCH} participants can be added at once.", code="ValidationError")
        t = self.member_thread(caller, tid)
        if not caller.can_manage_participants:
            raise Forbidden("The access token scope does not allow adding participants.")
        new, invalid = self._new_specs(t, caller, participants)
        if len(t.active_members()) + len(new) > MAX_PARTICIPANTS:
            raise BadRequest(f"A thread can have at most {MAX_PARTICIPANTS} participants.", code="ValidationError")
        if not new:
            return invalid, None
        with self.store.transaction():
            added = tuple(self._add_member(t, p) for p in new.values())
            m = self.system_message(t, "participantAdded", _participants_content(added, caller.user_id))
            save_thread(self.store, t)
        return invalid, Change("participants.added", t, caller.user_id, m.created_ms, t.member_ids(), added, m)

    def list_participants(self, caller: Caller, tid: str, max_page_size: int, skip: int,
                          cursor: dict | None = None) -> Page:
        t = self.member_thread(caller, tid)
        offset = int(cursor.get("o", 0)) if cursor else skip
        return Page.at_offset(t.active_members(), offset, max_page_size)

    def remove_participant(self, caller: Caller, tid: str, raw_id: str) -> Change:
        """Remove a participant (may be the caller); adds a participantRemoved message."""
        validate_raw_id(raw_id)
        t = self.member_thread(caller, tid)
        if not caller.can_manage_participants:
            raise Forbidden("The access token scope does not allow removing participants.")
        m = t.members.get(raw_id)
        if m is None or m.removed_ms is not None:
            raise NotFound(f"Participant {raw_id} was not found in the thread.", code="NotFound")
        before = t.member_ids()
        with self.store.transaction():
            msg = self.system_message(t, "participantRemoved", _participants_content([m], caller.user_id))
            m.removed_ms = msg.created_ms
            save_member(self.store, t, m)
            save_thread(self.store, t)
        return Change("participant.removed", t, caller.user_id, msg.created_ms, before, (m,), msg)

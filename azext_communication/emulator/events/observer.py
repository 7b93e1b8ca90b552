"""The bridge from the model to the outbox: each `Change` the model publishes becomes one fact.

The model calls the observer inside its lock and inside the write's store transaction, so the fact is recorded
in the order of the writes and, with a data folder, committed together with the write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .outbox import Outbox

# model change kind -> fact op (payloads.OPERATIONS)
_OPS = {"thread.created": "thread.created", "thread.topicUpdated": "thread.updated",
        "thread.propertiesUpdated": "thread.updated", "thread.deleted": "thread.deleted",
        "participants.added": "participants.added", "participant.removed": "participant.removed",
        "message.sent": "message.sent", "message.edited": "message.edited", "message.deleted": "message.deleted",
        "typing": "typing"}


def _member(raw: str, m: Any) -> list:
    """[rawId, displayName] plus the participant's metadata when it has some (events-2025 S9)."""
    out = [raw, m.display_name if m is not None else None]
    if m is not None and m.metadata:
        out.append(dict(m.metadata))
    return out


def _members(thread: Any, raw_ids: tuple[str, ...]) -> list[list]:
    return [_member(raw, thread.members.get(raw)) for raw in raw_ids]


def fact_parts(change: Any, sequence_id: bool = True) -> tuple[str, dict, list, dict]:
    """(op, thread, members, details) of a model `Change` (`sequence_id`: record the message's sequence number)."""
    t = change.thread
    op = _OPS[change.kind]
    thread: dict = {"id": t.id, "topic": t.topic, "createTime": t.created_ms,
                    "version": t.created_ms if op == "thread.created" else change.at_ms}
    if t.metadata:
        thread["metadata"] = dict(t.metadata)
    if t.retention is not None:  # events-2025 S5: only once a policy was set
        thread["retentionPolicy"] = dict(t.retention)
    details: dict = {}
    if op.startswith("message."):
        m = change.message
        details["message"] = {"id": m.id, "type": m.type, "body": (m.content or {}).get("message", ""),
                              "metadata": m.metadata or {}, "senderName": m.sender_display_name or "",
                              "composeTime": m.created_ms, "version": m.version}
        if sequence_id:
            details["message"]["seq"] = m.seq
    elif op == "participants.added":
        details["added"] = [_member(p.raw_id, p) for p in change.participants]
    elif op == "participant.removed":
        p = change.participants[0]
        details["removed"] = _member(p.raw_id, p)
    elif op == "thread.deleted":
        details["reason"] = change.reason or "deletedByUser"
    elif op == "typing":
        details["typing"] = {"senderName": change.sender_display_name}
    return op, thread, _members(t, change.members), details


def observer(outbox: Outbox, typing: bool = False, sequence_id: bool = True) -> Callable[[Any], None]:
    """An observer for `ChatModel.observers`; costs one attribute check while nobody subscribes. Typing
    notifications become facts only with `typing` (--events-typing); `sequence_id` False leaves message events
    without `sequenceId` (--events-no-sequence-id)."""

    def _observe(change: Any) -> None:
        if not outbox.active or change.kind not in _OPS or (change.kind == "typing" and not typing):
            return
        op, thread, members, details = fact_parts(change, sequence_id)
        # a deletion by the retention policy has no actor; Event Grid's required field names the creator (S8)
        actor = change.actor if change.actor is not None else change.thread.created_by
        outbox.record(op, change.at_ms, actor, thread, members, **details)

    return _observe

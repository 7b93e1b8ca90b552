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
        "message.sent": "message.sent", "message.edited": "message.edited", "message.deleted": "message.deleted"}


def _members(thread: Any, raw_ids: tuple[str, ...]) -> list[list]:
    out = []
    for raw in raw_ids:
        m = thread.members.get(raw)
        out.append([raw, m.display_name if m is not None else None])
    return out


def fact_parts(change: Any) -> tuple[str, dict, list, dict]:
    """(op, thread, members, details) of a model `Change`."""
    t = change.thread
    op = _OPS[change.kind]
    thread = {"id": t.id, "topic": t.topic, "createTime": t.created_ms,
              "version": t.created_ms if op == "thread.created" else change.at_ms}
    details: dict = {}
    if op.startswith("message."):
        m = change.message
        details["message"] = {"id": m.id, "type": m.type, "body": (m.content or {}).get("message", ""),
                              "metadata": m.metadata or {}, "senderName": m.sender_display_name or "",
                              "composeTime": m.created_ms, "version": m.version}
    elif op == "participants.added":
        details["added"] = [[p.raw_id, p.display_name] for p in change.participants]
    elif op == "participant.removed":
        p = change.participants[0]
        details["removed"] = [p.raw_id, p.display_name]
    return op, thread, _members(t, change.members), details


def observer(outbox: Outbox) -> Callable[[Any], None]:
    """An observer for `ChatModel.observers`; costs one attribute check while nobody subscribes."""

    def _observe(change: Any) -> None:
        if not outbox.active or change.kind not in _OPS:
            return
        op, thread, members, details = fact_parts(change)
        # a deletion by the retention policy has no actor; Event Grid's required field names the creator (S8)
        actor = change.actor if change.actor is not None else change.thread.created_by
        outbox.record(op, change.at_ms, actor, thread, members, **details)

    return _observe

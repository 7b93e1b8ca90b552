"""Response bodies: model records rendered as the JSON the service returns (wire spec §6)."""

from __future__ import annotations

import time

from ..model import Message, Receipt, Thread, identifier_model


def fmt_time(ms: int) -> str:
    """RFC3339 UTC; whole seconds without a fraction (like the real service), otherwise milliseconds."""
    secs, rem = divmod(ms, 1000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    return f"{base}Z" if rem == 0 else f"{base}.{rem:03d}Z"


def fmt_expires(exp_s: int) -> str:
    """Token expiry as the identity service returns it (RFC3339 with an explicit offset)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(exp_s))


def participant_json(raw: str, name: str | None, share_ms: int) -> dict:
    out: dict = {"communicationIdentifier": identifier_model(raw)}
    if name is not None:
        out["displayName"] = name
    out["shareHistoryTime"] = fmt_time(share_ms)
    return out


def message_json(msg: Message) -> dict:
    """ChatMessage as the 2024-03-07 service returns it (optional fields omitted when unset)."""
    c = msg.content
    if msg.type in ("text", "html"):
        content: dict = {"message": c.get("message", "")}
        if msg.type == "html":
            content["attachments"] = []
    elif msg.type == "topicUpdated":
        content = {"topic": c.get("topic", ""), "initiatorCommunicationIdentifier": identifier_model(c["initiator"])}
    else:
        content = {"participants": [participant_json(p["raw"], p.get("name"), p.get("share", 0))
                                    for p in c.get("participants", [])],
                   "initiatorCommunicationIdentifier": identifier_model(c["initiator"])}
    out: dict = {"id": msg.id, "type": msg.type, "sequenceId": str(msg.seq), "version": msg.version,
                 "content": content}
    if msg.sender is not None:
        out["senderDisplayName"] = msg.sender_display_name or ""
    out["createdOn"] = fmt_time(msg.created_ms)
    if msg.sender is not None:
        out["senderCommunicationIdentifier"] = identifier_model(msg.sender)
    if msg.deleted_ms is not None:
        out["deletedOn"] = fmt_time(msg.deleted_ms)
    if msg.edited_ms is not None:
        out["editedOn"] = fmt_time(msg.edited_ms)
    if msg.metadata:
        out["metadata"] = msg.metadata
    return out


def thread_json(t: Thread) -> dict:
    out = {"id": t.id, "topic": t.topic, "createdOn": fmt_time(t.created_ms),
           "createdByCommunicationIdentifier": identifier_model(t.created_by)}
    if t.deleted_ms is not None:
        out["deletedOn"] = fmt_time(t.deleted_ms)
    return out


def thread_item_json(t: Thread) -> dict:
    out: dict = {"id": t.id, "topic": t.topic}
    if t.deleted_ms is not None:
        out["deletedOn"] = fmt_time(t.deleted_ms)
    if t.last_message_ms is not None:
        out["lastMessageReceivedOn"] = fmt_time(t.last_message_ms)
    return out


def receipt_json(r: Receipt) -> dict:
    return {"senderCommunicationIdentifier": identifier_model(r.raw_id), "chatMessageId": r.message_id,
            "readOn": fmt_time(r.read_ms)}

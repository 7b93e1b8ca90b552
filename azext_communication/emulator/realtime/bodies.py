"""The JSON body of each pushed chat event (spec section 8) and who gets it (section 9's recommendation).

`notifications(change)` turns one model `Change` into `Notice`s: an event id, the recipients, and the body, either
one for everybody (thread-level events) or one per recipient (user-level events carry `recipientMri`).
Times are ISO 8601 UTC with milliseconds; versions are strings; metadata travel as JSON strings; the fields the
SDK passes through `unescape()` (marked *esc* in the spec) are JSON with every `%` written `%25`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

MESSAGE_RECEIVED, TYPING, READ_RECEIPT, MESSAGE_EDITED, MESSAGE_DELETED = 200, 245, 246, 247, 248
THREAD_CREATED, THREAD_UPDATED, THREAD_DELETED, PARTICIPANTS_ADDED, PARTICIPANTS_REMOVED = 257, 258, 259, 260, 261
# REST message types -> what the service pushes (the Android SDK maps these two)
_MESSAGE_TYPES = {"text": "Text", "html": "RichText/Html"}


@dataclass(slots=True)
class Notice:
    """One event for a set of users: `body(recipient)` is the JSON text pushed to that user's connections."""

    event_id: int
    recipients: tuple[str, ...]
    body: Callable[[str], str]


def iso(ms: int | None) -> str:
    """Epoch milliseconds as `2026-12-05T18:21:40.252Z` (what `new Date()` reads)."""
    ms = int(ms or 0)
    return datetime.fromtimestamp(ms // 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def esc(obj: object) -> str:
    """JSON for a field the SDK `unescape()`s before parsing: every `%` as `%25`, nothing else encoded."""
    return _dumps(obj).replace("%", "%25")


def _string_map(value: object) -> str:
    return _dumps(value) if isinstance(value, dict) and value else "{}"


def participant(thread: Any, raw_id: str | None, member: Any = None) -> dict:
    """The participant JSON inside *esc* fields (display name, share-history time and metadata when set)."""
    member = member if member is not None else thread.members.get(raw_id) if raw_id else None
    out: dict = {"participantId": raw_id or "", "displayName": (member.display_name if member else None) or ""}
    if member is not None and getattr(member, "share_history_ms", 0):
        out["shareHistoryTime"] = iso(member.share_history_ms)
    metadata = getattr(member, "metadata", None)
    if metadata:
        out["memberMetaData"] = _string_map(metadata)
    return out


def retention_policy(thread: Any) -> str | None:
    """`{"retentionPolicyType":"DeleteAfterCreationTime","executeAfter":"<days>.00:00:00"}` for a thread-creation-date
    policy; None when the thread has none."""
    policy = getattr(thread, "retention", None)
    if isinstance(policy, dict):
        days = policy.get("deleteThreadAfterDays")
        if policy.get("kind") == "threadCreationDate" and isinstance(days, int):
            return _dumps({"retentionPolicyType": "DeleteAfterCreationTime", "executeAfter": f"{days}.00:00:00"})
    return None


def properties(thread: Any) -> dict:
    """The thread properties JSON: topic, metadata and retention policy (the last two when set)."""
    out: dict = {"topic": thread.topic}
    metadata = getattr(thread, "metadata", None)
    if metadata:
        out["acsChatThreadMetadata"] = _string_map(metadata)
    policy = retention_policy(thread)
    if policy is not None:
        out["retentionPolicy"] = policy
    return out


def _user_level(event_id: int, recipients: tuple[str, ...], common: dict) -> Notice:
    def body(recipient: str) -> str:
        common["recipientMri"] = recipient
        return _dumps(common)
    return Notice(event_id, recipients, body)


def _thread_level(event_id: int, recipients: tuple[str, ...], fields: dict) -> Notice:
    text = _dumps(fields)
    return Notice(event_id, recipients, lambda _recipient: text)


def _message_fields(change: Any, event_id: int) -> dict:
    t, m = change.thread, change.message
    fields = {"eventId": event_id, "groupId": t.id, "threadId": t.id, "senderId": m.sender or change.actor,
              "recipientMri": "", "senderDisplayName": m.sender_display_name or "", "messageId": m.id,
              "clientMessageId": "", "originalArrivalTime": iso(m.created_ms), "version": str(m.version),
              "messageType": _MESSAGE_TYPES.get(m.type, m.type)}
    if event_id == MESSAGE_DELETED:
        fields["deletetime"] = iso(m.deleted_ms)
        return fields
    fields["messageBody"] = (m.content or {}).get("message", "")
    fields["acsChatMessageMetadata"] = _string_map(m.metadata)
    attachments = (m.content or {}).get("attachments")
    if attachments:
        fields["attachments"] = _dumps(attachments)
    if event_id == MESSAGE_EDITED:
        fields["edittime"] = iso(m.edited_ms)
    return fields


def _others(change: Any) -> tuple[str, ...]:
    return tuple(r for r in change.members if r != change.actor)


def notifications(change: Any) -> list[Notice]:
    """What to push for one model change (empty for changes that are not pushed, e.g. system messages)."""
    kind, t = change.kind, change.thread
    members = tuple(change.members)
    if kind == "message.sent":
        return [_user_level(MESSAGE_RECEIVED, members, _message_fields(change, MESSAGE_RECEIVED))]
    if kind == "message.edited":
        return [_user_level(MESSAGE_EDITED, members, _message_fields(change, MESSAGE_EDITED))]
    if kind == "message.deleted":
        return [_user_level(MESSAGE_DELETED, members, _message_fields(change, MESSAGE_DELETED))]
    if kind == "typing":
        actor = t.members.get(change.actor)
        sent = change.sender_display_name
        name = sent if sent is not None else (actor.display_name if actor else None)
        return [_user_level(TYPING, _others(change), {
            "eventId": TYPING, "groupId": t.id, "threadId": t.id, "senderId": change.actor, "recipientMri": "",
            "senderDisplayName": name or "", "version": str(change.at_ms),
            "originalArrivalTime": iso(change.at_ms)})]
    if kind == "receipt":
        m = change.message
        horizon = {"user": change.actor, "consumptionhorizon": f"{m.id};{change.at_ms};{m.id}",
                   "messageVisibilityTime": change.at_ms, "version": str(m.version)}
        return [_user_level(READ_RECEIPT, _others(change), {
            "eventId": READ_RECEIPT, "groupId": t.id, "threadId": t.id, "senderId": change.actor,
            "recipientMri": "", "senderDisplayName": "", "messageId": m.id, "messageBody": _dumps(horizon),
            "version": str(m.version), "originalArrivalTime": iso(change.at_ms)})]
    return _thread_notifications(change, members)


def _thread_notifications(change: Any, members: tuple[str, ...]) -> list[Notice]:
    kind, t, at = change.kind, change.thread, change.at_ms
    actor = esc(participant(t, change.actor))
    base = {"threadId": t.id, "groupId": t.id, "version": str(at)}
    if kind == "thread.created":
        everyone = [participant(t, raw) for raw in members]
        return [_thread_level(THREAD_CREATED, members, {
            **base, "eventId": THREAD_CREATED, "version": str(t.created_ms), "createTime": iso(t.created_ms),
            "createdBy": esc(participant(t, t.created_by)), "members": esc(everyone),
            "properties": esc(properties(t))})]
    if kind in ("thread.topicUpdated", "thread.propertiesUpdated"):
        return [_thread_level(THREAD_UPDATED, members, {
            **base, "eventId": THREAD_UPDATED, "editTime": iso(at), "editedBy": actor,
            "properties": esc(properties(t))})]
    if kind == "thread.deleted":
        by_policy = change.reason == "deletedByPolicy" or change.actor is None
        return [_thread_level(THREAD_DELETED, members, {
            **base, "eventId": THREAD_DELETED, "deleteTime": iso(at),
            "reason": "deletedByPolicy" if by_policy else "deletedByUser",
            "deletedBy": None if by_policy else actor})]
    if kind == "participants.added":
        added = [participant(t, p.raw_id, p) for p in change.participants]
        return [_thread_level(PARTICIPANTS_ADDED, members, {
            **base, "eventId": PARTICIPANTS_ADDED, "time": iso(at), "addedBy": actor,
            "participantsAdded": esc(added)})]
    if kind == "participant.removed":
        removed = [participant(t, p.raw_id, p) for p in change.participants]
        return [_thread_level(PARTICIPANTS_REMOVED, members, {
            **base, "eventId": PARTICIPANTS_REMOVED, "time": iso(at), "removedBy": actor,
            "participantsRemoved": esc(removed)})]
    return []

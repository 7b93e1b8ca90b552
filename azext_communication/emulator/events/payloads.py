"""Event payloads from what the model recorded (a "fact"): the spec's fan-out, subjects and data fields.

A fact is a plain JSON-able dict written by the model through the outbox (see `outbox.py` for its keys). The
builders here are pure functions of it, so the same fact always yields the same events (same ids), which keeps
redelivery after a restart idempotent for subscribers that de-duplicate on `id`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

from . import catalog as c

_NS = uuid.UUID("6f1b7f4e-3d0a-4c4e-9c55-2f0e4e1a7c11")
_KINDS = {"communicationUser": "communicationUser", "phoneNumber": "phoneNumber",
          "microsoftTeamsUser": "microsoftTeamsUser", "microsoftTeamsApp": "microsoftTeamsApp"}


def event_id(tx: str, index: int) -> str:
    """A GUID per (transaction, event index): the same fact always gives the same ids (redelivery keeps them)."""
    if len(tx) == 32:  # the outbox's random hex (uuid4): keep its randomness, mix in the index
        try:
            tail = int(tx[20:], 16) ^ index
            return f"{tx[:8]}-{tx[8:12]}-5{tx[13:16]}-{'89ab'[int(tx[16], 16) & 3]}{tx[17:20]}-{tail:012x}"
        except ValueError:
            pass
    return str(uuid.uuid5(_NS, f"{tx}/{index}"))


def resource_topic(resource_id: str, name: str = "acs-emulator") -> str:
    """The ARM id events carry as `topic` / `source`, in the mixed case of the Learn examples (decision 6)."""
    return (f"/subscriptions/{resource_id}/resourceGroups/acs-emulator/providers/Microsoft.Communication/"
            f"communicationServices/{name}")


_IDENTIFIERS: dict[str, dict] = {}


def identifier(raw_id: str) -> dict:
    """CommunicationIdentifierModel as events carry it: rawId, `kind` and the kind's object (decision 7).

    Built once per user (events repeat the same few users); callers get a copy, since payloads are mutable.
    """
    cached = _IDENTIFIERS.get(raw_id)
    if cached is None:
        from ..model import identifier_model

        model = identifier_model(raw_id)
        kind = next((k for k in model if k in _KINDS), None)
        cached = {"rawId": raw_id, "kind": _KINDS.get(kind or "", "unknown"),
                  **{k: v for k, v in model.items() if k != "rawId"}}
        if len(_IDENTIFIERS) > 10_000:
            _IDENTIFIERS.clear()
        _IDENTIFIERS[raw_id] = cached
    return {k: dict(v) if isinstance(v, dict) else v for k, v in cached.items()}


_SECOND: list = [None, ""]  # the last second formatted, and its text (events of one write share it)


def _iso(ms: int, suffix: str) -> str:
    second = ms // 1000
    if _SECOND[0] != second:
        _SECOND[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _SECOND[0] = second
    return f"{_SECOND[1]}.{ms % 1000:03d}{suffix}"


def user_time(ms: int) -> str:
    """Timestamps inside user-level data: `Z`, milliseconds (as the Learn examples)."""
    return _iso(ms, "Z")


def thread_time(ms: int) -> str:
    """Timestamps inside thread-level data: explicit `+00:00` offset (as the Learn examples)."""
    return _iso(ms, "+00:00")


def event_time(ms: int) -> str:
    """`eventTime`: UTC, seven fractional digits, `Z`."""
    return _iso(ms, "0000Z")


def _participant(raw: str, name: str | None, metadata: dict | None = None) -> dict:
    """AcsChatThreadParticipantProperties; `metadata` = the participant's (`{}` when none, S9)."""
    out: dict = {"participantCommunicationIdentifier": identifier(raw), "metadata": dict(metadata or {})}
    if name is not None:
        out = {"displayName": name, **out}
    return out


def _participants(members: Iterable[list]) -> list[dict]:
    """Fact members ([rawId, displayName] or [rawId, displayName, metadata]) as participant objects."""
    return [_participant(*m[:3]) for m in members]


def _thread_common(t: dict) -> dict:
    """`properties`, thread `metadata` (top level of data, `{}` when none) and `retentionPolicy` once set (S5)."""
    out = {"properties": {"topic": t["topic"]}, "metadata": dict(t.get("metadata") or {})}
    if t.get("retentionPolicy"):
        out["retentionPolicy"] = dict(t["retentionPolicy"])
    return out


def _message_type(kind: str) -> str:
    return kind[:1].upper() + kind[1:]


class _Builder:
    """Builds the events of one fact, numbering them for their deterministic ids."""

    def __init__(self, fact: dict, topic: str, include_actor: bool) -> None:
        self.fact = fact
        self.topic = topic
        self.include_actor = include_actor
        self.events: list[dict] = []
        self.tid = fact["thread"]["id"]
        self.actor = fact["actor"]
        self.tx = fact["tx"]
        self.base = {"threadId": self.tid, "transactionId": self.tx}

    def emit(self, name: str, subject_id: str, data: dict, recipient: str | None = None) -> None:
        event_type = c.PREFIX + name
        data = {**data, **self.base}
        self.events.append({
            "id": event_id(self.tx, len(self.events)),
            "topic": self.topic,
            "subject": c.subject(self.tid, event_type, subject_id, recipient),
            "data": data,
            "eventType": event_type,
            "dataVersion": c.DATA_VERSION,
            "metadataVersion": c.METADATA_VERSION,
            "eventTime": event_time(self.fact["at"]),
        })

    def recipients(self, members: Iterable[list]) -> list[str]:
        return [m[0] for m in members if self.include_actor or m[0] != self.actor]

    def copies(self, name: str, subject_id: str, data: dict, legacy_recipient: bool = True,
               members: Iterable[list] | None = None) -> None:
        """One user-level event per recipient, in participant order."""
        for raw in self.recipients(self.fact["members"] if members is None else members):
            extra = {"recipientId": raw} if legacy_recipient else {}
            self.emit(name, subject_id, {**data, **extra, "recipientCommunicationIdentifier": identifier(raw)},
                      recipient=raw)


def _thread_created(b: _Builder) -> None:
    t, f = b.fact["thread"], b.fact
    actor = identifier(b.actor)
    common = _thread_common(t)
    parts = _participants(f["members"])
    b.emit("ChatThreadCreated", b.actor, {"createdByCommunicationIdentifier": actor, **common, "participants": parts,
                                          "createTime": thread_time(t["createTime"]), "version": t["version"]})
    members = [{"displayName": m[1] or "", "memberId": m[0]} for m in f["members"]]
    b.copies("ChatThreadCreatedWithUser", b.actor, {
        "createdBy": b.actor, "createdByCommunicationIdentifier": actor, **common, "members": members,
        "participants": parts, "createTime": user_time(t["createTime"]), "version": t["version"]})


def _thread_deleted(b: _Builder) -> None:
    """`reason` on the thread-level event only (S7). A policy deletion has no actor: the fact's actor is the
    thread's creator (the required `deletedBy...` fields, S8) and every participant gets a copy."""
    t, at = b.fact["thread"], b.fact["at"]
    actor = identifier(b.actor)
    reason = b.fact.get("reason") or "deletedByUser"
    if reason == "deletedByPolicy":
        b.include_actor = True
    b.emit("ChatThreadDeleted", b.actor, {"deletedByCommunicationIdentifier": actor, "reason": reason,
                                          "deleteTime": thread_time(at), "createTime": thread_time(t["createTime"]),
                                          "version": t["version"]})
    b.copies("ChatThreadWithUserDeleted", b.actor, {
        "deletedBy": b.actor, "deletedByCommunicationIdentifier": actor, "deleteTime": user_time(at),
        "createTime": user_time(t["createTime"]), "version": t["version"]})


def _thread_updated(b: _Builder) -> None:
    t, at = b.fact["thread"], b.fact["at"]
    actor = identifier(b.actor)
    common = _thread_common(t)
    b.emit("ChatThreadPropertiesUpdated", b.actor, {
        "editedByCommunicationIdentifier": actor, "editTime": thread_time(at), **common,
        "createTime": thread_time(t["createTime"]), "version": t["version"]})
    b.copies("ChatThreadPropertiesUpdatedPerUser", b.actor, {
        "editedBy": b.actor, "editedByCommunicationIdentifier": actor, "editTime": user_time(at), **common,
        "createTime": user_time(t["createTime"]), "version": t["version"]})


def _participants_changed(b: _Builder, added: bool) -> None:
    t, at, f = b.fact["thread"], b.fact["at"], b.fact
    verb = "added" if added else "removed"
    by = {f"{verb}ByCommunicationIdentifier": identifier(b.actor)}
    changed = f["added"] if added else [f["removed"]]
    thread_name = "ChatThreadParticipantAdded" if added else "ChatThreadParticipantRemoved"
    user_name = "ChatParticipantAddedToThreadWithUser" if added else "ChatParticipantRemovedFromThreadWithUser"
    for m in changed:
        raw = m[0]
        who = {f"participant{verb.capitalize()}": _participant(*m[:3])}
        b.emit(thread_name, raw, {"time": thread_time(at), **by, **who, "createTime": thread_time(t["createTime"]),
                                  "version": t["version"]})
        b.copies(user_name, raw, {"time": user_time(at), **by, **who, "createTime": user_time(t["createTime"]),
                                  "version": t["version"]}, legacy_recipient=False)


def _message(b: _Builder, change: str) -> None:
    msg, at = b.fact["message"], b.fact["at"]
    sender = identifier(b.actor)
    common = {"messageId": msg["id"], "senderCommunicationIdentifier": sender,
              "senderDisplayName": msg.get("senderName") or "", "type": _message_type(msg["type"]),
              "version": int(msg["version"])}
    if "seq" in msg:  # S2: the chat sequence number as a JSON number (facts of older emulators have none)
        common["sequenceId"] = int(msg["seq"])
    body = {} if change == "Deleted" else {"messageBody": msg["body"], "metadata": dict(msg.get("metadata") or {})}
    when = {"Edited": "editTime", "Deleted": "deleteTime"}.get(change)
    thread_stamp = {when: thread_time(at)} if when else {}
    user_stamp = {when: user_time(at)} if when else {}
    b.emit(f"ChatMessage{change}InThread", b.actor, {
        **thread_stamp, **body, **common, "composeTime": thread_time(msg["composeTime"])})
    b.copies(f"ChatMessage{change}", b.actor, {
        **user_stamp, **body, **common, "senderId": b.actor, "composeTime": user_time(msg["composeTime"])})


def _typing(b: _Builder) -> None:
    """S3 (--events-typing): thread level only, the 4 documented keys; none above 20 participants."""
    if len(b.fact["members"]) > c.MAX_TYPING_PARTICIPANTS:
        return
    data: dict = {"senderCommunicationIdentifier": identifier(b.actor)}
    name = (b.fact.get("typing") or {}).get("senderName")
    if name is not None:
        data["senderDisplayName"] = name
    b.emit("ChatTypingIndicatorReceivedInThread", b.actor, data)


_OPS = {
    "typing": _typing,
    "thread.created": _thread_created,
    "thread.deleted": _thread_deleted,
    "thread.updated": _thread_updated,
    "participants.added": lambda b: _participants_changed(b, True),
    "participant.removed": lambda b: _participants_changed(b, False),
    "message.sent": lambda b: _message(b, "Received"),
    "message.edited": lambda b: _message(b, "Edited"),
    "message.deleted": lambda b: _message(b, "Deleted"),
}
OPERATIONS = tuple(_OPS)


def build_events(fact: dict, topic: str, include_actor: bool = False) -> list[dict]:
    """Every event (Event Grid schema) a recorded operation produces: thread level first, then user copies."""
    b = _Builder(fact, topic, include_actor)
    _OPS[fact["op"]](b)
    return b.events


def to_cloud_event(event: dict) -> dict:
    """The same event in CloudEvents 1.0 structured mode (spec section 4: same id, subject and data)."""
    return {"id": event["id"], "source": event["topic"], "subject": event["subject"], "type": event["eventType"],
            "time": event["eventTime"], "specversion": "1.0", "data": event["data"]}


def validation_event(topic: str, code: str, url: str, now_ms: int) -> dict:
    """The SubscriptionValidationEvent of the Event Grid schema handshake (spec 5.3; topic per decision 12)."""
    return {"id": str(uuid.uuid4()), "topic": topic, "subject": "", "data": {"validationCode": code,
                                                                             "validationUrl": url},
            "eventType": c.VALIDATION_EVENT, "eventTime": event_time(now_ms), "metadataVersion": "1",
            "dataVersion": "1"}

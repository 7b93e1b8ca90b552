"""Response bodies: model records rendered as the JSON the service returns (wire spec §6), shaped by the
request's api-version: a field appears only from the version that introduced it (table in the README).
"""

from __future__ import annotations

import time

from ..model import Member, Message, Receipt, Thread, identifier_model

# response field -> the first stable api-version whose responses carry it (previews follow their date, except
# for what PREVIEW_FIELDS grants them)
FIELDS_SINCE = {
    "ChatMessage.metadata": "2021-09-07",
    "ChatMessageContent.attachments": "2023-11-07",
    "CommunicationIdentifierModel.microsoftTeamsApp": "2024-03-07",
    "ChatThreadProperties.metadata": "2025-03-15",  # + ChatParticipant.metadata, ChatThreadProperties.retentionPolicy
    "ChatMessageContent.attachments.text": "2025-03-15",  # `attachments: []` on text messages too (wire 12.6 #14)
}
# previews that carry a field before the stable version that introduced it (wire spec 12.5): by name, never by
# comparing version strings (these previews sort before 2025-03-15)
PREVIEW_FIELDS = {
    "2024-03-15-preview": ("ChatThreadProperties.metadata",),
    "2024-06-05-preview": ("ChatThreadProperties.metadata", "ChatThreadProperties.messagingPolicy"),
}
LATEST_CHAT_VERSION = "2025-03-15"
NO_RETENTION = {"kind": "none"}


def has_field(version: str, name: str) -> bool:
    """Whether responses (and requests) of an accepted chat api-version carry a version-dependent field."""
    if name in PREVIEW_FIELDS.get(version, ()):
        return True
    since = FIELDS_SINCE.get(name)
    return since is not None and version[:10] >= since  # "2023-11-15-preview": what came before its date


def fmt_time(ms: int) -> str:
    """RFC3339 UTC; whole seconds without a fraction (like the real service), otherwise milliseconds."""
    secs, rem = divmod(ms, 1000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    return f"{base}Z" if rem == 0 else f"{base}.{rem:03d}Z"


def fmt_expires(exp_s: int) -> str:
    """Token expiry as the identity service returns it (RFC3339 with an explicit offset)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(exp_s))


class Shape:
    """The chat JSON of one api-version: which version-dependent fields its responses carry."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.metadata = has_field(version, "ChatMessage.metadata")
        self.attachments = has_field(version, "ChatMessageContent.attachments")
        self.text_attachments = has_field(version, "ChatMessageContent.attachments.text")
        self.teams_app = has_field(version, "CommunicationIdentifierModel.microsoftTeamsApp")
        # thread metadata, retention policy and participant metadata (requests too: older versions ignore them)
        self.thread_props = has_field(version, "ChatThreadProperties.metadata")
        self.messaging_policy = has_field(version, "ChatThreadProperties.messagingPolicy")

    def ident(self, raw: str) -> dict:
        """CommunicationIdentifierModel; before microsoftTeamsApp existed, a bot's id is only a rawId."""
        if not self.teams_app and raw.startswith("28:"):
            return {"rawId": raw}
        return identifier_model(raw)

    def participant(self, raw: str, name: str | None, share_ms: int, metadata: dict | None = None) -> dict:
        out: dict = {"communicationIdentifier": self.ident(raw)}
        if name is not None:
            out["displayName"] = name
        out["shareHistoryTime"] = fmt_time(share_ms)
        if metadata is not None and self.thread_props:
            out["metadata"] = dict(metadata)
        return out

    def member(self, m: Member) -> dict:
        return self.participant(m.raw_id, m.display_name, m.share_history_ms, m.metadata)

    def message(self, msg: Message) -> dict:
        """ChatMessage (optional fields omitted when unset)."""
        c = msg.content
        if msg.type in ("text", "html"):
            content: dict = {"message": c.get("message", "")}
            if self.text_attachments or (msg.type == "html" and self.attachments):
                content["attachments"] = []
        elif msg.type == "topicUpdated":
            content = {"topic": c.get("topic", ""), "initiatorCommunicationIdentifier": self.ident(c["initiator"])}
        else:
            content = {"participants": [self.participant(p["raw"], p.get("name"), p.get("share", 0))
                                        for p in c.get("participants", [])],
                       "initiatorCommunicationIdentifier": self.ident(c["initiator"])}
        out: dict = {"id": msg.id, "type": msg.type, "sequenceId": str(msg.seq), "version": msg.version,
                     "content": content}
        if msg.sender is not None:
            out["senderDisplayName"] = msg.sender_display_name or ""
        out["createdOn"] = fmt_time(msg.created_ms)
        if msg.sender is not None:
            out["senderCommunicationIdentifier"] = self.ident(msg.sender)
        if msg.deleted_ms is not None:
            out["deletedOn"] = fmt_time(msg.deleted_ms)
        if msg.edited_ms is not None:
            out["editedOn"] = fmt_time(msg.edited_ms)
        if msg.metadata and self.metadata:
            out["metadata"] = msg.metadata
        return out

    def thread(self, t: Thread) -> dict:
        out = {"id": t.id, "topic": t.topic, "createdOn": fmt_time(t.created_ms),
               "createdByCommunicationIdentifier": self.ident(t.created_by)}
        if t.deleted_ms is not None:
            out["deletedOn"] = fmt_time(t.deleted_ms)
        if self.thread_props:
            if t.metadata is not None:
                out["metadata"] = dict(t.metadata)
            out["retentionPolicy"] = dict(t.retention or NO_RETENTION)
        if self.messaging_policy:
            out["messagingPolicy"] = {"textOnlyChat": False}
        return out

    @staticmethod
    def thread_item(t: Thread) -> dict:
        out: dict = {"id": t.id, "topic": t.topic}
        if t.deleted_ms is not None:
            out["deletedOn"] = fmt_time(t.deleted_ms)
        if t.last_message_ms is not None:
            out["lastMessageReceivedOn"] = fmt_time(t.last_message_ms)
        return out

    def receipt(self, r: Receipt) -> dict:
        return {"senderCommunicationIdentifier": self.ident(r.raw_id), "chatMessageId": r.message_id,
                "readOn": fmt_time(r.read_ms)}


_SHAPES: dict[str, Shape] = {}


def shape_for(version: str) -> Shape:
    """The (cached) shape of an accepted chat api-version."""
    shape = _SHAPES.get(version)
    if shape is None:
        shape = _SHAPES[version] = Shape(version)
    return shape


LATEST = shape_for(LATEST_CHAT_VERSION)

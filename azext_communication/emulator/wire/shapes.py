"""Response bodies: model records rendered as the JSON the service returns (wire spec §6), shaped by the
request's api-version: a field appears only from the version that introduced it (table in the README).
"""

from __future__ import annotations

import time

from ..model import Member, Message, Receipt, Thread, identifier_model

# response field -> the first api-version whose responses carry it (previews follow their date)
FIELDS_SINCE = {
    "ChatMessage.metadata": "2021-09-07",
    "ChatMessageContent.attachments": "2023-11-07",
    "CommunicationIdentifierModel.microsoftTeamsApp": "2024-03-07",
}
LATEST_CHAT_VERSION = "2025-03-15"


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
        day = version[:10]  # "2023-11-15-preview" -> "2023-11-15": a preview has what came before its date
        self.version = version
        self.metadata = day >= FIELDS_SINCE["ChatMessage.metadata"]
        self.attachments = day >= FIELDS_SINCE["ChatMessageContent.attachments"]
        self.teams_app = day >= FIELDS_SINCE["CommunicationIdentifierModel.microsoftTeamsApp"]

    def ident(self, raw: str) -> dict:
        """CommunicationIdentifierModel; before microsoftTeamsApp existed, a bot's id is only a rawId."""
        if not self.teams_app and raw.startswith("28:"):
            return {"rawId": raw}
        return identifier_model(raw)

    def participant(self, raw: str, name: str | None, share_ms: int) -> dict:
        out: dict = {"communicationIdentifier": self.ident(raw)}
        if name is not None:
            out["displayName"] = name
        out["shareHistoryTime"] = fmt_time(share_ms)
        return out

    def member(self, m: Member) -> dict:
        return self.participant(m.raw_id, m.display_name, m.share_history_ms)

    def message(self, msg: Message) -> dict:
        """ChatMessage (optional fields omitted when unset)."""
        c = msg.content
        if msg.type in ("text", "html"):
            content: dict = {"message": c.get("message", "")}
            if msg.type == "html" and self.attachments:
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

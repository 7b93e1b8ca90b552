"""Table transformers for `-o table` (applied by core to the JSON-shaped result, only without --query).

Why: the JSON shapes nest identifiers and content objects, which `-o table` would otherwise drop or print as
unreadable columns. JSON output stays complete; these only pick and shorten.
"""

from __future__ import annotations

from typing import Any

CONTENT_WIDTH = 60
TOKEN_PREFIX = 12


def _short(text: Any, width: int = CONTENT_WIDTH) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _raw_id(identifier: Any) -> str:
    if isinstance(identifier, dict):
        return identifier.get("rawId") or (identifier.get("properties") or {}).get("id") or ""
    return identifier or ""


def _content(message: dict[str, Any]) -> str:
    """What a person reading the table wants to see of a message, whatever its type."""
    content = message.get("content") or {}
    if message.get("deletedOn"):
        return "(deleted)"
    if content.get("message"):
        return _short(content["message"])
    if content.get("topic") is not None and message.get("type") == "topicUpdated":
        return _short(f"topic: {content['topic']}")
    participants = content.get("participants") or []
    if participants:
        ids = ", ".join(_raw_id(p.get("identifier")) for p in participants)
        return _short(f"{message.get('type')}: {ids}")
    return ""


def transform_thread_create(result: dict[str, Any]) -> dict[str, Any]:
    """Id, Topic, CreatedOn, CreatedBy of the new thread."""
    thread = result.get("chatThread") or {}
    return {"Id": thread.get("id"), "Topic": thread.get("topic"), "CreatedOn": thread.get("createdOn"),
            "CreatedBy": _raw_id(thread.get("createdBy"))}


def transform_thread_show(result: dict[str, Any]) -> dict[str, Any]:
    """One row per thread property, identifiers as raw ids."""
    return {"Id": result.get("id"), "Topic": result.get("topic"), "CreatedOn": result.get("createdOn"),
            "CreatedBy": _raw_id(result.get("createdBy")), "DeletedOn": result.get("deletedOn") or ""}


def transform_thread_list(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Id, Topic (shortened), LastMessageReceivedOn, DeletedOn."""
    return [{"Id": t.get("id"), "Topic": _short(t.get("topic")),
             "LastMessageReceivedOn": t.get("lastMessageReceivedOn") or "", "DeletedOn": t.get("deletedOn") or ""}
            for t in result]


def transform_participant_list(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Identifier (raw id), DisplayName, ShareHistoryTime."""
    return [{"Identifier": _raw_id(p.get("identifier")), "DisplayName": p.get("displayName") or "",
             "ShareHistoryTime": p.get("shareHistoryTime") or ""} for p in result]


def _message_row(m: dict[str, Any]) -> dict[str, Any]:
    return {"Id": m.get("id"), "Seq": m.get("sequenceId"), "Type": m.get("type"),
            "Sender": m.get("senderDisplayName") or _raw_id(m.get("sender")),
            "CreatedOn": m.get("createdOn"), "Content": _content(m)}


def transform_message_list(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Id, Seq, Type, Sender, CreatedOn, Content (shortened, system messages described)."""
    return [_message_row(m) for m in result]


def transform_message_show(result: dict[str, Any]) -> dict[str, Any]:
    """The list row plus EditedOn and DeletedOn."""
    row = _message_row(result)
    row.update({"EditedOn": result.get("editedOn") or "", "DeletedOn": result.get("deletedOn") or ""})
    return row


def transform_message_send(result: dict[str, Any]) -> dict[str, Any]:
    """The id of the sent message."""
    return {"Id": result.get("id")}


def transform_receipt_list(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sender (raw id), ChatMessageId, ReadOn."""
    return [{"Sender": _raw_id(r.get("sender")), "ChatMessageId": r.get("chatMessageId"),
             "ReadOn": r.get("readOn")} for r in result]


def transform_user(result: dict[str, Any]) -> dict[str, Any]:
    """The raw id of the user."""
    return {"RawId": _raw_id(result)}


def _hide(token: Any) -> str:
    token = str(token or "")
    return token[:TOKEN_PREFIX] + "... (use -o json for the full token)" if token else ""


def transform_token(result: dict[str, Any]) -> dict[str, Any]:
    """UserId, ExpiresOn and only the beginning of the token (the JSON output keeps all of it)."""
    row = {"UserId": result.get("user_id")} if "user_id" in result else {}
    row.update({"ExpiresOn": result.get("expires_on"), "Token": _hide(result.get("token"))})
    return row


# ---------------------------------------------------------------------------------------------- watch lines
NAME_WIDTH = 16


def short_id(raw_id: str) -> str:
    """A user id short enough for a column: its last 8 characters after an ellipsis."""
    return raw_id if len(raw_id) <= 12 else "…" + raw_id[-8:]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _local_time(value: Any) -> str:
    """A service timestamp as local time to the second (with the date when it is not today)."""
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone()
    except ValueError:
        return str(value or "")
    today = datetime.now(moment.tzinfo).date()
    return moment.strftime("%H:%M:%S" if moment.date() == today else "%Y-%m-%d %H:%M:%S")


class MessageLine:
    """Renders one message as one readable line: time, sender, text; system messages in words.

    Display names are learnt from the messages seen so far (senders and the participants of system messages), so
    that "8:acs:..." initiators of later system messages read as names.
    """

    def __init__(self, width: int | None = None) -> None:
        self.width = width
        self.names: dict[str, str] = {}

    def name(self, identifier: Any) -> str:
        raw_id = _raw_id(identifier)
        return self.names.get(raw_id) or short_id(raw_id) or "?"

    def _learn(self, message: dict[str, Any]) -> None:
        sender = _raw_id(message.get("sender"))
        if sender and message.get("senderDisplayName"):
            self.names[sender] = message["senderDisplayName"]
        for participant in (message.get("content") or {}).get("participants") or []:
            raw_id = _raw_id(participant.get("identifier"))
            if raw_id and participant.get("displayName"):
                self.names[raw_id] = participant["displayName"]

    def system_text(self, message: dict[str, Any]) -> str:
        """'Ann added Bob', 'Ann removed Bob', 'Bob left', 'Ann changed the topic to "Release"'."""
        content = message.get("content") or {}
        kind = message.get("type")
        initiator_id = _raw_id(content.get("initiator"))
        initiator = self.name(content.get("initiator")) if initiator_id else "Someone"
        if kind == "topicUpdated":
            return f'{initiator} changed the topic to "{content.get("topic") or ""}"'
        ids = [_raw_id(p.get("identifier")) for p in content.get("participants") or []]
        others = ", ".join(self.name(i) for i in ids if i != initiator_id) or ""
        if kind == "participantAdded":
            if not others:
                return f"{initiator} joined"
            joined = " joined and" if initiator_id in ids else ""
            return f"{initiator}{joined} added {others}"
        if kind == "participantRemoved":
            return f"{initiator} left" if not others else f"{initiator} removed {others}"
        return f"({kind})"

    def __call__(self, message: dict[str, Any]) -> str:
        self._learn(message)
        when = _local_time(message.get("createdOn"))
        if message.get("type") in ("text", "html"):
            sender = _clip(message.get("senderDisplayName") or self.name(message.get("sender")), NAME_WIDTH)
            text = "(deleted)" if message.get("deletedOn") else " ".join(
                str((message.get("content") or {}).get("message") or "").split())
            line = f"{when}  {sender:<{NAME_WIDTH}}  {text}"
        else:
            line = f"{when}  * {self.system_text(message)}"
        return _clip(line, self.width) if self.width else line


def message_line_renderer(width: int | None = None) -> MessageLine:
    """The `-o table` line of `message watch` (width: the terminal's columns, or None not to shorten)."""
    return MessageLine(width)

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

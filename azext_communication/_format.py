"""Table transformers for `-o table` (applied by core to the JSON-shaped result, only without --query), and
the small helpers that make a message readable on one line (also the line `message watch` prints).

Why: the JSON shapes nest identifiers and content objects, which `-o table` would otherwise drop or print as
unreadable columns, and raw ids (79 characters) or microsecond timestamps would push rows far past a
terminal's width. Every table fits in the terminal's width when it is narrower than TABLE_WIDTH (stdout a terminal,
or COLUMNS set), else in TABLE_WIDTH: the flexible column is shortened and, when that is not enough, the less
important columns are left out. A message's sender is the display name that message was sent with, else a short
id (a name another message used is never put on this one); system messages are told in words ("Ann added Bob")
with the names used up to then. JSON output stays complete; these only pick and shorten.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from ._table_width import (  # noqa: F401  (the tables' width rules, re-exported for the transformers' users)
    COLUMN_GAP,
    CONTENT_WIDTH,
    ELLIPSIS,
    HEADER_PADDING,
    MIN_FLEXIBLE_WIDTH,
    TABLE_WIDTH,
    fit,
    fit_columns,
    shorten,
    table_width,
    terminal_width,
)

NAME_WIDTH = 16
SHORT_ID_CHARS = 8
TOKEN_PREFIX = 12
ALL_HISTORY = "all"  # a share-history time at the epoch: the participant sees the whole history

_TAG = re.compile(r"<[^>]*>")


# ---------------------------------------------------------------------------------------------- one value
def raw_id(identifier: Any) -> str:
    """The raw id of a CommunicationIdentifier as JSON ({"rawId", "properties": {"id"}}), or the id itself."""
    if isinstance(identifier, dict):
        return identifier.get("rawId") or (identifier.get("properties") or {}).get("id") or ""
    return identifier or ""


def short_id(identifier: Any) -> str:
    """A short, still recognisable form of a user id: the id itself when it is at most 16 characters, else an
    ellipsis and its last 8 characters (the end of the user's own part; the resource part in front of it is
    the same for every user of a resource)."""
    value = raw_id(identifier)
    return value if len(value) <= NAME_WIDTH else ELLIPSIS + value[-SHORT_ID_CHARS:]


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
        except ValueError:
            return None
    else:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def display_time(value: Any) -> str:
    """A time to the second, in UTC: 2026-12-01T21:39:43Z (still valid ISO 8601 for --start-time)."""
    parsed = _parse_time(value)
    if parsed is None:
        return "" if value is None else str(value)
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


def share_time(value: Any) -> str:
    """A participant's share-history time; the epoch (the service's 'from the beginning') reads 'all'."""
    parsed = _parse_time(value)
    if parsed is not None and parsed.timestamp() <= 0:
        return ALL_HISTORY
    return display_time(value)


# ---------------------------------------------------------------------------------------------- messages
def remember_names(names: dict[str, str], message: dict[str, Any]) -> dict[str, str]:
    """Add the display names a message reveals (its sender's, and those of participants it adds or removes);
    messages are given oldest first, so the newest name wins."""
    sender = raw_id(message.get("sender"))
    if sender and message.get("senderDisplayName"):
        names[sender] = message["senderDisplayName"]
    for participant in (message.get("content") or {}).get("participants") or []:
        who = raw_id(participant.get("identifier"))
        if who and participant.get("displayName"):
            names[who] = participant["displayName"]
    return names


def known_names(messages: Iterable[dict[str, Any]]) -> dict[str, str]:
    """raw id -> display name, from every message of a list (newest first: the newest name wins)."""
    names: dict[str, str] = {}
    for message in reversed(list(messages)):
        remember_names(names, message)
    return names


def person(identifier: Any, names: dict[str, str] | None = None, display_name: str | None = None) -> str:
    """A display name when one is known, else a short id, at most NAME_WIDTH characters."""
    name = display_name or (names or {}).get(raw_id(identifier))
    return shorten(name, NAME_WIDTH) if name else short_id(identifier)


def sender(message: dict[str, Any]) -> str:
    """Who sent a message: the display name it was sent with, else a short id ('' for system messages).

    Why not a name learnt elsewhere: a sender chooses its display name per message; a message sent without one
    must not be listed under the name an earlier (or later) message of the same user carried."""
    if not raw_id(message.get("sender")) and not message.get("senderDisplayName"):
        return ""
    return person(message.get("sender"), None, message.get("senderDisplayName"))


def _people(participants: list[dict[str, Any]], names: dict[str, str] | None) -> str:
    labels = [person(p.get("identifier"), names, p.get("displayName")) for p in participants]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def describe(message: dict[str, Any], names: dict[str, str] | None = None) -> str:
    """What a person wants to read of a message, whatever its type, in words (not shortened)."""
    content = message.get("content") or {}
    kind = message.get("type")
    if message.get("deletedOn"):
        return "(deleted)"
    if kind == "html" and content.get("message"):
        return html.unescape(_TAG.sub("", content["message"]))
    if content.get("message"):
        return content["message"]
    initiator = content.get("initiator")
    actor = person(initiator, names) if raw_id(initiator) else ""
    if kind == "topicUpdated":
        topic = content.get("topic") or ""
        return f'{actor} changed the topic to "{topic}"' if actor else f'The topic was changed to "{topic}"'
    participants = content.get("participants") or []
    if kind not in ("participantAdded", "participantRemoved"):
        return kind or ""
    verb = "added" if kind == "participantAdded" else "removed"
    if not actor:
        were = "was" if len(participants) == 1 else "were"
        return f"{_people(participants, names)} {were} {verb}" if participants else f"Participants were {verb}"
    others = [p for p in participants if raw_id(p.get("identifier")) != raw_id(initiator)]
    itself = len(others) < len(participants)
    if not others:
        return f"{actor} {'joined' if verb == 'added' else 'left'}"
    if itself:
        return f"{actor} {'joined and added' if verb == 'added' else 'left and removed'} {_people(others, names)}"
    return f"{actor} {verb} {_people(others, names)}"


def message_line(message: dict[str, Any], names: dict[str, str] | None = None, width: int = TABLE_WIDTH) -> str:
    """One readable line per message (time, sender, content) for streaming output, at most `width` long."""
    who = sender(message)
    head = f"{display_time(message.get('createdOn'))}  {who + '  ' if who else ''}"
    return head + shorten(describe(message, names), max(width - len(head), MIN_FLEXIBLE_WIDTH))


def metadata_text(metadata: Any) -> str:
    """Metadata as `k=v, k=v` (not shortened); '' when there is none."""
    return ", ".join(f"{k}={v}" for k, v in metadata.items()) if isinstance(metadata, dict) else ""


def retention_text(policy: Any) -> str:
    """A retention policy in words: '30 days' (after the thread's creation) or 'none'."""
    if not isinstance(policy, dict) or policy.get("kind") in (None, "none"):
        return "none"
    if policy.get("kind") == "threadCreationDate":
        return f"{policy.get('deleteThreadAfterDays')} days"
    return str(policy.get("kind"))


THREAD_SHOW_LEAST = 20  # columns wanted for each of Topic and Metadata before optional columns are left out
MESSAGE_OPTIONAL = ("Seq", "Type")  # left out, in this order, when a narrow terminal leaves no room for Content


def _message_row(m: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {"Id": m.get("id"), "Seq": m.get("sequenceId"), "Type": m.get("type"), "Sender": sender(m),
            "CreatedOn": display_time(m.get("createdOn")), "Content": describe(m, names)}


def transform_message_list(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Id, Seq, Type, Sender, CreatedOn, Content (shortened to fit, system messages in words).

    The messages come newest first; names are learnt oldest first, so that a system message names people only
    by a name used up to then (not by one a user took later)."""
    names: dict[str, str] = {}
    rows = []
    for message in reversed(result):
        remember_names(names, message)
        rows.append(_message_row(message, names))
    rows.reverse()
    return fit(rows, "Content", optional=MESSAGE_OPTIONAL)


def transform_message_show(result: dict[str, Any]) -> dict[str, Any]:
    """The list row plus EditedOn and DeletedOn."""
    row = _message_row(result, known_names([result]))
    row.update({"EditedOn": display_time(result.get("editedOn")), "DeletedOn": display_time(result.get("deletedOn"))})
    return fit([row], "Content", optional=MESSAGE_OPTIONAL + ("DeletedOn", "EditedOn", "Id"))[0]


def transform_message_send(result: dict[str, Any]) -> dict[str, Any]:
    """The id of the sent message."""
    return {"Id": result.get("id")}


def transform_thread_create(result: dict[str, Any]) -> dict[str, Any]:
    """Id, Topic and CreatedOn of the new thread (the creator is the caller)."""
    thread = result.get("chatThread") or {}
    return fit([{"Id": thread.get("id"), "Topic": thread.get("topic"),
                 "CreatedOn": display_time(thread.get("createdOn"))}], "Topic", optional=("CreatedOn",))[0]


def transform_thread_show(result: dict[str, Any]) -> dict[str, Any]:
    """Id, Topic, CreatedOn, CreatedBy (short id), Metadata (k=v), Retention ('30 days', 'none'); Deleted only
    for a deleted thread (-o json has the time). A thread id takes up to 63 columns: to leave topic and metadata
    20 columns each, CreatedBy and CreatedOn are left out first, then Deleted, Retention and Metadata; when the
    metadata has to go, the retention comes back if it fits beside the topic."""
    row = {"Id": result.get("id"), "Topic": result.get("topic"), "CreatedOn": display_time(result.get("createdOn")),
           "CreatedBy": short_id(result.get("createdBy")), "Metadata": metadata_text(result.get("metadata")),
           "Retention": retention_text(result.get("retentionPolicy"))}
    if result.get("deletedOn"):
        row["Deleted"] = "yes"
    shown = fit_columns([row], ("Topic", "Metadata"), least=THREAD_SHOW_LEAST,
                        optional=("CreatedBy", "CreatedOn", "Deleted", "Retention", "Metadata"))[0]
    if "Metadata" in shown or "Retention" in shown:
        return shown
    # No room for metadata: the few columns of "30 days" may still fit beside the topic.
    del row["Metadata"]
    return fit_columns([row], ("Topic",), least=THREAD_SHOW_LEAST,
                       optional=("CreatedBy", "CreatedOn", "Deleted", "Retention"))[0]


def transform_thread_list(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Id, Topic (shortened to fit), LastMessageReceivedOn, Deleted."""
    return fit([{"Id": t.get("id"), "Topic": t.get("topic"),
                 "LastMessageReceivedOn": display_time(t.get("lastMessageReceivedOn")),
                 "Deleted": "yes" if t.get("deletedOn") else ""} for t in result], "Topic",
               optional=("LastMessageReceivedOn", "Deleted"))


def transform_participant_list(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """User (short id), DisplayName, ShareHistoryTime ('all' for the whole history), Metadata (k=v)."""
    return fit_columns([{"User": short_id(p.get("identifier")), "DisplayName": p.get("displayName") or "",
                         "ShareHistoryTime": share_time(p.get("shareHistoryTime")),
                         "Metadata": metadata_text(p.get("metadata"))} for p in result], ("DisplayName", "Metadata"))


def transform_receipt_list(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sender (short id), ChatMessageId, ReadOn."""
    return [{"Sender": short_id(r.get("sender")), "ChatMessageId": r.get("chatMessageId"),
             "ReadOn": display_time(r.get("readOn"))} for r in result]


def transform_user(result: dict[str, Any]) -> dict[str, Any]:
    """The raw id of the user (the one value a script needs; it fits)."""
    return {"RawId": raw_id(result)}


def _hide(token: Any) -> str:
    token = str(token or "")
    return token[:TOKEN_PREFIX] + "... (full token: -o json)" if token else ""


def transform_token(result: dict[str, Any]) -> dict[str, Any]:
    """UserId (short id), ExpiresOn and only the beginning of the token (the JSON output keeps all of it)."""
    row = {"UserId": short_id(result.get("user_id"))} if "user_id" in result else {}
    row.update({"ExpiresOn": display_time(result.get("expires_on")), "Token": _hide(result.get("token"))})
    return row


def transform_event_subscriptions(result: Any) -> list[dict[str, Any]]:
    """Name, Endpoint (base URL, shortened to fit), Schema and the delivery counts, one row per subscription."""
    rows = result if isinstance(result, list) else [result]
    return fit([{"Name": s.get("name"), "Endpoint": s.get("endpointBaseUrl"), "Schema": s.get("eventDeliverySchema"),
                 "Delivered": s.get("delivered"), "Failed": s.get("failed"), "Pending": s.get("pending"),
                 "DeadLettered": s.get("deadLettered")} for s in rows if isinstance(s, dict)], "Endpoint",
               optional=("Schema",))


def transform_emulator_status(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per running emulator: Endpoint, Pid, Data, StartedOn (-o json has the export lines)."""
    return fit([{"Endpoint": e.get("endpoint"), "Pid": e.get("pid"), "Data": e.get("dataDir") or "in memory",
                 "StartedOn": display_time(e.get("startedOn"))} for e in result.get("emulators") or []], "Data")


# ---------------------------------------------------------------------------------------------- watch lines
def message_line_renderer(width: int | None = TABLE_WIDTH) -> Callable[[dict[str, Any]], str]:
    """The `-o table` line of `message watch`: `message_line` with the display names learnt from the messages
    seen so far (so that later system messages name people), at most `width` long (None: not shortened)."""
    names: dict[str, str] = {}

    def render(message: dict[str, Any]) -> str:
        remember_names(names, message)
        return message_line(message, names, width or sys.maxsize)

    return render

"""Table transformers for `-o table` (applied by core to the JSON-shaped result, only without --query), and
the small helpers that make a message readable on one line (also used by streaming output).

Why: the JSON shapes nest identifiers and content objects, which `-o table` would otherwise drop or print as
unreadable columns, and raw ids (79 characters) or microsecond timestamps would push rows far past a
terminal's width. Every table fits in TABLE_WIDTH columns: people are shown by display name when it is
known, else by a short id; times to the second; system messages in words ("Ann added Bob"). JSON output
stays complete; these only pick and shorten.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

TABLE_WIDTH = 120
COLUMN_GAP = 2  # tabulate's "simple" format, which core uses for -o table, puts 2 spaces between columns
HEADER_PADDING = 2  # and makes every column at least 2 wider than its header
CONTENT_WIDTH = 60  # at most, when the other columns leave room for it
MIN_FLEXIBLE_WIDTH = 12
NAME_WIDTH = 16
SHORT_ID_CHARS = 8
TOKEN_PREFIX = 12
ALL_HISTORY = "all"  # a share-history time at the epoch: the participant sees the whole history

_TAG = re.compile(r"<[^>]*>")


# ---------------------------------------------------------------------------------------------- one value
def shorten(text: Any, width: int = CONTENT_WIDTH) -> str:
    """`text` on one line, cut to `width` characters with '...' when longer."""
    text = " ".join(str(text if text is not None else "").split())
    if len(text) <= width:
        return text
    return text[: max(width - 3, 0)] + "..." if width > 3 else text[:width]


def raw_id(identifier: Any) -> str:
    """The raw id of a CommunicationIdentifier as JSON ({"rawId", "properties": {"id"}}), or the id itself."""
    if isinstance(identifier, dict):
        return identifier.get("rawId") or (identifier.get("properties") or {}).get("id") or ""
    return identifier or ""


def short_id(identifier: Any) -> str:
    """A short, still recognisable form of a user id: the id itself when it is at most 16 characters, else the
    first characters of its own part.

    `8:acs:<resource id>_<user id>` -> the first 8 characters of <user id> and '...' (the resource part is the
    same for every user of a resource); any other long id is cut to 16 characters the same way."""
    value = raw_id(identifier)
    if len(value) <= NAME_WIDTH:
        return value
    if value.startswith("8:") and "_" in value:
        return value.rsplit("_", 1)[1][:SHORT_ID_CHARS] + "..."
    return shorten(value, NAME_WIDTH)


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
    """Add the display names a message reveals (its sender's, and those of participants it adds or removes)."""
    sender = raw_id(message.get("sender"))
    if sender and message.get("senderDisplayName"):
        names[sender] = message["senderDisplayName"]
    for participant in (message.get("content") or {}).get("participants") or []:
        who = raw_id(participant.get("identifier"))
        if who and participant.get("displayName"):
            names.setdefault(who, participant["displayName"])
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


def sender(message: dict[str, Any], names: dict[str, str] | None = None) -> str:
    """Who sent a message ('' for system messages, which have no sender)."""
    if not raw_id(message.get("sender")) and not message.get("senderDisplayName"):
        return ""
    return person(message.get("sender"), names, message.get("senderDisplayName"))


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
        return f"{actor} set the topic to '{topic}'" if actor else f"The topic was set to '{topic}'"
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
    who = sender(message, names)
    head = f"{display_time(message.get('createdOn'))}  {who + '  ' if who else ''}"
    return head + shorten(describe(message, names), max(width - len(head), MIN_FLEXIBLE_WIDTH))


# ---------------------------------------------------------------------------------------------- tables
def fit(rows: list[dict[str, Any]], flexible: str, width: int = TABLE_WIDTH,
        most: int = CONTENT_WIDTH) -> list[dict[str, Any]]:
    """Shorten column `flexible` so that the table, as core prints it, is at most `width` columns wide."""
    if not rows:
        return rows
    others = [key for key in rows[0] if key != flexible]
    used = sum(max([len(key) + HEADER_PADDING] + [len(str(row.get(key) if row.get(key) is not None else ""))
                                                 for row in rows]) for key in others)
    room = width - used - COLUMN_GAP * (len(rows[0]) - 1)
    room = max(min(room, most), MIN_FLEXIBLE_WIDTH, len(flexible) + HEADER_PADDING)
    for row in rows:
        row[flexible] = shorten(row.get(flexible), room)
    return rows


def _message_row(m: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {"Id": m.get("id"), "Seq": m.get("sequenceId"), "Type": m.get("type"), "Sender": sender(m, names),
            "CreatedOn": display_time(m.get("createdOn")), "Content": describe(m, names)}


def transform_message_list(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Id, Seq, Type, Sender, CreatedOn, Content (shortened to fit, system messages in words)."""
    names = known_names(result)
    return fit([_message_row(m, names) for m in result], "Content")


def transform_message_show(result: dict[str, Any]) -> dict[str, Any]:
    """The list row plus EditedOn and DeletedOn."""
    row = _message_row(result, known_names([result]))
    row.update({"EditedOn": display_time(result.get("editedOn")), "DeletedOn": display_time(result.get("deletedOn"))})
    return fit([row], "Content")[0]


def transform_message_send(result: dict[str, Any]) -> dict[str, Any]:
    """The id of the sent message."""
    return {"Id": result.get("id")}


def transform_thread_create(result: dict[str, Any]) -> dict[str, Any]:
    """Id, Topic and CreatedOn of the new thread (the creator is the caller)."""
    thread = result.get("chatThread") or {}
    return fit([{"Id": thread.get("id"), "Topic": thread.get("topic"),
                 "CreatedOn": display_time(thread.get("createdOn"))}], "Topic")[0]


def transform_thread_show(result: dict[str, Any]) -> dict[str, Any]:
    """Id, Topic, CreatedOn, CreatedBy (short id); Deleted only for a deleted thread (-o json has the time)."""
    row = {"Id": result.get("id"), "Topic": result.get("topic"), "CreatedOn": display_time(result.get("createdOn")),
           "CreatedBy": short_id(result.get("createdBy"))}
    if result.get("deletedOn"):
        row["Deleted"] = "yes"
    return fit([row], "Topic")[0]


def transform_thread_list(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Id, Topic (shortened to fit), LastMessageReceivedOn, Deleted."""
    return fit([{"Id": t.get("id"), "Topic": t.get("topic"),
                 "LastMessageReceivedOn": display_time(t.get("lastMessageReceivedOn")),
                 "Deleted": "yes" if t.get("deletedOn") else ""} for t in result], "Topic")


def transform_participant_list(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """User (short id), DisplayName, ShareHistoryTime ('all' for the whole history)."""
    return fit([{"User": short_id(p.get("identifier")), "DisplayName": p.get("displayName") or "",
                 "ShareHistoryTime": share_time(p.get("shareHistoryTime"))} for p in result], "DisplayName")


def transform_receipt_list(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sender (short id), ChatMessageId, ReadOn."""
    return [{"Sender": short_id(r.get("sender")), "ChatMessageId": r.get("chatMessageId"),
             "ReadOn": display_time(r.get("readOn"))} for r in result]


def transform_user(result: dict[str, Any]) -> dict[str, Any]:
    """The raw id of the user (the one value a script needs; it fits)."""
    return {"RawId": raw_id(result)}


def _hide(token: Any) -> str:
    token = str(token or "")
    return token[:TOKEN_PREFIX] + "... (use -o json for the full token)" if token else ""


def transform_token(result: dict[str, Any]) -> dict[str, Any]:
    """UserId (short id), ExpiresOn and only the beginning of the token (the JSON output keeps all of it)."""
    row = {"UserId": short_id(result.get("user_id"))} if "user_id" in result else {}
    row.update({"ExpiresOn": display_time(result.get("expires_on")), "Token": _hide(result.get("token"))})
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

"""JSON views over the model for the web page: every thread (deleted ones too), one thread in full, every user.

These are the emulator's own view of its state, not the service's wire shapes: the page shows what is inside,
including what no single caller could see (all threads, removed participants, system messages in words). Read
under the model lock. Thread `metadata` and a retention policy are shown when the thread record has them.
"""

from __future__ import annotations

from typing import Any

MESSAGES_SHOWN = 300  # the newest messages of a thread the page shows


def _short(raw_id: str | None) -> str:
    """A readable stand-in for a raw id without a display name: its last 8 characters."""
    if not raw_id:
        return "someone"
    return "user …" + raw_id[-8:]


def _names(t: Any) -> dict[str, str]:
    """Display names known in a thread: from its members, then from message senders."""
    names = {m.raw_id: m.display_name for m in t.members.values() if m.display_name}
    for m in t.messages[-MESSAGES_SHOWN:]:
        if m.sender and m.sender_display_name and m.sender not in names:
            names[m.sender] = m.sender_display_name
    return names


def _name(names: dict[str, str], raw_id: str | None) -> str:
    return names.get(raw_id or "") or _short(raw_id)


def _listing(people: list[str]) -> str:
    if len(people) <= 1:
        return "".join(people)
    return ", ".join(people[:-1]) + " and " + people[-1]


def system_text(m: Any, names: dict[str, str]) -> str:
    """A system message in words, e.g. 'Ana added Bo and Cy'."""
    c = m.content or {}
    who = _name(names, c.get("initiator"))
    if m.type == "topicUpdated":
        return f"{who} set the topic to “{c.get('topic', '')}”"
    others = [p for p in c.get("participants") or [] if p.get("raw") != c.get("initiator")]
    people = [p.get("name") or _name(names, p.get("raw")) for p in others]
    if m.type == "participantAdded":  # the creator is in the first one: "Ana added Bo", not "Ana added Ana and Bo"
        return f"{who} added {_listing(people)}" if people else f"{who} joined"
    if m.type == "participantRemoved":
        return f"{who} removed {_listing(people)}" if people else f"{who} left"
    return m.type


def _retention(model: Any, t: Any) -> tuple[Any, int | None]:
    """(policy as set, due time in epoch ms) when the model knows retention policies, else (None, None)."""
    policy = getattr(t, "retention", None)
    schedule = getattr(model, "retention", None)
    due = getattr(schedule, "due", None)
    return policy, (due.get(t.id) if isinstance(due, dict) else None)


def thread_summary(model: Any, t: Any) -> dict:
    active = t.active_members()
    policy, due = _retention(model, t)
    return {"id": t.id, "topic": t.topic, "createdOn": t.created_ms, "createdBy": t.created_by,
            "deletedOn": t.deleted_ms, "lastMessageOn": t.last_message_ms, "activityOn": t.activity_ms,
            "participants": [{"rawId": m.raw_id, "displayName": m.display_name} for m in active],
            "messageCount": sum(1 for m in t.messages if m.sender is not None and m.deleted_ms is None),
            "metadata": getattr(t, "metadata", None), "retentionPolicy": policy, "retentionDeleteOn": due}


def threads(model: Any) -> list[dict]:
    """Every thread, most recent activity first."""
    with model.lock:
        items = sorted(model.threads.values(), key=lambda t: (t.activity_ms, t.created_ms), reverse=True)
        return [thread_summary(model, t) for t in items]


def _message(m: Any, names: dict[str, str]) -> dict:
    system = m.sender is None
    return {"id": m.id, "type": m.type, "sequenceId": m.seq, "version": m.version, "createdOn": m.created_ms,
            "senderRawId": m.sender, "senderDisplayName": m.sender_display_name or (
                "" if system else _name(names, m.sender)),
            "content": system_text(m, names) if system else (m.content or {}).get("message", ""),
            "system": system, "metadata": m.metadata, "editedOn": m.edited_ms, "deletedOn": m.deleted_ms}


def thread_detail(model: Any, tid: str, typing: list[dict]) -> dict | None:
    """One thread with its participants (removed ones too), newest messages, read receipts and typing."""
    with model.lock:
        t = model.threads.get(tid)
        if t is None:
            return None
        names = _names(t)
        out = thread_summary(model, t)
        out["members"] = [{"rawId": m.raw_id, "displayName": m.display_name, "shareHistoryTime": m.share_history_ms,
                           "removedOn": m.removed_ms, "metadata": getattr(m, "metadata", None)}
                          for m in t.members.values()]
        out["messages"] = [_message(m, names) for m in t.messages[-MESSAGES_SHOWN:]]
        out["messagesOmitted"] = max(0, len(t.messages) - MESSAGES_SHOWN)
        out["readReceipts"] = [{"rawId": r.raw_id, "displayName": _name(names, r.raw_id),
                                "messageId": r.message_id, "readOn": r.read_ms} for r in t.receipts.values()]
        out["typing"] = [{**x, "displayName": x["displayName"] or _name(names, x["rawId"])} for x in typing]
        return out


def users(model: Any) -> list[dict]:
    """Every identity, newest first, with the threads it is in now."""
    with model.lock:
        current: dict[str, int] = {}
        for t in model.threads.values():
            if t.deleted_ms is None:
                for raw in t.member_ids():
                    current[raw] = current.get(raw, 0) + 1
        names: dict[str, str] = {}
        for t in model.threads.values():
            for m in t.members.values():
                if m.display_name:
                    names.setdefault(m.raw_id, m.display_name)
        items = sorted(model.identities.values(), key=lambda i: i.created_ms, reverse=True)
        return [{"rawId": i.id, "kind": i.kind, "createdOn": i.created_ms, "deleted": i.deleted,
                 "revocations": i.gen, "threads": current.get(i.id, 0), "displayName": names.get(i.id)}
                for i in items]

"""What the web page can do, as model calls: chat as any user (a full `chat` scope caller, so that a developer can
poke a bot from the browser), manage users and tokens, queue faults, deliver a dead letter again.

Every function takes the parsed JSON body and returns plain data or raises an `errors` exception (the page shows
its message). The model's own rules apply: chatting as a user who is not in the thread is refused, as it would be
for that user's token.
"""

from __future__ import annotations

from typing import Any

from ..errors import BadRequest
from ..model import Caller, ChatModel, ParticipantSpec, validate_raw_id

CHAT_SCOPES = frozenset({"chat"})
TOKEN_MINUTES = 1440


def _text(body: dict, key: str, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadRequest(f"'{key}' must be a non-empty string.", code="ValidationError")
    return value


def as_user(model: ChatModel, body: dict) -> Caller:
    """The caller named by `asUser`: a live identity of this emulator."""
    raw = _text(body, "asUser")
    model.get_identity(raw)  # NotFound for unknown or deleted users, BadRequest for malformed ids
    return Caller(raw, CHAT_SCOPES)


def _display_name(model: ChatModel, tid: str, raw: str) -> str | None:
    with model.lock:
        t = model.threads.get(tid)
        m = t.members.get(raw) if t is not None else None
        return m.display_name if m is not None else None


def create_thread(model: ChatModel, body: dict) -> dict:
    caller = as_user(model, body)
    people = body.get("participants") or []
    if not isinstance(people, list) or not all(isinstance(p, dict) for p in people):
        raise BadRequest("'participants' must be a list of {rawId, displayName}.", code="ValidationError")
    specs = [ParticipantSpec(caller.user_id, _text(body, "displayName", required=False) or None)]
    for p in people:
        raw = _text(p, "rawId")
        validate_raw_id(raw)
        specs.append(ParticipantSpec(raw, _text(p, "displayName", required=False) or None,
                                     metadata=p.get("metadata")))
    props = {k: body[k] for k in ("metadata", "retentionPolicy") if body.get(k) is not None}
    t, invalid = model.create_thread(caller, _text(body, "topic"), specs, props=props)
    return {"id": t.id, "invalidParticipants": invalid}


def send_message(model: ChatModel, tid: str, body: dict) -> dict:
    caller = as_user(model, body)
    m = model.send_message(caller, tid, _text(body, "content"), "text",
                           _display_name(model, tid, caller.user_id))
    return {"id": m.id}


def edit_message(model: ChatModel, tid: str, mid: str, body: dict) -> None:
    model.update_message(as_user(model, body), tid, mid, _text(body, "content"))


def delete_message(model: ChatModel, tid: str, mid: str, body: dict) -> None:
    model.delete_message(as_user(model, body), tid, mid)


def read_receipt(model: ChatModel, tid: str, mid: str, body: dict) -> None:
    model.send_read_receipt(as_user(model, body), tid, mid)


def typing(model: ChatModel, tid: str, body: dict) -> None:
    caller = as_user(model, body)
    model.send_typing(caller, tid, _display_name(model, tid, caller.user_id))


def add_participant(model: ChatModel, tid: str, body: dict) -> dict:
    raw = _text(body, "rawId")
    validate_raw_id(raw)
    invalid = model.add_participants(as_user(model, body), tid,
                                     [ParticipantSpec(raw, _text(body, "displayName", required=False) or None)])
    return {"invalidParticipants": invalid}


def remove_participant(model: ChatModel, tid: str, body: dict) -> None:
    model.remove_participant(as_user(model, body), tid, _text(body, "rawId"))


def create_user(model: ChatModel) -> dict:
    return {"rawId": model.create_identity().id}


def issue_token(model: ChatModel, raw: str, body: dict) -> dict:
    """A token for the user (scopes default to chat; lifetime in minutes, default 24 h)."""
    scopes = body.get("scopes") or ["chat"]
    token, exp = model.issue_token(raw, scopes, body.get("minutes") or TOKEN_MINUTES)
    return {"rawId": raw, "token": token, "expiresOn": exp * 1000}


def revoke_tokens(model: ChatModel, raw: str) -> None:
    model.revoke_tokens(raw)


def add_fault(faults: Any, body: dict) -> list[dict]:
    """Queue a fault on the wire's injector (the same queue as POST /admin/faults)."""
    faults.add(faults.parse(body))
    return faults.pending()

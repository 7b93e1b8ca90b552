"""Chat service handlers (wire spec §5): each maps a parsed request to one model call and back to JSON.

Routes under `/chat/threads`; the caller is the bearer token's user. Route-table checks come first (unknown
paths 404, wrong methods 405), then api-version, then authentication, then the rate limit of the operation.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..errors import BadRequest, NotFound
from ..model import Caller, ParticipantSpec, parse_identifier
from ..model.rules import check_display_name, check_map_metadata, check_metadata_size
from .http import ApiVersions, Request, Result, allow, page_size, parse_time, skip, start_time
from .paging import cursor, paged
from .shapes import shape_for

if TYPE_CHECKING:
    from .app import WireApp

CHAT_API_VERSIONS = ApiVersions(
    "2020-09-21-preview2", "2020-11-01-preview3", "2021-01-27-preview4", "2021-03-01-preview5", "2021-03-07",
    "2021-04-05-preview6", "2021-09-07", "2023-11-07", "2023-11-15-preview", "2024-03-01-preview", "2024-03-07",
    "2024-03-15-preview", "2024-06-05-preview", "2025-03-15",
)
_THREAD_ID_RE = re.compile(r"^19:\S+@thread(\.[A-Za-z0-9]+)?$")


def _check_route(req: Request, rest: list[str]) -> None:
    n = len(rest)
    sub = rest[1].lower() if n >= 2 else ""
    if n == 0:
        allow(req, "GET", "POST")
    elif n == 1:
        allow(req, "GET", "PATCH", "DELETE")
    elif n == 2 and sub == "messages":
        allow(req, "GET", "POST")
    elif n == 3 and sub == "messages":
        allow(req, "GET", "PATCH", "DELETE")
    elif n == 2 and sub == "typing":
        allow(req, "POST")
    elif n == 2 and sub == "readreceipts":
        allow(req, "GET", "POST")
    elif n == 2 and sub == "participants":
        allow(req, "GET")
    elif n == 3 and sub == "participants" and rest[2].lower() in (":add", ":remove"):
        allow(req, "POST")
    else:
        raise NotFound("Not Found")


def _participants(items: object, with_metadata: bool = False) -> list[ParticipantSpec]:
    """Participants of a create or add request; `metadata` only at api-versions that have it (else ignored)."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise BadRequest("participants must be an array.", code="ValidationError")
    out = []
    for p in items:
        if not isinstance(p, dict):
            raise BadRequest("Each participant must be a JSON object.", code="ValidationError")
        raw = parse_identifier(p.get("communicationIdentifier"))
        name = check_display_name(p.get("displayName"))
        share = p.get("shareHistoryTime")
        share_ms = 0 if share is None else parse_time(share, "shareHistoryTime")
        meta = p.get("metadata") if with_metadata else None
        if meta is not None:
            meta = check_metadata_size(check_map_metadata(meta, "participant"), "participant")
        out.append(ParticipantSpec(raw, name, max(0, share_ms), meta))
    return out


def _thread_props(call: _Call, body: dict, keys: tuple[str, ...]) -> dict:
    """The keys of a create/PATCH body the request's api-version knows (older versions ignore the 2025 fields)."""
    if not call.shape.thread_props:
        keys = tuple(k for k in keys if k == "topic")
    return {k: body[k] for k in keys if k in body}


def _thread_id(raw: str) -> str:
    if not _THREAD_ID_RE.match(raw):
        raise BadRequest(f"The thread id '{raw}' is not valid.", code="InvalidThreadId")
    return raw


def _message_id(raw: str) -> str:
    if not raw.isdigit():
        raise BadRequest(f"The message id '{raw}' is not valid.", code="InvalidMessageId")
    return raw


class _Call:
    """One authenticated chat request: what every handler below needs."""

    __slots__ = ("app", "caller", "hdrs", "model", "req", "shape", "user", "version")

    def __init__(self, app: WireApp, req: Request, version: str, caller: Caller) -> None:
        self.app, self.req, self.version, self.caller = app, req, version, caller
        self.model, self.user = app.model, caller.user_id
        self.hdrs = [CHAT_API_VERSIONS.header]
        self.shape = shape_for(version)  # responses carry the fields of the version asked for

    def hit(self, op: str, thread: str | None = None, per_user: bool = True) -> None:
        self.app.limiter.hit(op, user=self.user if per_user else None, thread=thread)

    def page(self, kind: str, page: object, size: int, render: object) -> Result:
        return 200, paged(self.req, self.app.host(self.req), kind, page, size, self.version, render), self.hdrs


def handle_chat(app: WireApp, req: Request, rest: list[str]) -> Result:
    """Everything under /chat/threads."""
    _check_route(req, rest)
    version = CHAT_API_VERSIONS.check(req, app.host(req))
    call = _Call(app, req, version, app.caller(req))
    if not rest:
        return _threads(call)
    tid = _thread_id(rest[0])
    if len(rest) == 1:
        return _thread(call, tid)
    sub = rest[1].lower()
    if sub == "messages":
        return _messages(call, tid, rest)
    if sub == "typing":
        call.hit("typing", tid)
        call.model.send_typing(call.caller, tid, req.json(required=False).get("senderDisplayName"))
        return 200, None, call.hdrs
    if sub == "readreceipts":
        return _receipts(call, tid)
    return _participants_route(call, tid, rest)


def _threads(call: _Call) -> Result:
    req, model = call.req, call.model
    if req.method == "POST":
        call.hit("thread.create")
        body = req.json()
        parts = _participants(body.get("participants"), call.shape.thread_props)
        rid = req.headers.get("repeatability-request-id") or None
        props = _thread_props(call, body, ("metadata", "retentionPolicy"))
        t, invalid = model.create_thread(call.caller, body.get("topic"), parts, rid, props)
        out: dict = {"chatThread": call.shape.thread(t)}
        if invalid:
            out["invalidParticipants"] = invalid
        call.hdrs.append(("Location", f"https://{call.app.host(req)}/chat/threads/{quote(t.id, safe='')}"))
        return 201, out, call.hdrs
    call.hit("thread.list")
    size = page_size(req)
    page = model.list_threads(call.caller, size, start_time(req), cursor(req, "threads"))
    return call.page("threads", page, size, call.shape.thread_item)


def _thread(call: _Call, tid: str) -> Result:
    req, model = call.req, call.model
    if req.method == "GET":
        call.hit("thread.get")
        return 200, call.shape.thread(model.get_thread(call.caller, tid)), call.hdrs
    if req.method == "PATCH":
        call.hit("thread.update", tid, per_user=False)
        body = req.json(required=False)
        model.update_thread(call.caller, tid, _thread_props(call, body, ("topic", "metadata", "retentionPolicy")))
        return 204, None, call.hdrs
    call.hit("thread.delete")
    model.delete_thread(call.caller, tid)
    return 204, None, call.hdrs


def _messages(call: _Call, tid: str, rest: list[str]) -> Result:
    req, model, method = call.req, call.model, call.req.method
    if len(rest) == 2 and method == "POST":
        call.hit("message.write", tid, per_user=False)
        body = req.json()
        msg = model.send_message(call.caller, tid, body.get("content"), body.get("type", "text"),
                                 body.get("senderDisplayName"), body.get("metadata"))
        call.hdrs.append(("Location", f"https://{call.app.host(req)}{req.raw_path.rstrip('/')}/{msg.id}"))
        return 201, {"id": msg.id}, call.hdrs
    if len(rest) == 2:
        call.hit("message.list", tid)
        size = page_size(req)
        page = model.list_messages(call.caller, tid, size, start_time(req), cursor(req, "messages"))
        return call.page("messages", page, size, call.shape.message)
    mid = _message_id(rest[2])
    if method == "GET":
        call.hit("message.get", tid)
        return 200, call.shape.message(model.get_message(call.caller, tid, mid)), call.hdrs
    call.hit("message.write", tid, per_user=False)
    if method == "PATCH":
        body = req.json(required=False)
        model.update_message(call.caller, tid, mid, body.get("content"), body.get("metadata"))
    else:
        model.delete_message(call.caller, tid, mid)
    return 204, None, call.hdrs


def _receipts(call: _Call, tid: str) -> Result:
    req, model = call.req, call.model
    if req.method == "POST":
        call.hit("receipt.send", tid)
        model.send_read_receipt(call.caller, tid, req.json().get("chatMessageId"))
        return 200, None, call.hdrs
    call.hit("receipt.list", tid)
    size = page_size(req)
    page = model.list_read_receipts(call.caller, tid, size, skip(req), cursor(req, "receipts"))
    return call.page("receipts", page, size, call.shape.receipt)


def _participants_route(call: _Call, tid: str, rest: list[str]) -> Result:
    req, model = call.req, call.model
    if len(rest) == 2:
        call.hit("participants.list", tid)
        size = page_size(req)
        page = model.list_participants(call.caller, tid, size, skip(req), cursor(req, "participants"))
        return call.page("participants", page, size, call.shape.member)
    call.hit("participants.change", tid, per_user=False)
    if rest[2].lower() == ":add":
        parts = _participants(req.json().get("participants"), call.shape.thread_props)
        invalid = model.add_participants(call.caller, tid, parts)
        return 201, ({"invalidParticipants": invalid} if invalid else {}), call.hdrs
    model.remove_participant(call.caller, tid, parse_identifier(req.json()))
    return 204, None, call.hdrs

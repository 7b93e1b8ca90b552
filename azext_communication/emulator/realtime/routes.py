"""The HTTP steps before the socket (spec sections 2, 3, 4 and 6), on the emulator's own origin:

`GET /chat/config/realTimeNotifications` (bearer token) names the trouter and registrar URLs;
`POST /v4/a` (X-Skypetoken) allocates a connection; `GET /socket.io/1/` (X-Skypetoken) is the socket.io 0.9
handshake that binds a `sid` to the token; `POST|DELETE /registrar/v3/registrations[/{id}]` record the client's
registration; `GET /?check=...` answers `Trouter`.

`route` returns `(status, body, headers)` like the wire handlers, or None for a path that is not ours; a `bytes`
body is sent as is (text), anything else as JSON.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..errors import MethodNotAllowed, NotFound, Unauthorized
from ..model import Caller
from .hub import CONNECTION_TTL_S, Hub

HEARTBEAT_S = 70  # the handshake's heartbeat and close timeouts (the client adds 2 s to each)
CLOSE_S = 70
TEXT = ("Content-Type", "text/plain; charset=utf-8")
REGISTRAR = "registrar"

Result = tuple[int, object, list[tuple[str, str]]]


def _skype_caller(hub: Hub, req: Any) -> tuple[Caller, str]:
    token = (req.headers.get("x-skypetoken") or "").strip()
    if not token:
        raise Unauthorized("The X-Skypetoken header with an ACS access token is required.")
    return hub.authenticate(token), token


def _method(req: Any, *allowed: str) -> None:
    if req.method not in allowed:
        raise MethodNotAllowed(f"The method {req.method} is not allowed here.")


def config(origin: str) -> dict:
    """The chat gateway's answer: where the trouter and the registrar are (both on this origin)."""
    return {"trouterServiceUrl": origin, "registrarServiceUrl": f"{origin}/{REGISTRAR}", "cloudType": "Public"}


def allocation(hub: Hub, req: Any, origin: str) -> dict:
    caller, _ = _skype_caller(hub, req)
    alloc = hub.allocate(caller, req.query.get("epid", ""))
    url = f"{origin}/trouter/f/{alloc.id}/"
    expires_ms = int(time.time() * 1000) + CONNECTION_TTL_S * 1000
    return {"socketio": f"{origin}/", "url": url, "surl": url, "id": alloc.id, "ccid": alloc.id,
            "connectparams": {"sr": alloc.id, "se": expires_ms}, "ttl": str(CONNECTION_TTL_S), "curlb": ""}


def handshake(hub: Hub, req: Any) -> bytes:
    caller, token = _skype_caller(hub, req)
    session = hub.handshake(caller, token, req.query.get("ccid", ""), req.query.get("epid", ""))
    return f"{session.sid}:{HEARTBEAT_S}:{CLOSE_S}:websocket".encode()


def route(hub: Hub, req: Any, origin: str, chat_caller: Callable[[Any], Caller]) -> Result | None:
    """Answer a real-time path; None when the path is not one of them."""
    segs = [s.lower() for s in req.segments]
    if segs == ["chat", "config", "realtimenotifications"]:
        _method(req, "GET")
        chat_caller(req)  # the bearer token, checked like every chat call
        return 200, config(origin), []
    if segs == ["v4", "a"]:
        _method(req, "POST")
        return 200, allocation(hub, req, origin), []
    if segs == ["socket.io", "1"]:
        _method(req, "GET")
        return 200, handshake(hub, req), [TEXT]
    if segs[:1] == ["socket.io"]:
        raise NotFound("Unknown socket.io path (the WebSocket needs an Upgrade request).")
    if segs[:3] == [REGISTRAR, "v3", "registrations"] and len(segs) <= 4:
        caller, _ = _skype_caller(hub, req)
        if len(segs) == 3:
            _method(req, "POST")
            hub.register(caller, req.json(required=False))
            return 202, None, []
        _method(req, "DELETE")
        hub.unregister(caller, req.segments[3])
        return 204, None, []
    if not segs and "check" in req.query and req.method == "GET":
        return 200, b"Trouter", [TEXT]
    return None

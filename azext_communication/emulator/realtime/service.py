"""`RealtimeService`: the real-time outlet of one emulator, the object the server and the wire app hold.

It observes the model (`Hub.observe`), answers the HTTP steps (`route`), serves WebSocket upgrades (`upgrade`)
and knows the allowed browser origins (`cors`, also used for the chat REST routes).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from typing import Any

from ..model import Caller, ChatModel
from . import routes, websocket
from .cors import DEFAULT_ORIGINS, CorsPolicy
from .hub import Hub


class RealtimeService:
    """Real-time notifications for browser chat apps, fed by the model's changes."""

    def __init__(self, model: ChatModel, cors_origins: Iterable[str] = DEFAULT_ORIGINS) -> None:
        self.cors = CorsPolicy(cors_origins)
        self.hub = Hub(model)
        model.observers.append(self.hub.observe)

    def route(self, req: Any, origin: str, chat_caller: Callable[[Any], Caller]) -> routes.Result | None:
        """The answer to a real-time HTTP step, or None for another path."""
        return routes.route(self.hub, req, origin, chat_caller)

    def upgrade(self, sock: socket.socket, target: str, fields: list[tuple[str, str]],
                leftover: bytes = b"") -> tuple[int, list[tuple[str, str]], bytes] | None:
        """Serve a WebSocket on `sock` until it ends (None), or the HTTP refusal to send instead."""
        refused = websocket.upgrade(self.hub, self.cors.allows, sock, target, fields, leftover)
        if refused is None:
            return None
        status, reason = refused
        origin = next((v for k, v in fields if k.lower() == "origin"), None)
        headers = [("Content-Type", "application/json; charset=utf-8"), *self.cors.response_headers(origin)]
        return status, headers, websocket.refusal_body(reason)

    @property
    def connected(self) -> int:
        """Live sockets."""
        return self.hub.connected

    def stop(self) -> None:
        """Ask every socket to close (the server then drops their connections)."""
        self.hub.close_all()

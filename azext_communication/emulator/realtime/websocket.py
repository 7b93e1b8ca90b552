"""One real-time client's WebSocket (`/socket.io/1/websocket/{sid}`): the upgrade, then the socket.io session
on the connection's own thread until either side ends it.

The WebSocket protocol itself is wsproto's (sans-IO): this module only moves bytes between the TLS socket and
a `wsproto.WSConnection`. Pushes are queued by other threads (`push`) and written by this thread, woken through
an eventfd, so a slow browser delays nobody else and the TLS socket is only ever used by one thread.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import select
import socket
import ssl
import threading
import time
from typing import Any

from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import AcceptConnection, CloseConnection, Message, Ping, Request, TextMessage
from wsproto.utilities import RemoteProtocolError

from ..errors import EmulatorError
from . import socketio
from .hub import CONNECTION_TTL_S, Hub, Session
from .routes import CLOSE_S, HEARTBEAT_S

log = logging.getLogger("azext_communication.emulator")

HEARTBEAT_EVERY_S = 25.0  # `2::` at most this far apart (the client's timeout is the handshake's + 2 s)
TOKEN_CHECK_EVERY_S = 1.0  # an expired or revoked token ends the connection within about this
ANSWER_WITHIN_S = 5.0  # a push not answered in this is logged (the client itself answers 504 after 5 s)
WRITE_TIMEOUT_S = 30.0
TICK_S = 1.0


class PushSocket:
    """The socket.io 0.9 session over one accepted WebSocket."""

    def __init__(self, hub: Hub, session: Session | None, sock: socket.socket, ws: WSConnection) -> None:
        self.hub = hub
        self.session = session
        self.user_id = session.user_id if session else ""
        self.url = f"/trouter/f/{session.connection_id}/" if session else "/"
        self._sock = sock
        self._ws = ws
        self._wake = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._wake_lock = threading.Lock()  # the eventfd is never written after it is closed (its number is reused)
        self._wake_open = True
        self._queue: collections.deque[tuple[int, str]] = collections.deque()
        self._end: list[str | None] = []
        self._open = True
        self._next_id = 0
        self._unanswered: dict[int, tuple[float, int]] = {}
        self._partial: list[str] = []
        now = time.monotonic()
        self._last_heartbeat = self._last_token_check = self._last_received = now

    # ------------------------------------------------------------------ other threads
    def push(self, event_id: int, body: str) -> None:
        """Queue one event body (called inside the model lock: cheap, never blocks)."""
        self._queue.append((event_id, body))
        self._signal()

    def end(self, reason: str | None) -> None:
        """Ask the socket's thread to send `0::` (with `reason`) and close."""
        self._end.append(reason)
        self._signal()

    def _signal(self) -> None:
        with self._wake_lock:
            if self._wake_open:
                os.eventfd_write(self._wake, 1)

    # ------------------------------------------------------------------ the socket's thread
    def run(self) -> None:
        """Serve until the client goes, the token stops being valid, or the emulator stops."""
        try:
            if self.session is None:  # unknown sid (e.g. issued before a restart): the client allocates again
                self._send([socketio.disconnect_frame()])
                self._close()
                return
            self.hub.attach(self)  # first: a write acknowledged after `trouter.connected` must reach this socket
            self._send([socketio.CONNECT_FRAME,
                        socketio.event_frame("trouter.connected", {"ttl": CONNECTION_TTL_S, "dur": "1"})])
            self._loop()
        except (OSError, ssl.SSLError) as exc:
            log.debug("real-time socket ended: %r", exc)
        finally:
            self.hub.detach(self)
            with self._wake_lock:
                self._wake_open = False
                os.close(self._wake)

    def _loop(self) -> None:
        poller = select.poll()
        fd = self._sock.fileno()
        poller.register(fd, select.POLLIN)
        poller.register(self._wake, select.POLLIN)
        next_tick = time.monotonic() + TICK_S
        while self._open:
            if self._sock.pending():
                ready = [(fd, select.POLLIN)]
            else:
                ready = poller.poll(max(0.0, next_tick - time.monotonic()) * 1000)
            for ready_fd, mask in ready:
                if ready_fd == fd:
                    self._receive(mask)
                else:
                    with contextlib.suppress(BlockingIOError):
                        os.eventfd_read(self._wake)
            if self._queue and self._open:
                self._flush()
            if self._end and self._open:
                self._send([socketio.disconnect_frame(self._end[0])])
                self._close()
            now = time.monotonic()
            if now >= next_tick and self._open:
                self._tick(now)
                next_tick = now + TICK_S

    def _receive(self, mask: int) -> None:
        self._sock.settimeout(0.0)  # a TLS record without application data must not block the thread
        try:
            data = self._sock.recv(65536)
        except (ssl.SSLWantReadError, BlockingIOError):
            if mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                self._open = False  # nothing more will come
            return
        if not data:
            self._open = False
            return
        self._last_received = time.monotonic()
        self._ws.receive_data(data)
        for event in self._ws.events():
            if isinstance(event, TextMessage):
                self._partial.append(event.data)
                if event.message_finished:
                    text, self._partial = "".join(self._partial), []
                    self._on_frame(text)
            elif isinstance(event, Ping):
                self._write(self._ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                if self._ws.state is ConnectionState.REMOTE_CLOSING:
                    self._write(self._ws.send(event.response()))
                self._open = False

    def _on_frame(self, text: str) -> None:
        packet = socketio.parse(text)
        if packet is None:
            log.debug("real-time socket: ignored a frame that is not socket.io 0.9")
        elif packet.type == socketio.EVENT and packet.ack_id is not None:
            self._send([socketio.ack_frame(packet.ack_id)])  # user.activity, ping, processed_message_loss
        elif packet.type == socketio.MESSAGE:
            answer = packet.json()
            if isinstance(answer, dict) and isinstance(answer.get("id"), int):
                sent = self._unanswered.pop(answer["id"], None)
                if sent is not None and answer.get("status") != 200:
                    log.info("push of event %s answered %s by the client of %s", sent[1], answer.get("status"),
                             self.user_id)
        elif packet.type == socketio.DISCONNECT:
            self._close()

    def _flush(self) -> None:
        items = []
        while self._queue:
            items.append(self._queue.popleft())
        try:
            self.hub.wait_durable()
        except EmulatorError:
            log.warning("real-time: %d pushes dropped, the data folder could not be written", len(items))
            return
        frames, now = [], time.monotonic()
        for event_id, body in items:
            self._next_id += 1
            self._unanswered[self._next_id] = (now, event_id)
            frames.append(socketio.message_frame({"id": self._next_id, "method": "POST", "url": self.url,
                                                  "headers": {"Content-Type": "application/json"}, "body": body}))
        self._send(frames)

    def _tick(self, now: float) -> None:
        if now - self._last_heartbeat >= HEARTBEAT_EVERY_S:
            self._last_heartbeat = now
            self._send([socketio.HEARTBEAT_FRAME])
        if now - self._last_token_check >= TOKEN_CHECK_EVERY_S:
            self._last_token_check = now
            try:
                self.hub.authenticate(self.session.token)
            except EmulatorError:
                self._send([socketio.disconnect_frame("unauthorized")])
                self._close()
                return
        late = [i for i, (at, _) in self._unanswered.items() if now - at > ANSWER_WITHIN_S]
        for i in late:
            _, event_id = self._unanswered.pop(i)
            log.warning("push %d (event %s) to %s not answered within %g s", i, event_id, self.user_id,
                        ANSWER_WITHIN_S)
        if now - self._last_received > HEARTBEAT_S + CLOSE_S:
            log.info("real-time socket of %s silent for %d s: closed", self.user_id, HEARTBEAT_S + CLOSE_S)
            self._close()

    # ------------------------------------------------------------------ output
    def _send(self, frames: list[str]) -> None:
        if self._ws.state is ConnectionState.OPEN:
            self._write(b"".join(self._ws.send(Message(data=f)) for f in frames))

    def _close(self) -> None:
        if self._ws.state is ConnectionState.OPEN:
            self._write(self._ws.send(CloseConnection(code=1000)))
        self._open = False

    def _write(self, data: bytes) -> None:
        if data:
            self._sock.settimeout(WRITE_TIMEOUT_S)
            self._sock.sendall(data)


def upgrade(hub: Hub, allows_origin: Any, sock: socket.socket, target: str, fields: list[tuple[str, str]],
            leftover: bytes = b"") -> tuple[int, str] | None:
    """Serve a WebSocket upgrade on `sock` until it ends (None), or refuse it: (status, reason)."""
    path = target.partition("?")[0]
    parts = path.strip("/").split("/")
    if len(parts) != 4 or parts[:3] != ["socket.io", "1", "websocket"]:
        return 404, "Not a real-time socket path."
    origin = next((v for k, v in fields if k.lower() == "origin"), None)
    if origin is not None and not allows_origin(origin):
        log.info("real-time socket from origin %s refused (not in --cors-origin)", origin[:100])
        return 403, "The origin is not allowed (see --cors-origin)."
    ws = WSConnection(ConnectionType.SERVER)
    head = f"GET {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n"
    try:
        ws.receive_data(head.encode("latin-1") + leftover)
        request = next((e for e in ws.events() if isinstance(e, Request)), None)
    except RemoteProtocolError as exc:
        return 400, f"Invalid WebSocket upgrade: {exc}"
    if request is None:
        return 400, "Invalid WebSocket upgrade."
    session = hub.claim(parts[3])
    sock.settimeout(WRITE_TIMEOUT_S)
    sock.sendall(ws.send(AcceptConnection()))
    PushSocket(hub, session, sock, ws).run()
    return None


def refusal_body(reason: str) -> bytes:
    """The JSON of a refused upgrade."""
    return json.dumps({"error": {"code": "WebSocketRefused", "message": reason}}).encode()

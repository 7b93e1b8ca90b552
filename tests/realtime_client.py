"""A test client of the emulator's real-time steps over plain HTTPS and the `websockets` library: the HTTP steps
the chat SDK takes (config, allocation, handshake) and a socket.io 0.9 session on the WebSocket."""

from __future__ import annotations

import http.client
import json
import ssl
from typing import Any

from websockets.sync.client import ClientConnection, connect


class RealtimeClient:
    """The steps of spec sections 2-4 against one emulator (`emu`: an `EmulatorServer`)."""

    def __init__(self, emu: Any) -> None:
        self.emu = emu
        self.ctx = ssl.create_default_context(cafile=emu.ca_cert)

    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPSConnection("127.0.0.1", self.emu.port, context=self.ctx, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def allocate(self, token: str, epid: str = "e1") -> dict:
        status, _, body = self.request("POST", f"/v4/a?epid={epid}", {"X-Skypetoken": token,
                                                                      "Content-Type": "text/plain"}, b"")
        assert status == 200, body
        return json.loads(body)

    def handshake(self, token: str, ccid: str = "", epid: str = "e1") -> str:
        status, _, body = self.request("GET", f"/socket.io/1/?ccid={ccid}&epid={epid}&v=v4",
                                       {"X-Skypetoken": token})
        assert status == 200, body
        return body.decode().split(":")[0]

    def socket(self, sid: str, origin: str | None = "http://127.0.0.1:5173") -> ClientConnection:
        return connect(f"wss://127.0.0.1:{self.emu.port}/socket.io/1/websocket/{sid}?v=v4", ssl=self.ctx,
                       origin=origin, open_timeout=20)

    def live_socket(self, token: str) -> ClientConnection:
        """Allocation, handshake and socket, up to `trouter.connected`."""
        alloc = self.allocate(token)
        ws = self.socket(self.handshake(token, alloc["ccid"]))
        assert ws.recv(timeout=5) == "1::"
        assert json.loads(ws.recv(timeout=5)[4:])["name"] == "trouter.connected"
        return ws


def push_body(frame: str) -> dict:
    """The event JSON inside a `3:::` push frame."""
    assert frame.startswith("3:::"), frame
    return json.loads(json.loads(frame[4:])["body"])

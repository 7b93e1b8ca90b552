"""Calls the emulator's wire layer in-process the way the SDKs send requests (shared by the wire tests)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from azext_communication.emulator.tokens import sign_request
from azext_communication.emulator.wire import WireApp

KEY = base64.b64encode(b"k" * 32).decode()
HOST = "127.0.0.1:8443"
CHAT = "api-version=2024-03-07"
IDV = "api-version=2023-10-01"


class Client:
    """Calls WireApp.handle the way the SDKs would send requests."""

    def __init__(self, app: WireApp) -> None:
        self.app = app

    def signed(self, method: str, target: str, body: object = None, *, host: str = HOST, sign_host: str | None = None,
               date: str | None = None, tamper=None) -> tuple[int, dict, object]:
        raw = b"" if body is None else json.dumps(body).encode()
        headers = sign_request(method, f"https://{sign_host or host}{target}", raw, KEY, date=date)
        headers["Host"] = host
        if tamper:
            method, target, headers, raw = tamper(method, target, headers, raw)
        return self._call(method, target, headers, raw)

    def bearer(self, method: str, target: str, token: str, body: object = None,
               extra: dict | None = None) -> tuple[int, dict, object]:
        raw = b"" if body is None else json.dumps(body).encode()
        headers = {"Host": HOST, "Authorization": f"Bearer {token}", **(extra or {})}
        return self._call(method, target, headers, raw)

    def _call(self, method, target, headers, raw):
        status, hdrs, body = self.app.handle(method, target, headers, raw)
        hd = {k.lower(): v for k, v in hdrs}
        data = json.loads(body) if body else None
        if body:
            assert hd["content-type"] == "application/json; charset=utf-8"
        if status >= 400:
            assert set(data) == {"error"} and {"code", "message"} <= set(data["error"])
        return status, hd, data


def new_user(client: Client, scopes=("chat",)) -> tuple[str, str]:
    status, _, body = client.signed("POST", f"/identities?{IDV}", {"createTokenWithScopes": list(scopes)})
    assert status == 201
    return body["identity"]["id"], body["accessToken"]["token"]


def new_thread(client: Client, token: str, *users: str, topic: str = "topic") -> str:
    parts = [{"communicationIdentifier": {"rawId": u, "communicationUser": {"id": u}}} for u in users]
    status, hdrs, body = client.bearer("POST", f"/chat/threads?{CHAT}", token, {"topic": topic, "participants": parts})
    assert status == 201, body
    tid = body["chatThread"]["id"]
    assert hdrs["location"] == f"https://{HOST}/chat/threads/{quote(tid, safe='')}"
    return tid


def tpath(tid: str, rest: str = "") -> str:
    return f"/chat/threads/{quote(tid, safe='')}{rest}"

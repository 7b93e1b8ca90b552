"""Refusals over real HTTPS (raw requests, verification on): every error is a JSON body with the right status."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import time
from collections.abc import Iterator
from email.utils import formatdate
from urllib.parse import quote, urlsplit

import pytest
import requests
from emulator_process import in_process_emulator

from azext_communication.emulator.server import EmulatorServer
from azext_communication.emulator.tokens import content_sha256, sign_request

CHAT = "api-version=2024-03-07"
IDV = "api-version=2023-10-01"


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    with in_process_emulator(tmp_path_factory.mktemp("emuhome")) as server:
        yield server


class Api:
    def __init__(self, emu: EmulatorServer) -> None:
        self.emu = emu
        self.s = requests.Session()
        self.s.trust_env = False  # a REQUESTS_CA_BUNDLE in the environment would override `verify`
        self.s.verify = emu.ca_bundle

    def url(self, target: str) -> str:
        return self.emu.endpoint + target

    def signed(self, method: str, target: str, body: object = None, tamper=None) -> requests.Response:
        raw = b"" if body is None else json.dumps(body).encode()
        headers = sign_request(method, self.url(target), raw, self.emu.access_key)
        if tamper:
            method, target, headers, raw = tamper(method, target, headers, raw)
        return self.check(self.s.request(method, self.url(target), data=raw, headers=headers))

    def bearer(self, method: str, target: str, token: str, body: object = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"}
        data = None if body is None else json.dumps(body)
        if data is not None:
            headers["Content-Type"] = "application/json"
        return self.check(self.s.request(method, self.url(target), data=data, headers=headers))

    @staticmethod
    def check(resp: requests.Response) -> requests.Response:
        if resp.status_code >= 400:
            assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
            err = resp.json()["error"]
            assert err["code"] and err["message"]
        return resp

    def user(self, scopes=("chat",)) -> tuple[str, str]:
        body = self.signed("POST", f"/identities?{IDV}", {"createTokenWithScopes": list(scopes)}).json()
        return body["identity"]["id"], body["accessToken"]["token"]

    def thread(self, token: str, *users: str) -> str:
        parts = [{"communicationIdentifier": {"rawId": u, "communicationUser": {"id": u}}} for u in users]
        resp = self.bearer("POST", f"/chat/threads?{CHAT}", token, {"topic": "t", "participants": parts})
        assert resp.status_code == 201
        return resp.json()["chatThread"]["id"]


@pytest.fixture
def api(emu: EmulatorServer) -> Api:
    return Api(emu)


def tp(tid: str, rest: str = "") -> str:
    return f"/chat/threads/{quote(tid, safe='')}{rest}"


def test_tampered_hmac_gets_401(api: Api) -> None:
    body = {"createTokenWithScopes": ["chat"]}
    assert api.signed("POST", f"/identities?{IDV}", body).status_code == 201

    def other_body(m, t, h, raw):
        return m, t, h, raw.replace(b"chat", b"voip")

    def other_body_rehashed(m, t, h, raw):
        new = raw.replace(b"chat", b"voip")
        return m, t, {**h, "x-ms-content-sha256": content_sha256(new)}, new

    def other_path(m, t, h, raw):
        return m, t.replace("/identities", "/identities/"), h, raw

    def other_query(m, t, h, raw):
        return m, t + "&x=1", h, raw

    def other_date(m, t, h, raw):
        return m, t, {**h, "x-ms-date": formatdate(time.time() + 60, usegmt=True)}, raw

    def stale_date(m, t, h, raw):
        date = formatdate(time.time() - 3600, usegmt=True)
        return m, t, sign_request(m, api.url(t), raw, api.emu.access_key, date=date), raw

    def wrong_key(m, t, h, raw):
        return m, t, sign_request(m, api.url(t), raw, base64.b64encode(b"wrong").decode()), raw

    for tamper in (other_body, other_body_rehashed, other_path, other_query, other_date, stale_date, wrong_key):
        resp = api.signed("POST", f"/identities?{IDV}", body, tamper=tamper)
        assert resp.status_code == 401, tamper.__name__
        assert resp.json()["error"]["code"] == "Unauthorized"


def test_forged_expired_revoked_tokens_get_401(api: Api, emu: EmulatorServer) -> None:
    uid, token = api.user()
    assert api.bearer("GET", f"/chat/threads?{CHAT}", token).status_code == 200
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["acsScope"] = "chat,admin"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    for forged in (f"{head}.{forged_payload}.{sig}", f"{head}.{payload}.", "x.y.z", token + "x"):
        assert api.bearer("GET", f"/chat/threads?{CHAT}", forged).status_code == 401
    expired, _ = emu.model.issue_token(uid, ["chat"], expires_at=int(time.time()) - 5)
    assert api.bearer("GET", f"/chat/threads?{CHAT}", expired).status_code == 401
    assert api.signed("POST", f"/identities/{quote(uid, safe='')}/:revokeAccessTokens?{IDV}").status_code == 204
    assert api.bearer("GET", f"/chat/threads?{CHAT}", token).status_code == 401
    uid2, token2 = api.user()
    assert api.signed("DELETE", f"/identities/{quote(uid2, safe='')}?{IDV}").status_code == 204
    assert api.bearer("GET", f"/chat/threads?{CHAT}", token2).status_code == 401
    assert api.s.get(api.url(f"/chat/threads?{CHAT}")).status_code == 401  # no token at all


def test_permissions_403(api: Api) -> None:
    a, ta = api.user()
    b, tb = api.user()
    _, tc = api.user()
    tid = api.thread(ta, b)
    assert api.bearer("GET", tp(tid, f"?{CHAT}"), tc).status_code == 403
    assert api.bearer("POST", tp(tid, f"/messages?{CHAT}"), tc, {"content": "hi"}).status_code == 403
    mid = api.bearer("POST", tp(tid, f"/messages?{CHAT}"), ta, {"content": "mine"}).json()["id"]
    assert api.bearer("PATCH", tp(tid, f"/messages/{mid}?{CHAT}"), tb, {"content": "x"}).status_code == 403
    assert api.bearer("DELETE", tp(tid, f"/messages/{mid}?{CHAT}"), tb).status_code == 403
    _, tjoin = api.user(("chat.join",))
    resp = api.bearer("POST", f"/chat/threads?{CHAT}", tjoin, {"topic": "x", "participants": []})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "Forbidden"
    _, tvoip = api.user(("voip",))
    assert api.bearer("GET", f"/chat/threads?{CHAT}", tvoip).status_code == 403


def test_bad_ids_unknown_threads_sizes_versions(api: Api) -> None:
    _, ta = api.user()
    assert api.signed("DELETE", f"/identities/{quote('8:acs:fakeid===', safe='')}?{IDV}").status_code == 400
    bad = {"communicationIdentifier": {"rawId": "8:acs:fakeid===", "communicationUser": {"id": "8:acs:fakeid==="}}}
    assert api.bearer("POST", f"/chat/threads?{CHAT}", ta, {"topic": "x", "participants": [bad]}).status_code == 400
    assert api.bearer("GET", tp("19:missing@thread.v2", f"?{CHAT}"), ta).status_code == 404
    assert api.bearer("GET", tp("19:missing@thread.v2", f"/messages?{CHAT}"), ta).status_code == 404
    tid = api.thread(ta)
    resp = api.bearer("POST", tp(tid, f"/messages?{CHAT}"), ta, {"content": "x" * (29 * 1024)})
    assert 400 <= resp.status_code < 500
    assert api.bearer("POST", tp(tid, f"/messages?{CHAT}"), ta, {"content": "x" * (27 * 1024)}).status_code == 201
    resp = api.bearer("GET", "/chat/threads?api-version=2000-01-01", ta)
    assert resp.status_code == 400
    assert "does not support the API version '2000-01-01'" in resp.json()["error"]["message"]
    resp = api.bearer("GET", f"/unknown?{CHAT}", ta)
    assert resp.status_code == 404
    big = api.s.post(api.url(f"/chat/threads?{CHAT}"), data=b"x" * (5 * 1024 * 1024),
                     headers={"Authorization": f"Bearer {ta}"})
    assert big.status_code == 413 and big.json()["error"]["code"] == "RequestEntityTooLarge"


def test_next_links_are_absolute_https(api: Api) -> None:
    _, ta = api.user()
    for _ in range(3):
        api.thread(ta)
    body = api.bearer("GET", f"/chat/threads?maxPageSize=1&{CHAT}", ta).json()
    link = urlsplit(body["nextLink"])
    assert link.scheme == "https" and f"{link.hostname}:{link.port}" == urlsplit(api.emu.endpoint).netloc
    second = api.s.get(body["nextLink"], headers={"Authorization": f"Bearer {ta}"})
    assert second.status_code == 200 and len(second.json()["value"]) == 1


def _raw_exchange(emu: EmulatorServer, payload: bytes) -> bytes:
    ctx = ssl.create_default_context(cafile=emu.ca_cert)
    host, port = urlsplit(emu.endpoint).hostname, urlsplit(emu.endpoint).port
    with socket.create_connection((host, port), timeout=10) as sock, \
            ctx.wrap_socket(sock, server_hostname=host) as tls:
        tls.sendall(payload)
        data = b""
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


@pytest.mark.parametrize("payload", [b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
                                     b"BREW /chat/threads HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                     b"Content-Length: 0\r\n\r\n",
                                     b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
                                     b"POST /identities HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n"])
def test_malformed_http_gets_json(emu: EmulatorServer, payload: bytes) -> None:
    data = _raw_exchange(emu, payload)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 4") or head.startswith(b"HTTP/1.1 5")
    assert b"Content-Type: application/json; charset=utf-8" in head
    assert "error" in json.loads(body)

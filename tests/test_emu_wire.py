"""Wire layer of the emulator without sockets: routing, decoding, api-version, HMAC, bearer auth, JSON errors."""

from __future__ import annotations

import base64
import json
from email.utils import formatdate
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from wire_client import CHAT, HOST, IDV, KEY, Client, new_thread, new_user, tpath

from azext_communication.emulator.model import ChatModel
from azext_communication.emulator.tokens import sign_request
from azext_communication.emulator.wire import WireApp


@pytest.fixture
def app() -> WireApp:
    return WireApp(ChatModel(), KEY, server_port=8443)


@pytest.fixture
def client(app: WireApp) -> Client:
    return Client(app)


# ------------------------------------------------------------------------------------------- identity + HMAC

def test_identity_operations(client: Client) -> None:
    status, _, body = client.signed("POST", f"/identities?{IDV}")  # empty body, like create_user()
    assert status == 201 and set(body) == {"identity"} and body["identity"]["id"].startswith("8:acs:")
    uid = body["identity"]["id"]
    enc = quote(uid, safe="")
    status, _, tok = client.signed("POST", f"/identities/{enc}/:issueAccessToken?{IDV}",
                                   {"scopes": ["chat"], "expiresInMinutes": 90})
    assert status == 200 and set(tok) == {"token", "expiresOn"}
    status, _, body = client.signed("POST", f"/identities/{enc}/:issueAccessToken?{IDV}", {"scopes": ["chat"],
                                                                                          "expiresInMinutes": 59})
    assert status == 400
    status, _, body = client.signed("POST", f"/identities?{IDV}", {"createTokenWithScopes": ["chat"],
                                                                   "expiresInMinutes": 1441})
    assert status == 400
    assert client.signed("POST", f"/identities/{enc}/:revokeAccessTokens?{IDV}")[0] == 204
    assert client.signed("DELETE", f"/identities/{enc}?{IDV}")[0] == 204
    assert client.signed("DELETE", f"/identities/{enc}?{IDV}")[0] == 404
    assert client.signed("DELETE", f"/identities/{quote('8:acs:fakeid===', safe='')}?{IDV}")[0] == 400
    status, _, body = client.signed("POST", f"/teamsUser/:exchangeAccessToken?{IDV}",
                                    {"token": "a.b.c", "appId": "app", "userId": "oid-1"})
    assert status == 200 and body["token"].count(".") == 2


def test_hmac_tampering_is_refused(client: Client) -> None:
    def body_change(m, t, h, raw):
        return m, t, h, b'{"createTokenWithScopes": ["voip"]}'

    def body_and_hash_change(m, t, h, raw):
        new = b'{"createTokenWithScopes": ["voip"]}'
        from azext_communication.emulator.tokens import content_sha256
        return m, t, {**h, "x-ms-content-sha256": content_sha256(new)}, new

    def path_change(m, t, h, raw):
        return m, t.replace("2023-10-01", "2022-10-01"), h, raw

    def date_change(m, t, h, raw):
        return m, t, {**h, "x-ms-date": formatdate(usegmt=True, timeval=1)}, raw

    def other_key(m, t, h, raw):
        return m, t, sign_request(m, f"https://{HOST}{t}", raw, base64.b64encode(b"x" * 32).decode()) | {
            "Host": HOST}, raw

    body = {"createTokenWithScopes": ["chat"]}
    assert client.signed("POST", f"/identities?{IDV}", body)[0] == 201
    for tamper in (body_change, body_and_hash_change, path_change, date_change, other_key):
        status, _, err = client.signed("POST", f"/identities?{IDV}", body, tamper=tamper)
        assert status == 401, tamper.__name__
        assert err["error"]["code"] == "Unauthorized"
    old = formatdate(usegmt=True, timeval=__import__("time").time() - 16 * 60)
    assert client.signed("POST", f"/identities?{IDV}", body, date=old)[0] == 401
    recent = formatdate(usegmt=True, timeval=__import__("time").time() - 10 * 60)
    assert client.signed("POST", f"/identities?{IDV}", body, date=recent)[0] == 201
    assert client._call("POST", f"/identities?{IDV}", {"Host": HOST}, b"")[0] == 401


def test_hmac_host_with_and_without_port(client: Client) -> None:
    # endpoint written with the default port: signed "127.0.0.1:443", Host header "127.0.0.1"
    assert client.signed("POST", f"/identities?{IDV}", host="127.0.0.1", sign_host="127.0.0.1:443")[0] == 201
    # endpoint written without port but served on 8443
    assert client.signed("POST", f"/identities?{IDV}", host="127.0.0.1", sign_host="127.0.0.1:8443")[0] == 201
    assert client.signed("POST", f"/identities?{IDV}", host="127.0.0.1:8443", sign_host="127.0.0.1")[0] == 201
    assert client.signed("POST", f"/identities?{IDV}", host="127.0.0.1:8443", sign_host="localhost:8443")[0] == 401


def test_raw_target_is_signed_not_the_decoded_one(client: Client) -> None:
    uid, _ = new_user(client)
    enc = quote(uid, safe="")
    target = f"/identities/{enc}/:issueAccessToken?{IDV}"
    raw = json.dumps({"scopes": ["chat"]}).encode()
    headers = sign_request("POST", f"https://{HOST}/identities/{uid}/:issueAccessToken?{IDV}", raw, KEY)
    status, _, _ = client._call("POST", target, {**headers, "Host": HOST}, raw)
    assert status == 401  # signature over the decoded path does not match the raw target


# ------------------------------------------------------------------------------------------- routing and versions

def test_api_version_checks(client: Client) -> None:
    _, token = new_user(client)
    status, _, body = client.bearer("GET", "/chat/threads?api-version=2019-01-01", token)
    assert status == 400
    assert body["error"]["message"] == ("The HTTP resource that matches the request URI "
                                        f"'https://{HOST}/chat/threads?api-version=2019-01-01' does not support "
                                        "the API version '2019-01-01'.")
    assert client.bearer("GET", "/chat/threads", token)[0] == 400
    assert client.signed("POST", "/identities?api-version=2024-03-07")[0] == 400  # chat version on identity
    status, hdrs, _ = client.bearer("GET", f"/chat/threads?{CHAT}", token)
    assert status == 200 and "2024-03-07" in hdrs["api-supported-versions"]


def test_routing_and_percent_decoding(client: Client) -> None:
    a, token = new_user(client)
    b, _ = new_user(client)
    tid = new_thread(client, token)
    assert client.bearer("GET", f"/chat/threads/{tid}?{CHAT}", token)[0] == 200  # unencoded also works
    assert client.bearer("GET", tpath(tid, f"/?{CHAT}"), token)[0] == 200
    part = {"participants": [{"communicationIdentifier": {"rawId": b, "communicationUser": {"id": b}}}]}
    assert client.bearer("POST", tpath(tid, f"/participants/%3Aadd?{CHAT}"), token, part)[0] == 201
    assert client.bearer("GET", tpath(tid, f"/nothing?{CHAT}"), token)[0] == 404
    assert client.bearer("GET", f"/nowhere?{CHAT}", token)[0] == 404
    status, hdrs, _ = client.bearer("PUT", tpath(tid, f"?{CHAT}"), token)
    assert status == 405 and "GET" in hdrs["allow"]
    assert client.bearer("GET", tpath("not-a-thread", f"?{CHAT}"), token)[0] == 400
    assert client.bearer("GET", tpath("19:unknown@thread.v2", f"?{CHAT}"), token)[0] == 404
    assert client.bearer("GET", tpath(tid, f"/messages/abc?{CHAT}"), token)[0] == 400
    assert client.bearer("GET", tpath(tid, f"/messages/123?{CHAT}"), token)[0] == 404


def test_chat_shapes(client: Client) -> None:
    a, token = new_user(client)
    status, hdrs, body = client.bearer("POST", tpath(new_thread(client, token), f"/messages?{CHAT}"), token,
                                       {"content": "hi", "type": "text"})
    assert status == 201 and set(body) == {"id"} and hdrs["location"].endswith(f"/messages/{body['id']}")
    tid = new_thread(client, token, topic="shapes")
    mid = client.bearer("POST", tpath(tid, f"/messages?{CHAT}"), token, {"content": "<b>x</b>", "type": "html",
                                                                          "metadata": {"k": "v"}})[2]["id"]
    status, _, msg = client.bearer("GET", tpath(tid, f"/messages/{mid}?{CHAT}"), token)
    assert msg == {"id": mid, "type": "html", "sequenceId": "3", "version": mid,
                   "content": {"message": "<b>x</b>", "attachments": []}, "senderDisplayName": "",
                   "createdOn": msg["createdOn"], "senderCommunicationIdentifier": {"rawId": a,
                                                                                    "communicationUser": {"id": a}},
                   "metadata": {"k": "v"}}
    _, _, page = client.bearer("GET", tpath(tid, f"/messages?{CHAT}"), token)
    assert [m["type"] for m in page["value"]] == ["html", "topicUpdated", "participantAdded"]
    added = page["value"][2]
    assert "senderCommunicationIdentifier" not in added and "senderDisplayName" not in added
    assert added["content"]["participants"] == [{"communicationIdentifier": {"rawId": a, "communicationUser":
                                                                             {"id": a}},
                                                 "shareHistoryTime": "1970-01-01T00:00:00Z"}]
    assert page["value"][1]["content"] == {"topic": "shapes", "initiatorCommunicationIdentifier":
                                           {"rawId": a, "communicationUser": {"id": a}}}
    assert "nextLink" not in page
    status, hdrs, body = client.bearer("POST", tpath(tid, f"/typing?{CHAT}"), token, {})
    assert (status, body) == (200, None) and "content-type" not in hdrs
    assert client.bearer("POST", tpath(tid, f"/readReceipts?{CHAT}"), token, {"chatMessageId": mid})[:3:2] == (
        200, None)
    assert client.bearer("PATCH", tpath(tid, f"?{CHAT}"), token, {"topic": "t2"})[0] == 204
    status, _, props = client.bearer("GET", tpath(tid, f"?{CHAT}"), token)
    assert set(props) == {"id", "topic", "createdOn", "createdByCommunicationIdentifier"} and props["topic"] == "t2"


def test_invalid_participants_and_malformed_ids(client: Client) -> None:
    _, token = new_user(client)
    unknown = "8:acs:00000000-1111-2222-3333-444444444444_55555555-6666-7777-8888-999999999999"
    part = [{"communicationIdentifier": {"rawId": unknown, "communicationUser": {"id": unknown}}}]
    status, _, body = client.bearer("POST", f"/chat/threads?{CHAT}", token, {"topic": "x", "participants": part})
    assert status == 201
    assert body["invalidParticipants"] == [{"code": "403", "message": "Permissions check failed", "target": unknown}]
    bad = [{"communicationIdentifier": {"rawId": "8:acs:fakeid===", "communicationUser": {"id": "8:acs:fakeid==="}}}]
    status, _, body = client.bearer("POST", f"/chat/threads?{CHAT}", token, {"topic": "x", "participants": bad})
    assert status == 400 and "8:acs:fakeid===" in body["error"]["message"]
    tid = body and new_thread(client, token)
    status, _, body = client.bearer("POST", tpath(tid, f"/participants/:add?{CHAT}"), token, {"participants": part})
    assert status == 201 and body["invalidParticipants"][0]["target"] == unknown
    assert client.bearer("POST", tpath(tid, f"/participants/:add?{CHAT}"), token, {"participants": bad})[0] == 400
    assert client.bearer("POST", tpath(tid, f"/participants/:remove?{CHAT}"), token, {"rawId": "junk"})[0] == 400


def test_paging_next_links(client: Client) -> None:
    a, token = new_user(client)
    tid = new_thread(client, token)
    for i in range(7):
        client.bearer("POST", tpath(tid, f"/messages?{CHAT}"), token, {"content": f"m{i}"})
    status, _, page = client.bearer("GET", tpath(tid, f"/messages?maxPageSize=4&{CHAT}"), token)
    seqs = [int(m["sequenceId"]) for m in page["value"]]
    link = page["nextLink"]
    parts = urlsplit(link)
    assert parts.scheme == "https" and parts.netloc == HOST and parts.path == tpath(tid, "/messages")
    q = parse_qs(parts.query)
    assert q["maxPageSize"] == ["4"] and all(c.isalnum() or c in "-_.~" for c in q["syncState"][0])
    while "nextLink" in page:
        parts = urlsplit(page["nextLink"])
        # the SDK overwrites api-version and re-quotes the values
        target = parts.path + "?" + parts.query.replace("api-version=2024-03-07", "api-version=2024-03-07")
        status, _, page = client.bearer("GET", target, token)
        assert status == 200
        seqs += [int(m["sequenceId"]) for m in page["value"]]
    assert seqs == list(range(9, 0, -1))
    _, _, page = client.bearer("GET", tpath(tid, f"/messages?maxPageSize=5000&{CHAT}"), token)
    assert len(page["value"]) == 9
    for bad in ("maxPageSize=0", "maxPageSize=x", "startTime=yesterday", "syncState=%%%"):
        assert client.bearer("GET", tpath(tid, f"/messages?{bad}&{CHAT}"), token)[0] == 400, bad
    assert client.bearer("GET", tpath(tid, f"/participants?skip=-1&{CHAT}"), token)[0] == 400
    # a threads cursor is refused on a messages listing
    _, _, threads = client.bearer("GET", f"/chat/threads?{CHAT}", token)
    for _ in range(3):
        new_thread(client, token)
    _, _, threads = client.bearer("GET", f"/chat/threads?maxPageSize=1&{CHAT}", token)
    sync = parse_qs(urlsplit(threads["nextLink"]).query)["syncState"][0]
    assert client.bearer("GET", tpath(tid, f"/messages?syncState={sync}&{CHAT}"), token)[0] == 400


def test_large_page_size_is_clamped(client: Client, app: WireApp) -> None:
    _, token = new_user(client)
    tid = new_thread(client, token)
    caller = app.model.authenticate(token)
    for i in range(205):
        app.model.send_message(caller, tid, f"m{i}")
    _, _, page = client.bearer("GET", tpath(tid, f"/messages?maxPageSize=1000&{CHAT}"), token)
    assert len(page["value"]) == 200 and "maxPageSize=200" in page["nextLink"]


def test_bearer_errors_and_scopes(client: Client, app: WireApp) -> None:
    uid, token = new_user(client)
    assert client.bearer("GET", f"/chat/threads?{CHAT}", "")[0] == 401
    assert client.bearer("GET", f"/chat/threads?{CHAT}", "a.b.c")[0] == 401
    expired, _ = app.model.issue_token(uid, ["chat"], expires_at=1)
    assert client.bearer("GET", f"/chat/threads?{CHAT}", expired)[0] == 401
    _, join = new_user(client, ("chat.join",))
    status, _, body = client.bearer("POST", f"/chat/threads?{CHAT}", join, {"topic": "x", "participants": []})
    assert status == 403 and body["error"]["code"] == "Forbidden"
    _, voip = new_user(client, ("voip",))
    assert client.bearer("GET", f"/chat/threads?{CHAT}", voip)[0] == 403
    tid = new_thread(client, token)
    status, _, body = client.bearer("POST", tpath(tid, f"/messages?{CHAT}"), token, {"content": "x" * 30000})
    assert status == 413 and body["error"]["code"] == "MessageTooLarge"
    assert client._call("POST", tpath(tid, f"/messages?{CHAT}"), {"Authorization": f"Bearer {token}"}, b"")[0] == 400
    assert client._call("POST", tpath(tid, f"/messages?{CHAT}"), {"Authorization": f"Bearer {token}"},
                        b"{not json")[0] == 400


def test_idempotent_create_over_the_wire(client: Client) -> None:
    _, token = new_user(client)
    rid = {"repeatability-request-id": "0e3b5c5a-1111-4222-8333-444455556666"}
    s1, _, b1 = client.bearer("POST", f"/chat/threads?{CHAT}", token, {"topic": "x", "participants": []}, rid)
    s2, _, b2 = client.bearer("POST", f"/chat/threads?{CHAT}", token, {"topic": "x", "participants": []}, rid)
    assert s1 == s2 == 201 and b1 == b2
    _, _, page = client.bearer("GET", f"/chat/threads?{CHAT}", token)
    assert len(page["value"]) == 1


def test_internal_errors_are_json_without_trace(client: Client, app: WireApp, monkeypatch) -> None:
    _, token = new_user(client)

    def boom(*a, **k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(app.model, "list_threads", boom)
    status, _, body = client.bearer("GET", f"/chat/threads?{CHAT}", token)
    assert status == 500 and "secret" not in json.dumps(body) and body["error"]["code"] == "InternalServerError"


def test_client_request_id_echoed(client: Client) -> None:
    _, token = new_user(client)
    status, hdrs, _ = client.bearer("GET", f"/chat/threads?{CHAT}", token, extra={"x-ms-client-request-id": "abc"})
    assert hdrs["x-ms-client-request-id"] == "abc"


def test_throttling_when_enabled() -> None:
    app = WireApp(ChatModel(), KEY, throttle=True)
    client = Client(app)
    _, token = new_user(client)
    tid = new_thread(client, token)
    statuses = [client.bearer("POST", tpath(tid, f"/messages?{CHAT}"), token, {"content": "x"}) for _ in range(11)]
    assert [s[0] for s in statuses[:10]] == [201] * 10
    status, hdrs, body = statuses[10]
    assert status == 429 and int(hdrs["retry-after"]) >= 1 and body["error"]["code"] == "TooManyRequests"


def test_fault_injection_admin_route(client: Client) -> None:
    _, token = new_user(client)
    assert client._call("POST", "/admin/faults", {"Host": HOST}, b'{"mode":"429"}')[0] == 401
    status, _, body = client.signed("POST", "/admin/faults", {"mode": "429", "count": 2, "retryAfter": 3})
    assert status == 200 and body["faults"][0]["count"] == 2
    for _ in range(2):
        status, hdrs, body = client.bearer("GET", f"/chat/threads?{CHAT}", token)
        assert status == 429 and hdrs["retry-after"] == "3"
    assert client.bearer("GET", f"/chat/threads?{CHAT}", token)[0] == 200
    client.signed("POST", "/admin/faults", {"mode": "429", "count": 1, "retryAfter": 0})
    assert client.bearer("GET", f"/chat/threads?{CHAT}", token)[1]["retry-after"] == "0"
    client.signed("POST", "/admin/faults", {"mode": "503", "count": 1})
    status, hdrs, _ = client.bearer("GET", f"/chat/threads?{CHAT}", token)
    assert status == 503 and hdrs["retry-after"] == "1"
    client.signed("POST", "/admin/faults", {"mode": "close", "count": 1})
    assert client.app.handle("GET", f"/chat/threads?{CHAT}", {"Authorization": f"Bearer {token}"}, b"")[0] == 0
    client.signed("POST", "/admin/faults", {"mode": "close", "count": 5})
    assert client.signed("DELETE", "/admin/faults")[0] == 204
    assert client.bearer("GET", f"/chat/threads?{CHAT}", token)[0] == 200
    assert client.signed("POST", "/admin/faults", {"mode": "explode"})[0] == 400

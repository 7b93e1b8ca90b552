"""Documented service limits, enforced over HTTPS by the emulator process (wire spec §9): 250 participants per
thread, batches of 200, pages of at most 200, messages of at most 28 KiB. Each refusal is checked for its status
and its JSON error body, through requests and through the SDK."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
import requests
from emulator_process import EmulatorApi, EmulatorProcess

CHAT = "api-version=2024-03-07"
IDV = "api-version=2023-10-01"
KIB28 = 28 * 1024


def refused(resp: requests.Response, status: int, code: str, fragment: str) -> None:
    """The refusal has the status and the documented JSON error shape."""
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    body = resp.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    assert body["error"]["code"] == code and fragment in body["error"]["message"], body


def participants(ids: list[str]) -> list[dict]:
    return [{"communicationIdentifier": {"rawId": u, "communicationUser": {"id": u}}} for u in ids]


def tp(tid: str, rest: str = "") -> str:
    return f"/chat/threads/{quote(tid, safe='')}{rest}"


@pytest.fixture(scope="module")
def api(emulator: EmulatorProcess) -> EmulatorApi:
    return EmulatorApi(emulator)


@pytest.fixture(scope="module")
def crowd(api: EmulatorApi) -> Iterator[tuple[str, str, list[str]]]:
    """A creator (id, token) and 250 more users."""
    creator, token = api.user()
    yield creator, token, [api.user()[0] for _ in range(250)]


def test_batch_and_participant_limits(api: EmulatorApi, crowd: tuple[str, str, list[str]]) -> None:
    _, token, users = crowd
    resp = api.bearer("POST", f"/chat/threads?{CHAT}", token,
                      {"topic": "big", "participants": participants(users[:201])})
    refused(resp, 400, "ValidationError", "At most 200 participants")
    resp = api.bearer("POST", f"/chat/threads?{CHAT}", token,
                      {"topic": "big", "participants": participants(users[:200])})
    assert resp.status_code == 201, resp.text
    tid = resp.json()["chatThread"]["id"]                                      # creator + 200 = 201 members
    refused(api.bearer("POST", tp(tid, f"/participants/:add?{CHAT}"), token, {"participants": participants(users)}),
            400, "ValidationError", "At most 200 participants")               # a batch of 250
    resp = api.bearer("POST", tp(tid, f"/participants/:add?{CHAT}"), token,
                    {"participants": participants(users[200:249])})             # 250 members
    assert resp.status_code == 201 and resp.json() == {}
    refused(api.bearer("POST", tp(tid, f"/participants/:add?{CHAT}"), token,
                       {"participants": participants(users[249:])}),
            400, "ValidationError", "at most 250 participants")
    listed = []
    url = tp(tid, f"/participants?maxPageSize=1000&{CHAT}")
    while url:  # pages are clamped to 200
        body = api.bearer("GET", url, token).json()
        listed.append(len(body["value"]))
        url = body.get("nextLink")
        assert url is None or "maxPageSize=200" in url
    assert listed == [200, 50]


def test_participant_limit_through_the_sdk(api: EmulatorApi, crowd: tuple[str, str, list[str]],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.communication.chat import ChatClient, ChatParticipant, CommunicationTokenCredential
    from azure.communication.identity import CommunicationUserIdentifier
    from azure.core.exceptions import HttpResponseError

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", api.emu.ca_bundle)
    _, token, users = crowd
    chat = ChatClient(api.emu.endpoint, CommunicationTokenCredential(token))
    people = [ChatParticipant(identifier=CommunicationUserIdentifier(u)) for u in users]
    with pytest.raises(HttpResponseError) as err:
        chat.create_chat_thread("sdk", thread_participants=people[:201])
    assert err.value.status_code == 400 and err.value.error.code == "ValidationError"
    tc = chat.get_chat_thread_client(chat.create_chat_thread("sdk", thread_participants=people[:200]).chat_thread.id)
    tc.add_participants(people[200:249])
    with pytest.raises(HttpResponseError) as err:
        tc.add_participants(people[249:])
    assert err.value.status_code == 400 and "250" in err.value.error.message
    pages = [len(list(page)) for page in tc.list_participants(results_per_page=500).by_page()]
    assert pages == [200, 50]


def test_page_size_bounds(api: EmulatorApi) -> None:
    _, token = api.user()
    tid = api.bearer("POST", f"/chat/threads?{CHAT}", token, {"topic": "pages", "participants": []}).json()[
        "chatThread"]["id"]
    for i in range(203):  # + 2 system messages = 205
        assert api.bearer("POST", tp(tid, f"/messages?{CHAT}"), token, {"content": f"m{i}"}).status_code == 201
    body = api.bearer("GET", tp(tid, f"/messages?maxPageSize=201&{CHAT}"), token).json()
    assert len(body["value"]) == 200 and "maxPageSize=200" in body["nextLink"]
    assert len(api.bearer("GET", body["nextLink"], token).json()["value"]) == 5
    for bad in ("0", "-1", "abc", "1.5"):
        refused(api.bearer("GET", tp(tid, f"/messages?maxPageSize={bad}&{CHAT}"), token), 400, "ValidationError",
                "maxPageSize")
        refused(api.bearer("GET", f"/chat/threads?maxPageSize={bad}&{CHAT}", token), 400, "ValidationError",
                "maxPageSize")
    refused(api.bearer("GET", tp(tid, f"/participants?skip=-1&{CHAT}"), token), 400, "ValidationError", "skip")


def test_message_size_limit(api: EmulatorApi, monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.communication.chat import ChatClient, CommunicationTokenCredential
    from azure.core.exceptions import HttpResponseError

    _, token = api.user()
    tid = api.bearer("POST", f"/chat/threads?{CHAT}", token, {"topic": "size", "participants": []}).json()[
        "chatThread"]["id"]
    send = tp(tid, f"/messages?{CHAT}")
    assert api.bearer("POST", send, token, {"content": "x" * KIB28}).status_code == 201
    refused(api.bearer("POST", send, token, {"content": "x" * (KIB28 + 1)}), 413, "MessageTooLarge", "28672 bytes")
    assert api.bearer("POST", send, token, {"content": "\u00e9" * (KIB28 // 2)}).status_code == 201  # UTF-8 bytes
    refused(api.bearer("POST", send, token, {"content": "\u00e9" * (KIB28 // 2 + 1)}), 413, "MessageTooLarge", "28672")
    refused(api.bearer("POST", send, token, {"content": "x" * (KIB28 - 10), "metadata": {"key": "v" * 20}}),
            413, "MessageTooLarge", "28672")                                     # metadata counts too
    mid = api.bearer("POST", send, token, {"content": "small"}).json()["id"]
    refused(api.bearer("PATCH", tp(tid, f"/messages/{mid}?{CHAT}"), token, {"content": "y" * (KIB28 + 1)}),
            413, "MessageTooLarge", "28672")
    assert api.bearer("GET", tp(tid, f"/messages/{mid}?{CHAT}"), token).json()["content"]["message"] == "small"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", api.emu.ca_bundle)
    tc = ChatClient(api.emu.endpoint, CommunicationTokenCredential(token)).get_chat_thread_client(tid)
    with pytest.raises(HttpResponseError) as err:
        tc.send_message("z" * (KIB28 + 1))
    assert err.value.status_code == 413 and err.value.error.code == "MessageTooLarge"
    assert tc.send_message("z" * KIB28).id

"""Repeated deletes answer as the service does (wire spec §5 notes 10 and 16, §9 thread lifecycle): a message is
soft-deleted, so deleting it again is 204 and changes nothing; a deleted thread is gone (404); a removed
participant is no longer in the thread (404)."""

from __future__ import annotations

import pytest
from wire_client import CHAT, KEY, Client, new_thread, new_user, tpath

from azext_communication.emulator.model import ChatModel
from azext_communication.emulator.wire import WireApp


@pytest.fixture
def client() -> Client:
    return Client(WireApp(ChatModel(), KEY, server_port=8443))


def test_deleting_a_message_twice_is_204_and_leaves_it_as_the_first_delete_did(client: Client) -> None:
    _, token = new_user(client)
    tid = new_thread(client, token)
    status, _, sent = client.bearer("POST", tpath(tid, f"/messages?{CHAT}"), token, {"content": "bye"})
    assert status == 201
    path = tpath(tid, f"/messages/{sent['id']}?{CHAT}")
    assert client.bearer("DELETE", path, token)[0] == 204
    first = client.bearer("GET", path, token)[2]
    assert first["content"]["message"] == "" and first["deletedOn"] and first["version"] != sent["id"]
    status, _, body = client.bearer("DELETE", path, token)
    assert (status, body) == (204, None)
    assert client.bearer("GET", path, token)[2] == first  # same deletedOn, same version


def test_deleting_an_unknown_message_is_404(client: Client) -> None:
    _, token = new_user(client)
    tid = new_thread(client, token)
    status, _, body = client.bearer("DELETE", tpath(tid, f"/messages/1700000000000?{CHAT}"), token)
    assert status == 404 and body["error"]["code"] == "NotFound"


def test_deleting_a_thread_twice_is_404_the_second_time(client: Client) -> None:
    _, token = new_user(client)
    tid = new_thread(client, token)
    status, _, sent = client.bearer("POST", tpath(tid, f"/messages?{CHAT}"), token, {"content": "hi"})
    assert client.bearer("DELETE", tpath(tid, f"?{CHAT}"), token)[0] == 204
    status, _, body = client.bearer("DELETE", tpath(tid, f"?{CHAT}"), token)
    assert status == 404 and body["error"]["code"] == "NotFound"
    # and every other delete inside it is a 404 too
    assert client.bearer("DELETE", tpath(tid, f"/messages/{sent['id']}?{CHAT}"), token)[0] == 404


def test_removing_a_participant_twice_is_404_the_second_time(client: Client) -> None:
    _, token = new_user(client)
    other, other_token = new_user(client)
    tid = new_thread(client, token, other)
    who = {"rawId": other, "communicationUser": {"id": other}}
    remove = tpath(tid, f"/participants/:remove?{CHAT}")
    assert client.bearer("POST", remove, token, who)[0] == 204
    status, _, body = client.bearer("POST", remove, token, who)
    assert status == 404 and body["error"]["code"] == "NotFound"
    # the removed user itself is no longer a participant: refused (403) before anything is looked up
    status, _, body = client.bearer("POST", remove, other_token, who)
    assert status == 403 and body["error"]["code"] == "Forbidden"
    listed = client.bearer("GET", tpath(tid, f"/messages?{CHAT}"), token)[2]["value"]
    assert [m["type"] for m in listed].count("participantRemoved") == 1

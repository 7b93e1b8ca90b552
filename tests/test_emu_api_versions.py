"""Responses follow the request's api-version (wire spec §1, §6): the same operations at 2021-09-07, 2023-11-07
and 2024-03-07 carry exactly the fields of that version. State is shared: only the rendering differs."""

from __future__ import annotations

import pytest
from wire_client import KEY, Client, new_thread, new_user, tpath

from azext_communication.emulator.model import ChatModel, Message
from azext_communication.emulator.wire import CHAT_API_VERSIONS, FIELDS_SINCE, WireApp, shape_for

VERSIONS = ("2021-09-07", "2023-11-07", "2024-03-07")
# version -> (html content carries attachments, messages carry metadata)
EXPECTED = {"2021-03-07": (False, False), "2021-09-07": (False, True), "2023-11-07": (True, True),
            "2024-03-07": (True, True)}
THREAD_KEYS = {"id", "topic", "createdOn", "createdByCommunicationIdentifier"}
USER_MESSAGE_KEYS = {"id", "type", "sequenceId", "version", "content", "senderDisplayName", "createdOn",
                     "senderCommunicationIdentifier"}


@pytest.fixture(scope="module")
def world() -> tuple[Client, str, str, str, str]:
    """One thread with an html message (with metadata) and a text message, written once at 2024-03-07."""
    client = Client(WireApp(ChatModel(), KEY, server_port=8443))
    _, token = new_user(client)
    other, _ = new_user(client)
    tid = new_thread(client, token, other)
    at = "?api-version=2024-03-07"
    html = client.bearer("POST", tpath(tid, f"/messages{at}"), token,
                         {"content": "<b>hi</b>", "type": "html", "metadata": {"k": "v"}})[2]["id"]
    text = client.bearer("POST", tpath(tid, f"/messages{at}"), token, {"content": "plain"})[2]["id"]
    assert client.bearer("POST", tpath(tid, f"/readReceipts{at}"), token, {"chatMessageId": text})[0] == 200
    return client, token, tid, html, text


def get(world, path: str, version: str) -> dict:
    client, token = world[0], world[1]
    status, hdrs, body = client.bearer("GET", f"{path}?api-version={version}", token)
    assert status == 200, body
    assert version in hdrs["api-supported-versions"].split(", ")
    return body


@pytest.mark.parametrize("version", [*VERSIONS, "2021-03-07"])
def test_a_message_carries_attachments_and_metadata_only_from_their_versions(world, version: str) -> None:
    _, _, tid, html_id, text_id = world
    attachments, metadata = EXPECTED[version]
    html = get(world, tpath(tid, f"/messages/{html_id}"), version)
    text = get(world, tpath(tid, f"/messages/{text_id}"), version)
    assert html["content"] == ({"message": "<b>hi</b>", "attachments": []} if attachments else {"message": "<b>hi</b>"})
    assert ("metadata" in html) is metadata and html.get("metadata", {"k": "v"}) == {"k": "v"}
    assert set(html) == USER_MESSAGE_KEYS | ({"metadata"} if metadata else set())
    assert text["content"] == {"message": "plain"} and set(text) == USER_MESSAGE_KEYS
    listed = {m["id"]: m for m in get(world, tpath(tid, "/messages"), version)["value"]}
    assert listed[html_id] == html and listed[text_id] == text


@pytest.mark.parametrize("version", VERSIONS)
def test_threads_participants_receipts_and_system_messages_look_the_same_at_each_version(world, version) -> None:
    _, _, tid, _, text_id = world
    assert set(get(world, tpath(tid), version)) == THREAD_KEYS
    items = get(world, "/chat/threads", version)["value"]
    assert [set(i) for i in items] == [{"id", "topic", "lastMessageReceivedOn"}]
    members = get(world, tpath(tid, "/participants"), version)["value"]
    assert [set(p) for p in members] == [{"communicationIdentifier", "shareHistoryTime"}] * 2
    assert all(set(p["communicationIdentifier"]) == {"rawId", "communicationUser"} for p in members)
    receipts = get(world, tpath(tid, "/readReceipts"), version)["value"]
    assert [(set(r), r["chatMessageId"]) for r in receipts] == [
        ({"senderCommunicationIdentifier", "chatMessageId", "readOn"}, text_id)]
    system = [m for m in get(world, tpath(tid, "/messages"), version)["value"] if "senderDisplayName" not in m]
    assert [m["type"] for m in system] == ["topicUpdated", "participantAdded"]
    assert all(set(m["content"]) <= {"topic", "participants", "initiatorCommunicationIdentifier"} for m in system)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_same_write_succeeds_at_each_version(world, version: str) -> None:
    client, token, tid = world[0], world[1], world[2]
    status, _, body = client.bearer("POST", tpath(tid, f"/messages?api-version={version}"), token,
                                    {"content": "<i>x</i>", "type": "html"})
    assert status == 201 and set(body) == {"id"}
    got = get(world, tpath(tid, f"/messages/{body['id']}"), version)
    assert ("attachments" in got["content"]) is EXPECTED[version][0]


def test_a_bot_identifier_is_only_a_raw_id_before_2024_03_07() -> None:
    bot = "28:orgid:3a8b6c1e-0000-4000-8000-000000000001"
    msg = Message("1", "text", 3, "1", 1_700_000_000_000, sender=bot, sender_display_name="Bot",
                  content={"message": "beep"})
    assert shape_for("2023-11-07").message(msg)["senderCommunicationIdentifier"] == {"rawId": bot}
    assert shape_for("2024-03-07").message(msg)["senderCommunicationIdentifier"] == {
        "rawId": bot, "microsoftTeamsApp": {"appId": "3a8b6c1e-0000-4000-8000-000000000001", "cloud": "public"}}
    assert shape_for("2021-09-07").participant(bot, None, 0)["communicationIdentifier"] == {"rawId": bot}


def test_every_accepted_version_has_a_shape_and_previews_follow_their_date() -> None:
    for version in CHAT_API_VERSIONS.versions:
        shape = shape_for(version)
        day = version[:10]
        assert shape.attachments is (day >= FIELDS_SINCE["ChatMessageContent.attachments"])
    assert shape_for("2023-11-15-preview").attachments and not shape_for("2024-03-01-preview").teams_app
    assert not shape_for("2021-04-05-preview6").metadata

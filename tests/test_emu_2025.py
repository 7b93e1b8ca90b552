"""api-version 2025-03-15 on the wire (wire spec section 12): thread metadata, participant metadata and the
retention policy on create, get, PATCH (merge patch), add and list participants; validation; version shaping."""

from __future__ import annotations

import pytest
from wire_client import KEY, Client, new_user, tpath

from azext_communication.emulator.model import ChatModel
from azext_communication.emulator.wire import WireApp

V25 = "api-version=2025-03-15"
POLICY30 = {"kind": "threadCreationDate", "deleteThreadAfterDays": 30}
NONE = {"kind": "none"}


def cim(raw: str) -> dict:
    return {"rawId": raw, "communicationUser": {"id": raw}}


@pytest.fixture
def world() -> tuple[Client, str, str, str, str]:
    client = Client(WireApp(ChatModel(), KEY, server_port=8443))
    alice, token = new_user(client)
    bob, _ = new_user(client)
    return client, alice, token, bob, new_user(client)[0]


def create(client: Client, token: str, body: dict, version: str = V25) -> tuple[int, dict]:
    status, _, out = client.bearer("POST", f"/chat/threads?{version}", token, body)
    return status, out


def get_thread(client: Client, token: str, tid: str, version: str = V25) -> dict:
    status, _, body = client.bearer("GET", tpath(tid, f"?{version}"), token)
    assert status == 200, body
    return body


def patch(client: Client, token: str, tid: str, body: dict, version: str = V25) -> tuple[int, object]:
    status, _, out = client.bearer("PATCH", tpath(tid, f"?{version}"), token, body,
                                   extra={"Content-Type": "application/merge-patch+json"})
    return status, out


def participants(client: Client, token: str, tid: str, version: str = V25) -> list[dict]:
    status, _, body = client.bearer("GET", tpath(tid, f"/participants?{version}"), token)
    assert status == 200, body
    return body["value"]


def test_create_carries_metadata_policy_and_participant_metadata_exactly_as_12_2(world) -> None:
    client, alice, token, bob, _ = world
    status, out = create(client, token, {
        "topic": "t", "metadata": {"ticket": "42"}, "retentionPolicy": POLICY30,
        "participants": [{"communicationIdentifier": cim(bob), "displayName": "B",
                          "shareHistoryTime": "2025-01-01T00:00:00.000Z", "metadata": {"role": "agent"}}]})
    assert status == 201, out
    thread = out["chatThread"]
    assert list(thread) == ["id", "topic", "createdOn", "createdByCommunicationIdentifier", "metadata",
                            "retentionPolicy"]
    assert (thread["metadata"], thread["retentionPolicy"]) == ({"ticket": "42"}, POLICY30)
    assert thread["createdByCommunicationIdentifier"] == cim(alice) and "invalidParticipants" not in out
    assert get_thread(client, token, thread["id"]) == thread
    listed = participants(client, token, thread["id"])
    assert listed == [{"communicationIdentifier": cim(alice), "shareHistoryTime": "1970-01-01T00:00:00Z"},
                      {"communicationIdentifier": cim(bob), "displayName": "B",
                       "shareHistoryTime": "2025-01-01T00:00:00Z", "metadata": {"role": "agent"}}]
    status, _, msgs = client.bearer("GET", tpath(thread["id"], f"/messages?{V25}"), token)
    added = next(m for m in msgs["value"] if m["type"] == "participantAdded")
    assert all("metadata" not in p for p in added["content"]["participants"])  # REC-NET: without metadata
    assert [m["type"] for m in msgs["value"]] == ["topicUpdated", "participantAdded"]  # no message for metadata


def test_defaults_never_set_metadata_is_absent_and_the_policy_is_none(world) -> None:
    client, _, token, _, _ = world
    plain = create(client, token, {"topic": "t"})[1]["chatThread"]
    assert "metadata" not in plain and plain["retentionPolicy"] == NONE
    empty = create(client, token, {"topic": "t", "metadata": {}, "retentionPolicy": None})[1]["chatThread"]
    assert empty["metadata"] == {} and empty["retentionPolicy"] == NONE
    extra = create(client, token, {"topic": "t", "retentionPolicy": {"kind": "none", "deleteThreadAfterDays": 9}})
    assert extra[0] == 201 and extra[1]["chatThread"]["retentionPolicy"] == NONE  # extra fields ignored
    status, _, items = client.bearer("GET", f"/chat/threads?{V25}", token)
    assert status == 200 and all(set(i) <= {"id", "topic", "deletedOn", "lastMessageReceivedOn"}
                                 for i in items["value"])


def test_patch_is_a_merge_patch(world) -> None:
    client, _, token, _, _ = world
    tid = create(client, token, {"topic": "t", "metadata": {"K1": "v1", "K2": "v2"}})[1]["chatThread"]["id"]
    before = get_thread(client, token, tid)
    assert patch(client, token, tid, {}) == (204, None)
    assert get_thread(client, token, tid) == before
    assert patch(client, token, tid, {"topic": "x"})[0] == 204
    after = get_thread(client, token, tid)
    assert (after["topic"], after["metadata"], after["retentionPolicy"]) == ("x", {"K1": "v1", "K2": "v2"}, NONE)
    assert patch(client, token, tid, {"metadata": {"K3": "v3", "K1": "new"}})[0] == 204
    assert get_thread(client, token, tid)["metadata"] == {"K1": "new", "K2": "v2", "K3": "v3"}
    assert patch(client, token, tid, {"metadata": {"K1": None, "K2": ""}})[0] == 204
    assert get_thread(client, token, tid)["metadata"] == {"K3": "v3"}
    for days in (40, 50, 90):
        assert patch(client, token, tid, {"retentionPolicy": {"deleteThreadAfterDays": days,
                                                              "kind": "threadCreationDate"}})[0] == 204
        assert get_thread(client, token, tid)["retentionPolicy"] == {"kind": "threadCreationDate",
                                                                     "deleteThreadAfterDays": days}
    assert patch(client, token, tid, {"retentionPolicy": NONE})[0] == 204
    assert get_thread(client, token, tid)["retentionPolicy"] == NONE
    assert patch(client, token, tid, {"retentionPolicy": POLICY30})[0] == 204
    assert patch(client, token, tid, {"retentionPolicy": None})[0] == 204
    assert get_thread(client, token, tid)["retentionPolicy"] == NONE
    assert patch(client, token, tid, {"topic": "y", "metadata": {"a": "b"}, "retentionPolicy": POLICY30})[0] == 204
    got = get_thread(client, token, tid)
    assert (got["topic"], got["metadata"], got["retentionPolicy"]) == ("y", {"K3": "v3", "a": "b"}, POLICY30)
    assert patch(client, token, tid, {"metadata": None})[0] == 204
    assert get_thread(client, token, tid)["metadata"] == {}
    status, _, msgs = client.bearer("GET", tpath(tid, f"/messages?{V25}"), token)
    assert [m["content"]["topic"] for m in msgs["value"] if m["type"] == "topicUpdated"] == ["y", "x", "t"]


@pytest.mark.parametrize("body, words", [
    ({"retentionPolicy": {"kind": "threadCreationDate", "deleteThreadAfterDays": 29}}, "between 30 and 90"),
    ({"retentionPolicy": {"kind": "threadCreationDate", "deleteThreadAfterDays": 91}}, "between 30 and 90"),
    ({"retentionPolicy": {"kind": "threadCreationDate", "deleteThreadAfterDays": "30"}}, "must be an integer"),
    ({"retentionPolicy": {"kind": "threadCreationDate", "deleteThreadAfterDays": 30.5}}, "must be an integer"),
    ({"retentionPolicy": {"kind": "threadCreationDate"}}, "must be an integer"),
    ({"retentionPolicy": {"deleteThreadAfterDays": 30}}, "kind is missing"),
    ({"retentionPolicy": {"kind": "forever"}}, "kind is 'forever'"),
    ({"retentionPolicy": "none"}, "must be an object"),
    ({"metadata": {"k": 1}}, "must be a string"),
    ({"metadata": {"": "v"}}, "empty key"),
    ({"metadata": ["k"]}, "object of string values"),
    ({"metadata": {"k": "é" * 512}}, "at most 1024 bytes"),
])
def test_invalid_policies_and_metadata_are_400_and_change_nothing(world, body: dict, words: str) -> None:
    client, _, token, bob, _ = world
    status, out = create(client, token, {"topic": "t", **body})
    assert status == 400 and out["error"]["code"] == "BadRequest" and words in out["error"]["message"], out
    tid = create(client, token, {"topic": "t", "metadata": {"keep": "me"}})[1]["chatThread"]
    status, out = patch(client, token, tid["id"], {"topic": "changed", **body})
    assert status == 400 and words in out["error"]["message"], out
    assert get_thread(client, token, tid["id"]) == tid  # nothing applied, not even the topic
    parts = [{"communicationIdentifier": cim(bob), "metadata": body.get("metadata", {"k": 2})}]
    status, out = create(client, token, {"topic": "t", "participants": parts})
    assert status == 400 and out["error"]["code"] == "BadRequest"


def test_the_1024_byte_limit_counts_keys_and_values_after_the_merge(world) -> None:
    client, _, token, _, _ = world
    exact = {"k": "v" * 1023}  # 1 + 1023 bytes: allowed
    tid = create(client, token, {"topic": "t", "metadata": exact})[1]["chatThread"]["id"]
    status, out = patch(client, token, tid, {"metadata": {"x": "y"}})
    assert status == 400 and "1026 bytes" in out["error"]["message"]
    assert patch(client, token, tid, {"metadata": {"k": None, "x": "y"}})[0] == 204  # the merge frees room
    assert get_thread(client, token, tid)["metadata"] == {"x": "y"}


def test_add_participants_with_metadata_and_re_adding_changes_nothing(world) -> None:
    client, alice, token, bob, carol = world
    tid = create(client, token, {"topic": "t"})[1]["chatThread"]["id"]
    add = f"/participants/:add?{V25}"
    body = {"participants": [{"communicationIdentifier": cim(carol), "displayName": "C",
                              "metadata": {"userType": "C2"}}]}
    status, _, out = client.bearer("POST", tpath(tid, add), token, body)
    assert (status, out) == (201, {})
    again = {"participants": [{"communicationIdentifier": cim(carol), "metadata": {"userType": "other"}}]}
    assert client.bearer("POST", tpath(tid, add), token, again)[0] == 201
    listed = participants(client, token, tid)
    assert [p.get("metadata") for p in listed] == [None, {"userType": "C2"}]
    status, _, msgs = client.bearer("GET", tpath(tid, f"/messages?{V25}"), token)
    assert [m["type"] for m in msgs["value"]].count("participantAdded") == 2  # not one more for the re-add
    assert participants(client, token, tid, "api-version=2024-03-07")[1] == {
        "communicationIdentifier": cim(carol), "displayName": "C", "shareHistoryTime": "1970-01-01T00:00:00Z"}


@pytest.mark.parametrize("version", ["2024-03-07", "2023-11-07", "2021-09-07", "2021-03-07"])
def test_older_stable_versions_never_see_the_fields_and_ignore_them_in_requests(world, version: str) -> None:
    client, _, token, bob, _ = world
    old = f"api-version={version}"
    parts = [{"communicationIdentifier": cim(bob), "metadata": {"k": 1}}]  # invalid, but ignored at this version
    status, out = create(client, token, {"topic": "t", "participants": parts, "metadata": {"k": "v"},
                                         "retentionPolicy": {"kind": "threadCreationDate",
                                                             "deleteThreadAfterDays": 5}}, old)
    assert status == 201 and set(out["chatThread"]) == {"id", "topic", "createdOn",
                                                        "createdByCommunicationIdentifier"}
    tid = out["chatThread"]["id"]
    assert patch(client, token, tid, {"metadata": {"a": 2}, "retentionPolicy": "x"}, old)[0] == 204
    now = get_thread(client, token, tid)
    assert "metadata" not in now and now["retentionPolicy"] == NONE  # nothing was stored
    assert patch(client, token, tid, {"metadata": {"a": "b"}, "retentionPolicy": POLICY30})[0] == 204
    assert set(get_thread(client, token, tid, old)) == {"id", "topic", "createdOn",
                                                        "createdByCommunicationIdentifier"}
    assert patch(client, token, tid, {"metadata": {"a": "c"}}, old)[0] == 204  # no change, no error
    assert get_thread(client, token, tid)["metadata"] == {"a": "b"}
    assert all("metadata" not in p for p in participants(client, token, tid, old))


@pytest.mark.parametrize("version, extra", [("2024-03-15-preview", {}),
                                            ("2024-06-05-preview", {"messagingPolicy": {"textOnlyChat": False}})])
def test_the_previews_carry_the_fields_although_they_sort_before_2025(world, version: str, extra: dict) -> None:
    client, _, token, bob, _ = world
    at = f"api-version={version}"
    parts = [{"communicationIdentifier": cim(bob), "metadata": {"r": "x"}}]
    status, out = create(client, token, {"topic": "t", "metadata": {"k": "v"}, "retentionPolicy": POLICY30,
                                         "participants": parts}, at)
    assert status == 201, out
    thread = out["chatThread"]
    assert (thread["metadata"], thread["retentionPolicy"]) == ({"k": "v"}, POLICY30)
    assert {k: thread[k] for k in extra} == extra and ("messagingPolicy" in thread) is bool(extra)
    assert participants(client, token, thread["id"], at)[1]["metadata"] == {"r": "x"}
    assert get_thread(client, token, thread["id"], at) == thread


def test_text_messages_carry_attachments_only_at_2025(world) -> None:
    client, _, token, _, _ = world
    tid = create(client, token, {"topic": "t"})[1]["chatThread"]["id"]
    status, _, out = client.bearer("POST", tpath(tid, f"/messages?{V25}"), token, {"content": "hi"})
    mid = out["id"]
    for version, content in (("2025-03-15", {"message": "hi", "attachments": []}),
                             ("2024-03-07", {"message": "hi"}), ("2024-06-05-preview", {"message": "hi"})):
        status, _, msg = client.bearer("GET", tpath(tid, f"/messages/{mid}?api-version={version}"), token)
        assert status == 200 and msg["content"] == content, version


def test_thread_updates_are_limited_to_5_per_10_seconds_per_thread_under_throttle() -> None:
    client = Client(WireApp(ChatModel(), KEY, server_port=8443, throttle=True))
    _, token = new_user(client)
    tid = create(client, token, {"topic": "t"})[1]["chatThread"]["id"]
    other = create(client, token, {"topic": "u"})[1]["chatThread"]["id"]
    for i in range(5):
        assert patch(client, token, tid, {"metadata": {"n": str(i)}})[0] == 204
    status, hdrs, body = client.bearer("PATCH", tpath(tid, f"?{V25}"), token, {"retentionPolicy": POLICY30})
    assert status == 429 and int(hdrs["retry-after"]) >= 1 and body["error"]["code"] == "TooManyRequests"
    assert get_thread(client, token, tid)["retentionPolicy"] == NONE
    assert patch(client, token, other, {"metadata": {"n": "x"}})[0] == 204  # per thread


ODD = [None, True, 0, -1, 2**40, 30.0, "", "30", [], [1], {}, {"": ""}, {"a": {"b": "c"}}, {"a": ["b"]},
       {"kind": None}, {"kind": ["none"]}, {"kind": "threadCreationDate", "deleteThreadAfterDays": True},
       {"kind": "threadCreationDate", "deleteThreadAfterDays": 2**63}, {"k\u0000": "v\u2028"}, "\U0001f600" * 300]


@pytest.mark.parametrize("value", ODD, ids=lambda v: repr(v)[:30])
def test_odd_metadata_and_policies_are_2xx_or_400_never_500(world, value: object) -> None:
    client, _, token, bob, _ = world
    for key in ("metadata", "retentionPolicy"):
        status, out = create(client, token, {"topic": "t", key: value})
        assert status in (201, 400), out
        tid = create(client, token, {"topic": "t"})[1]["chatThread"]["id"]
        status, out = patch(client, token, tid, {key: value})
        assert status in (204, 400), out
        body = get_thread(client, token, tid)
        assert body["retentionPolicy"] == NONE  # none of the odd values is a threadCreationDate policy
        assert all(isinstance(k, str) and k and isinstance(v, str) for k, v in body.get("metadata", {}).items())
    parts = {"participants": [{"communicationIdentifier": cim(bob), "metadata": value}]}
    status, _, out = client.bearer("POST", tpath(tid, f"/participants/:add?{V25}"), token, parts)
    assert status in (201, 400), out


def test_image_upload_is_not_emulated_at_2025(world) -> None:
    client, _, token, _, _ = world
    tid = create(client, token, {"topic": "t"})[1]["chatThread"]["id"]
    status, _, out = client.bearer("POST", tpath(tid, f"/images?{V25}"), token, {})
    assert status == 404 and out["error"]["code"] == "NotFound"  # dropped from the final swagger (12.1)

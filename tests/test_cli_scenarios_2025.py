"""Scenarios of thread and participant metadata and the retention policy (chat api-version 2025-03-15), each run
from its recorded cassette (playback) and against a freshly started emulator (live), like test_cli_scenarios.py.
Re-record with AZEXT_COMMUNICATION_RECORD=1."""

from __future__ import annotations

import json

from cli_recording import Target
from test_cli_scenarios import new_user_and_token, ok, query_of, table_header

NONE = {"kind": "none"}


def days(n: int) -> dict:
    return {"kind": "threadCreationDate", "deleteThreadAfterDays": n}


def body_of(request: object) -> dict:
    raw = request.body
    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)


def test_thread_metadata_and_retention_round_trip(target: Target) -> None:
    user, token = new_user_and_token(target)
    created = ok(target.chat("thread", "create", "--topic", "Support case 42", "--metadata", "ticket=42",
                             "queue=billing", "--retention-days", "30", token=token))
    thread = created["chatThread"]
    assert thread["metadata"] == {"ticket": "42", "queue": "billing"} and thread["retentionPolicy"] == days(30)
    assert thread["createdBy"]["rawId"] == user and created["errors"] == []
    tid = thread["id"]
    shown = ok(target.chat("thread", "show", "-t", tid, token=token))
    assert shown["metadata"] == {"ticket": "42", "queue": "billing"} and shown["retentionPolicy"] == days(30)

    # merged key by key; queue= removes queue
    assert ok(target.chat("thread", "update", "-t", tid, "--metadata", "status=open", "queue=", "--retention-days",
                          "90", token=token)) is None
    shown = ok(target.chat("thread", "show", "-t", tid, token=token))
    assert shown["metadata"] == {"ticket": "42", "status": "open"} and shown["retentionPolicy"] == days(90)
    assert shown["topic"] == "Support case 42"

    table = target.chat("thread", "show", "-t", tid, "-o", "table", token=token)
    assert table_header(ok(table) and table) == ["Id", "Topic", "Metadata", "Retention"]  # a whole id, made room for
    assert tid in table.stdout and "ticket=42, status=open" in table.stdout and "90 days" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 120, table.stdout

    ok(target.chat("thread", "update", "-t", tid, "--retention-days", "none", "--topic", "Case 42 (closed)",
                   token=token))
    shown = ok(target.chat("thread", "show", "-t", tid, token=token))
    assert shown["retentionPolicy"] == NONE and shown["topic"] == "Case 42 (closed)"
    assert shown["metadata"] == {"ticket": "42", "status": "open"}
    assert "none" in target.chat("thread", "show", "-t", tid, "-o", "table", token=token).stdout.splitlines()[2]

    # the topic change is a system message; metadata and retention changes are not
    messages = ok(target.chat("message", "list", "-t", tid, token=token))
    assert [m["type"] for m in messages] == ["topicUpdated", "topicUpdated", "participantAdded"]

    # each request is within 1 KB, the merged map would not be: the service refuses it, one line, exit 1
    ok(target.chat("thread", "update", "-t", tid, "--metadata", "notes=" + "n" * 600, token=token))
    over = target.chat("thread", "update", "-t", tid, "--metadata", "more=" + "m" * 600, token=token)
    assert over.exit_code == 1 and len(over.error_lines) == 1 and "400" in over.error_lines[0], over
    assert "api-version" not in over.error_lines[0]
    assert set(ok(target.chat("thread", "show", "-t", tid, token=token))["metadata"]) == {"ticket", "status", "notes"}

    plain = ok(target.chat("thread", "create", "--topic", "No extras", token=token))["chatThread"]
    assert "metadata" not in plain and plain["retentionPolicy"] == NONE

    requests = target.request_log()
    chat_requests = [r for r in requests if "/chat/threads" in r.path]
    patches = [r for r in chat_requests if r.method == "PATCH"]
    assert [body_of(r) for r in patches] == [
        {"metadata": {"status": "open", "queue": ""}, "retentionPolicy": days(90)},
        {"topic": "Case 42 (closed)", "retentionPolicy": NONE},
        {"metadata": {"notes": "n" * 600}}, {"metadata": {"more": "m" * 600}},
    ]
    by_command = {(r.method, r.path.count("/")): query_of(r)["api-version"] for r in chat_requests}
    assert by_command[("POST", 2)] == by_command[("GET", 3)] == by_command[("PATCH", 3)] == "2025-03-15"
    assert by_command[("GET", 4)] == "2024-03-07"  # message list keeps the SDK's own version


def test_participant_metadata(target: Target) -> None:
    owner, token = new_user_and_token(target)
    agent = ok(target.identity("user", "create"))["rawId"]
    guest = ok(target.identity("user", "create"))["rawId"]
    tid = ok(target.chat("thread", "create", "--topic", "Desk", token=token))["chatThread"]["id"]

    assert ok(target.chat("participant", "add", "-t", tid, "--user", agent, "--display-name", "Agent", "--metadata",
                          "role=agent", "tier=2", token=token)) == []
    ok(target.chat("participant", "add", "-t", tid, "--user", guest, token=token))
    listed = {p["identifier"]["rawId"]: p for p in ok(target.chat("participant", "list", "-t", tid, token=token))}
    assert set(listed) == {owner, agent, guest}
    assert listed[agent]["metadata"] == {"role": "agent", "tier": "2"} and listed[agent]["displayName"] == "Agent"
    assert "metadata" not in listed[guest] and "metadata" not in listed[owner]

    table = target.chat("participant", "list", "-t", tid, "-o", "table", token=token)
    assert table_header(ok(table) and table) == ["User", "DisplayName", "ShareHistoryTime", "Metadata"]
    row = next(line for line in table.stdout.splitlines() if "Agent" in line)
    assert row.rstrip().endswith("role=agent, tier=2") and agent[-8:] in row
    assert max(len(line) for line in table.stdout.splitlines()) <= 120, table.stdout

    adds = [r for r in target.request_log() if r.path.endswith("/participants/:add")]
    assert [[p.get("metadata") for p in body_of(r)["participants"]] for r in adds] == [
        [{"role": "agent", "tier": "2"}], [None]]
    assert {query_of(r)["api-version"] for r in adds} == {"2025-03-15"}

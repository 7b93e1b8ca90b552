"""End-to-end scenarios, each run twice: from its recorded cassette (playback) and against a freshly started
emulator (live). Re-record with AZEXT_COMMUNICATION_RECORD=1. Assertions are on content, not only exit codes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from cli_harness import CliResult, config_file
from cli_recording import Target

START = "2020-01-01T00:00:00Z"
UNKNOWN_USER = "8:acs:00000000-0000-0000-0000-000000000000_0000dead-0000-0000-0000-00000000beef"


def ok(result: CliResult) -> object:
    assert result.exit_code == 0, result
    assert not result.error_lines, result
    return result.result


def new_user_and_token(target: Target, group: str = "identity") -> tuple[str, str]:
    issued = ok(target.identity("token", "issue", "--scope", "chat", group=group))
    assert set(issued) == {"user_id", "token", "expires_on"}
    assert issued["user_id"].startswith("8:acs:")
    expires = datetime.fromisoformat(issued["expires_on"])
    assert expires.tzinfo is not None
    return issued["user_id"], issued["token"]


def query_of(request: object) -> dict[str, str]:
    return dict(request.query)


def table_header(result: CliResult) -> list[str]:
    return result.stdout.splitlines()[0].split()


# ---------------------------------------------------------------------------------------------------------
def test_thread_and_message_lifecycle(target: Target) -> None:
    user, token = new_user_and_token(target)

    created = ok(target.chat("thread", "create", "--topic", "Release planning", token=token))
    thread = created["chatThread"]
    assert thread["topic"] == "Release planning"
    assert thread["createdBy"]["rawId"] == user
    assert created["errors"] == []
    tid = thread["id"]

    participants = ok(target.chat("participant", "list", "-t", tid, token=token))
    assert [p["identifier"]["rawId"] for p in participants] == [user]

    text_id = ok(target.chat("message", "send", "-t", tid, "--content", "hello world", token=token))["id"]
    html_id = ok(target.chat("message", "send", "--thread", tid, "--content", "<b>ship it</b>", "--message-type",
                             "html", "--display-name", "Release bot", "--metadata", "priority=high", "team=core",
                             token=token))["id"]

    messages = ok(target.chat("message", "list", "-t", tid, "--start-time", START, token=token))
    assert [m["type"] for m in messages] == ["html", "text", "topicUpdated", "participantAdded"]
    assert [int(m["sequenceId"]) for m in messages] == [4, 3, 2, 1]
    html, text, topic, added = messages
    assert html["id"] == html_id and html["content"]["message"] == "<b>ship it</b>"
    assert html["senderDisplayName"] == "Release bot" and html["metadata"] == {"priority": "high", "team": "core"}
    assert text["id"] == text_id and text["content"]["message"] == "hello world"
    assert text["sender"]["rawId"] == user
    assert topic["content"]["topic"] == "Release planning"
    assert [p["identifier"]["rawId"] for p in added["content"]["participants"]] == [user]

    table = target.chat("message", "list", "-t", tid, "--start-time", START, "-o", "table", token=token)
    assert table_header(ok(table) and table) == ["Id", "Seq", "Type", "Sender", "CreatedOn", "Content"]
    assert "hello world" in table.stdout and 'changed the topic to "Release' in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 120, table.stdout

    ok(target.chat("message", "update", "-t", tid, "--message-id", text_id, "--content", "hello again",
                   "--metadata", "edited=yes", token=token))
    edited = ok(target.chat("message", "get", "-t", tid, "--message-id", text_id, token=token))
    assert edited["content"]["message"] == "hello again"
    assert edited["editedOn"] and edited["metadata"].get("edited") == "yes"
    assert edited["deletedOn"] is None

    assert ok(target.chat("message", "delete", "-t", tid, "--message-id", html_id, "--yes", token=token)) is None
    deleted = ok(target.chat("message", "get", "-t", tid, "--message-id", html_id, token=token))
    assert deleted["deletedOn"] and deleted["id"] == html_id

    before = ok(target.chat("message", "receipt", "list", "-t", tid, token=token))
    ok(target.chat("message", "receipt", "send", "-t", tid, "--message-id", text_id, token=token))
    after = ok(target.chat("message", "receipt", "list", "-t", tid, token=token))
    assert len(after) == len(before) + 1
    assert after[-1]["chatMessageId"] == text_id and after[-1]["sender"]["rawId"] == user and after[-1]["readOn"]
    table = target.chat("message", "receipt", "list", "-t", tid, "-o", "table", token=token)
    assert table_header(ok(table) and table) == ["Sender", "ChatMessageId", "ReadOn"]

    assert ok(target.chat("typing", "send", "-t", tid, "--display-name", "Ann", token=token)) is None

    ok(target.chat("thread", "update-topic", "-t", tid, "--topic", "Release planning (v2)", token=token))
    shown = ok(target.chat("thread", "show", "-t", tid, token=token))
    assert shown["topic"] == "Release planning (v2)" and shown["id"] == tid and shown["deletedOn"] is None
    assert shown["createdBy"]["rawId"] == user
    assert shown["retentionPolicy"] == {"kind": "none"} and "metadata" not in shown

    listed = ok(target.chat("thread", "list", "--start-time", START, token=token))
    assert [t["id"] for t in listed] == [tid]
    assert listed[0]["topic"] == "Release planning (v2)"
    table = target.chat("thread", "list", "--start-time", START, "-o", "table", token=token)
    assert table_header(ok(table) and table) == ["Id", "Topic", "LastMessageReceivedOn", "Deleted"]

    ok(target.chat("thread", "delete", "-t", tid, "--yes", token=token))
    gone = target.chat("thread", "show", "-t", tid, token=token)
    assert gone.exit_code == 3, gone
    assert gone.error_lines and tid in gone.error_lines[0] and "not found" in gone.error_lines[0]


def test_participants(target: Target) -> None:
    owner, token = new_user_and_token(target)
    second = ok(target.identity("user", "create"))
    assert set(second) == {"rawId", "properties"} and second["properties"]["id"] == second["rawId"]
    third = ok(target.identity("user", "create", group="user-identity"))["rawId"]
    second = second["rawId"]

    created = ok(target.chat("thread", "create", "--topic", "Team", "--participant", second, token=token))
    tid = created["chatThread"]["id"]
    ids = [p["identifier"]["rawId"] for p in ok(target.chat("participant", "list", "-t", tid, token=token))]
    assert sorted(ids) == sorted([owner, second])

    added = ok(target.chat("participant", "add", "-t", tid, "--user", third, "--display-name", "Guest",
                           "--start-time", START, token=token))
    assert added == []
    listed = ok(target.chat("participant", "list", "-t", tid, token=token))
    by_id = {p["identifier"]["rawId"]: p for p in listed}
    assert set(by_id) == {owner, second, third}
    assert by_id[third]["displayName"] == "Guest"
    assert by_id[third]["shareHistoryTime"].startswith("2020-01-01T00:00:00")

    refused = target.chat("participant", "add", "-t", tid, "--user", UNKNOWN_USER, token=token)
    assert refused.exit_code == 1, refused
    assert len(refused.error_lines) == 1 and UNKNOWN_USER in refused.error_lines[0]
    assert "(403: " in refused.error_lines[0] or "(404: " in refused.error_lines[0]

    mixed = target.chat("thread", "create", "--topic", "Mixed", "--participant", second, UNKNOWN_USER, token=token)
    assert mixed.exit_code == 1, mixed
    assert UNKNOWN_USER in mixed.error_lines[0] and "was created" in mixed.error_lines[0]
    assert second not in mixed.error_lines[0]

    skipped = ok(target.chat("participant", "list", "-t", tid, "--skip", "1", token=token))
    assert len(skipped) == 2

    ok(target.chat("participant", "remove", "-t", tid, "--user", second, "--yes", token=token))
    remaining = [p["identifier"]["rawId"] for p in ok(target.chat("participant", "list", "-t", tid, token=token))]
    assert second not in remaining and sorted(remaining) == sorted([owner, third])

    table = target.chat("participant", "list", "-t", tid, "-o", "table", token=token)
    assert table_header(ok(table) and table) == ["User", "DisplayName", "ShareHistoryTime", "Metadata"]
    assert "\u2026" + third[-8:] in table.stdout and "Guest" in table.stdout
    assert "2020-01-01T00:00:00Z" in table.stdout and " all" in table.stdout  # the creator sees the whole history


def test_max_items_makes_one_request_with_that_page_size(target: Target) -> None:
    _, token = new_user_and_token(target)
    tid = ok(target.chat("thread", "create", "--topic", "Paging", token=token))["chatThread"]["id"]
    for i in range(5):
        ok(target.chat("message", "send", "-t", tid, "--content", f"message {i}", token=token))

    mark = len(target.request_log())
    three = ok(target.chat("message", "list", "-t", tid, "--start-time", START, "--max-items", "3", token=token))
    requests = target.request_log()[mark:]
    assert [m["content"]["message"] for m in three] == ["message 4", "message 3", "message 2"]
    assert len(requests) == 1
    assert requests[0].method == "GET" and requests[0].path.endswith("/messages")
    assert query_of(requests[0])["maxPageSize"] == "3"

    mark = len(target.request_log())
    everything = ok(target.chat("message", "list", "-t", tid, "--start-time", START, token=token))
    requests = target.request_log()[mark:]
    assert len(everything) == 7 and len(requests) == 1
    assert query_of(requests[0])["maxPageSize"] == "200"

    mark = len(target.request_log())
    one = ok(target.chat("participant", "list", "-t", tid, "--max-items", "1", token=token))
    requests = target.request_log()[mark:]
    assert len(one) == 1 and len(requests) == 1 and query_of(requests[0])["maxPageSize"] == "1"

    mark = len(target.request_log())
    threads = ok(target.chat("thread", "list", "--max-items", "250", "--start-time", START, token=token))
    requests = target.request_log()[mark:]
    assert [t["id"] for t in threads] == [tid] and query_of(requests[0])["maxPageSize"] == "200"


def test_endpoint_and_token_fallbacks(target: Target) -> None:
    user, token = new_user_and_token(target)
    tid = ok(target.chat("thread", "create", "--topic", "Fallbacks", token=token))["chatThread"]["id"]

    by_option = ok(target.chat("thread", "list", "--start-time", START, token=token))
    by_env = ok(target.az("communication", "chat", "thread", "list", "--start-time", START,
                          env={"AZURE_COMMUNICATION_ENDPOINT": target.endpoint,
                               "AZURE_COMMUNICATION_ACCESS_TOKEN": token}))
    config = config_file()
    saved = config.read_text() if config.exists() else None
    config.write_text(f"[communication]\nendpoint = {target.endpoint}\naccess_token = {token}\n"
                      f"connection_string = {target.connection_string}\n")
    try:
        by_config = ok(target.az("communication", "chat", "thread", "list", "--start-time", START))
        created = ok(target.az("communication", "identity", "user", "create"))
        # the option beats the variable, which beats the config file
        by_option_over_env = ok(target.az("communication", "chat", "thread", "show", "-t", tid,
                                          "--endpoint", target.endpoint,
                                          env={"AZURE_COMMUNICATION_ENDPOINT": "https://wrong.invalid"}))
    finally:
        if saved is None:
            config.unlink()
        else:
            config.write_text(saved)
    by_env_conn = ok(target.az("communication", "user-identity", "user", "create",
                               env={"AZURE_COMMUNICATION_CONNECTION_STRING": target.connection_string}))
    assert [t["id"] for t in by_option] == [t["id"] for t in by_env] == [t["id"] for t in by_config] == [tid]
    assert by_option_over_env["createdBy"]["rawId"] == user
    assert created["rawId"].startswith("8:acs:") and by_env_conn["rawId"].startswith("8:acs:")
    assert created["rawId"] != by_env_conn["rawId"]


def test_identity_commands(target: Target) -> None:
    user = ok(target.identity("user", "create"))["rawId"]
    issued = ok(target.identity("token", "issue", "--scope", "chat", "voip", "--user", user,
                                "--expires-in-minutes", "60"))
    assert issued["user_id"] == user and issued["token"]
    expires = datetime.fromisoformat(issued["expires_on"])
    if target.live:
        assert abs(expires - datetime.now(timezone.utc) - timedelta(minutes=60)) < timedelta(minutes=5)

    table = target.identity("token", "issue", "--scope", "chat.join", "--user", user, "-o", "table",
                            env={"AZURE_CLIENTS_SHOW_SECRETS_WARNING": "true"})
    assert table_header(ok(table) and table) == ["UserId", "ExpiresOn", "Token"]
    assert issued["token"] not in table.stdout
    assert "secrets: token" in table.stderr  # core warns for a command marked sensitive_info

    teams = ok(target.identity("token", "get-for-teams-user", "--aad-token", "opaque-entra-token", "--client",
                               "00000000-0000-0000-0000-0000000000aa", "--aad-user",
                               "00000000-0000-0000-0000-0000000000bb"))
    assert set(teams) == {"token", "expires_on"} and teams["token"]

    ok(target.identity("token", "revoke", "--user", user, "--yes"))
    ok(target.identity("user", "delete", "--user", user, "--yes", group="user-identity"))
    missing = target.identity("token", "issue", "--scope", "chat", "--user", user)
    assert missing.exit_code == 3, missing
    assert user in missing.error_lines[0] and "not found" in missing.error_lines[0]


def test_service_errors_are_one_line(target: Target) -> None:
    owner, token = new_user_and_token(target)
    outsider, outsider_token = new_user_and_token(target)
    tid = ok(target.chat("thread", "create", "--topic", "Private", token=token))["chatThread"]["id"]

    missing = target.chat("thread", "show", "-t", "19:doesnotexist@thread.v2", token=token)
    assert missing.exit_code == 3, missing
    assert "Chat thread '19:doesnotexist@thread.v2' was not found" in missing.error_lines[0]

    no_message = target.chat("message", "get", "-t", tid, "--message-id", "1", token=token)
    assert no_message.exit_code == 3, no_message
    assert "Message '1'" in no_message.error_lines[0]

    forbidden = target.chat("participant", "list", "-t", tid, token=outsider_token)
    assert forbidden.exit_code == 1, forbidden
    assert len(forbidden.error_lines) == 1 and "not allowed" in forbidden.error_lines[0]
    assert type(forbidden.error).__name__ == "ForbiddenError"

    ok(target.identity("token", "revoke", "--user", owner, "--yes"))
    refused = target.chat("thread", "show", "-t", tid, token=token)
    assert refused.exit_code == 1, refused
    assert "access token was refused" in refused.error_lines[0]
    assert "az communication identity token issue" in refused.error_lines[0]
    assert type(refused.error).__name__ == "UnauthorizedError"
    for result in (missing, no_message, forbidden, refused):
        assert "Traceback" not in result.stderr and token not in result.stderr and outsider_token not in result.stderr


def test_every_request_carries_the_extension_user_agent(target: Target) -> None:
    from azext_communication._version import VERSION

    _, token = new_user_and_token(target)
    tid = ok(target.chat("thread", "create", "--topic", "UA", token=token))["chatThread"]["id"]
    ok(target.chat("message", "send", "-t", tid, "--content", "x", token=token))
    ok(target.chat("thread", "show", "-t", tid, token=token))
    agents = target.scrubber.user_agents
    assert agents and all(a.startswith(f"AzureCli/{VERSION} ") for a in agents), agents
    assert any("communication-chat" in a for a in agents) and any("communication-identity" in a for a in agents)


def _message_polls(target: Target, since: int) -> list:
    return [r for r in target.request_log()[since:] if r.method == "GET" and r.path.endswith("/messages")]


def test_message_wait(target: Target) -> None:
    _, token = new_user_and_token(target)
    tid = ok(target.chat("thread", "create", "--topic", "Bot test", token=token))["chatThread"]["id"]
    ping = ok(target.chat("message", "send", "-t", tid, "--content", "ping", token=token))["id"]
    pong = ok(target.chat("message", "send", "-t", tid, "--content", "pong!", "--display-name", "Bot",
                          token=token))["id"]

    mark = len(target.request_log())
    found = target.chat("message", "wait", "-t", tid, "--after", ping, "--custom",
                        "senderDisplayName=='Bot' && contains(content.message, 'pong')", "--query", "content.message",
                        "-o", "tsv", token=token)
    assert ok(found) == "pong!" and found.stdout == "pong!\n"
    polls = _message_polls(target, mark)
    assert len(target.request_log()) - mark == 1 and len(polls) == 1  # the reply was there: one request
    assert query_of(polls[0])["maxPageSize"] == "200" and "startTime" in query_of(polls[0])

    mark = len(target.request_log())
    full = ok(target.chat("message", "wait", "-t", tid, "--after", ping, "--sender", "bot", token=token))
    assert full["id"] == pong and full["senderDisplayName"] == "Bot" and full["sequenceId"] == "4"

    mark = len(target.request_log())
    late = target.chat("message", "wait", "-t", tid, "--after", pong, "--contains", "never", "--interval", "0.5",
                       "--timeout", "1.25", token=token)
    assert late.exit_code == 1 and late.stdout == "", late
    assert len(late.error_lines) == 1 and "matched within 1.25 seconds" in late.error_lines[0]
    assert 2 <= len(_message_polls(target, mark)) <= 3

    missing = target.chat("message", "wait", "-t", "19:doesnotexist@thread.v2", "--contains", "x", token=token)
    assert missing.exit_code == 3, missing
    assert "19:doesnotexist@thread.v2" in missing.error_lines[0] and "not found" in missing.error_lines[0]


def test_message_watch(target: Target) -> None:
    """A watch from a start time, while a second client sends two messages: a scripted sequence of pages."""
    import threading

    from azure.communication.chat import ChatThreadClient, CommunicationTokenCredential

    user, token = new_user_and_token(target)
    tid = ok(target.chat("thread", "create", "--topic", "Standup", token=token))["chatThread"]["id"]
    first = ok(target.chat("message", "send", "-t", tid, "--content", "morning", "--display-name", "Ann",
                           token=token))["id"]
    ok(target.chat("message", "send", "-t", tid, "--content", "hi Ann", "--display-name", "Bob", token=token))

    mark = len(target.request_log())
    verify = target.ca_bundle if target.live else True
    errors: list[BaseException] = []

    def second_client() -> None:
        try:
            client = ChatThreadClient(target.endpoint, CommunicationTokenCredential(token), tid,
                                      connection_verify=verify)
            for polls, text in ((1, "standup in 5"), (3, "starting now")):
                while len(_message_polls(target, mark)) < polls:
                    threading.Event().wait(0.02)
                threading.Event().wait(0.1)
                client.send_message(text, sender_display_name="Ann")
        except BaseException as ex:  # reported below
            errors.append(ex)

    sender = threading.Thread(target=second_client, daemon=True)
    sender.start()
    watch = target.chat("message", "watch", "-t", tid, "--start-time", START, "--interval", "0.5", "--timeout",
                        "2.25", token=token)
    sender.join(10)
    assert not errors, errors
    assert watch.exit_code == 0 and not watch.error_lines, watch
    printed = [json.loads(line) for line in watch.stdout.splitlines()]
    assert [m["type"] for m in printed] == ["participantAdded", "topicUpdated", "text", "text", "text", "text"]
    assert [m["content"]["message"] for m in printed[2:]] == ["morning", "hi Ann", "standup in 5", "starting now"]
    assert [int(m["sequenceId"]) for m in printed] == [1, 2, 3, 4, 5, 6]
    assert printed[0]["content"]["participants"][0]["identifier"]["rawId"] == user
    assert all(query_of(r)["maxPageSize"] == "200" for r in _message_polls(target, mark))

    table = target.chat("message", "watch", "-t", tid, "--after", first, "-o", "table", "--interval", "0.5",
                        "--timeout", "0.25", token=token)
    rows = ok(table) is None and table.stdout.splitlines()
    assert [row.split("  ", 1)[1].split() for row in rows] == [
        ["Bob", "hi", "Ann"], ["Ann", "standup", "in", "5"], ["Ann", "starting", "now"]]

    texts = target.chat("message", "watch", "-t", tid, "--start-time", START, "--query", "content.message", "-o",
                        "tsv", "--interval", "0.5", "--timeout", "0.25", token=token)
    assert ok(texts) is None and texts.stdout == "morning\nhi Ann\nstandup in 5\nstarting now\n"


# ---------------------------------------------------------------------------------------------------------
# Deleting twice: every delete maps the service's answer the same way, 204 -> exit 0 and 404 -> exit 3 with one
# line naming what was not found. Messages are soft-deleted (a second delete succeeds); a deleted thread, a
# removed participant and a deleted user are gone.
def not_found(result, *names: str) -> None:
    assert result.exit_code == 3, result
    assert len(result.error_lines) == 1 and "not found" in result.error_lines[0], result
    for name in names:
        assert name in result.error_lines[0], result


def test_deleting_twice(target: Target) -> None:
    _, token = new_user_and_token(target)
    other = ok(target.identity("user", "create"))["rawId"]
    created = ok(target.chat("thread", "create", "--topic", "Twice", "--participant", other, token=token))
    tid = created["chatThread"]["id"]
    mid = ok(target.chat("message", "send", "-t", tid, "--content", "soon gone", token=token))["id"]

    assert ok(target.chat("message", "delete", "-t", tid, "--message-id", mid, "--yes", token=token)) is None
    assert ok(target.chat("message", "delete", "-t", tid, "--message-id", mid, "--yes", token=token)) is None
    assert ok(target.chat("message", "get", "-t", tid, "--message-id", mid, token=token))["deletedOn"]
    not_found(target.chat("message", "delete", "-t", tid, "--message-id", "1700000000000", "--yes", token=token),
              "1700000000000")

    assert ok(target.chat("participant", "remove", "-t", tid, "--user", other, "--yes", token=token)) is None
    not_found(target.chat("participant", "remove", "-t", tid, "--user", other, "--yes", token=token), other, tid)

    assert ok(target.chat("thread", "delete", "-t", tid, "--yes", token=token)) is None
    not_found(target.chat("thread", "delete", "-t", tid, "--yes", token=token), tid)

    assert ok(target.identity("user", "delete", "--user", other, "--yes")) is None
    not_found(target.identity("user", "delete", "--user", other, "--yes"), other)

"""Thread and participant metadata, retention (chat api-version 2025-03-15): bad values are refused before any
request (exit 2), and an endpoint that refuses the api-version gets one line saying so (exit 1)."""

from __future__ import annotations

from collections.abc import Iterator
from unittest import mock

import pytest
from cli_harness import CliResult, run
from test_cli_validation import ENDPOINT, GOOD_TOKEN, THREAD, USER, assert_refused

NEW_COMMANDS = (("thread", "create", "--topic", "t"), ("thread", "show", "-t", THREAD),
                ("thread", "update", "-t", THREAD, "--topic", "t"),
                ("participant", "add", "-t", THREAD, "--user", USER),
                ("participant", "list", "-t", THREAD))


def chat(*args: str) -> CliResult:
    return run("communication", "chat", *args, "--endpoint", ENDPOINT, "--access-token", GOOD_TOKEN)


@pytest.fixture
def no_requests() -> Iterator[mock.MagicMock]:
    """Any request reaching the transport fails the test: validation must come first."""
    from azure.core.pipeline.transport import RequestsTransport

    with mock.patch.object(RequestsTransport, "send", side_effect=AssertionError("a request was sent")) as send:
        yield send
    assert not send.called


# ------------------------------------------------------------------ validation: exit 2, no request
@pytest.mark.parametrize("days", ["29", "91", "0", "-30", "thirty", "30.5", "none", ""])
def test_thread_create_retention_days_is_30_to_90(no_requests, days):
    line = assert_refused(chat("thread", "create", "--topic", "t", "--retention-days", days), "--retention-days")
    assert "between 30 and 90" in line


@pytest.mark.parametrize("days", ["29", "91", "never", "1e2", ""])
def test_thread_update_retention_days_is_30_to_90_or_none(no_requests, days):
    line = assert_refused(chat("thread", "update", "-t", THREAD, "--retention-days", days), "--retention-days")
    assert "between 30 and 90, or none" in line


@pytest.mark.parametrize("command", [("thread", "create", "--topic", "t"), ("thread", "update", "-t", THREAD),
                                     ("participant", "add", "-t", THREAD, "--user", USER)])
@pytest.mark.parametrize("item", ["novalue", "=v", " =v"])
def test_metadata_items_need_a_key_and_an_equals_sign(no_requests, command, item):
    assert_refused(chat(*command, "--metadata", "ok=1", item), "--metadata", "key=value", item.strip() or item)


@pytest.mark.parametrize("command", [("thread", "create", "--topic", "t"), ("thread", "update", "-t", THREAD),
                                     ("participant", "add", "-t", THREAD, "--user", USER)])
def test_metadata_over_1_kb_of_utf8_is_refused(no_requests, command):
    # UTF-8 bytes, not characters: 255 x "\u00e9" is 510 bytes.
    big = ["a=" + "\u00e9" * 255, "b=" + "\u00e9" * 255, "c=xxxxx"]  # 1 + 510 + 1 + 510 + 1 + 5 = 1028 bytes
    line = assert_refused(chat(*command, "--metadata", *big), "--metadata is too large: 1028 bytes")
    assert "1024 bytes" in line


def test_metadata_of_exactly_1_kb_passes_validation():
    """1024 bytes is allowed: the command gets as far as the (unreachable) endpoint."""
    from azure.core.pipeline.transport import RequestsTransport

    exactly = ["a=" + "\u00e9" * 255, "b=" + "\u00e9" * 255, "c=x"]  # 1 + 510 + 1 + 510 + 1 + 1 = 1024 bytes
    with mock.patch.object(RequestsTransport, "send", side_effect=AssertionError("sent")) as send:
        result = chat("thread", "update", "-t", THREAD, "--metadata", *exactly)
    assert send.called and result.exit_code != 2, result


def test_thread_update_needs_one_change(no_requests):
    assert_refused(chat("thread", "update", "-t", THREAD), "at least one of --topic, --metadata, --retention-days")
    assert_refused(chat("thread", "update", "-t", THREAD, "--topic", " "), "--topic must not be empty")


# ------------------------------------------------------------------ the request bodies
def _sent(*args: str) -> tuple[CliResult, list]:
    """Run a command against a transport that records the requests and answers like the service."""
    import json

    import requests
    from azure.core.pipeline.transport import RequestsTransport, RequestsTransportResponse

    sent = []

    def answer(request, **kwargs):
        sent.append(request)
        status, body = 204, b""
        if request.method == "POST" and request.url.split("?")[0].endswith("/chat/threads"):
            thread = {"id": THREAD, "topic": "t", "createdOn": "2025-06-10T22:20:18Z",
                      "createdByCommunicationIdentifier": {"rawId": USER, "communicationUser": {"id": USER}},
                      "retentionPolicy": {"kind": "none"}}
            status, body = 201, json.dumps({"chatThread": thread}).encode()
        elif request.method == "POST":
            status, body = 201, b"{}"
        answered = requests.Response()
        answered.status_code, answered._content, answered.reason = status, body, "stand-in"
        answered.headers["Content-Type"] = "application/json; charset=utf-8"
        return RequestsTransportResponse(request, answered)

    with mock.patch.object(RequestsTransport, "send", side_effect=answer):
        result = chat(*args)
    return result, sent


def _json(request) -> dict:
    import json

    return json.loads(request.body if isinstance(request.body, (str, bytes)) else request.data)


def test_update_sends_a_merge_patch_with_empty_values_for_removed_keys_at_2025_03_15():
    result, sent = _sent("thread", "update", "-t", THREAD, "--metadata", "keep=1", "gone=", "--retention-days", "45")
    assert result.exit_code == 0, result
    [request] = sent
    assert request.method == "PATCH" and "api-version=2025-03-15" in request.url
    assert request.headers["Content-Type"] == "application/merge-patch+json"
    assert request.headers["User-Agent"].startswith("AzureCli/")
    assert _json(request) == {"metadata": {"keep": "1", "gone": ""},
                              "retentionPolicy": {"kind": "threadCreationDate", "deleteThreadAfterDays": 45}}
    _, sent = _sent("thread", "update", "-t", THREAD, "--retention-days", "NONE")
    assert _json(sent[0]) == {"retentionPolicy": {"kind": "none"}}
    _, sent = _sent("thread", "update", "-t", THREAD, "--topic", "new")
    assert _json(sent[0]) == {"topic": "new"}


def test_create_and_add_send_metadata_and_policy():
    result, sent = _sent("thread", "create", "--topic", "t", "--participant", USER, "--metadata", "ticket=42",
                         "--retention-days", "30")
    assert result.exit_code == 0, result
    assert result.result["chatThread"]["retentionPolicy"] == {"kind": "none"}  # as the stand-in answered
    body = _json(sent[0])
    assert "api-version=2025-03-15" in sent[0].url and sent[0].headers.get("repeatability-request-id")
    assert body["metadata"] == {"ticket": "42"}
    assert body["retentionPolicy"] == {"kind": "threadCreationDate", "deleteThreadAfterDays": 30}
    assert [p["communicationIdentifier"]["rawId"] for p in body["participants"]] == [USER]
    assert "metadata" not in body["participants"][0]

    result, sent = _sent("participant", "add", "-t", THREAD, "--user", USER, USER.replace("01", "02"),
                         "--metadata", "role=agent")
    assert result.exit_code == 0 and result.result == [], result
    assert [p["metadata"] for p in _json(sent[0])["participants"]] == [{"role": "agent"}] * 2

    _, sent = _sent("thread", "create", "--topic", "plain")
    assert set(_json(sent[0])) == {"topic", "participants"}  # nothing new unless asked for


# ------------------------------------------------------------------ an endpoint that refuses 2025-03-15
@pytest.fixture(scope="module")
def older_emulator(tmp_path_factory: pytest.TempPathFactory, az_ready: None) -> Iterator[dict[str, str]]:
    """The emulator, answering as one that predates 2025-03-15 (its own UnsupportedApiVersion error)."""
    from emulator_process import in_process_emulator

    from azext_communication.emulator.wire.chat import CHAT_API_VERSIONS

    older = tuple(v for v in CHAT_API_VERSIONS.versions if v != "2025-03-15")
    with in_process_emulator(tmp_path_factory.mktemp("emu-home")) as emu, \
            mock.patch.object(CHAT_API_VERSIONS, "versions", older):
        env = {"REQUESTS_CA_BUNDLE": emu.ca_bundle, "AZURE_COMMUNICATION_CONNECTION_STRING": emu.connection_string,
               "AZURE_COMMUNICATION_ENDPOINT": emu.endpoint.rstrip("/")}
        issued = run("communication", "identity", "token", "issue", "--scope", "chat", env=env)
        assert issued.exit_code == 0, issued
        yield {**env, "AZURE_COMMUNICATION_ACCESS_TOKEN": issued.result["token"], "USER": issued.result["user_id"]}


def test_refused_api_version_is_one_line_exit_1(older_emulator):
    env = {k: v for k, v in older_emulator.items() if k != "USER"}
    sent = run("communication", "chat", "message", "send", "-t", THREAD, "--content", "x", env=env)
    assert sent.exit_code == 3, sent  # 2024-03-07 commands still reach it (the thread does not exist)
    for command in NEW_COMMANDS:
        command = tuple(older_emulator["USER"] if a == USER else a for a in command)
        result = run("communication", "chat", *command, env=env)
        assert result.exit_code == 1, result
        assert len(result.error_lines) == 1 and "Traceback" not in result.stderr, result
        line = result.error_lines[0]
        assert "needs chat api-version 2025-03-15" in line and env["AZURE_COMMUNICATION_ENDPOINT"] in line, line
        assert "refused it (400 UnsupportedApiVersion" in line, line


def test_api_version_errors_are_told_apart_from_other_400s():
    from azext_communication._errors import refuses_api_version

    assert refuses_api_version("UnsupportedApiVersion", "")
    assert refuses_api_version("BadRequest", "The requested api-version '2025-03-15' is not supported.")
    assert refuses_api_version(None, "The HTTP resource ... does not support the API version '2025-03-15'.")
    assert not refuses_api_version("BadRequest", "deleteThreadAfterDays must be between 30 and 90.")
    assert not refuses_api_version("ValidationError", "maxPageSize must be greater than 0")


# ------------------------------------------------------------------ the policy at work
@pytest.mark.live
def test_a_retention_policy_set_here_deletes_the_thread_and_none_keeps_it(tmp_path):
    """With a 'day' of 0.05 s, 30 days pass in 1.5 s: the thread created with --retention-days 30 is gone
    (exit 3), the one whose policy `thread update --retention-days none` removed is still there."""
    import time

    from cli_harness import chat_user
    from emulator_process import running_emulator

    with running_emulator("--retention-day-seconds", "0.05",
                          env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(tmp_path / "home")}) as emu:
        env, _ = chat_user(emu)

        def az(*args: str) -> CliResult:
            return run("communication", "chat", *args, env=env)

        doomed, kept = (az("thread", "create", "--topic", t, "--retention-days", "30").result["chatThread"]["id"]
                        for t in ("doomed", "kept"))
        kept_due = time.monotonic() + 30 * 0.05  # its policy would have fired by then
        assert az("thread", "update", "-t", kept, "--retention-days", "none").exit_code == 0
        deadline = time.monotonic() + 30
        while (shown := az("thread", "show", "-t", doomed)).exit_code == 0 and time.monotonic() < deadline:
            assert shown.result["retentionPolicy"] == {"kind": "threadCreationDate", "deleteThreadAfterDays": 30}
            time.sleep(0.2)
        assert shown.exit_code == 3 and doomed in shown.error_lines[0], shown
        time.sleep(max(0.0, kept_due + 0.5 - time.monotonic()))
        still = az("thread", "show", "-t", kept)
        assert still.exit_code == 0 and still.result["retentionPolicy"] == {"kind": "none"}, still


# ------------------------------------------------------------------ tsv keeps its columns
@pytest.mark.live
def test_tsv_rows_keep_their_columns_whether_or_not_there_is_metadata(emulator):
    """tsv prints a map as an empty field: metadata, present on some participants only, would shift the columns
    after it (`cut -f3` no longer the share-history time). tsv leaves it out, as 1.1.0 printed them."""
    from cli_harness import chat_user

    env, _ = chat_user(emulator)
    plain = run("communication", "chat", "thread", "create", "--topic", "plain", "-o", "tsv", env=env).stdout.strip()
    tagged = run("communication", "chat", "thread", "create", "--topic", "tagged", "--metadata", "k=v", "-o", "tsv",
                 env=env).stdout.strip()
    other = run("communication", "identity", "user", "create", env=env).result["rawId"]
    added = run("communication", "chat", "participant", "add", "-t", tagged, "--user", other, "--metadata", "r=a",
                env=env)
    assert added.exit_code == 0, added
    listed = run("communication", "chat", "participant", "list", "-t", tagged, "-o", "tsv", env=env)
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert len(rows) == 2 and [len(r) for r in rows] == [3, 3], listed.stdout
    assert all(r[2].startswith("1970-01-01T00:00:00") for r in rows), listed.stdout
    shown = [run("communication", "chat", "thread", "show", "-t", t, "-o", "tsv", env=env).stdout
             for t in (plain, tagged)]
    assert [len(s.rstrip("\n").split("\t")) for s in shown] == [6, 6], shown
    queried = run("communication", "chat", "participant", "list", "-t", tagged, "--query", "[].metadata.r", "-o", "tsv",
                  env=env)
    assert queried.stdout.split() == ["a"], queried  # --query still sees the metadata


# ------------------------------------------------------------------ thread create refuses K= (update removes)
@pytest.mark.parametrize("item", ["k=", " k="])
def test_thread_create_refuses_an_empty_value_that_only_update_reads_as_removal(no_requests, item):
    """`thread update --metadata k=` removes k; create would store "k": "" (the same words meaning two things)."""
    line = assert_refused(chat("thread", "create", "--topic", "t", "--metadata", "ok=1", item), "--metadata",
                          "'k=' has an empty value", "only with thread update")
    assert "\n" not in line


def test_thread_create_help_says_why_k_is_refused():
    from cli_harness import load_command_table
    from knack.help_files import helps

    load_command_table()
    assert "K= (an empty value) is refused" in " ".join(helps["communication chat thread create"].split())


# ------------------------------------------------------------------ participant add of an existing participant
@pytest.mark.live
def test_participant_add_table_shows_what_the_service_kept_for_an_existing_participant(emulator):
    """"If participants already exist, no change occurs": the table shows the stored display name and metadata,
    not the requested ones, and says the existing participant was left unchanged."""
    from cli_harness import chat_user

    env, _ = chat_user(emulator)
    thread = run("communication", "chat", "thread", "create", "--topic", "again", "-o", "tsv", env=env).stdout.strip()
    other = run("communication", "identity", "user", "create", env=env).result["rawId"]
    first = run("communication", "chat", "participant", "add", "-t", thread, "--user", other, "--display-name",
                "Ann", "--metadata", "r=a", "-o", "table", env=env)
    assert first.exit_code == 0 and "r=a" in first.stdout and "Ann" in first.stdout, first
    assert "already" not in first.stderr, first
    again = run("communication", "chat", "participant", "add", "-t", thread, "--user", other, "--display-name",
                "Bea", "--metadata", "x=y", "-o", "table", env=env)
    assert again.exit_code == 0, again
    rows = again.stdout.splitlines()[2:]
    assert len(rows) == 1 and "r=a" in rows[0] and "Ann" in rows[0], again.stdout
    assert "x=y" not in again.stdout and "Bea" not in again.stdout, again.stdout
    assert f"{other} was already a participant" in again.stderr and "left unchanged" in again.stderr, again.stderr
    as_json = run("communication", "chat", "participant", "add", "-t", thread, "--user", other, "--metadata", "x=y",
                  env=env)
    assert as_json.exit_code == 0 and as_json.result == [], as_json  # the contract's shape
    listed = run("communication", "chat", "participant", "list", "-t", thread, "--query",
                 f"[?identifier.rawId=='{other}'].metadata", env=env)
    assert listed.result == [{"r": "a"}], listed

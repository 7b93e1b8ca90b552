"""The first hour, second round, against the live emulator: tables that tell the truth and fit the terminal,
errors and prompts that name what they are about, `emulator status` with nothing running, docs that agree."""

from __future__ import annotations

import re
from typing import Any
from unittest import mock

import pytest
from cli_harness import ROOT, chat_user, run

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def env(emulator: Any) -> dict[str, str]:
    """Variables of a user with a chat token on the session emulator (and no COLUMNS from the developer's shell)."""
    return {**chat_user(emulator)[0], "COLUMNS": None}


def _thread(env: dict[str, str], topic: str = "t") -> str:
    created = run("communication", "chat", "thread", "create", "--topic", topic, "-o", "tsv", env=env)
    assert created.exit_code == 0, created
    return created.stdout.strip()


def _new_user(env: dict[str, str]) -> str:
    created = run("communication", "identity", "user", "create", env=env)
    assert created.exit_code == 0, created
    return created.result["rawId"]


@pytest.fixture
def sent_requests():
    """Counts what reaches the transport."""
    from azure.core.pipeline.transport import RequestsTransport

    original = RequestsTransport.send
    calls: list[str] = []

    def spy(self, request, **kwargs):
        calls.append(request.url)
        return original(self, request, **kwargs)

    with mock.patch.object(RequestsTransport, "send", spy):
        yield calls


# ---------------------------------------------------------------------------------------------- tables
def test_message_table_shows_each_messages_own_sender(env: dict[str, str]) -> None:
    thread = _thread(env)
    for args in (["--display-name", "Alice"], [], ["--display-name", "Ally"]):
        assert run("communication", "chat", "message", "send", "-t", thread, "--content", f"m{len(args)}{args}",
                   *args, env=env).exit_code == 0
    table = run("communication", "chat", "message", "list", "-t", thread, "-o", "table", env=env)
    assert table.exit_code == 0, table
    rows = table.stdout.splitlines()[2:]  # newest first: Ally, (no name), Alice, then the thread's creation
    assert "Ally" in rows[0] and "Alice" in rows[2]
    assert "Alice" not in rows[1] and "Ally" not in rows[1] and "\u2026" in rows[1], table.stdout
    for creation in rows[3:]:  # before any name was used: "…9239d1bb joined", not "Ally joined"
        assert "Alice" not in creation and "Ally" not in creation and "\u2026" in creation, table.stdout


@pytest.mark.parametrize("columns", ["80", "100"])
def test_tables_fit_a_terminal_narrower_than_120_columns(env: dict[str, str], columns: str) -> None:
    thread = _thread(env, "A topic long enough to need shortening in a narrow terminal " * 3)
    run("communication", "chat", "message", "send", "-t", thread, "--content", "words " * 100, "--display-name",
        "A sender with a long display name", env=env)
    narrow = {**env, "COLUMNS": columns}
    for args in (["message", "list", "-t", thread], ["thread", "list"], ["thread", "show", "-t", thread],
                 ["participant", "list", "-t", thread]):
        result = run("communication", "chat", *args, "-o", "table", env=narrow)
        assert result.exit_code == 0, result
        widest = max(len(line) for line in result.stdout.splitlines())
        assert widest <= int(columns), f"{args}: {widest}\n{result.stdout}"
    wide = run("communication", "chat", "message", "list", "-t", thread, "-o", "table", env=env)
    assert max(len(line) for line in wide.stdout.splitlines()) <= 120


# ---------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("path", ["/foo", "/chat", "/foo/"])
def test_an_endpoint_with_a_path_is_refused_before_any_request(env, emulator, sent_requests, path: str) -> None:
    endpoint = emulator.endpoint.rstrip("/") + path
    for args in (["thread", "list"], ["thread", "show", "-t", "19:x@thread.v2"]):
        result = run("communication", "chat", *args, "--endpoint", endpoint, env=env)
        assert result.exit_code == 2, result
        [line] = result.error_lines
        assert "--endpoint must be the resource's base URL, without a path" in line, line
    from_variable = run("communication", "chat", "thread", "list",
                        env={**env, "AZURE_COMMUNICATION_ENDPOINT": endpoint})
    assert from_variable.exit_code == 2 and "(value from AZURE_COMMUNICATION_ENDPOINT)" in from_variable.stderr
    assert sent_requests == []
    assert run("communication", "chat", "thread", "list", "--endpoint", emulator.endpoint.rstrip("/") + "/",
               "--max-items", "1", env=env).exit_code == 0  # a trailing slash is no path


def test_participant_remove_on_a_missing_thread_names_the_thread(env: dict[str, str]) -> None:
    user = _new_user(env)
    missing = "19:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1@thread.v2"
    result = run("communication", "chat", "participant", "remove", "-t", missing, "--user", user, "--yes", env=env)
    assert result.exit_code == 3, result
    [line] = result.error_lines
    assert line.startswith(f"ERROR: Chat thread '{missing}' was not found"), line
    assert "Participant" not in line
    thread = _thread(env)
    outsider = run("communication", "chat", "participant", "remove", "-t", thread, "--user", user, "--yes", env=env)
    assert outsider.exit_code == 3 and f"Participant '{user}' in chat thread '{thread}'" in outsider.stderr, outsider


def test_missing_values_name_the_option_the_variable_and_the_az_config_key(env: dict[str, str]) -> None:
    result = run("communication", "chat", "thread", "list", env={**env, "AZURE_COMMUNICATION_ENDPOINT": None})
    assert result.exit_code == 2
    assert result.error_lines == ["ERROR: Please specify --endpoint, or set AZURE_COMMUNICATION_ENDPOINT, or run "
                                  "'az config set communication.endpoint=<value>'."]


# ---------------------------------------------------------------------------------------------- prompts
def test_confirmation_prompts_say_what_will_be_removed(env: dict[str, str]) -> None:
    thread = _thread(env)
    user = _new_user(env)
    assert run("communication", "chat", "participant", "add", "-t", thread, "--user", user, env=env).exit_code == 0
    message = run("communication", "chat", "message", "send", "-t", thread, "--content", "keep me",
                  env=env).result["id"]
    cases = [
        (["chat", "thread", "delete", "-t", thread], f"Delete chat thread '{thread}' for every participant?"),
        (["chat", "participant", "remove", "-t", thread, "--user", user],
         f"Remove participant '{user}' from chat thread '{thread}'?"),
        (["chat", "message", "delete", "-t", thread, "--message-id", message],
         f"Delete message '{message}' from chat thread '{thread}'?"),
        (["identity", "user", "delete", "--user", user], f"Delete user '{user}', revoke all of its tokens"),
        (["identity", "token", "revoke", "--user", user], f"Revoke every access token issued to user '{user}'?"),
        (["emulator", "subscription", "delete", "--name", "bot"], "Delete event subscription 'bot'"),
    ]
    asked: list[str] = []
    for args, expected in cases:
        asked.clear()
        with mock.patch("knack.prompting.prompt_y_n", side_effect=lambda msg, *a, **k: asked.append(msg) or False):
            result = run("communication", *args, env=env)
        assert result.exit_code == 1 and "Operation cancelled" in result.stderr, (args, result)
        assert len(asked) == 1 and asked[0].startswith(expected), (args, asked)
    # nothing was removed
    shown = run("communication", "chat", "message", "get", "-t", thread, "--message-id", message, env=env)
    assert shown.exit_code == 0 and shown.result["content"]["message"] == "keep me"
    listed = run("communication", "chat", "participant", "list", "-t", thread, "--query", "[].identifier.rawId",
                 env=env)
    assert user in listed.result


# ---------------------------------------------------------------------------------------------- emulator status
def test_emulator_status_with_none_running_is_one_line(tmp_path) -> None:
    home = {"AZURE_COMMUNICATION_EMULATOR_HOME": str(tmp_path)}
    for output in ("table", "tsv"):
        result = run("communication", "emulator", "status", "-o", output, env=home)
        assert result.exit_code == 0 and result.stdout == "", (output, result.stdout)
        lines = [line for line in result.stderr.splitlines() if line.strip() and "preview" not in line]
        assert lines == [f"WARNING: No emulator is running for {tmp_path}. Start one with 'az communication "
                         "emulator start'."], result.stderr
    as_json = run("communication", "emulator", "status", env=home)
    assert as_json.result["emulators"] == [] and as_json.result["running"] is False


# ---------------------------------------------------------------------------------------------- docs
def _help_text(*command: str) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run("communication", *command, "--help")
    return " ".join(out.getvalue().split())


def test_help_and_readme_agree_on_the_default_timeouts() -> None:
    from azext_communication._client_factory import CONNECT_TIMEOUT

    readme = " ".join((ROOT / "README.md").read_text().split())
    defaults = f"(default: {CONNECT_TIMEOUT:g} s to connect, 300 s for a response)"
    assert defaults in readme
    assert defaults in _help_text("chat")
    assert "Default: 300." in _help_text("chat", "message", "wait") and "(default 300 s)" in readme
    for command in ("watch", "wait"):
        assert "exit 130" in _help_text("chat", "message", command), command
    conversations = readme.split("### Conversations", 1)[1].split("## Errors", 1)[0]
    assert "Ctrl-C ends `message watch` and `message wait` alike: exit 130" in conversations
    assert not re.search(r"Ctrl-C[^.]*exit 0", conversations)


def test_readme_maps_the_azure_quickstart_to_the_emulator() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Coming from the Azure quickstart", 1)[1].split("\n## ", 1)[0]
    for step in ("az extension add --name communication", "az login", "AZURE_COMMUNICATION_ENDPOINT",
                 "AZURE_COMMUNICATION_ACCESS_TOKEN", "AZURE_COMMUNICATION_CONNECTION_STRING",
                 "az communication emulator start", "az extension remove --name communication"):
        assert step in section, step

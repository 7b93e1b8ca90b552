"""What a new user meets in the first hour, against the live emulator: output a shell line can use, and
failures that are quick and clear."""

from __future__ import annotations

from typing import Any

import pytest
from cli_harness import run

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def env(emulator: Any) -> dict[str, str]:
    """Variables of a user with a chat token on the session emulator."""
    values = {"REQUESTS_CA_BUNDLE": emulator.ca_bundle, "AZURE_COMMUNICATION_CONNECTION_STRING":
              emulator.connection_string, "AZURE_COMMUNICATION_ENDPOINT": emulator.endpoint.rstrip("/")}
    issued = run("communication", "identity", "token", "issue", "--scope", "chat", env=values)
    assert issued.exit_code == 0, issued
    return {**values, "AZURE_COMMUNICATION_ACCESS_TOKEN": issued.result["token"]}


def _new_user(env: dict[str, str]) -> str:
    created = run("communication", "identity", "user", "create", env=env)
    assert created.exit_code == 0, created
    return created.result["rawId"]


def test_thread_create_tsv_is_just_the_thread_id(env: dict[str, str]) -> None:
    result = run("communication", "chat", "thread", "create", "--topic", "tsv", "-o", "tsv", env=env)
    assert result.exit_code == 0, result
    thread_id = result.stdout.strip()
    assert thread_id.startswith("19:") and thread_id.endswith("@thread.v2") and "\t" not in result.stdout
    shown = run("communication", "chat", "thread", "show", "-t", thread_id, env=env)
    assert shown.exit_code == 0 and shown.result["topic"] == "tsv", shown


def test_thread_create_keeps_its_json_shape_and_query(env: dict[str, str]) -> None:
    result = run("communication", "chat", "thread", "create", "--topic", "json", env=env)
    assert set(result.result) == {"chatThread", "errors"} and result.result["errors"] == []
    queried = run("communication", "chat", "thread", "create", "--topic", "q", "--query", "chatThread.topic",
                  "-o", "tsv", env=env)
    assert queried.stdout.strip() == "q", queried
    table = run("communication", "chat", "thread", "create", "--topic", "table", "-o", "table", env=env)
    assert table.stdout.splitlines()[0].split() == ["Id", "Topic", "CreatedOn"], table


def test_participant_add_prints_the_added_users_in_tsv_and_table(env: dict[str, str]) -> None:
    thread = run("communication", "chat", "thread", "create", "--topic", "add", "-o", "tsv", env=env).stdout.strip()
    first, second = _new_user(env), _new_user(env)
    tsv = run("communication", "chat", "participant", "add", "-t", thread, "--user", first, second, "-o", "tsv",
              env=env)
    assert tsv.exit_code == 0 and tsv.stdout.split() == [first, second], tsv
    third = _new_user(env)
    table = run("communication", "chat", "participant", "add", "-t", thread, "--user", third, "--display-name",
                "Carol", "-o", "table", env=env)
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["User", "DisplayName", "ShareHistoryTime"], table
    assert "Carol" in lines[2] and lines[2].split()[-1] == "all" and third.rsplit("_", 1)[1][:8] in lines[2]
    fourth = _new_user(env)
    as_json = run("communication", "chat", "participant", "add", "-t", thread, "--user", fourth, env=env)
    assert as_json.exit_code == 0 and as_json.result == [] and as_json.stdout.strip() == "[]", as_json
    listed = run("communication", "chat", "participant", "list", "-t", thread, "--query", "[].identifier.rawId",
                 env=env)
    assert {first, second, third, fourth} <= set(listed.result)

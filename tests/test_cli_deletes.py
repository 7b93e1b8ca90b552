"""Deleting twice, from the command line: every delete maps the service's answer the same way, 204 -> exit 0
and 404 -> exit 3 with one line naming what was not found. The service soft-deletes messages (a second delete
succeeds), while a deleted thread, a removed participant and a deleted user are gone (not found)."""

from __future__ import annotations

from cli_recording import Target
from test_cli_scenarios import new_user_and_token, ok


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

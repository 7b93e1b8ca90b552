"""Bad-input matrix: every wrong value a user can give costs exactly one error line on stderr, the contract's exit
code, no traceback, and, when the value can be judged locally, no request at all.

Cases that need a service (revoked token, unknown thread or message) run against the session's emulator; the
network cases (refused connection, untrusted certificate, unresolvable name) against local sockets only: the
name under `.invalid` is refused by a resolver guard before any lookup, so no traffic leaves the machine.
"""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from unittest import mock

import pytest
from cli_harness import CliResult, chat_user, run

ENDPOINT = "https://example.communication.azure.com"
THREAD = "19:a1b2c3d4e5f60718293a4b5c6d7e8f90@thread.v2"
UNKNOWN_THREAD = "19:00000000000000000000000000000000@thread.v2"
USER = "8:acs:11111111-2222-3333-4444-555555555555_00000000-0000-0000-0000-000000000001"
KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
CONN = f"endpoint={ENDPOINT}/;accesskey={KEY}"
ACS_IDS = "(8:acs:..., 8:dod-acs:..., 8:gcch-acs:..., 8:spool:...)"


def token(payload: dict | bytes) -> str:
    """A JWT-shaped token with the given payload (signature irrelevant: parsed client-side only)."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return "eyJhbGciOiJIUzI1NiJ9." + base64.urlsafe_b64encode(raw).decode().rstrip("=") + ".c2ln"


GOOD_TOKEN = token({"exp": int(time.time()) + 3600})
NOT_ACS_TOKEN = ("The access token is not a valid ACS token{where} (expected a JWT-shaped user access token with a "
                 "numeric 'exp' claim). Issue one with 'az communication identity token issue --scope chat'.")
HTTPS_ENDPOINT = ("--endpoint must be an https URL such as https://<resource>.communication.azure.com "
                  "(or the https endpoint printed by 'az communication emulator start'){where}.")
CONN_FORM = "--connection-string must have the form 'endpoint=https://<resource>/;accesskey=<base64 key>'{where}."


def error_line(result: CliResult) -> str:
    """The one error message: stderr holds exactly one non-empty line (no preview banner either), it is
    an `ERROR:` line, and there is no traceback, usage block or examples."""
    assert "Traceback" not in result.stderr, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ERROR: "), result
    assert not result.stdout.strip(), result
    return lines[0][len("ERROR: "):]


# ---------------------------------------------------------------------------------------------------- local
@dataclass
class Case:
    """A command with one bad input, the exact message and the exit code (2: a usage error, as core's own)."""

    args: list[str]
    message: str
    exit_code: int = 2
    env: dict[str, str | None] = field(default_factory=dict)


def chat(*args: str, endpoint: str | None = ENDPOINT, access_token: str | None = GOOD_TOKEN) -> list[str]:
    extra = (["--endpoint", endpoint] if endpoint is not None else []) + \
        (["--access-token", access_token] if access_token is not None else [])
    return ["communication", "chat", *args, *extra]


def identity(*args: str, connection_string: str | None = CONN) -> list[str]:
    extra = ["--connection-string", connection_string] if connection_string is not None else []
    return ["communication", "identity", *args, *extra]


def too_large(n: int) -> str:
    return f"--content is too large: {n} bytes (UTF-8); a chat message may hold at most 28672 bytes (28 KiB) " \
        "of content and metadata."


LOCAL_CASES = {
    "missing-endpoint": Case(chat("thread", "list", endpoint=None),
                             "Please specify --endpoint, or set AZURE_COMMUNICATION_ENDPOINT, "
                             "or run 'az config set communication.endpoint=<value>'."),
    "missing-token": Case(chat("thread", "list", access_token=None),
                          "Please specify --access-token, or set AZURE_COMMUNICATION_ACCESS_TOKEN, "
                          "or run 'az config set communication.access_token=<value>'."),
    "missing-connection-string": Case(
        identity("user", "create", connection_string=None),
        "Please specify --connection-string, or set AZURE_COMMUNICATION_CONNECTION_STRING, "
        "or run 'az config set communication.connection_string=<value>'."),
    "empty-endpoint-variable": Case(
        chat("thread", "list", endpoint=None),
        "Please specify --endpoint, or set AZURE_COMMUNICATION_ENDPOINT, "
        "or run 'az config set communication.endpoint=<value>'.",
        env={"AZURE_COMMUNICATION_ENDPOINT": ""}),
    "empty-token-variable": Case(
        chat("thread", "list", access_token=None),
        "Please specify --access-token, or set AZURE_COMMUNICATION_ACCESS_TOKEN, "
        "or run 'az config set communication.access_token=<value>'.",
        env={"AZURE_COMMUNICATION_ACCESS_TOKEN": "  "}),
    "empty-connection-string-variable": Case(
        identity("user", "create", connection_string=None),
        "Please specify --connection-string, or set AZURE_COMMUNICATION_CONNECTION_STRING, "
        "or run 'az config set communication.connection_string=<value>'.",
        env={"AZURE_COMMUNICATION_CONNECTION_STRING": ""}),
    "empty-endpoint-option": Case(chat("thread", "list", endpoint=""),
                                  "Please specify --endpoint, or set AZURE_COMMUNICATION_ENDPOINT, "
                             "or run 'az config set communication.endpoint=<value>'."),
    "endpoint-http": Case(chat("thread", "list", endpoint="http://example.communication.azure.com"),
                          HTTPS_ENDPOINT.format(where="")),
    "endpoint-not-a-url": Case(chat("thread", "list", endpoint="example communication"),
                               HTTPS_ENDPOINT.format(where="")),
    "endpoint-http-from-variable": Case(
        chat("thread", "list", endpoint=None),
        HTTPS_ENDPOINT.format(where=" (value from AZURE_COMMUNICATION_ENDPOINT)"),
        env={"AZURE_COMMUNICATION_ENDPOINT": "http://localhost:8443"}),
    "token-not-a-jwt": Case(chat("thread", "list", access_token="not-a-token"), NOT_ACS_TOKEN.format(where=""),
                            exit_code=1),
    "token-without-exp": Case(chat("thread", "list", access_token=token({"sub": "x"})),
                              NOT_ACS_TOKEN.format(where=""), exit_code=1),
    "token-expired": Case(
        chat("thread", "list", access_token=token({"exp": 1000000000})),
        "The access token has expired (at 2001-09-09T01:46:40+00:00). Issue a new one with "
        "'az communication identity token issue --scope chat --user <user id>'.", exit_code=1),
    "connection-string-without-accesskey": Case(
        identity("user", "create", connection_string=f"endpoint={ENDPOINT}/"), CONN_FORM.format(where="")),
    "connection-string-key-not-base64": Case(
        identity("user", "create", connection_string=f"endpoint={ENDPOINT}/;accesskey=not*base64!"),
        "The accesskey in --connection-string is not valid base64."),
    "connection-string-empty": Case(
        identity("user", "create", connection_string=""),
        "Please specify --connection-string, or set AZURE_COMMUNICATION_CONNECTION_STRING, "
        "or run 'az config set communication.connection_string=<value>'."),
    "malformed-user-id": Case(
        chat("participant", "add", "-t", THREAD, "--user", "someone"),
        f"--user 'someone' is not a Communication Services user id; only Communication Services user ids {ACS_IDS} "
        "are supported."),
    "phone-number-participant": Case(
        chat("participant", "add", "-t", THREAD, "--user", "4:+14255550123"),
        f"--user '4:+14255550123' is a phone number; only Communication Services user ids {ACS_IDS} are supported."),
    "teams-user-participant": Case(
        chat("thread", "create", "--topic", "t", "--participant", "8:orgid:45ab2481-1c1c-4005-be24-0ffb879b1130"),
        "--participant '8:orgid:45ab2481-1c1c-4005-be24-0ffb879b1130' is a Microsoft Teams identifier; only "
        f"Communication Services user ids {ACS_IDS} are supported."),
    "teams-user-identity": Case(
        identity("token", "revoke", "--user", "8:teamsvisitor:abc", "--yes"),
        f"--user '8:teamsvisitor:abc' is a Microsoft Teams identifier; only Communication Services user ids {ACS_IDS} "
        "are supported."),
    "message-type-markdown": Case(
        chat("message", "send", "-t", THREAD, "--content", "x", "--message-type", "markdown"),
        "--message-type 'markdown' is not allowed; allowed values: text, html."),
    "start-time-unparsable": Case(
        chat("message", "list", "-t", THREAD, "--start-time", "yesterday"),
        "--start-time 'yesterday' is not an ISO 8601 date-time; use e.g. 2024-01-31T09:00:00Z (a value without a "
        "time zone means UTC)."),
    "skip-negative": Case(chat("participant", "list", "-t", THREAD, "--skip", "-1"),
                          "--skip must be a non-negative integer; got -1."),
    "skip-not-an-integer": Case(chat("message", "receipt", "list", "-t", THREAD, "--skip", "two"),
                                "--skip must be a non-negative integer; got 'two'."),
    "max-items-zero": Case(chat("message", "list", "-t", THREAD, "--max-items", "0"),
                           "--max-items must be a positive integer; got 0."),
    "max-items-not-an-integer": Case(chat("thread", "list", "--max-items", "1e3"),
                                     "--max-items must be a positive integer; got '1e3'."),
    "content-empty": Case(chat("message", "send", "-t", THREAD, "--content", ""), "--content must not be empty."),
    "content-over-28kib": Case(chat("message", "send", "-t", THREAD, "--content", "x" * (28 * 1024 + 1)),
                               too_large(28 * 1024 + 1)),
    "content-over-28kib-utf8": Case(chat("message", "update", "-t", THREAD, "--message-id", "1",
                                         "--content", "\u00e9" * (14 * 1024 + 1)), too_large(28 * 1024 + 2)),
    "content-and-metadata-over-28kib": Case(
        chat("message", "send", "-t", THREAD, "--content", "x" * (28 * 1024 - 10), "--metadata", "k=" + "v" * 10),
        "--content is too large: 28681 bytes (UTF-8) with --metadata; a chat message may hold at most 28672 bytes "
        "(28 KiB) of content and metadata."),
    "metadata-without-equals": Case(
        chat("message", "send", "-t", THREAD, "--content", "x", "--metadata", "a=b", "novalue"),
        "--metadata items must have the form key=value; got 'novalue'."),
    "update-without-content-or-metadata": Case(
        chat("message", "update", "-t", THREAD, "--message-id", "1"), "Please specify --content, --metadata, or both."),
    "scope-invalid": Case(
        identity("token", "issue", "--scope", "chat", "email"),
        "--scope 'email' is not allowed; allowed values: chat, voip, chat.join, chat.join.limited, voip.join."),
    "expires-in-minutes-below-60": Case(
        identity("token", "issue", "--scope", "chat", "--expires-in-minutes", "59"),
        "--expires-in-minutes must be an integer between 60 and 1440; got 59."),
    "expires-in-minutes-above-1440": Case(
        identity("token", "issue", "--scope", "chat", "--expires-in-minutes", "1441"),
        "--expires-in-minutes must be an integer between 60 and 1440; got 1441."),
    "expires-in-minutes-not-an-integer": Case(
        identity("token", "issue", "--scope", "chat", "--expires-in-minutes", "1h"),
        "--expires-in-minutes must be an integer between 60 and 1440; got '1h'."),
    "timeout-variable-not-a-number": Case(
        chat("thread", "list"),
        "AZURE_COMMUNICATION_TIMEOUT must be a number of seconds greater than 0 and at most 3600; got 'soon'.",
        env={"AZURE_COMMUNICATION_TIMEOUT": "soon"}),
    "empty-thread-id": Case(chat("thread", "show", "-t", " "), "--thread/-t must not be empty."),
}


@pytest.fixture
def no_requests() -> Iterator[mock.MagicMock]:
    """Any request reaching the transport, or any connection attempt, fails the test."""
    from azure.core.pipeline.transport import RequestsTransport

    with mock.patch.object(RequestsTransport, "send", side_effect=AssertionError("a request was sent")) as send, \
            mock.patch.object(socket.socket, "connect", side_effect=AssertionError("a connection was opened")) as conn:
        yield send
    assert not send.called and not conn.called


@pytest.mark.parametrize("case", LOCAL_CASES.values(), ids=LOCAL_CASES.keys())
def test_bad_input_is_refused_locally_in_one_line(case: Case, no_requests: mock.MagicMock) -> None:
    env = {"AZURE_COMMUNICATION_TIMEOUT": None, **case.env}
    result = run(*case.args, env=env)
    assert result.exit_code == case.exit_code, result
    assert error_line(result) == case.message


# ---------------------------------------------------------------------------------------------------- service
@pytest.fixture(scope="module")
def live(emulator) -> dict[str, str]:
    """A user with a chat token and a thread on the session emulator, trusted through REQUESTS_CA_BUNDLE."""
    env, user = chat_user(emulator)
    created = run("communication", "chat", "thread", "create", "--topic", "matrix", env=env)
    assert created.exit_code == 0, created
    return {**env, "thread": created.result["chatThread"]["id"], "user": user}


def _env(live: dict[str, str]) -> dict[str, str | None]:
    return {k: v for k, v in live.items() if k.isupper()}


def test_unknown_thread_is_not_found_exit_3(live: dict[str, str]) -> None:
    result = run("communication", "chat", "thread", "show", "-t", UNKNOWN_THREAD, env=_env(live))
    assert result.exit_code == 3, result
    assert error_line(result) == f"Chat thread '{UNKNOWN_THREAD}' was not found (404 NotFound)."  # id named once


def test_unknown_message_id_is_not_found_exit_3(live: dict[str, str]) -> None:
    result = run("communication", "chat", "message", "get", "-t", live["thread"], "--message-id", "4242424242",
                 env=_env(live))
    assert result.exit_code == 3, result
    line = error_line(result)
    assert line == f"Message '4242424242' in chat thread '{live['thread']}' was not found (404 NotFound).", line


def test_revoked_token_is_refused_with_how_to_get_a_new_one(live: dict[str, str]) -> None:
    env = _env(live)
    issued = run("communication", "identity", "token", "issue", "--scope", "chat", "--user", live["user"], env=env)
    assert issued.exit_code == 0, issued
    revoked = issued.result["token"]
    assert run("communication", "identity", "token", "revoke", "--user", live["user"], "--yes",
               env=env).exit_code == 0
    result = run("communication", "chat", "thread", "list", env={**env, "AZURE_COMMUNICATION_ACCESS_TOKEN": revoked})
    assert result.exit_code == 1, result
    line = error_line(result)
    # the service's reason first, no list of possible causes after it
    assert line.startswith("The access token was refused: Request is not authorized. The access token has been "
                           "revoked (401 Unauthorized). Get a new one"), line
    assert "Possible causes" not in line
    assert "'az communication identity token issue --scope chat --user <user id>'" in line
    assert revoked not in result.stderr and revoked.split(".")[2] not in result.stderr


# ---------------------------------------------------------------------------------------------------- network
def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_endpoint_refusing_connections(emulator) -> None:
    """thread create is a POST: azure-core does not retry it after a connection error, so this is quick."""
    endpoint = f"https://127.0.0.1:{_closed_port()}"
    result = run(*chat("thread", "create", "--topic", "t", endpoint=endpoint))
    assert result.exit_code == 1, result
    assert error_line(result) == (f"Could not reach {endpoint} (connection refused: is the service or emulator "
                                  "running on that host and port?).")


def test_endpoint_with_untrusted_certificate(emulator) -> None:
    """The emulator's certificate without REQUESTS_CA_BUNDLE: verification stays on and fails, one line."""
    endpoint = emulator.endpoint.rstrip("/")
    result = run(*chat("thread", "create", "--topic", "t", endpoint=endpoint),
                 env={"REQUESTS_CA_BUNDLE": None, "CURL_CA_BUNDLE": None})
    assert result.exit_code == 1, result
    assert error_line(result) == (
        f"TLS verification failed for {endpoint}: its certificate is not trusted. For a local emulator, trust its "
        "certificate: export REQUESTS_CA_BUNDLE=<caBundle path printed by 'az communication emulator start'>.")


def test_identity_endpoint_with_untrusted_certificate(emulator) -> None:
    result = run("communication", "identity", "user", "create", "--connection-string", emulator.connection_string,
                 env={"REQUESTS_CA_BUNDLE": None, "CURL_CA_BUNDLE": None})
    assert result.exit_code == 1, result
    assert error_line(result).startswith("TLS verification failed for https://127.0.0.1:")
    assert emulator.access_key not in result.stderr


def test_host_name_that_does_not_resolve() -> None:
    """`.invalid` never resolves (RFC 6761); the guard answers like a resolver would, without any lookup."""
    real = socket.getaddrinfo
    looked_up: list[str] = []

    def guard(host, *args, **kwargs):
        if isinstance(host, str) and host.rstrip(".").endswith(".invalid"):
            looked_up.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    endpoint = "https://acs-hardening.invalid"
    with mock.patch("socket.getaddrinfo", guard):
        result = run(*chat("message", "send", "-t", THREAD, "--content", "x", endpoint=endpoint))
    assert looked_up, "the guard was not consulted"
    assert result.exit_code == 1, result
    assert error_line(result) == f"Could not reach {endpoint} (the host name could not be resolved)."


def test_413_from_the_service_is_one_line() -> None:
    """Content is checked locally; should the service still refuse a size (another limit), it is one line."""
    from azure.core.exceptions import HttpResponseError
    from test_cli_errors import FakeResponse, exit_code_of, mapped

    body = {"error": {"code": "MessageTooLarge", "message": "The message exceeds the maximum size of 28672 bytes."}}
    error = mapped(HttpResponseError(response=FakeResponse(413, body)), kind="chat", thread_id=THREAD)
    assert error.error_msg == ("The service refused the request as too large (413 MessageTooLarge: The message "
                               "exceeds the maximum size of 28672 bytes.): a chat message (content plus metadata) "
                               "may hold at most 28 KiB.")
    assert exit_code_of(error) == 1


def test_message_size_counts_like_the_service() -> None:
    """Exactly 28 KiB passes; one byte more does not (content and metadata counted together)."""
    from azext_communication._validators import MAX_MESSAGE_BYTES, check_message_size, message_size

    check_message_size("x" * MAX_MESSAGE_BYTES, None)
    assert message_size("x", {"k": "v"}) == 1 + len('{"k": "v"}')
    with pytest.raises(Exception, match="too large"):
        check_message_size("x" * (MAX_MESSAGE_BYTES - 9), {"k": "v"})

"""Client-side validation: every bad value is refused before any request, with one line naming the option."""

from __future__ import annotations

import base64
import json
import time
from unittest import mock

import pytest
from cli_harness import CliResult, config_file, run

ENDPOINT = "https://example.communication.azure.com"
THREAD = "19:a1b2c3d4e5f60718293a4b5c6d7e8f90@thread.v2"
USER = "8:acs:11111111-2222-3333-4444-555555555555_00000000-0000-0000-0000-000000000001"
KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
CONN = f"endpoint={ENDPOINT}/;accesskey={KEY}"


def token(payload: dict | bytes, standard: bool = False) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    body = base64.b64encode(raw).decode() if standard else base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return f"eyJhbGciOiJIUzI1NiJ9.{body}.c2ln"


GOOD_TOKEN = token({"exp": int(time.time()) + 3600})


@pytest.fixture(autouse=True)
def no_requests():
    """Any request reaching the transport fails the test: validation must come first."""
    from azure.core.pipeline.transport import RequestsTransport

    with mock.patch.object(RequestsTransport, "send", side_effect=AssertionError("a request was sent")) as send:
        yield send
    assert not send.called


def chat(*args: str, endpoint: str | None = ENDPOINT, access_token: str | None = GOOD_TOKEN,
         env: dict | None = None) -> CliResult:
    extra = []
    if endpoint is not None:
        extra += ["--endpoint", endpoint]
    if access_token is not None:
        extra += ["--access-token", access_token]
    return run("communication", "chat", *args, *extra, env=env)


def assert_refused(result: CliResult, *fragments: str, exit_codes: tuple[int, ...] = (2,)) -> str:
    """One `ERROR:` line holding every fragment, no traceback, and a usage exit code (2) unless said otherwise."""
    assert result.exit_code in exit_codes, result
    errors = result.error_lines
    assert len(errors) == 1, result
    for fragment in fragments:
        assert fragment in errors[0], result
    assert "Traceback" not in result.stderr
    return errors[0]


# ------------------------------------------------------------------ endpoint / token / connection string
def test_missing_endpoint_names_option_and_variable():
    result = chat("thread", "list", endpoint=None)
    line = assert_refused(result, "--endpoint", "AZURE_COMMUNICATION_ENDPOINT")
    assert line == ("ERROR: Please specify --endpoint, or set AZURE_COMMUNICATION_ENDPOINT, "
                    "or run 'az config set communication.endpoint=<value>'.")  # the README's table, all three
    assert isinstance(result.error, SystemExit) and result.error.code == 2


def test_missing_token_names_option_and_variable():
    result = chat("thread", "list", access_token=None)
    assert_refused(result, "Please specify --access-token, or set AZURE_COMMUNICATION_ACCESS_TOKEN, "
                           "or run 'az config set communication.access_token=<value>'.")


def test_empty_values_count_as_missing():
    result = chat("thread", "list", endpoint="", env={"AZURE_COMMUNICATION_ENDPOINT": ""})
    assert_refused(result, "Please specify --endpoint, or set AZURE_COMMUNICATION_ENDPOINT, "
                           "or run 'az config set communication.endpoint=<value>'.")
    result = chat("thread", "list", access_token="  ", env={"AZURE_COMMUNICATION_ACCESS_TOKEN": ""})
    assert_refused(result, "Please specify --access-token")


def test_missing_connection_string_names_option_and_variable():
    result = run("communication", "identity", "user", "create")
    assert_refused(result, "Please specify --connection-string, or set AZURE_COMMUNICATION_CONNECTION_STRING, "
                           "or run 'az config set communication.connection_string=<value>'.")
    result = run("communication", "user-identity", "token", "issue", "--scope", "chat")
    assert_refused(result, "--connection-string", "AZURE_COMMUNICATION_CONNECTION_STRING")


@pytest.mark.parametrize("endpoint", ["http://example.communication.azure.com", "example.communication.azure.com",
                                      "https://", "ftp://x", "https://host/?x=1"])
def test_endpoint_must_be_https_url(endpoint):
    assert_refused(chat("thread", "list", endpoint=endpoint), "--endpoint", "https")


def test_endpoint_error_does_not_echo_a_pasted_connection_string():
    result = chat("thread", "list", endpoint=CONN)
    assert KEY not in result.stderr
    assert_refused(result, "--endpoint")


@pytest.mark.parametrize("bad", [
    "not-a-token",
    "a.b",
    token({"sub": "x"}),                      # no exp (the SDK raises KeyError)
    token({"exp": "1900000000"}),             # exp as string (the SDK raises TypeError)
    token({"exp": True}),
    token(b"not json"),
    token(b"[1, 2]"),
    "a.\u00e9\u00e9\u00e9.c",
    token({"exp": 1000}),                     # expired
])
def test_access_token_must_be_an_acs_token(bad):
    result = chat("thread", "list", access_token=bad)
    expired = bad == token({"exp": 1000})
    line = assert_refused(result, "The access token has expired" if expired else
                          "The access token is not a valid ACS token", exit_codes=(1,))
    assert bad not in line or len(bad) < 8


def test_token_in_standard_base64_and_float_exp_are_accepted_like_the_sdk_does():
    from azext_communication._settings import check_access_token

    check_access_token(token({"exp": time.time() + 3600}, standard=True))
    check_access_token(token({"exp": time.time() + 3600.5}) + ".extra")


def test_token_accepted_iff_the_sdk_parses_it():
    """Our parser and the SDK's agree on every variant (the SDK's own function is the oracle)."""
    from azure.cli.core.azclierror import UnauthorizedError
    from azure.communication.chat._shared.utils import create_access_token

    from azext_communication._settings import parse_access_token_expiry

    variants = ["x.y.z", "a.b", token({"exp": 2000000000}), token({"exp": 2000000000}, standard=True),
                token({"exp": 2000000000, "s": "???>>>"}), token({"e": 1}), token({"exp": "1"}),
                token({"exp": 2000000000.9}), "a." + base64.b64encode(b'{"exp":2000000000}').decode() + ".",
                "a.eyJleHAiOjIwMDAwMDAwMDB9-_.c"]
    for variant in variants:
        try:
            create_access_token(variant)
            sdk_ok = True
        except (ValueError, KeyError, TypeError):
            sdk_ok = False
        try:
            parse_access_token_expiry(variant)
            ours_ok = True
        except UnauthorizedError:
            ours_ok = False
        assert ours_ok == sdk_ok, variant


@pytest.mark.parametrize("conn", ["endpoint=https://x.communication.azure.com/", f"accesskey={KEY}",
                                  "endpoint=https://x/;accesskey=not base64!", "garbage"])
def test_connection_string_shape(conn):
    result = run("communication", "identity", "user", "create", "--connection-string", conn)
    line = assert_refused(result, "--connection-string")
    assert "not base64" not in line


def test_connection_string_key_is_never_echoed():
    conn = "endpoint=https://x.communication.azure.com/;accesskey=c2VjcmV0c2VjcmV0c2VjcmV0!!"
    result = run("communication", "identity", "user", "create", "--connection-string", conn)
    assert "c2VjcmV0c2VjcmV0" not in result.stderr
    assert result.exit_code == 2


# ------------------------------------------------------------------ user ids
@pytest.mark.parametrize(("user", "kind"), [
    ("4:+14255550123", "phone number"),
    ("+14255550123", "phone number"),
    ("8:orgid:45ab2481-1c1c-4005-be24-0ffb879b1130", "Teams"),
    ("8:teamsvisitor:abc", "Teams"),
    ("28:orgid:45ab2481-1c1c-4005-be24-0ffb879b1130", "Teams"),
    ("someone", "not a Communication Services user id"),
    ("8:acs:", "not a Communication Services user id"),
])
def test_participant_ids_must_be_acs_users(user, kind):
    result = chat("participant", "add", "-t", THREAD, "--user", USER, user)
    assert_refused(result, "--user", user, kind)


def test_thread_create_participants_are_checked():
    assert_refused(chat("thread", "create", "--topic", "t", "--participant", "4:+14255550123"), "--participant")


@pytest.mark.parametrize("prefix", ["8:acs:", "8:dod-acs:", "8:gcch-acs:", "8:spool:"])
def test_all_acs_user_prefixes_are_accepted(prefix):
    from azext_communication._validators import check_user_id

    assert check_user_id(prefix + "r_u") == prefix + "r_u"


def test_identity_user_ids_are_checked():
    result = run("communication", "identity", "token", "revoke", "--user", "8:orgid:x", "--yes",
                 "--connection-string", CONN)
    assert_refused(result, "--user", "Teams")


# ------------------------------------------------------------------ other options
def test_empty_content_refused():
    assert_refused(chat("message", "send", "-t", THREAD, "--content", ""), "--content")


def test_message_type_limited_to_text_and_html():
    result = chat("message", "send", "-t", THREAD, "--content", "x", "--message-type", "markdown")
    assert_refused(result, "--message-type 'markdown'", "text, html")


def test_choices_are_case_insensitive_like_azure_cli_enums():
    from azext_communication._validators import MESSAGE_TYPES, SCOPES, check_choice

    assert check_choice("HTML", MESSAGE_TYPES, "--message-type") == "html"
    assert check_choice(" Chat.Join ", SCOPES, "--scope") == "chat.join"


@pytest.mark.parametrize("item", ["novalue", "=v"])
def test_metadata_items_need_key_and_equals(item):
    result = chat("message", "send", "-t", THREAD, "--content", "x", "--metadata", "a=b", item)
    assert_refused(result, "--metadata", "key=value")


def test_metadata_parsed_into_dict():
    from azext_communication._validators import parse_metadata

    assert parse_metadata(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}


def test_message_update_needs_content_or_metadata():
    result = chat("message", "update", "-t", THREAD, "--message-id", "1")
    assert_refused(result, "--content", "--metadata")
    assert_refused(chat("message", "update", "-t", THREAD, "--message-id", "1", "--content", ""), "--content")


@pytest.mark.parametrize("args", [["participant", "list", "-t", THREAD, "--skip", "-1"],
                                  ["message", "receipt", "list", "-t", THREAD, "--skip", "-5"]])
def test_skip_must_be_non_negative(args):
    assert_refused(chat(*args), "--skip", "non-negative")


@pytest.mark.parametrize("value", ["0", "-3"])
def test_max_items_must_be_positive(value):
    assert_refused(chat("message", "list", "-t", THREAD, "--max-items", value), "--max-items", "positive")


def test_non_integer_counts_are_one_line_errors():
    """Checked by our validators, not argparse (which would print a usage block and examples)."""
    assert_refused(chat("message", "list", "-t", THREAD, "--max-items", "many"), "--max-items", "positive integer")
    assert_refused(chat("participant", "list", "-t", THREAD, "--skip", "1.5"), "--skip", "non-negative integer")


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", "2024-01-01T25:00", ""])
def test_start_time_must_be_iso8601(value):
    assert_refused(chat("message", "list", "-t", THREAD, "--start-time", value), "--start-time", "ISO 8601")


def test_start_time_without_zone_means_utc():
    from azext_communication._validators import parse_datetime

    assert parse_datetime("2020-01-01T00:00:00").isoformat() == "2020-01-01T00:00:00+00:00"
    assert parse_datetime("2020-01-01T01:00:00+01:00").isoformat() == "2020-01-01T00:00:00+00:00"
    assert parse_datetime("2020-01-01T00:00:00Z").isoformat() == "2020-01-01T00:00:00+00:00"
    assert parse_datetime("2020-01-01").isoformat() == "2020-01-01T00:00:00+00:00"


@pytest.mark.parametrize("minutes", ["59", "1441", "0"])
def test_expires_in_minutes_range(minutes):
    result = run("communication", "identity", "token", "issue", "--scope", "chat", "--expires-in-minutes", minutes,
                 "--connection-string", CONN)
    assert_refused(result, "--expires-in-minutes", "60", "1440")


def test_scope_choices():
    result = run("communication", "identity", "token", "issue", "--scope", "chat", "email",
                 "--connection-string", CONN)
    assert_refused(result, "--scope 'email'", "chat, voip, chat.join, chat.join.limited, voip.join")


def test_empty_thread_and_topic_refused():
    assert_refused(chat("thread", "show", "-t", " "), "--thread")
    assert_refused(chat("thread", "create", "--topic", ""), "--topic")
    assert_refused(chat("thread", "update-topic", "-t", THREAD, "--topic", " "), "--topic")


def test_delete_without_yes_and_without_tty_is_cancelled():
    result = chat("thread", "delete", "-t", THREAD)
    assert result.exit_code == 1


def test_az_config_file_fallback_is_read(tmp_path):
    """The az config value is used when neither option nor variable is set (the request itself is refused
    here by the no-request guard, which proves the resolution got past the endpoint and token checks)."""
    config = config_file()
    saved = config.read_text() if config.exists() else None
    config.write_text(f"[communication]\nendpoint = http://insecure.example\naccess_token = {GOOD_TOKEN}\n")
    try:
        result = chat("thread", "list", endpoint=None, access_token=None)
        assert_refused(result, "--endpoint must be an https URL", "(value from az config communication.endpoint)")
    finally:
        if saved is None:
            config.unlink()
        else:
            config.write_text(saved)


def test_bad_values_from_variables_say_where_they_came_from():
    result = chat("thread", "list", endpoint=None, access_token=None,
                  env={"AZURE_COMMUNICATION_ENDPOINT": "http://x", "AZURE_COMMUNICATION_ACCESS_TOKEN": GOOD_TOKEN})
    assert_refused(result, "--endpoint must be an https URL", "(value from AZURE_COMMUNICATION_ENDPOINT)")
    result = chat("thread", "list", access_token=None, env={"AZURE_COMMUNICATION_ACCESS_TOKEN": "nope"})
    assert_refused(result, "The access token is not a valid ACS token (value from AZURE_COMMUNICATION_ACCESS_TOKEN)",
                   exit_codes=(1,))
    result = run("communication", "identity", "user", "create",
                 env={"AZURE_COMMUNICATION_CONNECTION_STRING": "endpoint=https://x/"})
    assert_refused(result, "(value from AZURE_COMMUNICATION_CONNECTION_STRING)")


def test_timeout_setting_from_variable_or_az_config():
    """AZURE_COMMUNICATION_TIMEOUT wins over az config communication.timeout; bad values name their source."""
    from types import SimpleNamespace

    from azure.cli.core.azclierror import InvalidArgumentValueError

    from azext_communication._settings import resolve_timeout

    config = config_file()
    saved = config.read_text() if config.exists() else None
    cli_ctx = SimpleNamespace(config=SimpleNamespace(config_path=str(config)))
    try:
        config.write_text("[communication]\ntimeout = 2.5\n")
        with mock.patch.dict("os.environ", {"AZURE_COMMUNICATION_TIMEOUT": ""}):
            assert resolve_timeout(cli_ctx) == 2.5
        with mock.patch.dict("os.environ", {"AZURE_COMMUNICATION_TIMEOUT": "7"}):
            assert resolve_timeout(cli_ctx) == 7
        config.write_text("[communication]\ntimeout = 0\n")
        with pytest.raises(InvalidArgumentValueError, match="az config communication.timeout"):
            resolve_timeout(cli_ctx)
        config.write_text("[communication]\n")
        assert resolve_timeout(cli_ctx) is None
    finally:
        if saved is None:
            config.unlink()
        else:
            config.write_text(saved)


@pytest.mark.parametrize("args", [
    ["communication", "identity", "token", "issue", "--scope", "email", "--connection-string", CONN],
    ["communication", "chat", "message", "send", "-t", THREAD, "--content", "x", "--message-type", "markdown",
     "--endpoint", ENDPOINT, "--access-token", GOOD_TOKEN],
    ["communication", "chat", "message", "list", "-t", THREAD, "--max-items", "abc", "--endpoint", ENDPOINT,
     "--access-token", GOOD_TOKEN],
    ["communication", "identity", "token", "issue", "--scope", "chat", "--expires-in-minutes", "30",
     "--connection-string", CONN],
])
def test_invalid_values_exit_2_like_core_usage_errors(args):
    """The extension's own checks and core's parser agree: a bad command line is exit 2, with one line."""
    ours = run(*args)
    assert_refused(ours, args[-3] if "--connection-string" in args else args[-5])
    core = run(*args[:-1], args[-1], "--no-such-option")
    assert core.exit_code == ours.exit_code == 2, core


def test_usage_errors_raised_once_the_command_runs_exit_2_too():
    """A setting read by the client factory (AZURE_COMMUNICATION_TIMEOUT) is checked after the validators."""
    result = chat("thread", "list", env={"AZURE_COMMUNICATION_TIMEOUT": "soon"})
    assert_refused(result, "AZURE_COMMUNICATION_TIMEOUT")

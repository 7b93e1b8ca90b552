"""Argument validators.

Every value is checked here, at the edge, before a client is built or a request is sent: a wrong id or a
broken token should cost the user one clear line, not a round trip and an SDK traceback. Nothing here imports
the Communication SDKs (the command table must load without them).

Exit codes: a bad or missing option value is a usage error and exits 2, as core's own usage errors do
(unknown option, missing required option, `-o foo`). Core exits 1 for every error class a validator raises,
so each validator is wrapped in `@usage_errors`, which prints the same one line and exits 2 (`exit_usage`).
A token that is malformed or expired is not a usage error: it raises UnauthorizedError (exit 1).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, NoReturn, TypeVar

from azure.cli.core.azclierror import (
    ArgumentUsageError,
    AzCLIError,
    InvalidArgumentValueError,
    MutuallyExclusiveArgumentError,
    RequiredArgumentMissingError,
)

from ._settings import check_access_token, check_connection_string, check_endpoint, resolve_setting

MAX_PAGE_SIZE = 200
MIN_TOKEN_MINUTES = 60
MAX_TOKEN_MINUTES = 1440
# The service's limit for one chat message: content plus metadata, 28 KiB (UTF-8 bytes).
MAX_MESSAGE_BYTES = 28 * 1024
MESSAGE_TYPES = ("text", "html")
SCOPES = ("chat", "voip", "chat.join", "chat.join.limited", "voip.join")

ACS_USER_PREFIXES = ("8:acs:", "8:dod-acs:", "8:gcch-acs:", "8:spool:")
_TEAMS_PREFIXES = ("8:orgid:", "8:teamsvisitor:", "8:dod:", "8:gcch:", "28:")


# The error classes that mean "the command line is wrong": exit 2.
USAGE_ERRORS = (InvalidArgumentValueError, RequiredArgumentMissingError, ArgumentUsageError,
                MutuallyExclusiveArgumentError)
USAGE_EXIT_CODE = 2

_F = TypeVar("_F", bound=Callable[..., Any])


# ----------------------------------------------------------------------------------------------------------
# Usage errors exit 2
# ----------------------------------------------------------------------------------------------------------
def exit_usage(error: AzCLIError) -> NoReturn:
    """Print `error` the way core prints any error (one `ERROR:` line) and exit 2, as core's parser does for
    its own usage errors (`parser.validation_error`)."""
    error.print_error()
    error.send_telemetry()
    raise SystemExit(USAGE_EXIT_CODE)


def usage_errors(validator: _F) -> _F:
    """Make the usage errors a validator raises exit 2 instead of core's 1 (other errors pass unchanged).

    The wrapper keeps the validator's signature (core passes `cmd` / `namespace` by parameter name)."""

    @functools.wraps(validator)
    def _checked(*args: Any, **kwargs: Any) -> Any:
        try:
            return validator(*args, **kwargs)
        except USAGE_ERRORS as ex:
            exit_usage(ex)

    _checked.exits_as_usage = True  # type: ignore[attr-defined]
    return _checked  # type: ignore[return-value]


# ----------------------------------------------------------------------------------------------------------
# Argument validators (knack passes `cmd` and `namespace` by parameter name)
# ----------------------------------------------------------------------------------------------------------
@usage_errors
def validate_endpoint(cmd: Any, namespace: Any) -> None:
    """Resolve --endpoint from option, variable or az config, and check it."""
    value, source = resolve_setting(cmd.cli_ctx, namespace.endpoint, "--endpoint", "endpoint")
    namespace.endpoint = check_endpoint(value, source)


@usage_errors
def validate_access_token(cmd: Any, namespace: Any) -> None:
    """Resolve --access-token from option, variable or az config, and check it parses and has not expired."""
    value, source = resolve_setting(cmd.cli_ctx, namespace.access_token, "--access-token", "access_token")
    namespace.access_token = check_access_token(value, source)


@usage_errors
def validate_connection_string(cmd: Any, namespace: Any) -> None:
    """Resolve --connection-string from option, variable or az config, and check its shape."""
    value, source = resolve_setting(cmd.cli_ctx, namespace.connection_string, "--connection-string",
                                    "connection_string")
    namespace.connection_string = check_connection_string(value, source)


def check_user_id(value: str, option: str = "--user") -> str:
    """Only Communication Services users can be chat participants or identity users in this extension.

    The chat SDK 1.3.0 crashes after the request when it is given phone numbers or Teams ids, so they are
    refused here with a message that says what they are.
    """
    user = (value or "").strip()
    if not user:
        raise InvalidArgumentValueError(f"{option} must not be empty.")
    if user.startswith(ACS_USER_PREFIXES) and len(user.split(":", 2)[2]) > 0:
        return user
    if user.startswith("4:") or user.startswith("+"):
        kind = "a phone number"
    elif user.startswith(_TEAMS_PREFIXES):
        kind = "a Microsoft Teams identifier"
    else:
        kind = "not a Communication Services user id"
    raise InvalidArgumentValueError(
        f"{option} '{user}' is {kind}; only Communication Services user ids "
        f"({', '.join(p + '...' for p in ACS_USER_PREFIXES)}) are supported."
    )


@usage_errors
def validate_user(namespace: Any) -> None:
    """--user holding one id."""
    if getattr(namespace, "user", None) is not None:
        namespace.user = check_user_id(namespace.user)


@usage_errors
def validate_users(namespace: Any) -> None:
    """--user holding one or more ids (participant add)."""
    users = getattr(namespace, "users", None)
    if users is not None:
        namespace.users = [check_user_id(u) for u in users]


@usage_errors
def validate_participants(namespace: Any) -> None:
    """--participant/--user at thread creation (optional, one or more)."""
    users = getattr(namespace, "participants", None)
    if users:
        namespace.participants = [check_user_id(u, "--participant") for u in users]


@usage_errors
def validate_thread_id(namespace: Any) -> None:
    """A thread id must not be empty (the SDK would raise a bare ValueError)."""
    value = getattr(namespace, "thread_id", None)
    if value is None or not value.strip():
        raise InvalidArgumentValueError("--thread/-t must not be empty.")
    namespace.thread_id = value.strip()


@usage_errors
def validate_message_id(namespace: Any) -> None:
    """A message id must not be empty."""
    value = getattr(namespace, "message_id", None)
    if value is None or not value.strip():
        raise InvalidArgumentValueError("--message-id must not be empty.")
    namespace.message_id = value.strip()


def check_topic(value: str | None) -> None:
    """A topic must not be empty (the service and the SDK refuse it)."""
    if value is None or not value.strip():
        raise InvalidArgumentValueError("--topic must not be empty.")


@usage_errors
def validate_topic(namespace: Any) -> None:
    """--topic of thread create and update-topic."""
    check_topic(getattr(namespace, "topic", None))


def message_size(content: str | None, metadata: dict[str, str] | None) -> int:
    """Bytes a message counts against the 28 KiB limit: UTF-8 content plus the metadata as JSON."""
    size = len(content.encode("utf-8")) if content else 0
    if metadata:
        size += len(json.dumps(metadata, ensure_ascii=False).encode("utf-8"))
    return size


def check_message_size(content: str | None, metadata: dict[str, str] | None) -> None:
    """Refuse a message the service would refuse (413) before sending it: one line instead of a round trip."""
    size = message_size(content, metadata)
    if size > MAX_MESSAGE_BYTES:
        with_metadata = " with --metadata" if metadata else ""
        raise InvalidArgumentValueError(
            f"--content is too large: {size} bytes (UTF-8){with_metadata}; a chat message may hold at most "
            f"{MAX_MESSAGE_BYTES} bytes (28 KiB) of content and metadata."
        )


def _metadata_of(namespace: Any) -> dict[str, str] | None:
    """--metadata as a dict, whether or not its own validator already ran."""
    value = getattr(namespace, "metadata", None)
    return value if value is None or isinstance(value, dict) else parse_metadata(value)


@usage_errors
def validate_content(namespace: Any) -> None:
    """--content for message send: required, non-empty, and within the message size limit."""
    content = getattr(namespace, "content", None)
    if not content:
        raise InvalidArgumentValueError("--content must not be empty.")
    check_message_size(content, _metadata_of(namespace))


def parse_metadata(items: list[str] | None, option: str = "--metadata") -> dict[str, str] | None:
    """Turn `k=v` items into a dict; an item without '=' or with an empty key is refused."""
    if items is None:
        return None
    result: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidArgumentValueError(f"{option} items must have the form key=value; got '{item}'.")
        result[key.strip()] = value
    return result


@usage_errors
def validate_metadata(namespace: Any) -> None:
    """--metadata k=v [k=v ...] -> dict."""
    namespace.metadata = _metadata_of(namespace)


@usage_errors
def validate_message_update(namespace: Any) -> None:
    """message update needs --content and/or --metadata; empty or oversized content is refused."""
    namespace.metadata = _metadata_of(namespace)
    content = getattr(namespace, "content", None)
    if content is None and namespace.metadata is None:
        raise InvalidArgumentValueError("Please specify --content, --metadata, or both.")
    if content is not None and not content:
        raise InvalidArgumentValueError("--content must not be empty.")
    check_message_size(content, namespace.metadata)


def parse_datetime(value: str, option: str = "--start-time") -> datetime:
    """Parse ISO 8601; a value without a zone means UTC. Returns an aware datetime."""
    text = (value or "").strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidArgumentValueError(
            f"{option} '{value}' is not an ISO 8601 date-time; use e.g. 2024-01-31T09:00:00Z "
            "(a value without a time zone means UTC)."
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


@usage_errors
def validate_start_time(namespace: Any) -> None:
    """--start-time: ISO 8601, naive means UTC."""
    value = getattr(namespace, "start_time", None)
    if value is not None and not isinstance(value, datetime):
        namespace.start_time = parse_datetime(value)


def parse_int(value: Any, option: str, minimum: int, maximum: int | None = None) -> int:
    """An integer option checked here rather than by argparse: argparse prints a usage block and examples,
    the contract wants one line naming the option and what is allowed."""
    if maximum is not None:
        allowed = f"an integer between {minimum} and {maximum}"
    else:
        allowed = "a non-negative integer" if minimum == 0 else "a positive integer" if minimum == 1 \
            else f"an integer of at least {minimum}"
    if isinstance(value, bool):
        raise InvalidArgumentValueError(f"{option} must be {allowed}; got '{value}'.")
    try:
        number = value if isinstance(value, int) else int(str(value).strip(), 10)
    except ValueError:
        raise InvalidArgumentValueError(f"{option} must be {allowed}; got '{value}'.") from None
    if number < minimum or (maximum is not None and number > maximum):
        raise InvalidArgumentValueError(f"{option} must be {allowed}; got {number}.")
    return number


@usage_errors
def validate_skip(namespace: Any) -> None:
    """--skip must be a non-negative integer."""
    value = getattr(namespace, "skip", None)
    if value is not None:
        namespace.skip = parse_int(value, "--skip", 0)


@usage_errors
def validate_max_items(namespace: Any) -> None:
    """--max-items must be a positive integer."""
    value = getattr(namespace, "max_items", None)
    if value is not None:
        namespace.max_items = parse_int(value, "--max-items", 1)


@usage_errors
def validate_expires_in_minutes(namespace: Any) -> None:
    """--expires-in-minutes: the service accepts 60..1440; checked here to save a round trip."""
    value = getattr(namespace, "expires_in_minutes", None)
    if value is not None:
        namespace.expires_in_minutes = parse_int(value, "--expires-in-minutes", MIN_TOKEN_MINUTES, MAX_TOKEN_MINUTES)


def check_choice(value: str, choices: tuple[str, ...], option: str) -> str:
    """One of `choices` (case-insensitive, returned as spelled in `choices`); one line otherwise, where
    argparse would print a usage block."""
    text = (value or "").strip()
    for choice in choices:
        if choice.lower() == text.lower():
            return choice
    raise InvalidArgumentValueError(f"{option} '{value}' is not allowed; allowed values: {', '.join(choices)}.")


@usage_errors
def validate_message_type(namespace: Any) -> None:
    """--message-type: text or html (the chat SDK also knows types the service refuses from users)."""
    value = getattr(namespace, "message_type", None)
    namespace.message_type = "text" if value is None else check_choice(value, MESSAGE_TYPES, "--message-type")


@usage_errors
def validate_scopes(namespace: Any) -> None:
    """--scope: one or more token scopes."""
    values = getattr(namespace, "scopes", None)
    if not values:
        raise InvalidArgumentValueError(f"--scope needs one or more of: {', '.join(SCOPES)}.")
    namespace.scopes = [check_choice(v, SCOPES, "--scope") for v in values]


def validate_not_empty(option: str, dest: str):
    """Build a validator refusing an empty value for a required string option."""

    @usage_errors
    def _validator(namespace: Any) -> None:
        value = getattr(namespace, dest, None)
        if value is None or not str(value).strip():
            raise InvalidArgumentValueError(f"{option} must not be empty.")

    _validator.__name__ = f"validate_{dest}"
    return _validator


def page_size(max_items: int | None) -> int:
    """Page size asked of the service: min(N, 200), or 200 to read everything in as few requests as possible."""
    return MAX_PAGE_SIZE if max_items is None else min(max_items, MAX_PAGE_SIZE)



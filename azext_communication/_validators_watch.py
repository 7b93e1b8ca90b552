"""Argument validators of `message watch` and `message wait`, and the token's own user id they end on."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from azure.cli.core.azclierror import (
    InvalidArgumentValueError,
    MutuallyExclusiveArgumentError,
)

from ._validators import usage_errors

MIN_INTERVAL = 0.5
DEFAULT_INTERVAL = 2.0
DEFAULT_WAIT_TIMEOUT = 300.0


def parse_seconds(value: Any, option: str, minimum: float, allow_equal: bool = True) -> float:
    """A finite number of seconds, at least `minimum`."""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if isinstance(value, bool) or number != number or number in (float("inf"), float("-inf")) or (
            number < minimum if allow_equal else number <= minimum):
        least = f"at least {minimum:g}" if allow_equal else f"more than {minimum:g}"
        raise InvalidArgumentValueError(f"{option} must be a number of seconds, {least}; got '{value}'.")
    return number


@usage_errors
def validate_interval(namespace: Any) -> None:
    """--interval: seconds between polls, at least 0.5 (the service's list-messages rate limits)."""
    value = getattr(namespace, "interval", None)
    namespace.interval = DEFAULT_INTERVAL if value is None else parse_seconds(value, "--interval", MIN_INTERVAL)


@usage_errors
def validate_watch_timeout(namespace: Any) -> None:
    """--timeout: seconds (0 or more); absent means until interrupted (watch) or the command's default (wait)."""
    value = getattr(namespace, "timeout", None)
    if value is not None:
        namespace.timeout = parse_seconds(value, "--timeout", 0.0)


@usage_errors
def validate_after(namespace: Any) -> None:
    """--after: a message id (the service's ids are digits); exclusive with --start-time."""
    value = getattr(namespace, "after", None)
    if value is None:
        return
    text = str(value).strip()
    if not text.isdigit():
        raise InvalidArgumentValueError(
            f"--after must be a message id (digits, as printed by 'message send'); got '{value}'.")
    if getattr(namespace, "start_time", None) is not None:
        raise MutuallyExclusiveArgumentError("Please specify --after or --start-time, not both.")
    namespace.after = text


def compile_jmespath(expression: str, option: str) -> Any:
    """A compiled JMESPath expression, or a usage error naming the option."""
    import jmespath
    from jmespath.exceptions import JMESPathError

    if not str(expression or "").strip():
        raise InvalidArgumentValueError(f"{option} must not be empty.")
    try:
        return jmespath.compile(expression)
    except (JMESPathError, KeyError, ValueError) as ex:
        detail = " ".join(str(ex).split())
        raise InvalidArgumentValueError(f"{option} is not a valid JMESPath expression ({detail}).") from None


@usage_errors
def validate_wait_condition(namespace: Any) -> None:
    """message wait: --custom compiled, --sender/--contains not empty; none of them: the next new message."""
    custom, sender, contains = (getattr(namespace, n, None) for n in ("custom", "sender", "contains"))
    if custom is not None and not hasattr(custom, "search"):
        namespace.custom = compile_jmespath(custom, "--custom")
    for option, value in (("--sender", sender), ("--contains", contains)):
        if value is not None and not str(value).strip():
            raise InvalidArgumentValueError(f"{option} must not be empty.")


def token_user_id(token: str) -> str | None:
    """The raw id of the user a chat token was issued to ('8:' + its `skypeid` claim), or None if it has none.

    Why: the service keeps letting a removed participant read the thread up to the removal, so a watch learns that
    its own user was removed only from the participantRemoved message that names it.
    """
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==").decode("utf-8"))
        skype_id = payload.get("skypeid")
    except (ValueError, IndexError, AttributeError, binascii.Error):
        return None
    return f"8:{skype_id}" if isinstance(skype_id, str) and skype_id else None

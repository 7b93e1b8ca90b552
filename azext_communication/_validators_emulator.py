"""Argument validators of `az communication emulator`: start options and event subscriptions.

The values are checked by the emulator's own parsers (imported only when such a command runs), so the CLI and
`python -m azext_communication.emulator` refuse the same things with the same words.
"""

from __future__ import annotations

from typing import Any

from azure.cli.core.azclierror import InvalidArgumentValueError

from ._validators import check_choice, parse_int, usage_errors


@usage_errors
def validate_faults(namespace: Any) -> None:
    """--fault MODE:COUNT[:VALUE], checked by the emulator's own parser (imported only for this command)."""
    faults = getattr(namespace, "faults", None)
    if not faults:
        return
    from azext_communication.emulator.cli import parse_fault

    for spec in faults:
        try:
            parse_fault(spec)
        except ValueError as ex:
            raise InvalidArgumentValueError(f"--fault: {ex}") from None


EVENT_SCHEMAS = ("EventGridSchema", "CloudEventSchemaV1_0")
ENDPOINT_TYPES = ("WebHook", "EventGridTopic")


@usage_errors
def validate_event_subscription(namespace: Any) -> None:
    """`emulator subscription create`: every option checked before the request, by the emulator's own rules."""
    from azext_communication.emulator.events import subscriptions as subs

    checks = (("name", "--name", subs.check_name), ("endpoint", "--endpoint", subs.check_endpoint),
              ("included_event_types", "--included-event-types", subs.check_event_types))
    for dest, option, check in checks:
        value = getattr(namespace, dest, None)
        if value is None and dest == "included_event_types":
            continue
        try:
            check(value, option)
        except ValueError as ex:
            raise InvalidArgumentValueError(str(ex)) from None
    schema = getattr(namespace, "event_delivery_schema", None)
    if schema is not None:
        namespace.event_delivery_schema = check_choice(schema, EVENT_SCHEMAS, "--event-delivery-schema")
    kind = getattr(namespace, "endpoint_type", None)
    if kind is not None:
        namespace.endpoint_type = kind = check_choice(kind, ENDPOINT_TYPES, "--endpoint-type")
    try:
        subs.check_topic_key(kind or subs.WEBHOOK, getattr(namespace, "topic_key", None), "--topic-key")
    except ValueError as ex:
        raise InvalidArgumentValueError(str(ex).replace("endpointType", "--endpoint-type")) from None
    if getattr(namespace, "max_delivery_attempts", None) is not None:
        namespace.max_delivery_attempts = parse_int(namespace.max_delivery_attempts, "--max-delivery-attempts", 1, 30)
    if getattr(namespace, "event_ttl", None) is not None:
        namespace.event_ttl = parse_int(namespace.event_ttl, "--event-ttl", 1, 1440)


@usage_errors
def validate_event_subscription_name(namespace: Any) -> None:
    if not str(getattr(namespace, "name", "") or "").strip():
        raise InvalidArgumentValueError("--name must not be empty.")
@usage_errors
def validate_port(namespace: Any) -> None:
    """--port of emulator start: 0 to 65535 (bind raises OverflowError beyond), checked by the emulator's parser."""
    value = getattr(namespace, "port", None)
    if value is None:
        return
    from azext_communication.emulator.cli import check_port

    try:
        namespace.port = check_port(value)
    except ValueError:
        raise InvalidArgumentValueError(f"--port '{value}' is not a port: expected an integer from 0 to 65535 "
                                        "(0 picks a free port).") from None


@usage_errors
def validate_cors_origins(namespace: Any) -> None:
    """--cors-origin of emulator start: each SCHEME://HOST[:PORT|:*] or *, checked by the emulator's own rules."""
    origins = getattr(namespace, "cors_origins", None)
    if not origins:
        return
    from azext_communication.emulator.realtime import check_origin_pattern

    try:
        namespace.cors_origins = [check_origin_pattern(o) for o in origins]
    except ValueError as ex:
        raise InvalidArgumentValueError(f"--cors-origin: {ex}") from None


# dest, option, the emulator's own check (in emulator/cli.py)
_START_NUMBERS = (("request_timeout", "--request-timeout", "check_seconds"),
                  ("idle_timeout", "--idle-timeout", "check_seconds"),
                  ("event_retry_scale", "--event-retry-scale", "check_retry_scale"),
                  ("retention_day_seconds", "--retention-day-seconds", "check_retention_day"))


@usage_errors
def validate_start_numbers(namespace: Any) -> None:
    """The numeric options of emulator start, checked as typed (a float would echo '0.0' for 0) by the emulator's
    own checks, so that both command lines refuse the same values with the same words."""
    from azext_communication.emulator import cli

    for dest, option, check in _START_NUMBERS:
        value = getattr(namespace, dest, None)
        if value is None or isinstance(value, float):  # absent, or already checked (validators may run twice)
            continue
        try:
            setattr(namespace, dest, getattr(cli, check)(value))
        except ValueError as ex:
            message = str(ex)
            raise InvalidArgumentValueError(message[:1].upper() + message[1:] if option in message
                                            else f"{option}: {message}") from None


@usage_errors
def validate_log_level(namespace: Any) -> None:
    """--log-level of emulator start: DEBUG, INFO, WARNING or ERROR (any case)."""
    value = getattr(namespace, "log_level", None)
    if value is None:
        return
    from azext_communication.emulator.cli import LOG_LEVELS

    namespace.log_level = check_choice(value, LOG_LEVELS, "--log-level")

"""Command handlers of `az communication emulator ...`: run the local emulator, report it, manage its event
subscriptions (through its admin API, see _emulator_admin.py). Thin like custom.py; the emulator package is
imported only inside the functions.
"""

from __future__ import annotations

from typing import Any

from azure.cli.core.azclierror import InvalidArgumentValueError, UnclassifiedUserFault

from ._validators import exit_usage


# ---------------------------------------------------------------------------------------------- emulator
def start_emulator(host: str = "127.0.0.1", port: int = 8443, data_dir: str | None = None,
                   access_key: str | None = None, throttle: bool = False, json_output: bool = False,
                   faults: list[str] | None = None, event_webhooks: list[str] | None = None,
                   events_config: str | None = None, event_retry_scale: float | None = None,
                   events_include_actor: bool = False, events_typing: bool = False,
                   events_no_sequence_id: bool = False, retention_day_seconds: float | None = None,
                   cors_origins: list[str] | None = None, request_timeout: float | None = None,
                   idle_timeout: float | None = None, log_level: str | None = None) -> None:
    """Run the local emulator in the foreground until interrupted (it prints its own start-up errors)."""
    from azext_communication.emulator.cli import run_emulator
    from azext_communication.emulator.events.subscriptions import EventSettings

    extra: dict[str, Any] = {"faults": faults} if faults else {}
    if cors_origins:
        extra["cors_origins"] = cors_origins
    if (event_webhooks or events_config or event_retry_scale is not None or events_include_actor or events_typing
            or events_no_sequence_id):
        extra["events"] = EventSettings(tuple(event_webhooks or ()), events_config,
                                        1.0 if event_retry_scale is None else event_retry_scale,
                                        bool(events_include_actor), bool(events_typing), not events_no_sequence_id)
    for name, value in (("retention_day_seconds", retention_day_seconds), ("request_timeout", request_timeout),
                        ("idle_timeout", idle_timeout), ("log_level", log_level)):
        if value is not None:  # else the emulator's default
            extra[name] = value
    problems: list[str] = []  # the emulator's own one-line start-up error, printed once, az's way
    code = run_emulator(host=host, port=port, data_dir=data_dir, access_key=access_key, throttle=throttle,
                        json_output=json_output, report=problems.append, **extra)
    message = (problems[-1][:1].upper() + problems[-1][1:]) if problems else "The emulator could not start."
    if code == 2:
        exit_usage(InvalidArgumentValueError(message))
    if code:
        raise UnclassifiedUserFault(message)


def emulator_status(cmd: Any = None) -> dict[str, Any] | None:
    """Whether an emulator runs for this emulator home folder, and where (with the lines that point az at it).

    None running: one line on stderr; JSON keeps its shape (an empty `emulators` list), while `-o table` and
    `-o tsv` print nothing more (core would print a blank line, or `0 <home> False`)."""
    from azext_communication.emulator import instances
    from azext_communication.emulator.cli import export_lines
    from azext_communication.emulator.server import emulator_home

    from ._output import plain_text_output

    home = emulator_home()
    running = instances.running(home)
    if not running:
        from knack.log import get_logger

        get_logger(__name__).warning("No emulator is running for %s. Start one with 'az communication emulator "
                                     "start'.", home)
        if plain_text_output(cmd) is not None:
            return None
    for info in running:
        info["exports"] = export_lines(info["endpoint"], info["connectionString"], info["caBundle"])
    return {"home": str(home), "running": bool(running), "emulators": running}


def trust_emulator(cmd: Any, remove: bool = False, data_dir: str | None = None) -> None:
    """Add (remove) the emulator's CA to the user's browser trust stores (NSS), saying what was done."""
    from pathlib import Path

    from azext_communication.emulator.server import emulator_home

    from ._emulator_trust import default_home, trust

    folder = Path(data_dir).expanduser().resolve() if data_dir else emulator_home()
    trust(folder, default_home(), cmd.cli_ctx.out_file, remove=remove)


# ---------------------------------------------------------------------------------------------- emulator events
def create_event_subscription(client: Any, name: str, endpoint: str, event_delivery_schema: str | None = None,
                              included_event_types: list[str] | None = None, subject_begins_with: str | None = None,
                              subject_ends_with: str | None = None, max_delivery_attempts: int | None = None,
                              event_ttl: int | None = None, skip_validation: bool = False,
                              endpoint_type: str | None = None, topic_key: str | None = None) -> Any:
    """Add a subscription to a running emulator; it validates the endpoint first, as Event Grid does."""
    body: dict[str, Any] = {"name": name, "endpoint": endpoint, "skipValidation": bool(skip_validation)}
    if endpoint_type:
        body["endpointType"] = endpoint_type
    if topic_key is not None:
        body["topicKey"] = topic_key
    if event_delivery_schema:
        body["eventDeliverySchema"] = event_delivery_schema
    body["filter"] = {k: v for k, v in (("includedEventTypes", included_event_types),
                                        ("subjectBeginsWith", subject_begins_with),
                                        ("subjectEndsWith", subject_ends_with)) if v is not None}
    body["retryPolicy"] = {k: v for k, v in (("maxDeliveryAttempts", max_delivery_attempts),
                                             ("eventTimeToLiveInMinutes", event_ttl)) if v is not None}
    return client.create(body)


def list_event_subscriptions(client: Any, max_items: int | None = None) -> Any:
    subscriptions = client.list()
    return subscriptions if max_items is None else subscriptions[:max_items]


def show_event_subscription(client: Any, name: str) -> Any:
    return client.show(name)


def delete_event_subscription(client: Any, name: str) -> None:
    client.delete(name)

"""Arguments: option names (kept compatible with the public extension), types, help and validators."""

from __future__ import annotations

from typing import Any

from ._validators import MESSAGE_TYPES, SCOPES
from .commands import CHAT, CHAT_CLIENT_COMMANDS, IDENTITY_GROUPS, THREAD_CLIENT_COMMANDS

ENDPOINT_HELP = ("The endpoint of the Communication Services resource, e.g. https://<resource>.communication.azure.com"
                 " (https only). Default: AZURE_COMMUNICATION_ENDPOINT, then `az config` communication.endpoint.")
TOKEN_HELP = ("A user access token (from `az communication identity token issue`). Default: "
              "AZURE_COMMUNICATION_ACCESS_TOKEN, then `az config` communication.access_token.")
CONN_HELP = ("The connection string of the Communication Services resource (endpoint=https://...;accesskey=...). "
             "Default: AZURE_COMMUNICATION_CONNECTION_STRING, then `az config` communication.connection_string.")
THREAD_HELP = "The chat thread id, e.g. 19:...@thread.v2."
USER_HELP = "A Communication Services user id (raw id), e.g. 8:acs:<resource id>_<user id>."
START_TIME_HELP = ("ISO 8601 date-time, e.g. 2024-01-31T09:00:00Z or 2024-01-31T10:00:00+01:00; a value without a "
                   "time zone means UTC.")
MAX_ITEMS_HELP = ("Stop after this many items (positive integer). The service is asked for pages of at most "
                  "min(N, 200) items. Default: read all pages.")
THREAD_METADATA_HELP = ("Metadata of the thread, as space-separated key=value pairs, at most 1 KB (UTF-8 keys and "
                        "values); visible to every participant.")
SKIP_HELP = "Skip this many items (non-negative integer)."


def _choices(values: tuple[str, ...]) -> Any:
    """Tab completion for a fixed list. The values are checked by a validator, not by argparse `choices`:
    argparse would answer a wrong value with a usage block and examples instead of one line."""
    from azure.cli.core.decorators import Completer

    @Completer
    def _complete(cmd: Any, prefix: str, namespace: Any, **kwargs: Any) -> list[str]:
        return [value for value in values if value.startswith(prefix or "")]

    return _complete


def load_arguments(loader: Any, _: Any) -> None:
    """Register arguments per command scope; validators do all the checking before any request."""
    from . import _validators as v
    from . import _validators_emulator as ve
    from . import _validators_metadata as vm
    from . import _validators_watch as vw
    from ._completers import complete_message_id, complete_thread_id

    # Options consumed by the client factories are not in the handlers' signatures: c.extra per command.
    for scope in CHAT_CLIENT_COMMANDS + THREAD_CLIENT_COMMANDS:
        with loader.argument_context(scope) as c:
            c.extra("endpoint", options_list=["--endpoint"], help=ENDPOINT_HELP, validator=v.validate_endpoint)
            c.extra("access_token", options_list=["--access-token"], help=TOKEN_HELP,
                    validator=v.validate_access_token)
    for scope in THREAD_CLIENT_COMMANDS:
        with loader.argument_context(scope) as c:
            c.extra("thread_id", options_list=["--thread", "-t"], required=True, help=THREAD_HELP,
                    validator=v.validate_thread_id, completer=complete_thread_id)
    with loader.argument_context(f"{CHAT} thread delete") as c:
        c.argument("thread_id", options_list=["--thread", "-t"], help=THREAD_HELP, validator=v.validate_thread_id,
                   completer=complete_thread_id)

    # ---------------------------------------------------------------- threads
    with loader.argument_context(f"{CHAT} thread create") as c:
        c.argument("topic", options_list=["--topic"], help="The topic of the new thread.", validator=v.validate_topic)
        c.argument("participants", options_list=["--participant", "--user"], nargs="+",
                   help="Users to add at creation besides the caller (who is always added). " + USER_HELP,
                   validator=v.validate_participants)
        c.argument("idempotency_token", options_list=["--idempotency-token"],
                   help="A unique id for this request: repeating it returns the thread created the first time "
                        "instead of creating another one.")
        c.argument("metadata", options_list=["--metadata"], nargs="+", validator=vm.validate_thread_create_metadata,
                   help=THREAD_METADATA_HELP + " Each value must be non-empty (K= removes a key with thread update).")
        c.argument("retention_days", options_list=["--retention-days"], validator=vm.validate_retention_days,
                   help="Delete the thread this many days after its creation, 30 to 90. Default: keep it until it "
                        "is deleted.")
    with loader.argument_context(f"{CHAT} thread update") as c:
        c.argument("topic", options_list=["--topic"], help="The new topic.", validator=vm.validate_thread_update)
        c.argument("metadata", options_list=["--metadata"], nargs="+",
                   help="Metadata keys to set, as space-separated key=value pairs, merged into the thread's "
                        "metadata; key= (empty value) removes the key. At most 1 KB (UTF-8 keys and values).")
        c.argument("retention_days", options_list=["--retention-days"],
                   help="Delete the thread this many days after its creation, 30 to 90; none removes the "
                        "retention policy.")
    with loader.argument_context(f"{CHAT} thread update-topic") as c:
        c.argument("topic", options_list=["--topic"], help="The new topic.", validator=v.validate_topic)
    with loader.argument_context(f"{CHAT} thread list") as c:
        c.argument("start_time", options_list=["--start-time"],
                   help="Only threads with activity at or after this time. " + START_TIME_HELP,
                   validator=v.validate_start_time)

    # ---------------------------------------------------------------- list commands
    for scope in (f"{CHAT} thread list", f"{CHAT} participant list", f"{CHAT} message list",
                  f"{CHAT} message receipt list"):
        with loader.argument_context(scope) as c:
            c.argument("max_items", options_list=["--max-items"], help=MAX_ITEMS_HELP,
                       validator=v.validate_max_items)
    for scope in (f"{CHAT} participant list", f"{CHAT} message receipt list"):
        with loader.argument_context(scope) as c:
            c.argument("skip", options_list=["--skip"], help=SKIP_HELP, validator=v.validate_skip)

    # ---------------------------------------------------------------- participants
    with loader.argument_context(f"{CHAT} participant add") as c:
        c.argument("users", options_list=["--user"], nargs="+", help="One or more users to add. " + USER_HELP,
                   validator=v.validate_users)
        c.argument("display_name", options_list=["--display-name"],
                   help="The display name of the added participants.")
        c.argument("start_time", options_list=["--start-time"],
                   help="Share the thread's history from this time on. " + START_TIME_HELP,
                   validator=v.validate_start_time)
        c.argument("metadata", options_list=["--metadata"], nargs="+", validator=vm.validate_metadata,
                   help="Metadata of each added participant, as space-separated key=value pairs, at most 1 KB "
                        "(UTF-8 keys and values). It cannot be changed later, and a user who is already a "
                        "participant keeps the metadata it has.")
    with loader.argument_context(f"{CHAT} participant remove") as c:
        c.argument("user", options_list=["--user"], help="The user to remove. " + USER_HELP,
                   validator=v.validate_user)

    # ---------------------------------------------------------------- messages
    for scope in (f"{CHAT} message get", f"{CHAT} message update", f"{CHAT} message delete",
                  f"{CHAT} message receipt send"):
        with loader.argument_context(scope) as c:
            c.argument("message_id", options_list=["--message-id"], help="The id of the message.",
                       validator=v.validate_message_id, completer=complete_message_id)
    with loader.argument_context(f"{CHAT} message send") as c:
        c.argument("content", options_list=["--content"], help="The message text (or HTML with --message-type html).",
                   validator=v.validate_content)
        c.argument("message_type", options_list=["--message-type"], completer=_choices(MESSAGE_TYPES),
                   help="The type of the content. Allowed values: text, html.",
                   validator=v.validate_message_type)
        c.argument("display_name", options_list=["--display-name"], help="The sender's display name.")
        c.argument("metadata", options_list=["--metadata"], nargs="+",
                   help="Metadata as space-separated key=value pairs.", validator=v.validate_metadata)
    with loader.argument_context(f"{CHAT} message update") as c:
        c.argument("content", options_list=["--content"], help="The new content.",
                   validator=v.validate_message_update)
        c.argument("metadata", options_list=["--metadata"], nargs="+",
                   help="Metadata to set, as space-separated key=value pairs.")
    with loader.argument_context(f"{CHAT} message list") as c:
        c.argument("start_time", options_list=["--start-time"],
                   help="Only messages created at or after this time. " + START_TIME_HELP,
                   validator=v.validate_start_time)
    for scope in (f"{CHAT} message watch", f"{CHAT} message wait"):
        with loader.argument_context(scope) as c:
            c.argument("after", options_list=["--after"], validator=vw.validate_after, completer=complete_message_id,
                       help="Begin after this message (an id from `message send` or `message list`); "
                            "exclusive with --start-time.")
            c.argument("interval", options_list=["--interval"], validator=vw.validate_interval,
                       help="Seconds between polls, at least 0.5.")
    with loader.argument_context(f"{CHAT} message watch") as c:
        c.argument("start_time", options_list=["--start-time"], validator=v.validate_start_time,
                   help="Print messages created at or after this time first. Default: only what arrives from now "
                        "on (the service's newest message at the start, whatever the local clock says). "
                        + START_TIME_HELP)
        c.argument("timeout", options_list=["--timeout"], validator=vw.validate_watch_timeout,
                   help="Stop after this many seconds (exit 0). Default: until interrupted (Ctrl-C, exit 130).")
    with loader.argument_context(f"{CHAT} message wait") as c:
        c.argument("start_time", options_list=["--start-time"], validator=v.validate_start_time,
                   help="Consider messages created at or after this time. Default: only what arrives after the "
                        "command started (the service's newest message at the start). " + START_TIME_HELP)
        c.argument("timeout", options_list=["--timeout"], validator=vw.validate_watch_timeout,
                   help="Give up after this many seconds: one line on stderr, exit 1. Default: 300. "
                        "(Ctrl-C: exit 130.)")
        c.argument("custom", options_list=["--custom"], validator=vw.validate_wait_condition,
                   help="A JMESPath expression evaluated on each message's JSON (the shape of a `message list` "
                        "item); the first message for which it is truthy is the result, e.g. "
                        "\"senderDisplayName=='Bot' && contains(content.message, 'pong')\".")
        c.argument("sender", options_list=["--sender"],
                   help="Only a message from this sender: a display name (case-insensitive) or a user id.")
        c.argument("contains", options_list=["--contains"],
                   help="Only a text or html message whose text contains this (case-insensitive).")
    with loader.argument_context(f"{CHAT} typing send") as c:
        c.argument("display_name", options_list=["--display-name"], help="The display name shown while typing.")

    # ---------------------------------------------------------------- identity
    for group in IDENTITY_GROUPS:
        for name in ("user create", "user delete", "token issue", "token revoke", "token get-for-teams-user"):
            with loader.argument_context(f"{group} {name}") as c:
                c.extra("connection_string", options_list=["--connection-string"], help=CONN_HELP,
                        validator=v.validate_connection_string)
        for name in ("user delete", "token revoke"):
            with loader.argument_context(f"{group} {name}") as c:
                c.argument("user", options_list=["--user"], help=USER_HELP, validator=v.validate_user)
        with loader.argument_context(f"{group} token issue") as c:
            c.argument("scopes", options_list=["--scope"], nargs="+", completer=_choices(SCOPES),
                       help="One or more scopes of the token. Allowed values: " + ", ".join(SCOPES) + ".",
                       validator=v.validate_scopes)
            c.argument("user", options_list=["--user"],
                       help="The user to issue the token for; omit it to create a new user too. " + USER_HELP,
                       validator=v.validate_user)
            c.argument("expires_in_minutes", options_list=["--expires-in-minutes"],
                       help="Lifetime of the token in minutes, 60 to 1440. Default: 1440 (24 hours).",
                       validator=v.validate_expires_in_minutes)
        with loader.argument_context(f"{group} token get-for-teams-user") as c:
            c.argument("aad_token", options_list=["--aad-token"],
                       help="The Microsoft Entra ID token of the Teams user; @<file> reads it from a file (keeps it "
                            "out of the process list and --debug output).",
                       validator=v.validate_not_empty("--aad-token", "aad_token"))
            c.argument("client_id", options_list=["--client"],
                       help="The client (application) id of the Entra application, as in the token's appid claim.",
                       validator=v.validate_not_empty("--client", "client_id"))
            c.argument("user_object_id", options_list=["--aad-user"],
                       help="The object id of the Teams user, as in the token's oid claim.",
                       validator=v.validate_not_empty("--aad-user", "user_object_id"))

    # ---------------------------------------------------------------- emulator
    with loader.argument_context("communication emulator start") as c:
        c.argument("host", options_list=["--host"], help="The address to listen on.")
        c.argument("port", options_list=["--port"], validator=ve.validate_port,
                   help="The port to listen on, 0 to 65535; 0 picks a free port.")
        c.argument("data_dir", options_list=["--data-dir"],
                   help="Keep all state in this folder (SQLite); without it the state lives in memory.")
        c.argument("access_key", options_list=["--access-key"],
                   help="The base64 access key of the emulated resource. Default: one generated and kept in the "
                        "emulator's folder.")
        c.argument("throttle", options_list=["--throttle"], action="store_true",
                   help="Enforce the documented ACS rate limits (429 with Retry-After).")
        c.argument("json_output", options_list=["--json"], action="store_true",
                   help="Print one JSON line {endpoint, connectionString, caBundle} when ready, for scripts.")
        c.argument("faults", options_list=["--fault"], nargs="+", validator=ve.validate_faults,
                   help="Answer the next requests with a fault, to test retries: MODE:COUNT[:VALUE] with MODE one "
                        "of 429, 503, close, stall (VALUE: Retry-After seconds, or stall seconds).")
        c.argument("event_webhooks", options_list=["--event-webhook"], action="append",
                   help="Deliver every chat event (Event Grid schema) to this webhook URL, validated at start. "
                        "Repeat the option for several webhooks.")
        c.argument("events_config", options_list=["--events-config"],
                   help='Event subscriptions from a JSON file: {"subscriptions": [{"name", "endpoint", '
                        '"eventDeliverySchema", "filter", "retryPolicy", "skipValidation"}]}.')
        c.argument("event_retry_scale", options_list=["--event-retry-scale"], validator=ve.validate_start_numbers,
                   help="Multiply the event retry schedule (and the delivery timeout and TTL) by this factor, "
                        "e.g. 0.01 in tests. Default 1.")
        c.argument("events_include_actor", options_list=["--events-include-actor"], action="store_true",
                   help="Send user-level event copies to the user who acted too (the older documented behaviour).")
        c.argument("cors_origins", options_list=["--cors-origin"], nargs="+", validator=ve.validate_cors_origins,
                   help="Browser origins allowed to call the emulator (chat REST, real-time notifications) and open "
                        "its WebSocket: SCHEME://HOST[:PORT], ':*' for any port, or *. Default: http://localhost:*, "
                        "https://localhost:*, http://127.0.0.1:*, https://127.0.0.1:*.")
        c.argument("events_typing", options_list=["--events-typing"], action="store_true",
                   help="Also emit ChatTypingIndicatorReceivedInThread, one per typing notification (off by default).")
        c.argument("events_no_sequence_id", options_list=["--events-no-sequence-id"], action="store_true",
                   help="Leave sequenceId out of the message events (not on Learn yet). Default: included.")
        c.argument("retention_day_seconds", options_list=["--retention-day-seconds"],
                   validator=ve.validate_start_numbers,
                   help="The length of a retention-policy day in seconds, greater than 0 and at most 31536000: a "
                        "thread with a 30-day policy is deleted 30 x this after its creation. Default 86400; e.g. "
                        "0.02 in tests.")
        c.argument("request_timeout", options_list=["--request-timeout"], validator=ve.validate_start_numbers,
                   help="Seconds a client has to send a whole request once it started, greater than 0 and at most "
                        "86400 (slower clients get 408). Default 30.")
        c.argument("idle_timeout", options_list=["--idle-timeout"], validator=ve.validate_start_numbers,
                   help="Seconds a keep-alive connection may wait for its next request, greater than 0 and at most "
                        "86400. Default 120.")
        c.argument("log_level", options_list=["--log-level"], validator=ve.validate_log_level,
                   help="The level of the emulator's log on stderr: DEBUG, INFO (each request: method, path, status, "
                        "milliseconds), WARNING (no request log) or ERROR. Default INFO.")

    with loader.argument_context("communication emulator trust") as c:
        c.argument("remove", options_list=["--remove"], action="store_true",
                   help="Remove the emulator's CA (and any older one) from those databases instead.")
        c.argument("data_dir", options_list=["--data-dir"],
                   help="The data folder of an emulator started with --data-dir (its CA lives there). Default: "
                        "the emulator home folder.")

    # ---------------------------------------------------------------- emulator event subscriptions
    from .commands import EMULATOR_SUBSCRIPTION_COMMANDS

    for scope in EMULATOR_SUBSCRIPTION_COMMANDS:
        with loader.argument_context(scope) as c:
            c.extra("connection_string", options_list=["--connection-string"], validator=v.validate_connection_string,
                    help="The connection string the emulator printed at start. Default: "
                         "AZURE_COMMUNICATION_CONNECTION_STRING, then `az config` communication.connection_string.")
    with loader.argument_context("communication emulator subscription list") as c:
        c.argument("max_items", options_list=["--max-items"], help="Stop after this many subscriptions.",
                   validator=v.validate_max_items)
    for name in ("show", "delete"):
        with loader.argument_context(f"communication emulator subscription {name}") as c:
            c.argument("name", options_list=["--name", "-n"], help="The name of the event subscription.",
                       validator=ve.validate_event_subscription_name)
    with loader.argument_context("communication emulator subscription create") as c:
        c.argument("name", options_list=["--name", "-n"], validator=ve.validate_event_subscription,
                   help="The name of the new event subscription: 3 to 64 letters, digits or hyphens.")
        c.argument("endpoint", options_list=["--endpoint"],
                   help="The webhook URL events are POSTed to: https (verified with the normal trust store and "
                        "REQUESTS_CA_BUNDLE), or http for localhost, e.g. an Azure Functions host's "
                        "http://localhost:7071/runtime/webhooks/EventGrid?functionName=NAME.")
        c.argument("event_delivery_schema", options_list=["--event-delivery-schema"],
                   completer=_choices(ve.EVENT_SCHEMAS),
                   help="EventGridSchema (default: a JSON array of one event) or CloudEventSchemaV1_0 (one object).")
        c.argument("included_event_types", options_list=["--included-event-types"], nargs="+",
                   help="Only these event types, e.g. ChatMessageReceived (the Microsoft.Communication. prefix is "
                        "optional). Default: every chat event type.")
        c.argument("subject_begins_with", options_list=["--subject-begins-with"],
                   help="Only events whose subject starts with this (case-insensitive), e.g. thread/<thread id>/.")
        c.argument("subject_ends_with", options_list=["--subject-ends-with"],
                   help="Only events whose subject ends with this (case-insensitive), e.g. /recipient/<user id>.")
        c.argument("max_delivery_attempts", options_list=["--max-delivery-attempts"],
                   help="Attempts before an event is dead-lettered, 1 to 30 (default 30).")
        c.argument("event_ttl", options_list=["--event-ttl"],
                   help="Minutes an event may wait for delivery before it is dead-lettered, 1 to 1440 (default 1440).")
        c.argument("skip_validation", options_list=["--skip-validation"], action="store_true",
                   help="Do not run the endpoint validation handshake before the first delivery.")
        c.argument("endpoint_type", options_list=["--endpoint-type"], completer=_choices(ve.ENDPOINT_TYPES),
                   help="WebHook (default: events are delivered as Event Grid delivers them) or EventGridTopic "
                        "(events are published to an Event Grid topic or a simulator at --endpoint, e.g. "
                        "https://<topic>.<region>-1.eventgrid.azure.net/api/events, with --topic-key).")
        c.argument("topic_key", options_list=["--topic-key"],
                   help="The topic's access key, sent as aeg-sas-key (EventGridTopic only). Never shown again; "
                        "prefer @file to typing it.")

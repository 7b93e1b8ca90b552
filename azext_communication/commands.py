"""The command table. Handlers are referenced by name (loaded lazily) and nothing here imports the SDKs."""

from __future__ import annotations

from typing import Any

CHAT = "communication chat"
IDENTITY_GROUPS = ("communication identity", "communication user-identity")

# Chat commands that get --endpoint and --access-token; the second list also gets --thread/-t (see _params.py).
CHAT_CLIENT_COMMANDS = (f"{CHAT} thread create", f"{CHAT} thread list", f"{CHAT} thread delete")
THREAD_CLIENT_COMMANDS = (
    f"{CHAT} thread show", f"{CHAT} thread update", f"{CHAT} thread update-topic",
    f"{CHAT} participant add", f"{CHAT} participant list", f"{CHAT} participant remove",
    f"{CHAT} message send", f"{CHAT} message list", f"{CHAT} message get", f"{CHAT} message update",
    f"{CHAT} message delete", f"{CHAT} message receipt send", f"{CHAT} message receipt list",
    f"{CHAT} typing send", f"{CHAT} message watch", f"{CHAT} message wait",
)
EMULATOR_SUBSCRIPTION_COMMANDS = tuple(f"communication emulator subscription {name}"
                                       for name in ("create", "list", "show", "delete"))
IDENTITY_COMMANDS = tuple(
    f"{group} {name}" for group in IDENTITY_GROUPS
    for name in ("user create", "user delete", "token issue", "token revoke", "token get-for-teams-user")
)


def load_command_table(loader: Any, _: Any) -> None:
    """Register every command; `exception_handler` maps SDK errors to one-line azure-cli errors."""
    from azure.cli.core.commands import CliCommandType

    from . import _format as fmt
    from ._client_factory import (
        cf_chat,
        cf_chat_2025,
        cf_chat_thread,
        cf_chat_thread_poll,
        cf_emulator_admin,
        cf_identity,
    )
    from ._confirm import confirm
    from ._errors import handle_exception

    custom = CliCommandType(operations_tmpl="azext_communication.custom#{}")
    emulator = CliCommandType(operations_tmpl="azext_communication.custom_emulator#{}")
    # chat api-version 2025-03-15 (metadata, retention): its own handlers and client
    chat2025 = {"custom_command_type": CliCommandType(operations_tmpl="azext_communication.custom_thread2025#{}"),
                "client_factory": cf_chat_2025}
    common = {"custom_command_type": custom, "exception_handler": handle_exception}

    with loader.command_group("communication", custom_command_type=custom):
        pass

    with loader.command_group(CHAT, **common):
        pass

    with loader.command_group(f"{CHAT} thread", client_factory=cf_chat, **common) as g:
        g.custom_command("create", "create_thread", table_transformer=fmt.transform_thread_create, **chat2025)
        g.custom_command("list", "list_threads", table_transformer=fmt.transform_thread_list)
        g.custom_command("show", "show_thread", table_transformer=fmt.transform_thread_show, **chat2025)
        g.custom_command("update", "update_thread", **chat2025)
        g.custom_command("update-topic", "update_topic", client_factory=cf_chat_thread)
        g.custom_command("delete", "delete_thread", confirmation=confirm("thread delete"))

    with loader.command_group(f"{CHAT} participant", client_factory=cf_chat_thread, **common) as g:
        g.custom_command("add", "add_participants", table_transformer=fmt.transform_participant_list, **chat2025)
        g.custom_command("list", "list_participants", table_transformer=fmt.transform_participant_list, **chat2025)
        g.custom_command("remove", "remove_participant", confirmation=confirm("participant remove"))

    with loader.command_group(f"{CHAT} message", client_factory=cf_chat_thread, **common) as g:
        g.custom_command("send", "send_message", table_transformer=fmt.transform_message_send)
        g.custom_command("list", "list_messages", table_transformer=fmt.transform_message_list)
        g.custom_command("get", "get_message", table_transformer=fmt.transform_message_show)
        g.custom_command("update", "update_message")
        g.custom_command("delete", "delete_message", confirmation=confirm("message delete"))
        g.custom_command("watch", "watch_messages", client_factory=cf_chat_thread_poll)
        g.custom_command("wait", "wait_message", client_factory=cf_chat_thread_poll,
                         table_transformer=fmt.transform_message_show)

    with loader.command_group(f"{CHAT} message receipt", client_factory=cf_chat_thread, **common) as g:
        g.custom_command("send", "send_read_receipt")
        g.custom_command("list", "list_read_receipts", table_transformer=fmt.transform_receipt_list)

    with loader.command_group(f"{CHAT} typing", client_factory=cf_chat_thread, **common) as g:
        g.custom_command("send", "send_typing")

    for group in IDENTITY_GROUPS:
        with loader.command_group(group, custom_command_type=custom):
            pass
        with loader.command_group(f"{group} user", client_factory=cf_identity, **common) as g:
            g.custom_command("create", "create_user", table_transformer=fmt.transform_user)
            g.custom_command("delete", "delete_user", confirmation=confirm("user delete"))
        with loader.command_group(f"{group} token", client_factory=cf_identity, **common) as g:
            g.custom_command("issue", "issue_token", table_transformer=fmt.transform_token,
                             sensitive_info=g.sensitive(sensitive_keys=["token"]))
            g.custom_command("revoke", "revoke_tokens", confirmation=confirm("token revoke"))
            g.custom_command("get-for-teams-user", "get_token_for_teams_user", table_transformer=fmt.transform_token,
                             sensitive_info=g.sensitive(sensitive_keys=["token"]))

    with loader.command_group("communication emulator", custom_command_type=emulator) as g:
        g.custom_command("start", "start_emulator")
        g.custom_command("status", "emulator_status", table_transformer=fmt.transform_emulator_status,
                         sensitive_info=g.sensitive(sensitive_keys=["connectionString", "exports"]))
        g.custom_command("trust", "trust_emulator")

    with loader.command_group("communication emulator subscription", client_factory=cf_emulator_admin,
                              custom_command_type=emulator, exception_handler=handle_exception) as g:
        g.custom_command("create", "create_event_subscription", table_transformer=fmt.transform_event_subscriptions)
        g.custom_command("list", "list_event_subscriptions", table_transformer=fmt.transform_event_subscriptions)
        g.custom_command("show", "show_event_subscription", table_transformer=fmt.transform_event_subscriptions)
        g.custom_command("delete", "delete_event_subscription", confirmation=confirm("subscription delete"))

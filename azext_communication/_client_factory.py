"""Client factories: the only place (with the handlers) that imports the Communication SDKs.

Why here: the command table must load without the SDKs (startup time), and every client must carry the same
User-Agent. Each factory pops the arguments it consumes (endpoint, token, connection string, thread id) so the
handlers only see what they act on, and records what the command is about for error messages.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from ._errors import install_log_redaction, set_error_context, update_error_context
from ._output import skip_arm_transforms
from ._settings import resolve_timeout
from ._validators_watch import token_user_id
from ._version import VERSION

CONNECT_TIMEOUT = 10.0  # seconds; a TCP + TLS handshake that takes longer is not going to succeed


def user_agent() -> str:
    """`AzureCli/<extension version>` first, as the contract requires; core's version for diagnostics."""
    try:
        from azure.cli.core import __version__ as core_version
    except ImportError:  # pragma: no cover - core always has it
        core_version = "unknown"
    return f"AzureCli/{VERSION} azure-cli-core/{core_version} azext-communication"


def _client_options(cli_ctx: Any, kind: str, endpoint: str | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments every SDK client gets, and the error context of the command.

    - `user_agent`: the contract's `AzureCli/<version>` prefix.
    - `connection_timeout` / `read_timeout` from AZURE_COMMUNICATION_TIMEOUT (or az config communication.timeout)
      when set, so a stalled service fails in bounded time; without it, connecting may take CONNECT_TIMEOUT
      seconds (azure-core would wait 300 s for a host that drops packets) and answers azure-core's 300 s.
    - `logging_enable=False`: the SDK's network trace would print request and response bodies, which hold
      tokens (identity token responses); `--debug` shows the urllib3 request lines, never bodies.
    - `retry_policy`: permanent connection failures (certificate, TLS, refused, unknown host) fail at once,
      for chat and identity alike (see _retry.py).
    """
    from ._retry import retry_policy

    install_log_redaction()
    skip_arm_transforms(cli_ctx)
    timeout = resolve_timeout(cli_ctx)
    set_error_context(
        kind=kind,
        endpoint=endpoint,
        thread_id=kwargs.get("thread_id"),
        message_id=kwargs.get("message_id"),
        user=kwargs.get("user"),
        timeout=timeout,
    )
    options: dict[str, Any] = {"user_agent": user_agent(), "logging_enable": False, "retry_policy": retry_policy()}
    if timeout is not None:
        options.update(connection_timeout=timeout, read_timeout=timeout)
    else:
        options.update(connection_timeout=CONNECT_TIMEOUT)
    return options


def _token_credential(access_token: str) -> Any:
    from azure.communication.chat import CommunicationTokenCredential

    return CommunicationTokenCredential(access_token)


def cf_chat(cli_ctx: Any, kwargs: dict[str, Any]) -> Any:
    """A ChatClient for thread create/list/delete (endpoint and token were resolved by the validators)."""
    from azure.communication.chat import ChatClient

    endpoint = kwargs.pop("endpoint")
    access_token = kwargs.pop("access_token")
    options = _client_options(cli_ctx, "chat", endpoint, kwargs)
    return ChatClient(endpoint, _token_credential(access_token), **options)


def cf_chat_thread(cli_ctx: Any, kwargs: dict[str, Any]) -> Any:
    """A ChatThreadClient built directly: `get_chat_thread_client` would drop the user_agent kwarg."""
    from azure.communication.chat import ChatThreadClient

    endpoint = kwargs.pop("endpoint")
    access_token = kwargs.pop("access_token")
    options = _client_options(cli_ctx, "chat", endpoint, kwargs)
    thread_id = kwargs.pop("thread_id")
    return ChatThreadClient(endpoint, _token_credential(access_token), thread_id, **options)


def cf_chat_2025(cli_ctx: Any, kwargs: dict[str, Any]) -> Any:
    """The api-version 2025-03-15 operations (metadata, retention) of `thread create|show|update` and
    `participant add|list`: the chat SDK's generated client, built as ChatClient builds it (bearer credential
    policy, SDK moniker) with the same options as every other command, plus the api_version (see _chat2025.py)."""
    from azure.communication.chat._generated import AzureCommunicationChatService
    from azure.communication.chat._version import SDK_MONIKER
    from azure.core.pipeline.policies import BearerTokenCredentialPolicy

    from ._chat2025 import API_VERSION, Chat2025

    endpoint = kwargs.pop("endpoint")
    access_token = kwargs.pop("access_token")
    options = _client_options(cli_ctx, "chat", endpoint, kwargs)
    update_error_context(api_version=API_VERSION)
    service = AzureCommunicationChatService(
        endpoint=endpoint, authentication_policy=BearerTokenCredentialPolicy(_token_credential(access_token)),
        sdk_moniker=SDK_MONIKER, api_version=API_VERSION, **options)
    return Chat2025(service, kwargs.pop("thread_id", None))


# A polling command bounds every call: few SDK retries (the poller backs off on its own, within --timeout) and a
# read timeout well under the command's, unless AZURE_COMMUNICATION_TIMEOUT says otherwise.
POLL_RETRIES = 2
POLL_READ_TIMEOUT = 30.0


def cf_chat_thread_poll(cli_ctx: Any, kwargs: dict[str, Any]) -> Any:
    """The ChatThreadClient of `message watch` / `message wait`: one object (one kept-alive connection) per run."""
    from azure.communication.chat import ChatThreadClient

    from ._retry import retry_policy

    endpoint = kwargs.pop("endpoint")
    access_token = kwargs.pop("access_token")
    options = _client_options(cli_ctx, "chat", endpoint, kwargs)
    update_error_context(caller=token_user_id(access_token))
    options.setdefault("read_timeout", POLL_READ_TIMEOUT)
    options.setdefault("connection_timeout", POLL_READ_TIMEOUT)
    options["retry_policy"] = retry_policy(retry_total=POLL_RETRIES)
    thread_id = kwargs.pop("thread_id")
    return ChatThreadClient(endpoint, _token_credential(access_token), thread_id, **options)


def cf_completion(endpoint: str, access_token: str, timeout: float, thread_id: str | None = None) -> Any:
    """A ChatClient (or a ChatThreadClient for `thread_id`) for tab completion: short timeouts, no retries,
    the same User-Agent and credential as the commands."""
    from azure.communication.chat import ChatClient, ChatThreadClient

    from ._retry import retry_policy

    options = {"user_agent": user_agent(), "logging_enable": False, "connection_timeout": timeout,
               "read_timeout": timeout, "retry_policy": retry_policy(retry_total=0)}
    credential = _token_credential(access_token)
    if thread_id:
        return ChatThreadClient(endpoint, credential, thread_id, **options)
    return ChatClient(endpoint, credential, **options)


def _connection_string_endpoint(conn_str: str) -> str | None:
    """The endpoint named in a connection string (for error messages; never the key)."""
    for element in conn_str.split(";"):
        name, _, value = element.partition("=")
        if name.strip().lower() == "endpoint":
            value = value.strip()
            parsed = urlparse(value if "//" in value else "https://" + value)
            # from_connection_string always uses https, whatever the scheme written.
            return f"https://{parsed.netloc}" if parsed.netloc else None
    return None


def cf_identity(cli_ctx: Any, kwargs: dict[str, Any]) -> Any:
    """A CommunicationIdentityClient from the connection string resolved by the validator."""
    from azure.communication.identity import CommunicationIdentityClient

    conn_str = kwargs.pop("connection_string")
    options = _client_options(cli_ctx, "identity", _connection_string_endpoint(conn_str), kwargs)
    return CommunicationIdentityClient.from_connection_string(conn_str, **options)


def cf_emulator_admin(cli_ctx: Any, kwargs: dict[str, Any]) -> Any:
    """The admin API of a running emulator (event subscriptions), from the resolved connection string."""
    from ._emulator_admin import EmulatorAdmin

    conn_str = kwargs.pop("connection_string")
    install_log_redaction()
    skip_arm_transforms(cli_ctx)
    return EmulatorAdmin(conn_str, timeout=resolve_timeout(cli_ctx), user_agent=user_agent())

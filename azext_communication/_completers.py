"""Tab completion of thread ids (`-t/--thread`) and message ids (`--message-id`, `--after`).

Why: ids are long (`19:...@thread.v2`, 13 digits) and users copy them from earlier output; az completes
resource names the same way. The completers resolve the endpoint and the token exactly as the commands do
(option already typed, then AZURE_COMMUNICATION_*, then az config), ask the service for one short page
with short timeouts and no retries, and on any failure complete nothing and print nothing: a shell must
never see an error or a stall from a Tab key.
"""

from __future__ import annotations

import logging
from typing import Any

from azure.cli.core.decorators import Completer

MAX_COMPLETIONS = 50
COMPLETION_TIMEOUT = 3.0  # seconds, to connect and for the answer


def _credentials(cmd: Any, namespace: Any) -> tuple[str, str]:
    """(endpoint, access token) as the command would resolve them; raises when either is missing or bad."""
    from ._settings import check_access_token, check_endpoint, resolve_setting

    endpoint, source = resolve_setting(cmd.cli_ctx, getattr(namespace, "endpoint", None), "--endpoint", "endpoint")
    token, token_source = resolve_setting(cmd.cli_ctx, getattr(namespace, "access_token", None), "--access-token",
                                          "access_token")
    return check_endpoint(endpoint, source), check_access_token(token, token_source)


def _quietly(lookup: Any, prefix: str) -> list[str]:
    """The ids `lookup` returns that start with `prefix`; nothing at all (and no log line) when it fails."""
    logging.disable(logging.CRITICAL)  # the SDK, urllib3 and core log to the console the shell is drawing on
    try:
        return [value for value in lookup() if value and value.startswith(prefix or "")]
    except BaseException:  # a completion must never fail, whatever went wrong (Ctrl-C included)
        return []
    finally:
        logging.disable(logging.NOTSET)


@Completer
def complete_thread_id(cmd: Any, prefix: str, namespace: Any, **kwargs: Any) -> list[str]:
    """Ids of the threads the user is in, most recent activity first."""

    def lookup() -> list[str]:
        from ._client_factory import cf_completion

        endpoint, token = _credentials(cmd, namespace)
        client = cf_completion(endpoint, token, COMPLETION_TIMEOUT)
        pages = client.list_chat_threads(results_per_page=MAX_COMPLETIONS).by_page()
        return [thread.id for thread in next(pages, [])]

    return _quietly(lookup, prefix)


@Completer
def complete_message_id(cmd: Any, prefix: str, namespace: Any, **kwargs: Any) -> list[str]:
    """Ids of the newest user messages (text, html) of the thread given by -t, not deleted ones."""

    def lookup() -> list[str]:
        from ._client_factory import cf_completion

        thread_id = (getattr(namespace, "thread_id", None) or "").strip()
        if not thread_id:
            return []
        endpoint, token = _credentials(cmd, namespace)
        client = cf_completion(endpoint, token, COMPLETION_TIMEOUT, thread_id=thread_id)
        pages = client.list_messages(results_per_page=MAX_COMPLETIONS).by_page()
        return [m.id for m in next(pages, []) if m.type in ("text", "html") and not m.deleted_on]

    return _quietly(lookup, prefix)

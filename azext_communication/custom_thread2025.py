"""Command handlers that speak chat api-version 2025-03-15 (thread and participant metadata, retention policy):
`thread create|show|update` and `participant add|list`. Thin like custom.py: the client (`_chat2025.Chat2025`)
is built by `_client_factory.cf_chat_2025`, arguments arrive validated (`_validators_metadata.py`).
"""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from typing import Any

from azure.cli.core.azclierror import AzureResponseError

from ._output import plain_list, plain_text_output
from ._validators import page_size


def create_thread(cmd: Any, client: Any, topic: str, participants: list[str] | None = None,
                  idempotency_token: str | None = None, metadata: dict[str, str] | None = None,
                  retention_days: int | None = None) -> Any:
    """Create a thread; the creator is added by the service, others may be added at creation.

    Without --idempotency-token one is made here rather than by the SDK (which would make the same kind of
    random id): when the answer is lost, the error message can name it, and repeating the command with it returns
    the thread the first attempt may have created instead of a second one.
    """
    from ._errors import update_error_context

    idempotency_token = idempotency_token or str(uuid.uuid4())
    update_error_context(idempotency_token=idempotency_token)
    thread, refused = client.create_thread(topic, participants, metadata, retention_days, idempotency_token)
    if refused:
        raise AzureResponseError(
            f"Chat thread '{thread['id']}' was created, but the service refused these participants: "
            + "; ".join(refused)
        )
    if plain_text_output(cmd) == "tsv":
        return thread["id"]  # THREAD=$(az communication chat thread create --topic x -o tsv)
    return {"chatThread": thread, "errors": []}


def _without_metadata_for_tsv(cmd: Any, item: dict[str, Any]) -> dict[str, Any]:
    """tsv prints a map as an empty field, so optional metadata would only shift the columns after it from one
    row (or thread) to the next; tsv leaves it out (--query still sees it)."""
    if plain_text_output(cmd) == "tsv":
        item.pop("metadata", None)
    return item


def show_thread(cmd: Any, client: Any) -> dict[str, Any]:
    """Thread properties, with its metadata (when it has some) and its retention policy."""
    return _without_metadata_for_tsv(cmd, client.get_thread())


def update_thread(client: Any, topic: str | None = None, metadata: dict[str, str] | None = None,
                  retention_days: int | str | None = None) -> None:
    """Change the topic, metadata keys (merged; an empty value removes the key) and/or the retention policy."""
    client.update_thread(topic, metadata, retention_days)


def add_participants(cmd: Any, client: Any, users: list[str], display_name: str | None = None,
                     start_time: datetime | None = None, metadata: dict[str, str] | None = None) -> list[Any]:
    """Add users; any user the service refuses makes the command fail, naming it (exit code 1).

    JSON: `[]` (the public extension's shape: the list of refused users); tsv: the added ids, one a line;
    table: the added participants as the service now holds them (see `_as_stored`)."""
    refused = client.add_participants(users, display_name, start_time, metadata)
    if refused:
        raise AzureResponseError(
            f"The service refused these participants for chat thread '{client.thread_id}': " + "; ".join(refused)
        )
    output = plain_text_output(cmd)
    if output == "tsv":
        return list(users)
    if output == "table":  # participant-shaped, for the participant list table transformer
        return _as_stored(client, users, display_name, metadata)
    return []


def _as_stored(client: Any, users: list[str], display_name: str | None,
               metadata: dict[str, str] | None) -> list[dict[str, Any]]:
    """The users as the thread now holds them, read back: "If participants already exist, no change occurs", so
    echoing the requested display name and metadata would show an existing participant with values the service
    never stored. One warning names each user whose stored values differ from the requested ones."""
    from knack.log import get_logger

    wanted = set(users)
    stored = {p["identifier"]["rawId"]: p for p in client.list_participants(page_size(None), None)
              if (p.get("identifier") or {}).get("rawId") in wanted}
    for user in users:
        row = stored.get(user)
        if row is not None and ((row.get("displayName") or None, row.get("metadata") or None)
                                != (display_name or None, metadata or None)):
            get_logger(__name__).warning(
                "%s was already a participant and was left unchanged: the service keeps its display name, "
                "share-history time and metadata.", user)
    return [stored.get(u) or {"identifier": {"rawId": u}} for u in users]


def list_participants(cmd: Any, client: Any, skip: int | None = None, max_items: int | None = None) -> list[Any]:
    """Participants of the thread, with their metadata when they have some."""
    items = (_without_metadata_for_tsv(cmd, p) for p in client.list_participants(page_size(max_items), skip))
    return plain_list(items if max_items is None else itertools.islice(items, max_items))

"""Chat operations at api-version 2025-03-15: thread and participant metadata, the thread retention policy.

Why this way: azure-communication-chat 1.3.x speaks 2024-03-07 and its models have no such fields. Its generated
client (`AzureCommunicationChatService`) takes an `api_version`, its generated models keep unknown response fields
in `additional_properties`, and a request model sends its `additional_properties` once its attribute map says so.
So the new fields ride on the SDK's own models, serializer and pipeline (credential, retries, User-Agent, log
redaction), and a failure is the SDK's own HttpResponseError, mapped by _errors.py as for every other command.
The client is built by `_client_factory.cf_chat_2025`; the shapes returned here are those of the 1.3.x commands
(`plain()` of the SDK's public models) plus the new keys, so scripts written for them keep working.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ._output import plain

API_VERSION = "2025-03-15"
NO_RETENTION = {"kind": "none"}


def retention_policy(days: int | str | None) -> dict[str, Any] | None:
    """The wire form of a validated --retention-days: N -> delete N days after creation, 'none' -> keep."""
    if days is None:
        return None
    if days == "none":
        return dict(NO_RETENTION)
    return {"kind": "threadCreationDate", "deleteThreadAfterDays": int(days)}


def _thread_extras(metadata: dict[str, str] | None, retention_days: int | str | None) -> dict[str, Any]:
    """The 2025-03-15 fields of a create or update body that the SDK's 2024-03-07 models do not have."""
    extras: dict[str, Any] = {}
    if metadata is not None:
        extras["metadata"] = dict(metadata)
    if retention_days is not None:
        extras["retentionPolicy"] = retention_policy(retention_days)
    return extras


@functools.cache
def _sending_extras(model: type) -> type:
    """A subclass of a generated request model that also sends its `additional_properties` (the base class,
    shared with every other command, stays as it is)."""
    attribute_map = {**model._attribute_map, "additional_properties": {"key": "", "type": "{object}"}}
    return type(model.__name__, (model,), {"_attribute_map": attribute_map})


def _extras(model: Any) -> dict[str, Any]:
    return getattr(model, "additional_properties", None) or {}


class Chat2025:
    """The 2025-03-15 requests of `thread create|show|update` and `participant add|list`, for one endpoint and
    (for the thread-level ones) one thread."""

    def __init__(self, service: Any, thread_id: str | None = None) -> None:
        from azure.communication.chat._generated import models

        self._service = service
        self._models = models
        self.thread_id = thread_id

    # -------------------------------------------------------------------------------------- conversions
    def _participant(self, user: str, display_name: str | None, start_time: datetime | None,
                     metadata: dict[str, str] | None) -> Any:
        from azure.communication.chat import CommunicationUserIdentifier
        from azure.communication.chat._communication_identifier_serializer import serialize_identifier

        participant = _sending_extras(self._models.ChatParticipant)(
            communication_identifier=serialize_identifier(CommunicationUserIdentifier(user)),
            display_name=display_name, share_history_time=start_time)
        if metadata is not None:
            participant.additional_properties = {"metadata": dict(metadata)}
        return participant

    @staticmethod
    def _thread(generated: Any) -> dict[str, Any]:
        """The 1.3.x `chatThread` shape (id, topic, createdOn, createdBy) plus deletedOn, metadata (only when the
        thread has some) and retentionPolicy (`{"kind": "none"}` when the service sent none)."""
        from azure.communication.chat._models import ChatThreadProperties

        shown = plain(ChatThreadProperties._from_generated(generated))
        shown["deletedOn"] = plain(generated.deleted_on)
        extras = _extras(generated)
        if extras.get("metadata") is not None:
            shown["metadata"] = extras["metadata"]
        shown["retentionPolicy"] = extras.get("retentionPolicy") or dict(NO_RETENTION)
        return shown

    @staticmethod
    def participant_output(generated: Any) -> dict[str, Any]:
        """The 1.3.x participant shape (identifier, displayName, shareHistoryTime), plus metadata when it has some."""
        from azure.communication.chat._models import ChatParticipant

        shown = plain(ChatParticipant._from_generated(generated))
        metadata = _extras(generated).get("metadata")
        if metadata is not None:
            shown["metadata"] = metadata
        return shown

    @staticmethod
    def refused(errors: list[Any] | None) -> list[str]:
        """'<raw id> (<code>: <message>)' for each participant the service refused."""
        return [f"{getattr(e, 'target', '?')} ({getattr(e, 'code', '?')}: {getattr(e, 'message', '')})"
                for e in errors or []]

    # -------------------------------------------------------------------------------------- operations
    def create_thread(self, topic: str, users: list[str] | None, metadata: dict[str, str] | None,
                      retention_days: int | None, idempotency_token: str) -> tuple[dict[str, Any], list[str]]:
        """Create a thread; returns it and the participants the service refused."""
        request = _sending_extras(self._models.CreateChatThreadRequest)(
            topic=topic, participants=[self._participant(u, None, None, None) for u in users or []])
        request.additional_properties = _thread_extras(metadata, retention_days)
        result = self._service.chat.create_chat_thread(request, repeatability_request_id=idempotency_token)
        return self._thread(result.chat_thread), self.refused(getattr(result, "invalid_participants", None))

    def get_thread(self) -> dict[str, Any]:
        """The thread's properties, metadata and retention policy."""
        return self._thread(self._service.chat_thread.get_chat_thread_properties(self.thread_id))

    def update_thread(self, topic: str | None, metadata: dict[str, str] | None,
                      retention_days: int | str | None) -> None:
        """PATCH (merge): the topic, metadata keys (an empty value removes its key) and/or the retention policy."""
        request = _sending_extras(self._models.UpdateChatThreadRequest)(topic=topic)
        request.additional_properties = _thread_extras(metadata, retention_days)
        self._service.chat_thread.update_chat_thread_properties(self.thread_id, request)

    def add_participants(self, users: list[str], display_name: str | None, start_time: datetime | None,
                         metadata: dict[str, str] | None) -> list[str]:
        """Add users (each with the same metadata); returns the ones the service refused."""
        request = self._models.AddChatParticipantsRequest(
            participants=[self._participant(u, display_name, start_time, metadata) for u in users])
        result = self._service.chat_thread.add_chat_participants(self.thread_id, request)
        return self.refused(getattr(result, "invalid_participants", None))

    def list_participants(self, page_size: int, skip: int | None) -> Iterator[dict[str, Any]]:
        """Participants in output form, read page by page as they are consumed."""
        pages = self._service.chat_thread.list_chat_participants(self.thread_id, max_page_size=page_size, skip=skip)
        return (self.participant_output(p) for p in pages)

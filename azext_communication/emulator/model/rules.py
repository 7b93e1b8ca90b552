"""Service limits (wire spec §9) and the checks of client-supplied values that every aggregate shares."""

from __future__ import annotations

import json

from ..errors import BadRequest, PayloadTooLarge

MAX_PARTICIPANTS = 250
MAX_BATCH = 200
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 100
MAX_MESSAGE_BYTES = 28 * 1024
MAX_TOPIC_CHARS = 1024
MAX_DISPLAY_NAME_CHARS = 256
MAX_RECEIPT_PARTICIPANTS = 20
MIN_TOKEN_MINUTES = 60
MAX_TOKEN_MINUTES = 1440

TOKEN_SCOPES = ("chat", "voip", "chat.join", "chat.join.limited", "voip.join")


def _within(text: str, what: str, limit: int) -> str:
    if len(text) > limit:
        raise BadRequest(f"The {what} exceeds {limit} characters.", code="ValidationError")
    return text


def check_topic(topic: object) -> str:
    if not isinstance(topic, str) or not topic.strip():
        raise BadRequest("The topic is required.", code="ValidationError")
    return _within(topic, "topic", MAX_TOPIC_CHARS)


def check_display_name(name: object) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str):
        raise BadRequest("The display name must be a string.", code="ValidationError")
    return _within(name, "display name", MAX_DISPLAY_NAME_CHARS)


def check_metadata(metadata: object) -> dict | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and (isinstance(v, str) or v is None) for k, v in metadata.items()):
        raise BadRequest("The metadata must be an object of string values.", code="ValidationError")
    return metadata


def check_message_size(content: str | None, metadata: dict | None) -> None:
    size = len(content.encode("utf-8")) if content else 0
    if metadata:
        size += len(json.dumps(metadata, ensure_ascii=False).encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        raise PayloadTooLarge(f"The message exceeds the maximum size of {MAX_MESSAGE_BYTES} bytes.",
                              code="MessageTooLarge")


def check_scopes(scopes: object) -> list[str]:
    if not isinstance(scopes, list) or not scopes:
        raise BadRequest("At least one scope is required.", code="ValidationError")
    for s in scopes:
        if not isinstance(s, str) or s.lower() not in TOKEN_SCOPES:
            raise BadRequest(f"Invalid scope '{s}'. Allowed scopes: {', '.join(TOKEN_SCOPES)}.",
                             code="ValidationError")
    return list(dict.fromkeys(s.lower() for s in scopes))


def check_minutes(minutes: object) -> int:
    if minutes is None:
        return MAX_TOKEN_MINUTES
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not (
            MIN_TOKEN_MINUTES <= minutes <= MAX_TOKEN_MINUTES):
        raise BadRequest(f"The expiresInMinutes must be an integer between {MIN_TOKEN_MINUTES} and "
                         f"{MAX_TOKEN_MINUTES}.", code="ValidationError")
    return minutes

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
MAX_METADATA_BYTES = 1024  # thread or participant metadata (api-version 2025-03-15): keys + values, UTF-8
MIN_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 90
RETENTION_KINDS = ("none", "threadCreationDate")

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


def check_map_metadata(metadata: object, what: str, *, patch: bool = False) -> dict:
    """A thread or participant metadata map: string keys (not empty) to string values.

    In a PATCH a null value (or "") means "delete this key" and is kept as None for `merge_metadata`; in a
    create, null values are dropped. The size is checked by `check_metadata_size` (after a merge)."""
    if not isinstance(metadata, dict):
        raise BadRequest(f"The {what} metadata must be an object of string values.", code="BadRequest")
    out: dict = {}
    for k, v in metadata.items():
        if not k:
            raise BadRequest(f"The {what} metadata has an empty key.", code="BadRequest")
        if v is None or (patch and v == ""):
            if patch:
                out[k] = None
            continue
        if not isinstance(v, str):
            raise BadRequest(f"The {what} metadata value of '{k}' must be a string.", code="BadRequest")
        out[k] = v
    return out


def check_metadata_size(metadata: dict, what: str) -> dict:
    size = sum(len(k.encode("utf-8")) + len(v.encode("utf-8")) for k, v in metadata.items())
    if size > MAX_METADATA_BYTES:
        raise BadRequest(f"The {what} metadata is {size} bytes; at most {MAX_METADATA_BYTES} bytes (keys and "
                         "values, UTF-8) are allowed.", code="BadRequest")
    return metadata


def merge_metadata(current: dict | None, patch: dict | None) -> dict | None:
    """RFC 7396 merge of a checked PATCH map (None values delete) into the current map; None clears it all."""
    if patch is None:
        return None
    merged = dict(current or {})
    for k, v in patch.items():
        if v is None:
            merged.pop(k, None)
        else:
            merged[k] = v
    return merged


def check_retention(policy: object) -> dict:
    """A ChatRetentionPolicy as stored: `{"kind": "none"}` (also for null, which removes a policy) or
    `{"kind": "threadCreationDate", "deleteThreadAfterDays": 30..90}` (extra fields are dropped); anything else is
    400."""
    if policy is None:
        return {"kind": "none"}
    if not isinstance(policy, dict):
        raise BadRequest("Invalid retention policy: it must be an object with a kind.", code="BadRequest")
    kind = policy.get("kind")
    if kind == "none":
        return {"kind": "none"}
    if kind != "threadCreationDate":
        shown = "missing" if kind is None else f"'{kind}'"
        raise BadRequest(f"Invalid retention policy: kind is {shown}; expected one of "
                         f"{', '.join(RETENTION_KINDS)}.", code="BadRequest")
    days = policy.get("deleteThreadAfterDays")
    if isinstance(days, bool) or not isinstance(days, int):
        raise BadRequest("Invalid retention policy: deleteThreadAfterDays must be an integer.", code="BadRequest")
    if not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise BadRequest(f"Invalid retention policy: deleteThreadAfterDays must be between {MIN_RETENTION_DAYS} "
                         f"and {MAX_RETENTION_DAYS}.", code="BadRequest")
    return {"kind": "threadCreationDate", "deleteThreadAfterDays": days}

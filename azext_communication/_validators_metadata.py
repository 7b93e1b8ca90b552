"""Validators of thread and participant metadata and of the retention policy (chat api-version 2025-03-15).

Checked here, before any request (exit 2 through `usage_errors`): the service's limits are 1 KB of metadata per
map (counted as UTF-8 bytes of keys and values) and a retention of 30 to 90 days after the thread's creation.
"""

from __future__ import annotations

from typing import Any

from azure.cli.core.azclierror import InvalidArgumentValueError

from ._validators import check_topic, parse_int, parse_metadata, usage_errors

MAX_METADATA_BYTES = 1024
MIN_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 90
NO_RETENTION = "none"


def metadata_size(metadata: dict[str, str]) -> int:
    """Bytes one metadata map counts against the 1 KB limit: UTF-8 keys plus values."""
    return sum(len(k.encode("utf-8")) + len(v.encode("utf-8")) for k, v in metadata.items())


def check_metadata(items: Any, option: str = "--metadata") -> dict[str, str] | None:
    """`k=v` items (or an already parsed dict) as a dict within the 1 KB limit; None when not given."""
    metadata = items if items is None or isinstance(items, dict) else parse_metadata(items, option)
    if metadata is None:
        return None
    size = metadata_size(metadata)
    if size > MAX_METADATA_BYTES:
        raise InvalidArgumentValueError(
            f"{option} is too large: {size} bytes (UTF-8 keys and values); thread and participant metadata may "
            f"hold at most {MAX_METADATA_BYTES} bytes (1 KB)."
        )
    return metadata


def check_retention_days(value: Any, allow_none: bool = False) -> int | str | None:
    """--retention-days: an integer from 30 to 90, or (thread update) `none` to remove the policy."""
    if value is None:
        return None
    if allow_none and str(value).strip().lower() == NO_RETENTION:
        return NO_RETENTION
    try:
        return parse_int(value, "--retention-days", MIN_RETENTION_DAYS, MAX_RETENTION_DAYS)
    except InvalidArgumentValueError:
        if not allow_none:
            raise
        raise InvalidArgumentValueError(
            f"--retention-days must be an integer between {MIN_RETENTION_DAYS} and {MAX_RETENTION_DAYS}, or "
            f"{NO_RETENTION} to keep the thread until it is deleted; got '{value}'."
        ) from None


@usage_errors
def validate_metadata(namespace: Any) -> None:
    """--metadata k=v [k=v ...] of thread create and participant add."""
    namespace.metadata = check_metadata(getattr(namespace, "metadata", None))


@usage_errors
def validate_thread_create_metadata(namespace: Any) -> None:
    """--metadata of thread create: as above, and no empty value. `thread update --metadata k=` removes k (the
    service's merge patch), so a create that stored "k": "" would give the same words two meanings."""
    metadata = check_metadata(getattr(namespace, "metadata", None))
    for key, value in (metadata or {}).items():
        if value == "":
            raise InvalidArgumentValueError(
                f"--metadata '{key}=' has an empty value: K= removes a key only with thread update; give '{key}' a "
                "value or leave it out.")
    namespace.metadata = metadata


@usage_errors
def validate_retention_days(namespace: Any) -> None:
    """--retention-days N of thread create."""
    namespace.retention_days = check_retention_days(getattr(namespace, "retention_days", None))


@usage_errors
def validate_thread_update(namespace: Any) -> None:
    """thread update: at least one of --topic, --metadata, --retention-days, each valid."""
    topic = getattr(namespace, "topic", None)
    namespace.metadata = check_metadata(getattr(namespace, "metadata", None))
    namespace.retention_days = check_retention_days(getattr(namespace, "retention_days", None), allow_none=True)
    if topic is None and namespace.metadata is None and namespace.retention_days is None:
        raise InvalidArgumentValueError("Please specify at least one of --topic, --metadata, --retention-days.")
    if topic is not None:
        check_topic(topic)

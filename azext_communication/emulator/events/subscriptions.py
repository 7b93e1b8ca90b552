"""Event subscriptions: definition, filter, and parsing from every input (config file, admin API, --event-webhook).

Every parse error is a `ValueError` with one line that names the offending key and what is allowed, so the
command line, the config loader and the admin API can show it as it is.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from . import catalog

EVENT_GRID_SCHEMA = "EventGridSchema"
CLOUD_EVENT_SCHEMA = "CloudEventSchemaV1_0"
SCHEMAS = (EVENT_GRID_SCHEMA, CLOUD_EVENT_SCHEMA)
WEBHOOK = "WebHook"
EVENT_GRID_TOPIC = "EventGridTopic"  # publish to an Event Grid topic (emulator-defined type, see topic.py)
ENDPOINT_TYPES = (WEBHOOK, EVENT_GRID_TOPIC)

MAX_ATTEMPTS = 30
MAX_TTL_MINUTES = 1440
_NAME_RE = re.compile(r"^[A-Za-z0-9-]{3,64}$")

_KEYS = ("name", "endpoint", "eventDeliverySchema", "filter", "retryPolicy", "skipValidation", "endpointType",
         "topicKey")
_FILTER_KEYS = ("includedEventTypes", "subjectBeginsWith", "subjectEndsWith", "isSubjectCaseSensitive")
_RETRY_KEYS = ("maxDeliveryAttempts", "eventTimeToLiveInMinutes")


@dataclass(frozen=True)
class EventFilter:
    """Event Grid's basic filter: included types, subject prefix and suffix (case-insensitive by default)."""

    included_event_types: tuple[str, ...] | None = None  # None = every emitted chat event type
    subject_begins_with: str = ""
    subject_ends_with: str = ""
    case_sensitive: bool = False

    def matches(self, event_type: str, subject: str) -> bool:
        if self.included_event_types is not None and event_type not in self.included_event_types:
            return False
        if not self.case_sensitive:
            subject = subject.lower()
            return subject.startswith(self.subject_begins_with.lower()) and subject.endswith(
                self.subject_ends_with.lower())
        return subject.startswith(self.subject_begins_with) and subject.endswith(self.subject_ends_with)

    def to_json(self) -> dict:
        return {"includedEventTypes": list(self.included_event_types) if self.included_event_types else None,
                "subjectBeginsWith": self.subject_begins_with, "subjectEndsWith": self.subject_ends_with,
                "isSubjectCaseSensitive": self.case_sensitive}


@dataclass(frozen=True)
class Subscription:
    """What a subscription is (its state, counts and queue live in the delivery engine)."""

    name: str
    endpoint: str
    schema: str = EVENT_GRID_SCHEMA
    filter: EventFilter = field(default_factory=EventFilter)
    max_delivery_attempts: int = MAX_ATTEMPTS
    event_ttl_minutes: int = MAX_TTL_MINUTES
    validate: bool = True
    endpoint_type: str = WEBHOOK
    topic_key: str = field(default="", repr=False)  # the topic's access key (EventGridTopic): never shown

    @property
    def endpoint_base_url(self) -> str:
        """The endpoint without query or credentials: what output and logs show (a query may hold a key)."""
        return base_url(self.endpoint)

    def to_json(self) -> dict:
        """The public shape (list/show): never the full endpoint URL."""
        return {"name": self.name, "endpointType": self.endpoint_type, "endpointBaseUrl": self.endpoint_base_url,
                "eventDeliverySchema": self.schema, "filter": self.filter.to_json(),
                "retryPolicy": {"maxDeliveryAttempts": self.max_delivery_attempts,
                                "eventTimeToLiveInMinutes": self.event_ttl_minutes},
                "endpointValidation": "NotApplicable" if self.endpoint_type == EVENT_GRID_TOPIC
                else "Succeeded" if self.validate else "Skipped"}

    def to_record(self) -> dict:
        """The input shape, with the full endpoint (for the data folder; `parse` reads it back)."""
        return {"name": self.name, "endpoint": self.endpoint, "eventDeliverySchema": self.schema,
                "filter": self.filter.to_json(),
                "retryPolicy": {"maxDeliveryAttempts": self.max_delivery_attempts,
                                "eventTimeToLiveInMinutes": self.event_ttl_minutes},
                "skipValidation": not self.validate,
                **({"endpointType": self.endpoint_type, "topicKey": self.topic_key}
                   if self.endpoint_type == EVENT_GRID_TOPIC else {})}

    def same_target(self, other: Subscription) -> bool:
        return (self.endpoint, self.schema, self.endpoint_type, self.topic_key) == (
            other.endpoint, other.schema, other.endpoint_type, other.topic_key)


def base_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _is_local(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(url: object, where: str = "endpoint") -> str:
    """An absolute https URL, or http for localhost / loopback only (e.g. an Azure Functions host)."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"{where}: a URL is required")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError(f"{where}: '{base_url_safe(url)}' is not a valid URL") from None
    del port
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{where}: '{base_url_safe(url)}' is not an http(s) URL with a host")
    if parts.scheme == "http" and not _is_local(parts.hostname):
        raise ValueError(f"{where}: http is allowed only for localhost endpoints; use https for "
                         f"'{base_url_safe(url)}'")
    if any(ch.isspace() for ch in url.strip()):
        raise ValueError(f"{where}: the URL must not contain spaces")
    return url.strip()


def base_url_safe(url: str) -> str:
    try:
        return base_url(url)
    except ValueError:
        return url.split("?", 1)[0][:200]


def _check_keys(obj: object, allowed: tuple[str, ...], where: str) -> dict:
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected a JSON object")
    unknown = [k for k in obj if k not in allowed]
    if unknown:
        raise ValueError(f"{where}: unknown key '{unknown[0]}' (allowed: {', '.join(allowed)})")
    return obj


def _int(value: object, low: int, high: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{where}: expected an integer from {low} to {high}")
    return value


def _str(value: object, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected a string")
    return value


def check_name(name: object, where: str = "name") -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"{where}: a subscription name is 3 to 64 letters, digits or hyphens")
    return name


def _one_of(value: object, choices: tuple[str, ...], where: str) -> str:
    """One of `choices` in any case, as spelled there (the first when absent); ValueError naming them."""
    if value is None:
        return choices[0]
    for choice in choices:
        if isinstance(value, str) and value.lower() == choice.lower():
            return choice
    raise ValueError(f"{where}: expected {' or '.join(choices)}")


def check_schema(value: object, where: str = "eventDeliverySchema") -> str:
    return _one_of(value, SCHEMAS, where)


def check_event_types(value: object, where: str = "includedEventTypes") -> tuple[str, ...] | None:
    """Canonical type names; None (every type) for null, [] or ["All"]."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: expected a list of event type names")
    if not value or any(v.strip().lower() == "all" for v in value):
        return None
    try:
        return tuple(dict.fromkeys(catalog.canonical(v) for v in value))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def check_endpoint_type(value: object, where: str = "endpointType") -> str:
    return _one_of(value, ENDPOINT_TYPES, where)


def check_topic_key(kind: str, key: object, where: str = "topicKey") -> str:
    """The access key an EventGridTopic needs (sent as aeg-sas-key); refused for any other endpoint type."""
    if kind != EVENT_GRID_TOPIC:
        if key is not None:
            raise ValueError(f"{where}: only for endpointType {EVENT_GRID_TOPIC}")
        return ""
    if not isinstance(key, str) or not key.strip():
        raise ValueError(f"{where}: an {EVENT_GRID_TOPIC} endpoint needs the topic's access key")
    if any(ch in key for ch in "\r\n"):
        raise ValueError(f"{where}: the key must be one line")
    return key.strip()


def parse(obj: object, where: str = "subscription") -> Subscription:
    """A subscription from its JSON input shape (config entry, admin API body, stored record)."""
    d = _check_keys(obj, _KEYS, where)
    name = check_name(d.get("name"), f"{where}: name")
    endpoint = check_endpoint(d.get("endpoint"), f"{where}: endpoint")
    schema = check_schema(d.get("eventDeliverySchema"), f"{where}: eventDeliverySchema")
    f = _check_keys(d.get("filter") or {}, _FILTER_KEYS, f"{where}: filter")
    case = f.get("isSubjectCaseSensitive", False)
    if not isinstance(case, bool):
        raise ValueError(f"{where}: filter.isSubjectCaseSensitive: expected true or false")
    flt = EventFilter(check_event_types(f.get("includedEventTypes"), f"{where}: filter.includedEventTypes"),
                      _str(f.get("subjectBeginsWith"), f"{where}: filter.subjectBeginsWith"),
                      _str(f.get("subjectEndsWith"), f"{where}: filter.subjectEndsWith"), case)
    r = _check_keys(d.get("retryPolicy") or {}, _RETRY_KEYS, f"{where}: retryPolicy")
    attempts = _int(r.get("maxDeliveryAttempts", MAX_ATTEMPTS), 1, MAX_ATTEMPTS,
                    f"{where}: retryPolicy.maxDeliveryAttempts")
    ttl = _int(r.get("eventTimeToLiveInMinutes", MAX_TTL_MINUTES), 1, MAX_TTL_MINUTES,
               f"{where}: retryPolicy.eventTimeToLiveInMinutes")
    skip = d.get("skipValidation", False)
    if not isinstance(skip, bool):
        raise ValueError(f"{where}: skipValidation: expected true or false")
    kind = check_endpoint_type(d.get("endpointType"), f"{where}: endpointType")
    key = check_topic_key(kind, d.get("topicKey"), f"{where}: topicKey")
    if kind == EVENT_GRID_TOPIC:
        skip = True  # a topic has no validation handshake: publishing is authorised by its key
    return Subscription(name, endpoint, schema, flt, attempts, ttl, not skip, kind, key)


def from_webhook(url: str, index: int) -> Subscription:
    """`--event-webhook URL`: every chat event, Event Grid schema, validated at start."""
    return Subscription(f"webhook-{index}", check_endpoint(url, "--event-webhook"))


def load_config(path: str | Path) -> list[Subscription]:
    """`--events-config FILE`: `{"subscriptions": [ {...}, ... ]}`; names must be unique (case-insensitive)."""
    where = f"events config {path}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{where}: cannot read the file ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    doc = _check_keys(doc, ("subscriptions",), where)
    items = doc.get("subscriptions")
    if not isinstance(items, list):
        raise ValueError(f"{where}: 'subscriptions' must be a list")
    subs = [parse(item, f"{where}: subscriptions[{i}]") for i, item in enumerate(items)]
    check_unique(subs, where)
    return subs


def check_unique(subs: list[Subscription], where: str) -> None:
    seen: set[str] = set()
    for s in subs:
        if s.name.lower() in seen:
            raise ValueError(f"{where}: duplicate subscription name '{s.name}'")
        seen.add(s.name.lower())



@dataclass(frozen=True)
class EventSettings:
    """The events options of `emulator start` (all checked by `declared()` before anything starts)."""

    webhooks: tuple[str, ...] = ()
    config: str | None = None
    retry_scale: float = 1.0
    include_actor: bool = False
    typing: bool = False  # --events-typing: ChatTypingIndicatorReceivedInThread per typing notification
    sequence_id: bool = True  # --events-no-sequence-id: message events without sequenceId (Learn-only fidelity)

    def declared(self) -> list[Subscription]:
        """Subscriptions from --event-webhook and --events-config; ValueError (one line) for bad input."""
        if not (isinstance(self.retry_scale, (int, float)) and 0 < self.retry_scale <= 1000):
            raise ValueError("--event-retry-scale must be a number greater than 0 and at most 1000")
        subs = [from_webhook(url, i) for i, url in enumerate(self.webhooks, 1)]
        if self.config:
            subs += load_config(self.config)
        check_unique(subs, "--event-webhook / --events-config")
        return subs

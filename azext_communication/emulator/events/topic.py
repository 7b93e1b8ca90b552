"""Delivery target: publish to an Event Grid topic, as any publisher does (not as Event Grid delivers to a webhook).

    POST https://<topic-host>/api/events?api-version=2018-01-01
    aeg-sas-key: <topic access key>
    body: a JSON array of events (Event Grid schema, application/json) or of CloudEvents
          (application/cloudevents-batch+json)

So the emulator can feed a real Event Grid topic or a local simulator (for example the Azure Event Grid Simulator)
and through it whatever handlers users already run (Service Bus, Event Hubs, Functions). A topic does no
validation handshake. In the Event Grid schema the `topic` field is left out: Event Grid refuses a `topic` that
is not the topic's own resource id and stamps that id itself (CloudEvents keep `source`, which is free).
A topic answers 200 on success; 401/403 (a refused key) and 400/413 are not retried (the engine dead-letters
them at once with the status and the topic's message).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from . import payloads
from .targets import HttpEndpoint, Result

API_VERSION = "2018-01-01"
EG_TYPE = "application/json; charset=utf-8"
CE_BATCH_TYPE = "application/cloudevents-batch+json; charset=utf-8"
_EXCERPT = 200


def publish_url(endpoint: str) -> str:
    """The topic endpoint with `/api/events` and `api-version` filled in when the user left them out."""
    parts = urlsplit(endpoint)
    path = parts.path.rstrip("/")
    if not path.endswith("/api/events"):
        path += "/api/events"
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.setdefault("api-version", API_VERSION)
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))


class EventGridTopicTarget:
    """One keep-alive connection to one Event Grid topic; the same three methods as `WebhookTarget`."""

    def __init__(self, endpoint: str, key: str, cloud: bool = False, timeout: float = 30.0) -> None:
        if not key:
            raise ValueError("an Event Grid topic needs its access key (topicKey)")
        self.key = key
        self.cloud = cloud
        self.http = HttpEndpoint(publish_url(endpoint), timeout)

    def handshake(self) -> None:
        """Topics have no validation handshake: publishing is authorised by the key alone."""

    def body(self, event: dict) -> bytes:
        if self.cloud:
            return json.dumps([payloads.to_cloud_event(event)], separators=(",", ":")).encode()
        return json.dumps([{k: v for k, v in event.items() if k != "topic"}], separators=(",", ":")).encode()

    def deliver(self, event: dict, delivery_count: int) -> Result:
        headers = {"Content-Type": CE_BATCH_TYPE if self.cloud else EG_TYPE, "aeg-sas-key": self.key}
        status, outcome, _, data = self.http.request("POST", self.body(event), headers)
        return Result(status, outcome, data[:_EXCERPT].decode("utf-8", "replace") if status is not None else "")

    def close(self) -> None:
        self.http.close()

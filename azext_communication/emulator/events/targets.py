"""Delivery targets: how one event reaches one destination (one POST), and the endpoint validation handshake.

A target knows HTTP; it knows nothing of queues, retries or dead-lettering (`engine.py`). A new destination
type (e.g. an Event Grid topic) is a new class with the same three methods: `handshake()`, `deliver()`, `close()`.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from . import catalog, http1, payloads
from .subscriptions import CLOUD_EVENT_SCHEMA, Subscription

ORIGIN = "eventgrid.azure.net"  # decision 9
EG_TYPE = "application/json; charset=utf-8"
CE_TYPE = "application/cloudevents+json; charset=utf-8"
_EXCERPT = 200


@dataclass(frozen=True)
class Result:
    """What one delivery attempt gave: an HTTP status, or None with the transport outcome."""

    status: int | None
    outcome: str  # Event Grid's lastDeliveryOutcome vocabulary (Success, TimedOut, SocketError, NotFound, ...)
    excerpt: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status <= 204


class ValidationFailed(Exception):  # noqa: N818 - reads as the outcome it reports
    """The endpoint did not complete the validation handshake (the message says why, in one line)."""


class Target(Protocol):
    def handshake(self) -> None: ...

    def deliver(self, event: dict, delivery_count: int) -> Result: ...

    def close(self) -> None: ...


_OUTCOMES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 408: "TimedOut",
             413: "PayloadTooLarge", 429: "Busy", 503: "Busy"}


def outcome_of(status: int) -> str:
    if 200 <= status <= 204:
        return "Success"
    return _OUTCOMES.get(status, "Aborted")


def ssl_context() -> ssl.SSLContext:
    """The normal trust store, plus the bundle REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE point at (if any)."""
    ctx = ssl.create_default_context()
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        bundle = os.environ.get(var)
        if bundle and os.path.isfile(bundle):
            ctx.load_verify_locations(cafile=bundle)
    return ctx


class HttpEndpoint:
    """One keep-alive connection to one URL (see `http1.py`); reconnects after any transport error."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.https else 80)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.timeout = timeout
        self._conn = http1.Connection(self.host, self.port, ssl_context() if self.https else None, timeout)

    def request(self, method: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str, dict, bytes]:
        """(status, outcome, lower-cased headers, body); status None for a transport failure."""
        try:
            status, hdrs, data = self._conn.request(method, self.path, headers, body)
            return status, outcome_of(status), hdrs, data
        except TimeoutError:
            self.close()
            return None, "TimedOut", {}, b""
        except socket.gaierror:
            self.close()
            return None, "ResolutionError", {}, b""
        except ssl.SSLError as exc:
            self.close()
            return None, f"SocketError: TLS: {exc.reason or exc}", {}, b""
        except OSError as exc:
            self.close()
            return None, f"SocketError: {type(exc).__name__}", {}, b""

    def close(self) -> None:
        self._conn.close()


class WebhookTarget:
    """POST one event per request, as Event Grid delivers to a webhook (spec 5.1-5.4)."""

    def __init__(self, sub: Subscription, topic: str, timeout: float = 30.0, retry_delay: float = 5.0,
                 validation_url: str = "") -> None:
        self.sub = sub
        self.topic = topic
        self.timeout = timeout
        self.retry_delay = retry_delay
        self.validation_url = validation_url
        self.cloud = sub.schema == CLOUD_EVENT_SCHEMA
        self.http = HttpEndpoint(sub.endpoint, timeout)
        self._name = sub.name.upper()  # decision 8

    # ------------------------------------------------------------------ validation
    def handshake(self, attempts: int = 3) -> None:
        """Validate before the first delivery; raises ValidationFailed after `attempts` tries (5 s apart)."""
        reason = ""
        for i in range(attempts):
            if i:
                time.sleep(self.retry_delay)
            reason = self._options() if self.cloud else self._validation_event()
            if not reason:
                return
        where = self.sub.endpoint_base_url
        raise ValidationFailed(f"endpoint validation of subscription '{self.sub.name}' ({where}) failed: {reason}")

    def _validation_event(self) -> str:
        code = str(uuid.uuid4())
        url = f"{self.validation_url}?id={code}" if self.validation_url else ""
        event = payloads.validation_event(self.topic, code, url, int(time.time() * 1000))
        body = json.dumps([event], separators=(",", ":")).encode()
        headers = {"Content-Type": EG_TYPE, "aeg-event-type": "SubscriptionValidation",
                   "aeg-subscription-name": self._name, "aeg-delivery-count": "0",
                   "aeg-metadata-version": "1", "aeg-data-version": "1"}
        status, outcome, _, data = self.http.request("POST", body, headers)
        if status is None:
            return f"{outcome} (within {self.timeout:g} s)" if outcome == "TimedOut" else outcome
        if status != 200:
            return f"it answered HTTP {status} (only 200 with the validationResponse is accepted)"
        try:
            answer = json.loads(data)
        except ValueError:
            answer = None
        got = answer.get("validationResponse") if isinstance(answer, dict) else None
        if not isinstance(got, str) or got.lower() != code.lower():
            return "its answer did not echo the validationCode as {\"validationResponse\": \"<code>\"}"
        return ""

    def _options(self) -> str:
        headers = {"WebHook-Request-Origin": ORIGIN, "WebHook-Request-Rate": "120"}
        status, outcome, hdrs, _ = self.http.request("OPTIONS", b"", headers)
        if status is None:
            return outcome
        allowed = hdrs.get("webhook-allowed-origin", "")
        if allowed.strip() not in (ORIGIN, "*"):
            return (f"the OPTIONS answer (HTTP {status}) had no WebHook-Allowed-Origin header with "
                    f"'{ORIGIN}' or '*'")
        return ""

    # ------------------------------------------------------------------ delivery
    def body(self, event: dict) -> bytes:
        """The request body in the subscription's schema (array of one, or one CloudEvent object)."""
        if self.cloud:
            return json.dumps(payloads.to_cloud_event(event), separators=(",", ":")).encode()
        return json.dumps([event], separators=(",", ":")).encode()

    def deliver(self, event: dict, delivery_count: int) -> Result:
        headers = {"Content-Type": CE_TYPE if self.cloud else EG_TYPE, "aeg-event-type": "Notification",
                   "aeg-subscription-name": self._name, "aeg-delivery-count": str(delivery_count),
                   "aeg-metadata-version": "1.0" if self.cloud else catalog.METADATA_VERSION,
                   "aeg-output-event-id": event["id"]}
        if self.cloud:
            headers["Origin"] = ORIGIN
        else:
            headers["aeg-data-version"] = event.get("dataVersion", catalog.DATA_VERSION)
        status, outcome, _, data = self.http.request("POST", self.body(event), headers)
        if status is None or 200 <= status <= 204:
            return Result(status, outcome)
        return Result(status, outcome, data[:_EXCERPT].decode("utf-8", "replace"))

    def close(self) -> None:
        self.http.close()

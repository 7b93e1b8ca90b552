"""Dead-lettered events: appended as JSON lines, one file per subscription, in the emulator's folder.

The record is the event in the subscription's schema plus Event Grid's dead-letter fields (spec 5.7):
`deadLetterReason`, `deliveryAttempts`, `lastDeliveryOutcome`, `publishTime`, `lastDeliveryAttemptTime` (lower-case
extension attributes for CloudEvents), and, emulator-defined, the last HTTP status and an excerpt of its body.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from ..files import open_private, private_folder
from . import payloads

log = logging.getLogger("azext_communication.emulator")

MAX_ATTEMPTS_EXCEEDED = "MaxDeliveryAttemptsExceeded"
TTL_EXCEEDED = "TimeToLiveExceeded"
NON_RETRIABLE = "NonRetriableError"
QUEUE_FULL = "QueueFull"  # emulator-defined: the subscription's bounded queue was full


class DeadLetterSink:
    """`<folder>/deadletter/<SUBSCRIPTION-NAME>.jsonl` (upper case, like Event Grid's blob names)."""

    def __init__(self, folder: str | Path | None) -> None:
        self.folder = Path(folder) / "deadletter" if folder is not None else None
        self._lock = threading.Lock()

    def path(self, name: str) -> Path | None:
        return self.folder / f"{name.upper()}.jsonl" if self.folder is not None else None

    def write(self, name: str, event: dict, cloud: bool, reason: str, attempts: int, outcome: str,
              publish_ms: int, last_attempt_ms: int | None, status: int | None = None, excerpt: str = "") -> None:
        fields = {"deadLetterReason": reason, "deliveryAttempts": attempts, "lastDeliveryOutcome": outcome,
                  "publishTime": payloads.event_time(publish_ms)}
        if last_attempt_ms is not None:
            fields["lastDeliveryAttemptTime"] = payloads.event_time(last_attempt_ms)
        if status is not None:
            fields["lastHttpStatusCode"] = status
            fields["lastHttpResponseExcerpt"] = excerpt
        if cloud:
            record = {**payloads.to_cloud_event(event), **{k.lower(): v for k, v in fields.items()}}
        else:
            record = {**event, **fields}
        line = json.dumps(record, separators=(",", ":")) + "\n"
        path = self.path(name)
        log.warning("event %s dead-lettered for subscription %s: %s after %d attempt(s) (%s)",
                    event["eventType"], name, reason, attempts, outcome)
        if path is None:
            return
        with self._lock:
            try:
                private_folder(path.parent)
                with open_private(path, "a", encoding="utf-8") as fh:
                    fh.write(line)
            except OSError as exc:
                log.error("could not write the dead-letter file %s: %s", path, exc)

"""Chat events of the emulator: what the real service publishes to Event Grid, delivered to webhooks.

The model records what happened in an `Outbox` (`observer`: one fact per chat write, in the write's store
transaction). The `EventService` owns the subscriptions (`subscriptions`), persists them and hands the facts to a
`deliverer.Deliverer` in its own process (`link`), which turns each fact into events (`payloads`), filters them
per subscription and queues them on one `engine.Worker` per subscription; the worker schedules attempts, retries
and dead-letters (`deadletter`) and sends through a target (`targets`, over `http1`). None of these modules
knows the emulator's HTTP layer; `admin.route` is what the wire layer calls for /admin/eventSubscriptions.
"""

from __future__ import annotations

from .outbox import Outbox
from .service import EventService

__all__ = ["EventService", "Outbox"]

"""Chat events of the emulator: what the real service publishes to Event Grid, delivered to webhooks.

The model records what happened in an `Outbox` (in the same store transaction as the chat write); the
`EventService` fans each fact out into events (`payloads`), filters them per subscription (`subscriptions`) and
hands them to one `engine.Worker` per subscription, which schedules attempts, retries and dead-letters
(`deadletter`) and sends through a target (`targets`). None of these modules knows the emulator's HTTP layer;
`admin.route` is what the wire layer calls for /admin/eventSubscriptions.
"""

from __future__ import annotations

from .outbox import Outbox
from .service import EventService

__all__ = ["EventService", "Outbox"]

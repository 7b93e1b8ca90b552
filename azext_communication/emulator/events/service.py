"""The events side of the emulator: subscriptions, the dispatcher that fans facts out, checkpoints.

    outbox (model writes) -> dispatcher thread (builds events, filters) -> one Worker per subscription -> target

With a data folder, subscriptions (definition, progress, counts) are records of kind `eventsub`; every
`CHECKPOINT_SECONDS` the dispatcher saves each worker's progress and deletes the facts every subscription has
handled. After a crash, facts from a subscription's last checkpoint on are delivered again (at least once).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from ..errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from ..store import Store
from . import payloads
from .deadletter import DeadLetterSink
from .engine import DEFAULT_CAPACITY, Counts, Worker
from .outbox import Outbox
from .subscriptions import Subscription, parse
from .targets import Target, ValidationFailed, WebhookTarget

log = logging.getLogger("azext_communication.emulator")

SUB_KIND = "eventsub"
CHECKPOINT_SECONDS = 0.5


class EventService:
    """Owns the subscriptions and their workers; the admin API and the start-up options call it."""

    def __init__(self, store: Store, outbox: Outbox, topic: str, folder: str | Path | None = None,
                 retry_scale: float = 1.0, include_actor: bool = False, capacity: int = DEFAULT_CAPACITY,
                 validation_base: str = "") -> None:
        if not retry_scale > 0:
            raise ValueError("--event-retry-scale must be a number greater than 0")
        self.store = store
        self.outbox = outbox
        self.topic = topic
        self.sink = DeadLetterSink(folder)
        self.scale = retry_scale
        self.include_actor = include_actor
        self.capacity = capacity
        self.validation_base = validation_base.rstrip("/")
        self.timeout = max(2.0, 30.0 * min(retry_scale, 1.0))  # the 30 s delivery timeout, compressed with it
        self._workers: dict[str, Worker] = {}  # lower-cased name -> worker
        self._admin = threading.Lock()  # create/delete, one at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_checkpoint = 0.0

    # ------------------------------------------------------------------ targets
    def make_target(self, sub: Subscription) -> Target:
        """The destination of a subscription (WebHook today; other endpoint types plug in here)."""
        url = f"{self.validation_base}/admin/eventSubscriptions/{sub.name}/validate" if self.validation_base else ""
        return WebhookTarget(sub, self.topic, timeout=self.timeout, retry_delay=5.0 * self.scale,
                             validation_url=url)

    def _worker(self, sub: Subscription, from_seq: int, counts: Counts | None = None) -> Worker:
        return Worker(sub, self.make_target(sub), self.sink, self.scale, self.capacity, from_seq, counts)

    # ------------------------------------------------------------------ lifecycle
    def start(self, declared: list[Subscription] | None = None) -> EventService:
        """Load stored subscriptions, add the declared ones (validating new targets), resume, start delivering.

        Raises BadRequest (one line) when a declared endpoint fails its validation.
        """
        facts = self.outbox.load()
        stored: dict[str, tuple[Subscription, int, Counts]] = {}
        for _, rec in self.store.load(SUB_KIND):
            try:
                sub = parse(rec["definition"])
            except (KeyError, ValueError) as exc:
                log.warning("ignoring a stored event subscription that cannot be read: %s", exc)
                continue
            c = rec.get("counts") or {}
            stored[sub.name.lower()] = (sub, int(rec.get("doneBelow", self.outbox.seq + 1)),
                                        Counts(c.get("delivered", 0), c.get("failed", 0), c.get("deadLettered", 0)))
        self.outbox.seq = max([self.outbox.seq, *(done - 1 for _, done, _ in stored.values())])
        for sub in declared or []:
            old = stored.get(sub.name.lower())
            if old is None or not old[0].same_target(sub):
                self._validate(sub)
            done_below = old[1] if old else self.outbox.seq + 1
            stored[sub.name.lower()] = (sub, done_below, old[2] if old else Counts())
        for key, (sub, done_below, counts) in stored.items():
            self._workers[key] = self._worker(sub, done_below - 1, counts).start()
            self._save(self._workers[key])
        self.outbox.active = bool(self._workers)
        self.store.wait_durable()
        for fact in facts:  # what the last run had not delivered everywhere, in the original order
            self._fan(fact)
        self._thread = threading.Thread(target=self._run, name="acs-events-dispatch", daemon=True)
        self._thread.start()
        if self._workers:
            log.info("delivering chat events to %d subscription(s): %s", len(self._workers),
                     ", ".join(f"{w.sub.name} ({w.sub.endpoint_base_url})" for w in self._workers.values()))
        return self

    def stop(self) -> None:
        """Stop delivering; with a data folder, progress is saved so the next start resumes from here."""
        self._stop.set()
        self.outbox.wake()
        if self._thread is not None:
            self._thread.join(5)
        for w in list(self._workers.values()):
            w.stop()
        if self.store.persistent:
            try:
                self._checkpoint(force=True)
            except Exception as exc:  # closing must not fail because the disk did
                log.warning("could not save the event delivery progress: %s", exc)

    # ------------------------------------------------------------------ dispatcher
    def _run(self) -> None:
        while not self._stop.is_set():
            facts = self.outbox.take(CHECKPOINT_SECONDS)
            try:
                if facts:
                    self.store.wait_durable()  # deliver only what is committed
                    for fact in facts:
                        self._fan(fact)
                if self.store.persistent and time.monotonic() - self._last_checkpoint >= CHECKPOINT_SECONDS:
                    self._checkpoint()
            except ServiceUnavailable:
                log.error("the data folder cannot be written: chat events are no longer delivered")
                return
            except Exception:
                log.exception("event dispatch failed")

    def _fan(self, fact: dict) -> None:
        events: list[dict] | None = None
        for w in list(self._workers.values()):
            if fact["seq"] <= w.from_seq:
                continue
            if events is None:
                events = payloads.build_events(fact, self.topic, self.include_actor)
            flt = w.sub.filter
            w.offer(fact["seq"], fact["thread"]["id"], [e for e in events if flt.matches(e["eventType"], e["subject"])],
                    fact["at"])

    def _save(self, w: Worker) -> None:
        if self.store.persistent:
            counts = w.snapshot()
            self.store.put(SUB_KIND, w.sub.name.lower(), {"definition": w.sub.to_record(),
                                                          "doneBelow": w.done_below(), "counts": counts})

    def _checkpoint(self, force: bool = False) -> None:
        self._last_checkpoint = time.monotonic()
        workers = list(self._workers.values())
        changed = [w for w in workers if w.changed or force]
        with self.store.transaction():
            for w in changed:
                w.changed = False
                self._save(w)
            floor = min((w.done_below() for w in workers), default=self.outbox.seq + 1)
            self.outbox.forget_below(floor)

    # ------------------------------------------------------------------ admin operations
    def _validate(self, sub: Subscription) -> None:
        if not sub.validate:
            return
        target = self.make_target(sub)
        try:
            target.handshake()
        except ValidationFailed as exc:
            raise BadRequest(str(exc), code="EndpointValidationFailed") from None
        finally:
            target.close()

    def create(self, body: object) -> dict:
        """Add a subscription (admin API): validated first, then it receives events recorded from now on."""
        try:
            sub = parse(body)
        except ValueError as exc:
            raise BadRequest(str(exc), code="InvalidSubscription") from None
        with self._admin:
            if sub.name.lower() in self._workers:
                raise Conflict(f"A subscription named '{sub.name}' already exists.", code="SubscriptionExists")
            self._validate(sub)
            with self.outbox.lock:  # no fact is missed or doubled between reading seq and registering
                w = self._worker(sub, self.outbox.seq)
                self._workers[sub.name.lower()] = w
                self.outbox.active = True
            w.start()
            with self.store.transaction():
                self._save(w)
            self.store.wait_durable()
        log.info("event subscription %s created (%s, %s)", sub.name, sub.endpoint_base_url, sub.schema)
        return self.describe(w)

    def delete(self, name: str) -> None:
        with self._admin:
            w = self._workers.get(name.lower())
            if w is None:
                raise NotFound(f"No event subscription named '{name}'.", code="SubscriptionNotFound")
            with self.outbox.lock:
                del self._workers[name.lower()]
                self.outbox.active = bool(self._workers)
            w.stop()
            if self.store.persistent:
                with self.store.transaction():
                    self.store.delete(SUB_KIND, name.lower())
                self.store.wait_durable()
        log.info("event subscription %s deleted", w.sub.name)

    def get(self, name: str) -> dict:
        w = self._workers.get(name.lower())
        if w is None:
            raise NotFound(f"No event subscription named '{name}'.", code="SubscriptionNotFound")
        return self.describe(w)

    def list(self) -> list[dict]:
        return [self.describe(w) for w in sorted(self._workers.values(), key=lambda w: w.sub.name.lower())]

    @staticmethod
    def describe(w: Worker) -> dict:
        return {**w.sub.to_json(), **w.snapshot()}

    # ------------------------------------------------------------------ for tests and benchmarks
    def workers(self) -> list[Worker]:
        return list(self._workers.values())

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once every fact recorded so far is handed out and every worker has an empty queue."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seq = self.outbox.seq
            if not self.outbox.queued() and all(w.idle() and w.progress.fanned >= seq for w in self.workers()):
                return True
            time.sleep(0.01)
        return False

"""The events side of the emulator: subscriptions, the dispatcher that hands facts to the deliverer, checkpoints.

    model -> outbox -> dispatcher thread -> Link -> Deliverer (own process): a Worker per subscription -> target

With a data folder, subscriptions (definition, progress, counts) are records of kind `eventsub`; every
`CHECKPOINT_SECONDS` the dispatcher saves the progress the deliverer reported and deletes the facts every
subscription has handled. After a crash, facts from a subscription's last saved progress on are delivered
again (at least once).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from ..errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from ..store import Store
from .deliverer import make_target
from .engine import DEFAULT_CAPACITY
from .link import LocalLink, ProcessLink
from .outbox import Outbox
from .subscriptions import Subscription, parse
from .targets import ValidationFailed

log = logging.getLogger("azext_communication.emulator")

SUB_KIND = "eventsub"
CHECKPOINT_SECONDS = 0.5
GATHER_SECONDS = 0.002
_ZERO = {"delivered": 0, "failed": 0, "pending": 0, "deadLettered": 0}


class EventService:
    """Owns the subscriptions; the admin API and the start-up options call it (see the module doc).

    `separate_process=False` keeps the deliverer in this process (unit tests); the emulator runs it apart.
    """

    def __init__(self, store: Store, outbox: Outbox, topic: str, folder: str | Path | None = None,
                 retry_scale: float = 1.0, include_actor: bool = False, capacity: int = DEFAULT_CAPACITY,
                 validation_base: str = "", separate_process: bool = False) -> None:
        if not retry_scale > 0:
            raise ValueError("--event-retry-scale must be a number greater than 0")
        self.store = store
        self.outbox = outbox
        self.topic = topic
        self.folder = str(folder) if folder is not None else None
        self.scale = retry_scale
        self.include_actor = include_actor
        self.capacity = capacity
        self.validation_base = validation_base.rstrip("/")
        self.separate_process = separate_process
        self.link: LocalLink | ProcessLink | None = None
        self._subs: dict[str, Subscription] = {}  # lower-cased name -> definition
        self._saved: dict[str, dict] = {}  # lower-cased name -> progress as last stored
        self._admin = threading.Lock()  # create/delete, one at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_checkpoint = 0.0

    # ------------------------------------------------------------------ lifecycle
    def _add(self, sub: Subscription, from_seq: int, counts: dict | None = None) -> None:
        self._subs[sub.name.lower()] = sub
        self.link.send({"op": "add", "sub": sub.to_record(), "from": from_seq, "counts": counts or {}})

    def start(self, declared: list[Subscription] | None = None) -> EventService:
        """Load stored subscriptions, add the declared ones (validating new targets), resume, start delivering.

        Raises BadRequest (one line) when a declared endpoint fails its validation.
        """
        facts = self.outbox.load()
        stored: dict[str, tuple[Subscription, int, dict]] = {}
        for _, rec in self.store.load(SUB_KIND):
            try:
                sub = parse(rec["definition"])
            except (KeyError, ValueError) as exc:
                log.warning("ignoring a stored event subscription that cannot be read: %s", exc)
                continue
            stored[sub.name.lower()] = (sub, int(rec.get("doneBelow", self.outbox.seq + 1)), rec.get("counts") or {})
        self.outbox.seq = max([self.outbox.seq, *(done - 1 for _, done, _ in stored.values())])
        for sub in declared or []:
            old = stored.get(sub.name.lower())
            if old is None or not old[0].same_target(sub):
                self._validate(sub)
            stored[sub.name.lower()] = (sub, old[1] if old else self.outbox.seq + 1, old[2] if old else {})
        settings = {"topic": self.topic, "folder": self.folder, "scale": self.scale,
                    "include_actor": self.include_actor, "capacity": self.capacity}
        self.link = ProcessLink(**settings) if self.separate_process and stored else LocalLink(**settings)
        for key, (sub, done_below, counts) in stored.items():
            self._add(sub, done_below - 1, counts)
            self._save(key, {"doneBelow": done_below, **counts})
        self.outbox.active = bool(self._subs)
        self.store.wait_durable()
        if facts:  # what the last run had not delivered everywhere, in the original order
            self.link.send({"op": "facts", "facts": facts})
        self._thread = threading.Thread(target=self._run, name="acs-events-dispatch", daemon=True)
        self._thread.start()
        if self._subs:
            log.info("delivering chat events to %d subscription(s): %s", len(self._subs),
                     ", ".join(f"{s.name} ({s.endpoint_base_url})" for s in self._subs.values()))
        return self

    def _ensure_process(self) -> None:
        """The first subscription created at run time starts the delivery process (none runs before)."""
        if self.separate_process and isinstance(self.link, LocalLink) and not self._subs:
            self.link.close()
            self.link = ProcessLink(self.topic, self.folder, self.scale, self.include_actor, self.capacity)

    def stop(self) -> None:
        """Stop delivering; with a data folder, progress is saved so the next start resumes from here."""
        self._stop.set()
        self.outbox.wake()
        if self._thread is not None:
            self._thread.join(5)
        if self.link is None:  # never started (a start-up validation failed)
            return
        if self.store.persistent:
            try:
                self._checkpoint()
            except Exception as exc:  # closing must not fail because the disk did
                log.warning("could not save the event delivery progress: %s", exc)
        if self.link is not None:
            self.link.close()

    # ------------------------------------------------------------------ dispatcher
    def _run(self) -> None:
        while not self._stop.is_set():
            facts = self.outbox.take(CHECKPOINT_SECONDS)
            try:
                if facts:
                    time.sleep(GATHER_SECONDS)  # let a burst gather: one hand-over (and wake-up) for several facts
                    facts += self.outbox.take(0)
                    self.store.wait_durable()  # deliver only what is committed
                    self.link.send({"op": "facts", "facts": facts})
                if self.store.persistent and time.monotonic() - self._last_checkpoint >= CHECKPOINT_SECONDS:
                    self._checkpoint()
            except ServiceUnavailable:
                log.error("the data folder cannot be written: chat events are no longer delivered")
                return
            except Exception:
                log.exception("event dispatch failed")

    def _save(self, key: str, progress: dict) -> None:
        if self.store.persistent and key in self._subs:
            self._saved[key] = progress
            self.store.put(SUB_KIND, key, {"definition": self._subs[key].to_record(),
                                           "doneBelow": progress["doneBelow"],
                                           "counts": {k: progress.get(k, 0) for k in _ZERO}})

    def _checkpoint(self) -> None:
        self._last_checkpoint = time.monotonic()
        status = self.link.status()
        with self.store.transaction():
            floor = self.outbox.seq + 1
            for key in list(self._subs):
                st = status.get(key)
                progress = ({"doneBelow": st["doneBelow"], **{k: st[k] for k in _ZERO}} if st
                            else self._saved.get(key, {"doneBelow": floor}))
                if progress != self._saved.get(key):
                    self._save(key, progress)
                floor = min(floor, progress["doneBelow"])
            self.outbox.forget_below(floor)

    # ------------------------------------------------------------------ admin operations
    def _validate(self, sub: Subscription) -> None:
        if not sub.validate:
            return
        url = f"{self.validation_base}/admin/eventSubscriptions/{sub.name}/validate" if self.validation_base else ""
        target = make_target(sub, self.topic, self.scale, url)
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
            key = sub.name.lower()
            if key in self._subs:
                raise Conflict(f"A subscription named '{sub.name}' already exists.", code="SubscriptionExists")
            self._validate(sub)
            self._ensure_process()
            with self.outbox.lock:  # no fact is missed or doubled between reading seq and registering
                from_seq = self.outbox.seq
                self._add(sub, from_seq)
                self.outbox.active = True
            with self.store.transaction():
                self._save(key, {"doneBelow": from_seq + 1, **_ZERO})
            self.store.wait_durable()
        log.info("event subscription %s created (%s, %s)", sub.name, sub.endpoint_base_url, sub.schema)
        return self.describe(key)

    def delete(self, name: str) -> None:
        with self._admin:
            key = name.lower()
            sub = self._subs.get(key)
            if sub is None:
                raise NotFound(f"No event subscription named '{name}'.", code="SubscriptionNotFound")
            with self.outbox.lock:
                del self._subs[key]
                self._saved.pop(key, None)
                self.link.send({"op": "remove", "name": key})
                self.outbox.active = bool(self._subs)
            if self.store.persistent:
                with self.store.transaction():
                    self.store.delete(SUB_KIND, key)
                self.store.wait_durable()
        log.info("event subscription %s deleted", sub.name)

    def get(self, name: str) -> dict:
        if name.lower() not in self._subs:
            raise NotFound(f"No event subscription named '{name}'.", code="SubscriptionNotFound")
        return self.describe(name.lower())

    def list(self) -> list[dict]:
        return [self.describe(key) for key in sorted(self._subs)]

    def describe(self, key: str) -> dict:
        st = self.link.status().get(key) if self.link is not None else None
        counts = {k: st[k] for k in _ZERO} if st else {k: self._saved.get(key, {}).get(k, 0) for k in _ZERO}
        return {**self._subs[key].to_json(), **counts}

    # ------------------------------------------------------------------ the web page
    def recent(self) -> dict:
        """The latest delivery attempts and dead letters (newest first), as the delivery process reported them."""
        if self.link is None:
            return {"attempts": [], "deadLetters": []}
        return self.link.journal.snapshot()

    @property
    def journal_version(self) -> int:
        """Changes whenever a delivery record arrives (the web page waits on it)."""
        return self.link.journal.version if self.link is not None else 0

    def redeliver(self, dl_id: str) -> None:
        """Deliver a dead-lettered event again (only the last ones are kept, in the delivery process)."""
        if self.link is None or not any(r.get("id") == dl_id and not r.get("redelivered")
                                        for r in self.link.journal.snapshot()["deadLetters"]):
            raise NotFound(f"No dead letter '{dl_id}' that can be delivered again.", code="DeadLetterNotFound")
        self.link.send({"op": "redeliver", "id": dl_id})
        self.link.journal.redelivered(dl_id)

    # ------------------------------------------------------------------ for tests and benchmarks
    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once every fact recorded so far is handed out and every queue is empty."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seq = self.outbox.seq
            status = self.link.status()
            if not self.outbox.queued() and all(
                    key in status and status[key]["idle"] and status[key]["fanned"] >= seq for key in self._subs):
                return True
            time.sleep(0.01)
        return False

"""The delivery side: facts in, events out, one `Worker` per subscription. Runs in its own process in the emulator.

Why a process: a delivery thread inside the emulator would get the GIL about as often as one of the request
threads, so under load it would deliver only a fraction of what is sent. The emulator (`service.py`) talks to it
through a `Link`: framed commands on stdin (`add`, `remove`, `facts`, `redeliver`, `stop`), JSON status lines on
stdout (per subscription: counts, `doneBelow`, `fanned`, `idle`; plus the `journal` records added since the line
before). Tests use the same class in-process (`LocalLink`).

    python -m azext_communication.emulator.events '<settings JSON>'
"""

from __future__ import annotations

import json
import logging
import pickle
import signal
import struct
import sys
import threading

from . import payloads
from .deadletter import DeadLetterSink
from .engine import DEFAULT_CAPACITY, Counts, Worker
from .journal import Journal
from .subscriptions import CLOUD_EVENT_SCHEMA, EVENT_GRID_TOPIC, Subscription, parse
from .targets import Target, WebhookTarget
from .topic import EventGridTopicTarget

log = logging.getLogger("azext_communication.emulator")

STATUS_SECONDS = 0.1


def make_target(sub: Subscription, topic: str, scale: float, validation_url: str = "") -> Target:
    """The destination of a subscription: a webhook, or an Event Grid topic the events are published to."""
    if sub.endpoint_type == EVENT_GRID_TOPIC:
        return EventGridTopicTarget(sub.endpoint, sub.topic_key, cloud=sub.schema == CLOUD_EVENT_SCHEMA,
                                    timeout=delivery_timeout(scale))
    return WebhookTarget(sub, topic, timeout=delivery_timeout(scale), retry_delay=5.0 * scale,
                         validation_url=validation_url)


def delivery_timeout(scale: float) -> float:
    """Event Grid's 30 s, compressed with the retry schedule but never below 2 s."""
    return max(2.0, 30.0 * min(scale, 1.0))


class Deliverer:
    """Fans facts out to the workers of the subscriptions that want them (see the module doc)."""

    def __init__(self, topic: str, folder: str | None, scale: float = 1.0, include_actor: bool = False,
                 capacity: int = DEFAULT_CAPACITY) -> None:
        self.topic = topic
        self.sink = DeadLetterSink(folder)
        self.scale = scale
        self.include_actor = include_actor
        self.capacity = capacity
        self.workers: dict[str, Worker] = {}
        self.journal = Journal()
        self.stopped = False

    def handle(self, msg: dict) -> None:
        op = msg["op"]
        if op == "facts":
            for fact in msg["facts"]:
                self._fan(fact)
        elif op == "add":
            sub = parse(msg["sub"])
            c = msg.get("counts") or {}
            counts = Counts(c.get("delivered", 0), c.get("failed", 0), c.get("deadLettered", 0))
            old = self.workers.pop(sub.name.lower(), None)
            if old is not None:
                old.stop()
            self.workers[sub.name.lower()] = Worker(sub, lambda: make_target(sub, self.topic, self.scale), self.sink,
                                                    self.scale, self.capacity, msg["from"], counts,
                                                    journal=self.journal).start()
        elif op == "remove":
            w = self.workers.pop(msg["name"].lower(), None)
            if w is not None:
                w.stop()
        elif op == "redeliver":
            self.redeliver(msg["id"])
        elif op == "stop":
            self.stop()

    def redeliver(self, dl_id: str) -> bool:
        """Queue a dead letter's event again on its subscription (False when it is no longer kept)."""
        kept = self.journal.take_event(dl_id)
        w = self.workers.get(kept[0].lower()) if kept else None
        if w is None:
            log.warning("dead letter %s can no longer be redelivered", dl_id)
            return False
        w.redeliver(kept[1], kept[2])
        log.info("event %s redelivered to subscription %s", kept[2].get("eventType"), w.sub.name)
        return True

    def _fan(self, fact: dict) -> None:
        events: list[dict] | None = None
        for w in list(self.workers.values()):
            if fact["seq"] <= w.from_seq:
                continue
            if events is None:
                events = payloads.build_events(fact, self.topic, self.include_actor)
            flt = w.sub.filter
            w.offer(fact["seq"], fact["thread"]["id"], [e for e in events if flt.matches(e["eventType"], e["subject"])],
                    fact["at"])

    def status(self) -> dict:
        return {key: {**w.snapshot(), "doneBelow": w.done_below(), "fanned": w.progress.fanned, "idle": w.idle()}
                for key, w in list(self.workers.items())}

    def stop(self) -> None:
        self.stopped = True
        for w in list(self.workers.values()):
            w.stop()


def main(argv: list[str] | None = None) -> int:
    """The delivery process: reads commands until stdin closes (the emulator stopped or died), reports status."""
    args = sys.argv[1:] if argv is None else argv
    settings = json.loads(args[0])
    for sig in (signal.SIGINT, signal.SIGTERM):  # Ctrl+C reaches the whole group: the emulator stops us (stdin)
        signal.signal(sig, signal.SIG_IGN)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(settings.get("logLevel", "INFO"))
    d = Deliverer(settings["topic"], settings.get("folder"), settings.get("scale", 1.0),
                  settings.get("includeActor", False), settings.get("capacity", DEFAULT_CAPACITY))
    out = sys.stdout
    done = threading.Event()

    def report() -> None:
        last, seen = None, 0
        while not done.wait(STATUS_SECONDS):
            status = d.status()
            records = d.journal.since(seen)
            if status != last or records:
                try:
                    out.write(json.dumps({"status": status, "journal": records}) + "\n")
                    out.flush()
                except (OSError, ValueError):
                    return
                last = status
                seen = records[-1]["seq"] if records else seen

    threading.Thread(target=report, name="acs-events-status", daemon=True).start()
    stdin = sys.stdin.buffer
    try:
        while not d.stopped:
            head = stdin.read(4)
            if len(head) < 4:
                break  # the emulator stopped or died
            data = stdin.read(struct.unpack("<I", head)[0])
            d.handle(pickle.loads(data))  # written by the emulator that started this process
    except KeyboardInterrupt:
        pass
    finally:
        done.set()
        d.stop()
    return 0


"""Follow a chat thread by polling `list_messages`: every new message once, in sequenceId order.

Why a module of its own: the SDK has no notifications, so `message watch` and `message wait` poll, and polling is
where messages get lost or repeated. The rules, each covered by tests/test_poller.py:

- Position is the sequenceId of the last message handed out (sequenceIds are per thread and increasing, for user
  and system messages alike). A poll asks for messages created at or after the service's own `createdOn` of that
  message, minus `REWIND` (the service gives whole seconds, and its timestamps may trail sequenceId order a
  little), newest first, and reads pages only until it meets a sequenceId already handed out: the start time keeps
  idle polls small, sequenceId alone decides what is new. If the position itself is no longer in that window, the
  poll reads again without a start time, back to the position.
- "Now" is the newest message the service has when the watch starts (one request with a page of 1), not the local
  clock: a local clock that is off changes nothing.
- `--after ID`: message ids are the service's epoch milliseconds, so the first request asks for messages from
  that time on and finds ID among them; only when it is not there is the message fetched by id (404: not in the
  thread). When the reply is already there, `wait` needs a single request.
- The thread client is one object for the whole run, so its pipeline keeps one kept-alive connection.
- Throttling (429), service errors (5xx) and dropped connections are retried by the SDK; when they persist, the
  poller backs off (doubling from the interval up to `MAX_BACKOFF`, so that a service that is back is seen within
  10 s however long it was away; longer only when the service's own Retry-After says so) and goes on from the same
  position, for as long as the outage lasts (or until `max_outage`, when given). `on_outage` hears of the first
  failure of an outage and `on_back` of the first answer after it: one line each, not one per retry. Any other
  error ends the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

PAGE_SIZE = 200
REWIND = timedelta(seconds=5)
MAX_BACKOFF = 8.0  # seconds between two polls during an outage: a service that is back is seen within 10 s
MAX_RETRY_AFTER = 60.0  # a longer Retry-After from the service is honoured up to this


@dataclass
class Position:
    """The last message handed out (or the newest one at the start): its sequenceId and the service's createdOn."""

    sequence_id: int | None = None
    created_on: datetime | None = None


class MessageNotInThreadError(LookupError):
    """`--after` names a message the thread does not have (or the caller cannot see)."""

    def __init__(self, message_id: str) -> None:
        super().__init__(message_id)
        self.message_id = message_id


def _seq(message: Any) -> int:
    return int(message.sequence_id)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def _id_time(message_id: str) -> datetime | None:
    """The creation time encoded in a message id (epoch ms), or None when the id is not of that form."""
    try:
        return datetime.fromtimestamp(int(message_id) / 1000, timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None


def transient_delay(ex: BaseException, attempt: int, interval: float) -> float | None:
    """Seconds to back off after `ex` (429, 5xx, dropped connection), or None when `ex` is not transient.

    A TLS verification failure is never transient (retrying cannot fix trust), nor is any 4xx but 429.
    """
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    delay = min(MAX_BACKOFF, interval * (2 ** min(attempt, 32)))
    if isinstance(ex, HttpResponseError) and getattr(ex, "status_code", None) is not None:
        status = ex.status_code
        if status != 429 and status < 500:
            return None
        retry_after = _retry_after(getattr(ex, "response", None))
        return max(delay, min(MAX_RETRY_AFTER, retry_after))
    if isinstance(ex, (ServiceRequestError, ServiceResponseError)):
        text = f"{ex} {getattr(ex, 'inner_exception', '')}"
        if "CERTIFICATE_VERIFY_FAILED" in text or "SSLError" in text or "[SSL" in text:
            return None
        return delay
    return None


def _retry_after(response: Any) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", 0)))
    except (AttributeError, TypeError, ValueError):
        return 0.0


class MessagePoller:
    """Hands out the thread's new messages, oldest first, each once.

    `client` is a ChatThreadClient (or anything with its `list_messages` and `get_message`). Choose where to begin
    with `after` (a message id), `start_time` (messages created at or after it), or neither (what arrives from now).
    """

    def __init__(self, client: Any, *, after: str | None = None, start_time: datetime | None = None,
                 page_size: int = PAGE_SIZE, rewind: timedelta = REWIND) -> None:
        self.client = client
        self.page_size = page_size
        self.rewind = rewind
        self.position = Position()
        self.requests = 0
        self._after = after
        self._start_time = _aware(start_time)
        self._started = False

    # ------------------------------------------------------------------------------------------ polling
    def poll(self) -> list[Any]:
        """The messages that are new since the last call (the first call places the start), oldest first."""
        if not self._started:
            new = self._begin()
            self._started = True
        elif self.position.sequence_id is None:
            new = self._read(self._start_time, None)[0]
        else:
            new = self._since_position()
        return self._advance(new)

    def _begin(self) -> list[Any]:
        if self._after is not None:
            return self._begin_after(self._after)
        if self._start_time is not None:
            return self._read(self._start_time, None)[0]
        # "now": the newest message the service has, without reading more than one of them
        first = next(iter(self.client.list_messages(results_per_page=1).by_page()), [])
        self.requests += 1
        for message in first:
            self.position = Position(_seq(message), _aware(message.created_on))
            break
        return []

    def _begin_after(self, message_id: str) -> list[Any]:
        since = _id_time(message_id)
        if since is not None:
            new, _ = self._read(since - self.rewind, None)
            anchor = next((m for m in new if m.id == message_id), None)
            if anchor is not None:
                self.position = Position(_seq(anchor), _aware(anchor.created_on))
                return [m for m in new if _seq(m) > self.position.sequence_id]
        from azure.core.exceptions import ResourceNotFoundError

        try:
            anchor = self.client.get_message(message_id)
        except ResourceNotFoundError:
            raise MessageNotInThreadError(message_id) from None
        finally:
            self.requests += 1
        self.position = Position(_seq(anchor), _aware(anchor.created_on))
        return self._since_position()

    def _since_position(self) -> list[Any]:
        stop = self.position.sequence_id
        since = self.position.created_on - self.rewind if self.position.created_on else None
        new, reached = self._read(since, stop)
        if not reached and since is not None:
            new, _ = self._read(None, stop)  # the time window missed the position: read back to it
        return new

    def _read(self, start_time: datetime | None, stop: int | None) -> tuple[list[Any], bool]:
        """Messages with a sequenceId above `stop`, reading pages newest first until one at or below `stop`.

        Returns them and whether a message at or below `stop` was met. A message that arrives while the pages are
        read has a higher sequenceId than any of them, so the next poll gets it.
        """
        pages = self.client.list_messages(results_per_page=self.page_size, start_time=start_time).by_page()
        found: dict[int, Any] = {}
        reached = False
        self.requests += 1
        first = True
        for page in pages:
            if not first:
                self.requests += 1
            first = False
            for message in page:
                seq = _seq(message)
                if stop is not None and seq <= stop:
                    reached = True
                    break
                found.setdefault(seq, message)
            if reached:
                break
        return list(found.values()), reached

    def _advance(self, new: list[Any]) -> list[Any]:
        new.sort(key=_seq)
        if new:
            last = new[-1]
            self.position = Position(_seq(last), _aware(last.created_on))
        return new

    # ------------------------------------------------------------------------------------------ following
    def follow(self, interval: float, timeout: float | None = None, *, clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep, max_outage: float | None = None,
               on_retry: Callable[[BaseException, float], None] | None = None,
               unreachable: Callable[[BaseException], bool] | None = None,
               on_outage: Callable[[BaseException, float], None] | None = None,
               on_back: Callable[[float], None] | None = None) -> Iterator[Any]:
        """Yield new messages as they arrive, polling every `interval` seconds, until `timeout` seconds passed.

        Polls are scheduled from the start (start + k * interval), so a slow answer does not shift later polls.
        A transient error moves the next poll back by the back-off delay instead; the position is kept.
        `unreachable(ex)` says that a connection error means a wrong endpoint (refused, unknown host): before the
        first answer that ends the follow at once; once the service has answered, it is an outage (a restart)
        and is backed off like the others. `on_retry(ex, delay)` hears of every back-off, `on_outage(ex, delay)`
        of the first of an outage and `on_back(seconds)` of the answer that ends one.
        """
        started = clock()
        deadline = None if timeout is None else started + timeout
        next_poll = started
        failures = 0
        answered = False
        outage_since: float | None = None
        while True:
            try:
                batch = self.poll()
            except Exception as ex:  # classified just below; anything not transient is re-raised
                delay = transient_delay(ex, failures, interval)
                now = clock()
                first = outage_since is None
                outage_since = now if first else outage_since
                if delay is None or (max_outage is not None and now - outage_since + delay > max_outage) or (
                        not answered and unreachable is not None and unreachable(ex)):
                    raise
                failures += 1
                if first and on_outage is not None:
                    on_outage(ex, delay)
                if on_retry is not None:
                    on_retry(ex, delay)
                next_poll = now + delay
            else:
                if outage_since is not None and on_back is not None:
                    on_back(clock() - outage_since)
                failures, outage_since, answered = 0, None, True
                yield from batch
                next_poll += interval
                now = clock()
                if next_poll < now:  # fell behind (a long answer): poll again at once, then keep the rhythm
                    next_poll = now
            if deadline is not None and next_poll > deadline:
                remaining = deadline - clock()
                if remaining > 0:
                    sleep(remaining)
                return
            wait = next_poll - clock()
            if wait > 0:
                sleep(wait)

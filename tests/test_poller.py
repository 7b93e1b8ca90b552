"""The poller behind `message watch` / `message wait`, against a scripted thread that pages like the service.

The fake thread lists newest first, pages of at most N, each page computed when it is asked for (continuing below the
last sequenceId handed out, as the service's cursor does), so tests can add messages between two pages, give many
messages the same createdOn, or give timestamps that do not follow sequenceId order.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from azure.core.exceptions import (
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from azext_communication._poller import (
    MAX_BACKOFF,
    MAX_RETRY_AFTER,
    PAGE_SIZE,
    MessageNotInThreadError,
    MessagePoller,
    transient_delay,
)

T0 = datetime(2024, 1, 31, 9, 0, 0, tzinfo=timezone.utc)


class FakeThread:
    """A chat thread as `list_messages` / `get_message` show it."""

    def __init__(self) -> None:
        self.messages: list[SimpleNamespace] = []
        self.calls: list[dict] = []
        self.pages_served = 0
        self.between_pages = None  # called before each page after the first
        self.errors: list[BaseException] = []

    def add(self, created: datetime | None = None, mid: str | None = None) -> SimpleNamespace:
        seq = len(self.messages) + 1
        created = created or T0 + timedelta(seconds=seq)
        m = SimpleNamespace(id=mid or str(int(created.timestamp() * 1000) + seq), sequence_id=str(seq),
                            created_on=created)
        self.messages.append(m)
        return m

    def list_messages(self, results_per_page: int = 100, start_time: datetime | None = None):
        if self.errors:
            raise self.errors.pop(0)
        self.calls.append({"page_size": results_per_page, "start_time": start_time})
        thread = self

        class Paged:
            def by_page(self):
                before = None
                first = True
                while True:
                    if not first and thread.between_pages:
                        thread.between_pages()
                    first = False
                    thread.pages_served += 1
                    visible = [m for m in reversed(thread.messages)
                               if (start_time is None or m.created_on >= start_time)
                               and (before is None or int(m.sequence_id) < before)]
                    page = visible[:results_per_page]
                    yield iter(page)
                    if len(visible) <= results_per_page or not page:
                        return
                    before = int(page[-1].sequence_id)

        return Paged()

    def get_message(self, message_id: str) -> SimpleNamespace:
        self.calls.append({"get": message_id})
        for m in self.messages:
            if m.id == message_id:
                return m
        raise ResourceNotFoundError("not found")


def seqs(messages) -> list[int]:
    return [int(m.sequence_id) for m in messages]


# ---------------------------------------------------------------------------------------------- positioning
@pytest.mark.parametrize("years", [-10, 10])
def test_now_is_the_newest_message_of_the_service_not_the_local_clock(years):
    thread = FakeThread()
    service_time = datetime.now(timezone.utc) + timedelta(days=365 * years)  # far from the local clock
    for _ in range(3):
        thread.add(created=service_time)
    poller = MessagePoller(thread)
    assert poller.poll() == []
    assert thread.calls == [{"page_size": 1, "start_time": None}]
    assert poller.position.sequence_id == 3
    thread.add(created=service_time + timedelta(seconds=1))
    assert seqs(poller.poll()) == [4]
    assert poller.poll() == []
    assert thread.calls[-1]["start_time"] == service_time + timedelta(seconds=1) - poller.rewind


def test_an_empty_thread_then_every_message_is_new():
    thread = FakeThread()
    poller = MessagePoller(thread)
    assert poller.poll() == []
    thread.add()
    thread.add()
    assert seqs(poller.poll()) == [1, 2]


def test_start_time_reads_every_page_from_that_time_oldest_first():
    thread = FakeThread()
    for _ in range(450):
        thread.add()
    poller = MessagePoller(thread, start_time=T0 + timedelta(seconds=11))
    got = poller.poll()
    assert seqs(got) == list(range(11, 451))
    assert thread.pages_served == 3 and all(c["page_size"] == PAGE_SIZE for c in thread.calls)


def test_start_time_without_messages_keeps_asking_from_that_time():
    thread = FakeThread()
    thread.add()
    poller = MessagePoller(thread, start_time=T0 + timedelta(hours=1))
    assert poller.poll() == [] and poller.poll() == []
    thread.add(created=T0 + timedelta(hours=2))
    assert seqs(poller.poll()) == [2]
    assert [c["start_time"] for c in thread.calls] == [T0 + timedelta(hours=1)] * 3


def test_naive_start_time_means_utc():
    thread = FakeThread()
    thread.add()
    poller = MessagePoller(thread, start_time=datetime(2024, 1, 31, 9, 0, 0))
    assert seqs(poller.poll()) == [1]
    assert thread.calls[0]["start_time"].tzinfo is not None


def test_after_a_message_whose_reply_is_there_takes_one_request():
    thread = FakeThread()
    thread.add()
    sent = thread.add()
    thread.add()
    poller = MessagePoller(thread, after=sent.id)
    assert seqs(poller.poll()) == [3]
    assert len(thread.calls) == 1 and thread.pages_served == 1


def test_after_a_message_whose_id_is_not_its_time_falls_back_to_get():
    thread = FakeThread()
    thread.add()
    sent = thread.add(mid="4102444800000")  # an id far ahead of its createdOn
    thread.add()
    poller = MessagePoller(thread, after=sent.id)
    assert seqs(poller.poll()) == [3]
    assert {"get": sent.id} in thread.calls


def test_after_a_message_that_is_not_in_the_thread():
    thread = FakeThread()
    thread.add()
    with pytest.raises(MessageNotInThreadError) as info:
        MessagePoller(thread, after="1706691600123").poll()
    assert info.value.message_id == "1706691600123"


# ---------------------------------------------------------------------------------------------- no loss, no repeat
def test_messages_sharing_a_timestamp_are_each_handed_out_once():
    thread = FakeThread()
    thread.add()
    poller = MessagePoller(thread)
    poller.poll()
    same = T0 + timedelta(minutes=5)
    out = []
    for _ in range(10):
        for _ in range(37):
            thread.add(created=same)  # the service gives whole seconds: many messages, one createdOn
        out += poller.poll()
    assert seqs(out) == list(range(2, 372))


def test_messages_arriving_while_pages_are_read_come_in_the_next_poll():
    thread = FakeThread()
    thread.add()
    poller = MessagePoller(thread)
    poller.poll()
    for _ in range(500):
        thread.add(created=T0)
    thread.between_pages = lambda: [thread.add(created=T0) for _ in range(7)]
    first = poller.poll()
    thread.between_pages = None
    second = poller.poll()
    assert seqs(first) == list(range(2, 502))
    assert seqs(second) == list(range(502, len(thread.messages) + 1))
    assert len(second) == 14  # two page follow-ups, seven arrivals each
    assert poller.poll() == []


def test_a_poll_stops_reading_at_the_position():
    thread = FakeThread()
    for _ in range(1000):
        thread.add(created=T0)
    poller = MessagePoller(thread)
    poller.poll()
    thread.add(created=T0)
    pages = thread.pages_served
    assert seqs(poller.poll()) == [1001]
    assert thread.pages_served == pages + 1  # one page, though 1000 older messages match the start time


def test_idle_polls_ask_from_the_service_time_of_the_position():
    thread = FakeThread()
    thread.add(created=T0)
    poller = MessagePoller(thread)
    poller.poll()
    for _ in range(3):
        assert poller.poll() == []
    assert [c["start_time"] for c in thread.calls[1:]] == [T0 - poller.rewind] * 3
    assert all(c["page_size"] == PAGE_SIZE for c in thread.calls[1:])


def test_timestamps_a_little_out_of_sequence_order_lose_nothing():
    thread = FakeThread()
    thread.add(created=T0)
    poller = MessagePoller(thread)
    poller.poll()
    early = T0 - poller.rewind + timedelta(milliseconds=1)  # a service node whose clock is a little behind
    thread.add(created=early)
    thread.add(created=early)
    assert seqs(poller.poll()) == [2, 3]
    assert seqs(poller.poll()) == []


def test_a_position_outside_the_time_window_is_read_back_to():
    thread = FakeThread()
    thread.add(created=T0)
    poller = MessagePoller(thread)
    poller.poll()
    thread.messages[0].created_on = T0 + timedelta(hours=1)  # e.g. the message was restored with a new time
    thread.add(created=T0 + timedelta(seconds=1))
    thread.add(created=T0 + timedelta(seconds=2))
    poller.position.created_on = T0 + timedelta(hours=2)
    assert seqs(poller.poll()) == [2, 3]
    assert [c["start_time"] for c in thread.calls[-2:]] == [T0 + timedelta(hours=2) - poller.rewind, None]


def test_edited_and_deleted_messages_are_not_handed_out_again():
    thread = FakeThread()
    thread.add()
    poller = MessagePoller(thread, start_time=T0)
    assert seqs(poller.poll()) == [1]
    thread.messages[0].version = "2"  # an edit changes version and content, never sequenceId
    assert poller.poll() == []


# ---------------------------------------------------------------------------------------------- following
class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


class Response:
    def __init__(self, status: int, retry_after: str | None = None) -> None:
        self.status_code = status
        self.headers = {"Retry-After": retry_after} if retry_after else {}
        self.reason = "x"

    def text(self) -> str:
        return ""


def http_error(status: int, retry_after: str | None = None) -> HttpResponseError:
    return HttpResponseError(message=f"{status}", response=Response(status, retry_after))


def test_follow_polls_on_a_fixed_rhythm_until_the_timeout():
    thread, clock = FakeThread(), FakeClock()
    thread.add()
    out = list(MessagePoller(thread).follow(2.0, 7.0, clock=clock, sleep=clock.sleep))
    assert out == []
    assert len(thread.calls) == 4  # at 0, 2, 4, 6
    assert clock.now == 7.0


def test_follow_backs_off_on_transient_errors_and_loses_nothing():
    thread, clock = FakeThread(), FakeClock()
    thread.add()
    poller = MessagePoller(thread)
    retries: list[float] = []
    follow = poller.follow(1.0, 60.0, clock=clock, sleep=clock.sleep, on_retry=lambda ex, d: retries.append(d))
    poller.poll()  # placed before the faults
    thread.add()
    thread.add()
    thread.errors = [http_error(503), ServiceResponseError("connection dropped"), http_error(429, "7"),
                     ServiceRequestError("connection reset")]
    got = [next(follow), next(follow)]
    assert seqs(got) == [2, 3]
    assert retries == [1.0, 2.0, 7.0, 8.0]  # doubling from the interval, at least Retry-After


def test_backoff_is_capped():
    assert transient_delay(http_error(500), 20, 2.0) == MAX_BACKOFF
    assert transient_delay(ServiceRequestError("connection refused"), 1000, 2.0) == MAX_BACKOFF
    assert transient_delay(http_error(429, "600"), 0, 2.0) == MAX_RETRY_AFTER  # the service asked for it
    assert transient_delay(http_error(503, "3"), 0, 2.0) == 3.0


def test_a_service_that_is_back_is_seen_within_10_s_however_long_it_was_away():
    """A ten-minute outage (an emulator stopped and started again): every attempt is at most 10 s after the last
    one, the follow does not give up, and the outage is reported once when it starts and once when it ends."""
    thread, clock = FakeThread(), FakeClock()
    thread.add()
    attempts: list[float] = []
    listing = thread.list_messages

    def list_messages(**kwargs):
        if poller.requests:  # the first request, placing the start, was answered before the outage
            attempts.append(clock.now)
            if clock.now < 600:
                raise ServiceRequestError("Connection refused")
        return listing(**kwargs)

    thread.list_messages = list_messages
    poller = MessagePoller(thread)
    reports: list[tuple] = []
    follow = poller.follow(2.0, None, clock=clock, sleep=clock.sleep,
                           on_outage=lambda ex, delay: reports.append(("away", delay)),
                           on_back=lambda seconds: reports.append(("back", seconds)))
    poller.poll()  # answered once before the outage
    thread.add()
    assert seqs([next(follow)]) == [2]
    gaps = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
    assert max(gaps) <= 10 and attempts[-1] - 600 <= 10, gaps
    assert reports[0] == ("away", 2.0) and reports[1][0] == "back" and 600 <= reports[1][1] <= 610
    assert len(reports) == 2


@pytest.mark.parametrize("error", [http_error(401), http_error(403), http_error(404), http_error(400),
                                   ServiceRequestError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
                                   ValueError("bug")])
def test_errors_that_retrying_cannot_fix_end_the_follow_at_once(error):
    thread, clock = FakeThread(), FakeClock()
    thread.errors = [error]
    with pytest.raises(type(error)):
        list(MessagePoller(thread).follow(1.0, 60.0, clock=clock, sleep=clock.sleep))
    assert clock.sleeps == []


def test_a_long_outage_ends_the_follow_with_the_last_error():
    thread, clock = FakeThread(), FakeClock()
    thread.errors = [http_error(503) for _ in range(100)]
    with pytest.raises(HttpResponseError):
        list(MessagePoller(thread).follow(2.0, None, clock=clock, sleep=clock.sleep, max_outage=120))
    assert 60 <= clock.now <= 120


def test_the_timeout_also_bounds_a_back_off():
    thread, clock = FakeThread(), FakeClock()
    thread.errors = [http_error(503) for _ in range(100)]
    assert list(MessagePoller(thread).follow(2.0, 10.0, clock=clock, sleep=clock.sleep)) == []
    assert clock.now == 10.0


def test_an_unreachable_endpoint_fails_at_once_but_a_later_outage_is_backed_off():
    refused = ServiceRequestError("[Errno 111] Connection refused")
    thread, clock = FakeThread(), FakeClock()
    thread.errors = [refused]
    with pytest.raises(ServiceRequestError):
        list(MessagePoller(thread).follow(1.0, 60.0, clock=clock, sleep=clock.sleep,
                                          unreachable=lambda ex: "refused" in str(ex)))
    assert clock.sleeps == []

    thread, clock = FakeThread(), FakeClock()
    poller = MessagePoller(thread, start_time=T0)
    follow = poller.follow(1.0, 60.0, clock=clock, sleep=clock.sleep, unreachable=lambda ex: "refused" in str(ex))
    thread.add()
    assert seqs([next(follow)]) == [1]  # answered once: the service is there
    thread.errors = [refused, refused]  # then it restarts
    thread.add()
    assert seqs([next(follow)]) == [2]
    assert thread.errors == [] and clock.sleeps[-2:] == [1.0, 2.0]  # backed off twice, then answered

"""Delivery engine against a local webhook: handshakes of both schemas, headers, filters, retries with a compressed
schedule, non-retried statuses, dead-letter records, per-thread order, bounded queues and slow subscribers.

The model side is replaced by direct `outbox.record` calls (what the model does for each chat operation).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridEvent
from event_facts import ALICE, BOB, THREAD, record
from webhook_receiver import Receiver, wait_until

from azext_communication.emulator.errors import BadRequest, Conflict, NotFound
from azext_communication.emulator.events import EventService, Outbox, payloads
from azext_communication.emulator.events.engine import RETRY_SCHEDULE, retry_delay
from azext_communication.emulator.store import MemoryStore

TOPIC = payloads.resource_topic("00000000-0000-0000-0000-000000000000")
SCALE = 0.01
THREAD2 = "19:fedcba9876543210fedcba9876543210@thread.v2"
P = "Microsoft.Communication."


def make_service(folder: Path, scale: float = SCALE, **kw: object) -> EventService:
    store = MemoryStore()
    return EventService(store, Outbox(store), TOPIC, folder=folder, retry_scale=scale, **kw).start()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[EventService]:
    svc = make_service(tmp_path)
    try:
        yield svc
    finally:
        svc.stop()


def sub(name: str, url: str, **extra: object) -> dict:
    return {"name": name, "endpoint": url, **extra}


def dead_letters(tmp_path: Path, name: str) -> list[dict]:
    path = tmp_path / "deadletter" / f"{name.upper()}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []



def test_event_grid_schema_handshake_then_one_event_per_post_with_aeg_headers(service: EventService) -> None:
    with Receiver() as hook:
        out = service.create(sub("Bot-1", hook.url + "?code=secret"))
        assert out["endpointBaseUrl"] == hook.url and "secret" not in json.dumps(out)
        first = hook.requests[0]
        assert first.method == "POST" and first.headers["aeg-event-type"] == "SubscriptionValidation"
        v = first.json()
        assert isinstance(v, list) and v[0]["eventType"] == "Microsoft.EventGrid.SubscriptionValidationEvent"
        assert v[0]["data"]["validationCode"] and "/admin/eventSubscriptions/Bot-1/validate" not in hook.url
        record(service.outbox, "message.sent")
        got = hook.wait_for(2)
        assert len(got) == 2
        for r in got:
            assert r.path == "/api/events?code=secret"
            assert r.headers["content-type"] == "application/json; charset=utf-8"
            assert r.headers["aeg-subscription-name"] == "BOT-1"
            assert r.headers["aeg-delivery-count"] == "0"
            assert r.headers["aeg-metadata-version"] == "1" and r.headers["aeg-data-version"] == "1.0"
            body = r.json()
            assert isinstance(body, list) and len(body) == 1
            assert r.headers["aeg-output-event-id"] == body[0]["id"]
            EventGridEvent.from_dict(body[0])
        assert [r.events[0]["eventType"] for r in got] == [P + "ChatMessageReceivedInThread", P + "ChatMessageReceived"]
        assert wait_until(lambda: service.get("bot-1")["delivered"] == 2)
        assert service.get("BOT-1")["pending"] == 0


def test_cloud_events_schema_options_handshake_and_single_object(service: EventService) -> None:
    with Receiver() as hook:
        service.create(sub("cloud", hook.url, eventDeliverySchema="cloudeventschemav1_0"))
        opt = hook.requests[0]
        assert opt.method == "OPTIONS" and opt.headers["webhook-request-origin"] == "eventgrid.azure.net"
        record(service.outbox, "thread.updated")
        got = hook.wait_for(2)
        for r in got:
            assert r.headers["content-type"] == "application/cloudevents+json; charset=utf-8"
            assert r.headers["aeg-metadata-version"] == "1.0" and "aeg-data-version" not in r.headers
            body = r.json()
            assert isinstance(body, dict)
            ce = CloudEvent.from_dict(body)
            assert ce.source == TOPIC and ce.type.startswith(P + "ChatThreadPropertiesUpdated")


@pytest.mark.parametrize("schema", ["EventGridSchema", "CloudEventSchemaV1_0"])
def test_failed_validation_is_one_line_and_creates_nothing(service: EventService, schema: str) -> None:
    with Receiver(validate=False) as hook:
        with pytest.raises(BadRequest) as exc:
            service.create(sub("nope", hook.url, eventDeliverySchema=schema))
        assert "\n" not in str(exc.value) and "endpoint validation of subscription 'nope'" in str(exc.value)
        assert len(hook.requests) == 3  # tried three times, 5 s (scaled) apart
    assert service.list() == []
    with pytest.raises(NotFound):
        service.get("nope")


def test_validation_answered_202_is_refused(service: EventService) -> None:
    with Receiver(validate=False) as hook:
        hook.validate = False
        hook.server.RequestHandlerClass.do_POST = lambda h: (h.rfile.read(int(h.headers["Content-Length"])),
                                                               h.send_response(202), h.send_header(
                                                                   "Content-Length", "0"), h.end_headers())
        with pytest.raises(BadRequest, match="answered HTTP 202"):
            service.create(sub("accepted", hook.url))


def test_duplicate_name_is_a_conflict_case_insensitively(service: EventService) -> None:
    with Receiver() as hook:
        service.create(sub("dup", hook.url))
        with pytest.raises(Conflict, match="already exists"):
            service.create(sub("DUP", hook.url))


def test_unreachable_endpoint_fails_validation_with_the_reason(service: EventService) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(BadRequest, match="SocketError"):
        service.create(sub("gone", f"http://127.0.0.1:{port}/x"))


def test_filters_types_and_subject_case_insensitive(service: EventService) -> None:
    with Receiver() as types, Receiver() as prefix, Receiver() as suffix, Receiver() as exact:
        service.create(sub("types", types.url, filter={"includedEventTypes": ["chatmessagereceivedinthread"]}))
        service.create(sub("prefix", prefix.url, filter={"subjectBeginsWith": f"THREAD/{THREAD2.upper()}/"}))
        service.create(sub("suffix", suffix.url, filter={"subjectEndsWith": f"/RECIPIENT/{BOB.upper()}"}))
        service.create(sub("exact", exact.url, filter={"subjectBeginsWith": f"THREAD/{THREAD}",
                                                        "isSubjectCaseSensitive": True}))
        record(service.outbox, "message.sent")
        record(service.outbox, "message.sent", tid=THREAD2, tag="tx-2")
        record(service.outbox, "thread.updated", tx="tx-3")
        assert service.wait_idle()
        assert [e["eventType"] for e in types.events()] == [P + "ChatMessageReceivedInThread"] * 2
        assert {e["data"]["threadId"] for e in prefix.events()} == {THREAD2} and len(prefix.events()) == 2
        assert all(e["subject"].endswith(f"/recipient/{BOB}") for e in suffix.events())
        assert len(suffix.events()) == 3
        assert exact.events() == []


def test_unknown_event_type_in_a_filter_is_refused(service: EventService) -> None:
    with pytest.raises(BadRequest, match="unknown event type 'ChatMessageSent'"):
        service.create(sub("bad", "http://127.0.0.1:1/x", filter={"includedEventTypes": ["ChatMessageSent"]}))


def test_retries_follow_the_scaled_schedule_then_succeed(service: EventService) -> None:
    answers = iter([500, 503, 200])
    with Receiver(answer=lambda r: next(answers)) as hook:
        service.create(sub("flaky", hook.url, filter={"includedEventTypes": ["ChatMessageReceivedInThread"]}))
        record(service.outbox, "message.sent")
        got = hook.wait_for(3)
        assert [r.headers["aeg-delivery-count"] for r in got] == ["0", "1", "2"]
        assert len({r.events[0]["id"] for r in got}) == 1
        gaps = [b.at - a.at for a, b in zip(got, got[1:], strict=False)]
        assert gaps[0] >= RETRY_SCHEDULE[0] * SCALE * 0.9 and gaps[1] >= RETRY_SCHEDULE[1] * SCALE * 0.9
        assert wait_until(lambda: service.get("flaky")["delivered"] == 1)
        s = service.get("flaky")
        assert (s["failed"], s["pending"], s["deadLettered"]) == (2, 0, 0)


def test_retry_schedule_values() -> None:
    assert [retry_delay(n) for n in range(1, 12)] == [10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 43200]
    assert retry_delay(1, 0.01) == pytest.approx(0.1)


@pytest.mark.parametrize("status", [400, 401, 403, 413])
def test_non_retried_statuses_dead_letter_at_once(service: EventService, tmp_path: Path, status: int) -> None:
    with Receiver(answer=lambda r: (status, "no thanks " * 50)) as hook:
        service.create(sub("strict", hook.url, filter={"includedEventTypes": ["ChatMessageReceivedInThread"]}))
        record(service.outbox, "message.sent")
        assert wait_until(lambda: service.get("strict")["deadLettered"] == 1)
        assert len(hook.notifications()) == 1
    [dead] = dead_letters(tmp_path, "strict")
    assert dead["deadLetterReason"] == "NonRetriableError" and dead["deliveryAttempts"] == 1
    assert dead["lastHttpStatusCode"] == status and dead["lastHttpResponseExcerpt"].startswith("no thanks")
    assert len(dead["lastHttpResponseExcerpt"]) == 200
    assert dead["eventType"] == P + "ChatMessageReceivedInThread" and "publishTime" in dead
    EventGridEvent.from_dict(dead)


def test_max_delivery_attempts_then_dead_letter(service: EventService, tmp_path: Path) -> None:
    with Receiver(answer=lambda r: 503) as hook:
        service.create(sub("down", hook.url, eventDeliverySchema="CloudEventSchemaV1_0",
                           filter={"includedEventTypes": ["ChatMessageReceivedInThread"]},
                           retryPolicy={"maxDeliveryAttempts": 3}))
        record(service.outbox, "message.sent")
        assert wait_until(lambda: service.get("down")["deadLettered"] == 1)
        assert len(hook.notifications()) == 3
    [dead] = dead_letters(tmp_path, "down")
    assert dead["deadletterreason"] == "MaxDeliveryAttemptsExceeded" and dead["deliveryattempts"] == 3
    assert dead["lastdeliveryoutcome"] == "Busy"
    CloudEvent.from_dict(dead)  # lower-case extension attributes keep it a valid CloudEvent
    s = service.get("down")
    assert (s["delivered"], s["failed"], s["pending"]) == (0, 3, 0)


def test_time_to_live_is_checked_at_the_next_attempt(tmp_path: Path) -> None:
    svc = make_service(tmp_path, 0.005)
    try:
        with Receiver(answer=lambda r: 500) as hook:  # TTL 1 min -> 0.3 s; retries at 0.05, 0.15, 0.3 s ...
            svc.create(sub("ttl", hook.url, filter={"includedEventTypes": ["ChatMessageReceivedInThread"]},
                           retryPolicy={"eventTimeToLiveInMinutes": 1}))
            record(svc.outbox, "message.sent", at=int(time.time() * 1000))
            assert wait_until(lambda: svc.get("ttl")["deadLettered"] == 1)
            attempts = len(hook.notifications())
        [dead] = dead_letters(tmp_path, "ttl")
        assert dead["deadLetterReason"] == "TimeToLiveExceeded" and dead["deliveryAttempts"] == attempts
        assert 2 <= attempts < 30
    finally:
        svc.stop()


def test_a_thread_waiting_for_a_retry_holds_its_own_order_but_not_other_threads(service: EventService) -> None:
    first = {"done": False}

    def answer(r):
        e = r.events[0]
        if e["data"]["threadId"] == THREAD and not first["done"]:
            first["done"] = True
            return 500
        return 200

    with Receiver(answer=answer) as hook:
        service.create(sub("order", hook.url, filter={"includedEventTypes": ["ChatMessageReceivedInThread"]}))
        for i in range(5):
            record(service.outbox, "message.sent", tag=f"a{i}")
            record(service.outbox, "message.sent", tid=THREAD2, tag=f"b{i}")
        assert service.wait_idle()
        ok = [r.events[0] for r in hook.notifications()]
        delivered_a = [e["data"]["messageBody"] for e in ok if e["data"]["threadId"] == THREAD]
        delivered_b = [e["data"]["messageBody"] for e in ok if e["data"]["threadId"] == THREAD2]
        assert delivered_a == ["a0", "a0", "a1", "a2", "a3", "a4"]  # a0 failed once and was retried first
        assert delivered_b == [f"b{i}" for i in range(5)]
        first_b = next(i for i, e in enumerate(ok) if e["data"]["threadId"] == THREAD2)
        assert first_b < 3  # thread 2 was not held behind thread 1's retry


def test_full_queue_dead_letters_new_events_and_spares_the_chat_api(tmp_path: Path) -> None:
    svc = make_service(tmp_path, 0.1, capacity=3)
    try:
        with Receiver(delay=1.5) as hook:
            svc.create(sub("small", hook.url, filter={"includedEventTypes": ["ChatMessageReceivedInThread"]}))
            started = time.monotonic()
            for i in range(10):
                record(svc.outbox, "message.sent", tag=f"m{i}")
            assert time.monotonic() - started < 0.5
            assert wait_until(lambda: svc.get("small")["deadLettered"] >= 6)
            s = svc.get("small")
            assert s["pending"] <= 3
        dead = dead_letters(tmp_path, "small")
        assert {d["deadLetterReason"] for d in dead} == {"QueueFull"}
        assert {d["lastDeliveryOutcome"] for d in dead} == {"Full"} and {d["deliveryAttempts"] for d in dead} == {0}
    finally:
        svc.stop()


def test_a_hanging_subscriber_does_not_slow_the_others_or_the_producer(service: EventService) -> None:
    with Receiver(delay=6.0) as slow, Receiver() as fast:
        service.create(sub("slow", slow.url))
        service.create(sub("fast", fast.url))
        started = time.monotonic()
        for i in range(20):
            record(service.outbox, "message.sent", tag=f"m{i}")
        produce = time.monotonic() - started
        got = fast.wait_for(40, timeout=5)
        assert len(got) == 40 and time.monotonic() - started < 5.0  # before the slow one's first answer
        assert produce < 0.5
        assert service.get("slow")["delivered"] == 0 and service.get("slow")["pending"] >= 39


def test_hanging_endpoint_times_out_and_is_retried(tmp_path: Path) -> None:
    svc = make_service(tmp_path, 0.01)
    try:
        with Receiver(delay=4.0) as hook:  # longer than the compressed 2 s timeout
            svc.create(sub("hang", hook.url, filter={"includedEventTypes": ["ChatMessageReceivedInThread"]},
                           retryPolicy={"maxDeliveryAttempts": 2}))
            record(svc.outbox, "message.sent")
            assert wait_until(lambda: svc.get("hang")["deadLettered"] == 1, timeout=15)
        [dead] = dead_letters(tmp_path, "hang")
        assert dead["lastDeliveryOutcome"] == "TimedOut" and dead["deliveryAttempts"] == 2
    finally:
        svc.stop()


def test_skip_validation_and_delete(service: EventService) -> None:
    with Receiver(validate=False) as hook:
        service.create(sub("raw", hook.url, skipValidation=True))
        assert hook.requests == []
        assert service.get("raw")["endpointValidation"] == "Skipped"
        service.delete("RAW")
        assert service.list() == []
        record(service.outbox, "message.sent")
        time.sleep(0.2)
        assert hook.notifications() == []
        with pytest.raises(NotFound):
            service.delete("raw")


def test_a_new_subscription_gets_only_later_events(service: EventService) -> None:
    with Receiver() as a, Receiver() as b:
        service.create(sub("early", a.url, filter={"includedEventTypes": ["ChatMessageReceivedInThread"]}))
        record(service.outbox, "message.sent", tag="before")
        assert service.wait_idle()
        service.create(sub("late", b.url, filter={"includedEventTypes": ["ChatMessageReceivedInThread"]}))
        record(service.outbox, "message.sent", tag="after", actor=BOB)
        assert service.wait_idle()
        assert [e["data"]["messageBody"] for e in a.events()] == ["before", "after"]
        assert [e["data"]["messageBody"] for e in b.events()] == ["after"]
        assert a.events()[1]["data"]["senderCommunicationIdentifier"]["rawId"] == BOB != ALICE


def test_https_endpoints_are_verified_with_the_trust_store_and_requests_ca_bundle(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from azext_communication.emulator.certs import ensure_certificates

    certs = ensure_certificates(tmp_path / "tls", ["127.0.0.1"])
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    svc = make_service(tmp_path)
    try:
        with Receiver(tls=(str(certs.server_cert), str(certs.server_key))) as hook:
            assert hook.url.startswith("https://")
            with pytest.raises(BadRequest, match="TLS"):  # a private CA is not in the normal trust store
                svc.create(sub("tls-untrusted", hook.url))
            monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certs.bundle))
            svc.create(sub("tls-trusted", hook.url))
            record(svc.outbox, "message.sent")
            assert len(hook.wait_for(2)) == 2
    finally:
        svc.stop()

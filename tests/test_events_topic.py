"""Event Grid topic as a delivery target: what a local HTTPS topic receives (key, URL, body) in both schemas."""

from __future__ import annotations

from pathlib import Path

import pytest
from event_facts import BOB, fact
from topic_receiver import TopicReceiver

from azext_communication.emulator.events import payloads
from azext_communication.emulator.events.topic import EventGridTopicTarget, publish_url

TOPIC = payloads.resource_topic("a1b2c3d4-0000-4000-8000-0000000000aa")
KEY = "dG9waWMta2V5LWZvci10ZXN0cw=="


def _message_event() -> dict:
    [event] = [e for e in payloads.build_events(fact("message.sent"), TOPIC, False)
               if e["eventType"] == "Microsoft.Communication.ChatMessageReceived"]
    assert event["data"]["recipientCommunicationIdentifier"]["rawId"] == BOB
    return event


@pytest.fixture
def topic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with TopicReceiver(tmp_path / "certs", KEY) as receiver:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", receiver.ca_bundle)  # how the emulator trusts a local https URL
        yield receiver


def test_publish_url_fills_in_path_and_api_version() -> None:
    assert publish_url("https://t.westus2-1.eventgrid.azure.net/api/events") == \
        "https://t.westus2-1.eventgrid.azure.net/api/events?api-version=2018-01-01"
    assert publish_url("https://t.westus2-1.eventgrid.azure.net") == \
        "https://t.westus2-1.eventgrid.azure.net/api/events?api-version=2018-01-01"
    assert publish_url("https://localhost:60101/api/events?api-version=2018-01-01") == \
        "https://localhost:60101/api/events?api-version=2018-01-01"


def test_event_grid_schema_is_published_as_an_array_with_the_key(topic: TopicReceiver) -> None:
    from azure.eventgrid import EventGridEvent

    event = _message_event()
    target = EventGridTopicTarget(topic.endpoint, KEY)
    try:
        target.handshake()  # nothing to validate for a topic: no request
        assert topic.published == [] and topic.refused == []
        result = target.deliver(event, 0)
        second = target.deliver(_message_event(), 1)  # the kept-alive connection is reused
    finally:
        target.close()
    assert result.ok and result.status == 200 and second.ok
    [first, _] = topic.wait(2)
    assert first.query == {"api-version": ["2018-01-01"]}
    assert first.headers["aeg-sas-key"] == KEY
    assert first.headers["content-type"] == "application/json; charset=utf-8"
    [sent] = first.events
    assert "topic" not in sent  # Event Grid stamps the topic's own id (it refuses any other)
    assert sent == {k: v for k, v in event.items() if k != "topic"}
    parsed = EventGridEvent.from_dict(sent)
    assert parsed.event_type == "Microsoft.Communication.ChatMessageReceived"
    assert parsed.id == event["id"] and parsed.data["messageBody"] == "Hello Bob"


def test_cloudevents_are_published_as_a_batch(topic: TopicReceiver) -> None:
    from azure.core.messaging import CloudEvent

    event = _message_event()
    target = EventGridTopicTarget(topic.endpoint, KEY, cloud=True)
    try:
        assert target.deliver(event, 0).ok
    finally:
        target.close()
    [published] = topic.wait(1)
    assert published.headers["content-type"] == "application/cloudevents-batch+json; charset=utf-8"
    [sent] = published.events
    parsed = CloudEvent.from_dict(sent)
    assert parsed.source == TOPIC and parsed.type == event["eventType"] and parsed.id == event["id"]
    assert parsed.data == event["data"]


def test_a_refused_key_is_a_401_with_the_topics_message(topic: TopicReceiver) -> None:
    target = EventGridTopicTarget(topic.endpoint, "d3Jvbmc=")
    try:
        result = target.deliver(_message_event(), 0)
    finally:
        target.close()
    assert not result.ok and result.status == 401 and result.outcome == "Unauthorized"
    assert "not authorized for this topic" in result.excerpt
    assert topic.published == []


def test_an_unreachable_or_untrusted_topic_is_a_transport_failure(tmp_path: Path, topic: TopicReceiver,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    target = EventGridTopicTarget(f"https://127.0.0.1:{closed_port}/api/events", KEY, timeout=2)
    result = target.deliver(_message_event(), 0)
    target.close()
    assert result.status is None and result.outcome.startswith("SocketError")

    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    target = EventGridTopicTarget(topic.endpoint, KEY, timeout=2)
    result = target.deliver(_message_event(), 0)
    target.close()
    assert result.status is None and "TLS" in result.outcome and topic.published == []


def test_a_topic_needs_a_key() -> None:
    with pytest.raises(ValueError, match="access key"):
        EventGridTopicTarget("https://t.westus2-1.eventgrid.azure.net/api/events", "")

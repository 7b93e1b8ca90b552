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


# ------------------------------------------------------------------------------ through the emulator and az
def _topic_sub(name: str, endpoint: str, key: str, **extra: object) -> dict:
    return {"name": name, "endpointType": "EventGridTopic", "endpoint": endpoint, "topicKey": key,
            "filter": {"includedEventTypes": ["ChatMessageReceivedInThread"]}, **extra}


def test_emulator_publishes_to_a_topic_and_dead_letters_what_the_topic_refuses(topic: TopicReceiver,
                                                                             tmp_path: Path) -> None:
    import json

    from azure.core.messaging import CloudEvent
    from azure.eventgrid import EventGridEvent

    from azext_communication.testing import local_emulator

    home = tmp_path / "emu"
    with local_emulator(home=home, event_retry_scale=0.01, subscriptions=[
            _topic_sub("to-topic", topic.endpoint, KEY),
            _topic_sub("to-topic-ce", topic.endpoint.removesuffix("/api/events"), KEY,
                       eventDeliverySchema="CloudEventSchemaV1_0"),
            _topic_sub("wrong-key", topic.endpoint, "d3Jvbmcta2V5")]) as emu:
        alice = emu.issue_token()
        thread = emu.chat_client(alice).create_chat_thread("to a topic").chat_thread.id
        message = emu.chat_thread_client(alice, thread).send_message("to the topic").id
        assert emu.wait_for_deliveries(15)
        subs = {s["name"]: s for s in emu.subscriptions()}
        listing = json.dumps(list(subs.values()))
    published = topic.wait(2)
    assert len(published) == 2 and topic.refused == [401]
    by_type = {p.headers["content-type"]: p for p in published}
    grid = by_type["application/json; charset=utf-8"]
    cloud = by_type["application/cloudevents-batch+json; charset=utf-8"]
    assert grid.query == cloud.query == {"api-version": ["2018-01-01"]}
    assert grid.headers["aeg-sas-key"] == cloud.headers["aeg-sas-key"] == KEY
    [eg] = grid.events
    parsed = EventGridEvent.from_dict(eg)
    assert "topic" not in eg and parsed.event_type == "Microsoft.Communication.ChatMessageReceivedInThread"
    assert parsed.data["messageId"] == message and parsed.data["threadId"] == thread
    [ce] = cloud.events
    assert CloudEvent.from_dict(ce).id == eg["id"] and ce["data"] == eg["data"]

    assert subs["to-topic"]["endpointType"] == "EventGridTopic"
    assert subs["to-topic"]["endpointValidation"] == "NotApplicable"
    assert subs["to-topic"]["delivered"] == 1 and subs["to-topic-ce"]["delivered"] == 1
    assert subs["wrong-key"]["delivered"] == 0 and subs["wrong-key"]["deadLettered"] == 1
    assert KEY not in listing and "d3Jvbmcta2V5" not in listing
    [dead] = [json.loads(line) for line in (home / "deadletter" / "WRONG-KEY.jsonl").read_text().splitlines()]
    assert dead["deadLetterReason"] == "NonRetriableError" and dead["lastHttpStatusCode"] == 401
    assert dead["deliveryAttempts"] == 1 and "not authorized for this topic" in dead["lastHttpResponseExcerpt"]
    assert "d3Jvbmcta2V5" not in json.dumps(dead)


@pytest.mark.parametrize(("definition", "message"), [
    ({"endpointType": "EventGridTopic"}, "needs the topic's access key"),
    ({"endpointType": "EventGridTopic", "topicKey": " "}, "needs the topic's access key"),
    ({"topicKey": KEY}, "only for endpointType EventGridTopic"),
    ({"endpointType": "ServiceBusQueue"}, "expected WebHook or EventGridTopic"),
])
def test_bad_topic_definitions_are_refused_in_one_line(definition: dict, message: str) -> None:
    from azext_communication.emulator.events.subscriptions import parse

    with pytest.raises(ValueError) as err:
        parse({"name": "bad-topic", "endpoint": "https://t.westus2-1.eventgrid.azure.net/api/events", **definition})
    assert message in str(err.value) and "\n" not in str(err.value)
    assert KEY not in str(err.value)


def test_topic_key_is_kept_with_the_subscription_but_never_shown() -> None:
    from azext_communication.emulator.events.subscriptions import parse

    sub = parse(_topic_sub("kept", "https://t.westus2-1.eventgrid.azure.net/api/events", KEY))
    assert parse(sub.to_record()) == sub  # what a data folder stores reads back the same
    assert KEY not in repr(sub) and KEY not in str(sub.to_json())


@pytest.mark.live
def test_cli_creates_a_topic_subscription(topic: TopicReceiver, tmp_path: Path, az_ready: None) -> None:
    from cli_harness import run
    from emulator_process import running_emulator

    with running_emulator("--event-retry-scale", "0.01",
                          env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(tmp_path / "emu"),
                               "REQUESTS_CA_BUNDLE": topic.ca_bundle}) as emu:
        env = {"AZURE_COMMUNICATION_CONNECTION_STRING": emu.connection_string, "REQUESTS_CA_BUNDLE": emu.ca_bundle}
        key_file = tmp_path / "topic-key.txt"
        key_file.write_text(KEY)
        created = run("communication", "emulator", "subscription", "create", "--name", "cli-topic",
                      "--endpoint-type", "eventgridtopic", "--endpoint", topic.endpoint, "--topic-key",
                      f"@{key_file}", env=env)
        assert created.exit_code == 0, created
        assert created.result["endpointType"] == "EventGridTopic" and KEY not in created.stdout
        for args, text in ((["--endpoint-type", "EventGridTopic"], "needs the topic's access key"),
                           (["--topic-key", "abc"], "only for --endpoint-type EventGridTopic"),
                           (["--endpoint-type", "Queue"], "allowed values")):
            bad = run("communication", "emulator", "subscription", "create", "--name", "bad-topic", "--endpoint",
                      topic.endpoint, *args, env=env)
            assert bad.exit_code == 2 and len(bad.error_lines) == 1 and text in bad.error_lines[0], bad

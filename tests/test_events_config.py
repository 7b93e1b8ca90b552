"""Subscription input from every source (config file, admin API body, --event-webhook): each mistake is one line
that names the key and what is allowed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from azext_communication.emulator.events import subscriptions as s

HOOK = "http://localhost:7071/runtime/webhooks/EventGrid?functionName=Bot"


def write(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "events.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def test_a_full_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, {"subscriptions": [
        {"name": "bot", "endpoint": HOOK},
        {"name": "audit", "endpoint": "https://example.org/hook", "eventDeliverySchema": "CloudEventSchemaV1_0",
         "filter": {"includedEventTypes": ["ChatMessageReceived", "Microsoft.Communication.ChatThreadCreated"],
                    "subjectBeginsWith": "thread/", "subjectEndsWith": "/recipient/x"},
         "retryPolicy": {"maxDeliveryAttempts": 5, "eventTimeToLiveInMinutes": 30}, "skipValidation": True}]})
    bot, audit = s.load_config(path)
    assert bot.schema == s.EVENT_GRID_SCHEMA and bot.filter.included_event_types is None and bot.validate
    assert bot.max_delivery_attempts == 30 and bot.event_ttl_minutes == 1440
    assert bot.endpoint_base_url == "http://localhost:7071/runtime/webhooks/EventGrid"
    assert audit.filter.included_event_types == ("Microsoft.Communication.ChatMessageReceived",
                                                 "Microsoft.Communication.ChatThreadCreated")
    assert (audit.max_delivery_attempts, audit.event_ttl_minutes, audit.validate) == (5, 30, False)
    assert s.parse(audit.to_record()) == audit  # what the data folder keeps reads back the same


@pytest.mark.parametrize("doc, message", [
    ("{not json", "invalid JSON at line 1 column 2"),
    ([], "expected a JSON object"),
    ({"subscription": []}, "unknown key 'subscription' (allowed: subscriptions)"),
    ({"subscriptions": {}}, "'subscriptions' must be a list"),
    ({"subscriptions": [{"name": "bot", "endpoint": HOOK, "retry": {}}]},
     "subscriptions[0]: unknown key 'retry' (allowed: name, endpoint, eventDeliverySchema"),
    ({"subscriptions": [{"name": "bot", "endpoint": "ftp://x/y"}]}, "is not an http(s) URL"),
    ({"subscriptions": [{"name": "bot", "endpoint": "not a url"}]}, "is not an http(s) URL"),
    ({"subscriptions": [{"name": "bot", "endpoint": "http://example.org/x"}]},
     "http is allowed only for localhost endpoints"),
    ({"subscriptions": [{"name": "bot", "endpoint": "https://[::1/x"}]}, "is not a valid URL"),
    ({"subscriptions": [{"name": "b", "endpoint": HOOK}]}, "3 to 64 letters, digits or hyphens"),
    ({"subscriptions": [{"name": "bot", "endpoint": HOOK}, {"name": "BOT", "endpoint": HOOK}]},
     "duplicate subscription name 'BOT'"),
    ({"subscriptions": [{"name": "bot", "endpoint": HOOK, "eventDeliverySchema": "CustomInputSchema"}]},
     "expected EventGridSchema or CloudEventSchemaV1_0"),
    ({"subscriptions": [{"name": "bot", "endpoint": HOOK, "filter": {"includedEventTypes": ["ChatMessageSent"]}}]},
     "filter.includedEventTypes: unknown event type 'ChatMessageSent'"),
    ({"subscriptions": [{"name": "bot", "endpoint": HOOK, "filter": {"subjectStartsWith": "x"}}]},
     "filter: unknown key 'subjectStartsWith'"),
    ({"subscriptions": [{"name": "bot", "endpoint": HOOK, "retryPolicy": {"maxDeliveryAttempts": 31}}]},
     "retryPolicy.maxDeliveryAttempts: expected an integer from 1 to 30"),
    ({"subscriptions": [{"name": "bot", "endpoint": HOOK, "retryPolicy": {"eventTimeToLiveInMinutes": 0}}]},
     "retryPolicy.eventTimeToLiveInMinutes: expected an integer from 1 to 1440"),
    ({"subscriptions": [{"name": "bot", "endpoint": HOOK, "skipValidation": "yes"}]},
     "skipValidation: expected true or false"),
])
def test_bad_config_is_one_line_naming_the_problem(tmp_path: Path, doc: object, message: str) -> None:
    path = write(tmp_path, doc)
    with pytest.raises(ValueError) as exc:
        s.load_config(path)
    text = str(exc.value)
    assert message in text and "\n" not in text and text.startswith(f"events config {path}")


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read the file"):
        s.load_config(tmp_path / "absent.json")


def test_webhook_option_and_secrets_kept_out_of_the_public_shape() -> None:
    sub = s.from_webhook("https://example.org/api/hook?code=s3cret", 1)
    assert sub.name == "webhook-1" and sub.validate and sub.schema == s.EVENT_GRID_SCHEMA
    assert "s3cret" not in json.dumps(sub.to_json())
    with pytest.raises(ValueError, match="--event-webhook: http is allowed only for localhost"):
        s.from_webhook("http://10.0.0.1/x", 1)
    assert s.from_webhook("http://127.0.0.1:9/x", 2).name == "webhook-2"
    assert s.from_webhook("http://[::1]:9/x", 3).endpoint_base_url == "http://[::1]:9/x"


def test_filter_semantics() -> None:
    f = s.EventFilter(None, "THREAD/19:A", "/RECIPIENT/8:ACS:X")
    assert f.matches("t", "thread/19:a/sender/8:acs:y/recipient/8:acs:x")
    assert not f.matches("t", "thread/19:b/sender/8:acs:y/recipient/8:acs:x")
    cs = s.EventFilter(("T",), "thread/", "", case_sensitive=True)
    assert cs.matches("T", "thread/x") and not cs.matches("T", "Thread/x") and not cs.matches("U", "thread/x")
    assert s.check_event_types(["All"]) is None and s.check_event_types([]) is None

"""Event payloads: the operation -> events table of the spec (section 3), and every event type's envelope and
data checked field by field, parsed with azure-eventgrid (Event Grid schema) and azure-core (CloudEvents)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

import pytest
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridEvent, SystemEventNames
from event_facts import ALICE, BOB, CAROL, THREAD, fact

from azext_communication.emulator.events import catalog, payloads

TOPIC = payloads.resource_topic("00000000-0000-0000-0000-000000000000")
P = "Microsoft.Communication."
REQUIRED_EG = ("id", "topic", "subject", "eventType", "eventTime", "data", "dataVersion", "metadataVersion")

# Spec section 3 with the project's decisions 1-3, for a thread of Alice and Bob (+ Carol added/removed):
# operation -> Counter of event types (Alice acts; user-level copies go to everyone else).
TABLE = {
    "thread.created": {"ChatThreadCreated": 1, "ChatThreadCreatedWithUser": 1},
    "thread.deleted": {"ChatThreadDeleted": 1, "ChatThreadWithUserDeleted": 1},
    "thread.updated": {"ChatThreadPropertiesUpdated": 1, "ChatThreadPropertiesUpdatedPerUser": 1},
    "participants.added": {"ChatThreadParticipantAdded": 1, "ChatParticipantAddedToThreadWithUser": 2},
    "participant.removed": {"ChatThreadParticipantRemoved": 1, "ChatParticipantRemovedFromThreadWithUser": 2},
    "message.sent": {"ChatMessageReceivedInThread": 1, "ChatMessageReceived": 1},
    "message.edited": {"ChatMessageEditedInThread": 1, "ChatMessageEdited": 1},
    "message.deleted": {"ChatMessageDeletedInThread": 1, "ChatMessageDeleted": 1},
}

IN_THREAD = ("threadId", "transactionId")
USER = ("recipientCommunicationIdentifier", *IN_THREAD)
MSG = ("messageId", "senderCommunicationIdentifier", "senderDisplayName", "composeTime", "type", "version")
DATA_KEYS = {
    "ChatMessageReceived": {*MSG, *USER, "messageBody", "metadata", "senderId", "recipientId"},
    "ChatMessageEdited": {*MSG, *USER, "messageBody", "metadata", "senderId", "recipientId", "editTime"},
    "ChatMessageDeleted": {*MSG, *USER, "senderId", "recipientId", "deleteTime"},
    "ChatThreadCreatedWithUser": {*USER, "createdBy", "createdByCommunicationIdentifier", "properties", "metadata",
                                  "members", "participants", "createTime", "version", "recipientId"},
    "ChatThreadWithUserDeleted": {*USER, "deletedBy", "deletedByCommunicationIdentifier", "deleteTime", "createTime",
                                  "version", "recipientId"},
    "ChatThreadPropertiesUpdatedPerUser": {*USER, "editedBy", "editedByCommunicationIdentifier", "editTime",
                                           "properties", "metadata", "createTime", "version", "recipientId"},
    "ChatParticipantAddedToThreadWithUser": {*USER, "time", "addedByCommunicationIdentifier", "participantAdded",
                                             "createTime", "version"},
    "ChatParticipantRemovedFromThreadWithUser": {*USER, "time", "removedByCommunicationIdentifier",
                                                 "participantRemoved", "createTime", "version"},
    "ChatThreadCreated": {*IN_THREAD, "createdByCommunicationIdentifier", "properties", "metadata", "participants",
                          "createTime", "version"},
    "ChatThreadPropertiesUpdated": {*IN_THREAD, "editedByCommunicationIdentifier", "editTime", "properties",
                                    "metadata", "createTime", "version"},
    "ChatThreadDeleted": {*IN_THREAD, "deletedByCommunicationIdentifier", "reason", "deleteTime", "createTime",
                          "version"},  # reason: events-2025 S7
    "ChatThreadParticipantAdded": {*IN_THREAD, "time", "addedByCommunicationIdentifier", "participantAdded",
                                   "createTime", "version"},
    "ChatThreadParticipantRemoved": {*IN_THREAD, "time", "removedByCommunicationIdentifier", "participantRemoved",
                                     "createTime", "version"},
    "ChatMessageReceivedInThread": {*MSG, *IN_THREAD, "messageBody", "metadata"},
    "ChatMessageEditedInThread": {*MSG, *IN_THREAD, "messageBody", "metadata", "editTime"},
    "ChatMessageDeletedInThread": {*MSG, *IN_THREAD, "deleteTime"},
}
TIME_KEYS = ("composeTime", "editTime", "deleteTime", "createTime", "time")
ID_KEYS = ("senderCommunicationIdentifier", "recipientCommunicationIdentifier", "createdByCommunicationIdentifier",
           "editedByCommunicationIdentifier", "deletedByCommunicationIdentifier", "addedByCommunicationIdentifier",
           "removedByCommunicationIdentifier")


def all_events(include_actor: bool = False) -> list[dict]:
    return [e for op in TABLE for e in payloads.build_events(fact(op), TOPIC, include_actor)]


def check_identifier(ident: dict, raw: str) -> None:
    assert ident == {"rawId": raw, "kind": "communicationUser", "communicationUser": {"id": raw}}


@pytest.mark.parametrize("op", list(TABLE))
def test_each_operation_emits_exactly_the_events_of_the_spec_table(op: str) -> None:
    events = payloads.build_events(fact(op), TOPIC)
    assert Counter(catalog.short(e["eventType"]) for e in events) == Counter(TABLE[op])
    assert not catalog.is_user_level(events[0]["eventType"])  # thread level first
    assert len({e["id"] for e in events}) == len(events)
    assert {e["data"]["transactionId"] for e in events} == {"tx-1"}  # one transaction id per operation


def test_every_emitted_type_is_covered_and_none_of_the_never_emitted_ones() -> None:
    emitted = {catalog.short(e["eventType"]) for e in all_events()}
    assert emitted == {catalog.short(t) for t in catalog.EMITTED}
    assert len(emitted) == 16
    assert not emitted & set(catalog.NEVER_EMITTED)


def test_user_level_copies_skip_the_actor_unless_include_actor() -> None:
    sent = payloads.build_events(fact("message.sent", group=(ALICE, BOB, CAROL)), TOPIC)
    copies = [e for e in sent if catalog.is_user_level(e["eventType"])]
    assert [e["data"]["recipientCommunicationIdentifier"]["rawId"] for e in copies] == [BOB, CAROL]
    sent = payloads.build_events(fact("message.sent", group=(ALICE, BOB, CAROL)), TOPIC, include_actor=True)
    assert len([e for e in sent if catalog.is_user_level(e["eventType"])]) == 3
    # decision 2: the added participant gets its own copy, and so does the removed one
    added = payloads.build_events(fact("participants.added"), TOPIC)
    assert {e["data"]["recipientCommunicationIdentifier"]["rawId"] for e in added[1:]} == {BOB, CAROL}
    removed = payloads.build_events(fact("participant.removed"), TOPIC)
    assert {e["data"]["recipientCommunicationIdentifier"]["rawId"] for e in removed[1:]} == {BOB, CAROL}


def test_same_fact_same_event_ids_so_redelivery_can_be_deduplicated() -> None:
    assert [e["id"] for e in payloads.build_events(fact("message.sent"), TOPIC)] == [
        e["id"] for e in payloads.build_events(fact("message.sent"), TOPIC)]
    assert payloads.build_events(fact("message.sent"), TOPIC)[0]["id"] != payloads.build_events(
        fact("message.sent", tx="tx-2"), TOPIC)[0]["id"]


@pytest.mark.parametrize("event", all_events(), ids=lambda e: catalog.short(e["eventType"]))
def test_event_grid_envelope_and_data_fields(event: dict) -> None:
    body = json.loads(json.dumps([event]))  # as the webhook receives it: an array of one
    assert isinstance(body, list) and len(body) == 1
    d = body[0]
    for k in REQUIRED_EG:
        assert k in d, k
    ev = EventGridEvent.from_dict(d)
    assert ev.event_type in {m.value for m in SystemEventNames}
    assert ev.data_version == "1.0" and ev.metadata_version == "1"
    assert ev.topic == TOPIC and ev.topic.startswith("/subscriptions/") and (
        "/providers/Microsoft.Communication/communicationServices/" in ev.topic)
    assert d["eventTime"].endswith("Z") and len(d["eventTime"].split(".")[1]) == 8  # 7 digits + Z
    name = catalog.short(d["eventType"])
    data = d["data"]
    assert set(data) == DATA_KEYS[name]
    assert data["threadId"] == THREAD
    assert isinstance(data["version"], int) and not isinstance(data["version"], bool)  # decision 5
    user = catalog.is_user_level(d["eventType"])
    for k in TIME_KEYS:
        if k in data:
            assert data[k].endswith("Z" if user else "+00:00"), (k, data[k])
            datetime.fromisoformat(data[k])
    for k in ID_KEYS:
        if k in data:
            assert data[k]["kind"] == "communicationUser" and data[k]["communicationUser"]["id"] == data[k]["rawId"]
    # subject: the spec's table (2.3), segment case included
    segment = (catalog.USER_LEVEL if user else catalog.THREAD_LEVEL)[name]
    subject_id = ALICE if segment in ("sender", "createdBy", "editedBy", "deletedBy") else CAROL
    expected = f"thread/{THREAD}/{segment}/{subject_id}"
    if user:
        recipient = data["recipientCommunicationIdentifier"]["rawId"]
        expected += f"/recipient/{recipient}"
        if "recipientId" in data:
            assert data["recipientId"] == recipient
        assert recipient != ALICE
    assert d["subject"] == expected
    if name.startswith("ChatMessage"):
        check_identifier(data["senderCommunicationIdentifier"], ALICE)
        assert data["type"] == "Text" and data["messageId"] == "1717236300123"
        assert data["senderDisplayName"] == "Alice"
        if "Deleted" not in name:
            assert data["messageBody"] == "Hello Bob" and data["metadata"] == {"key": "value"}
    if "participants" in data:
        assert [p["participantCommunicationIdentifier"]["rawId"] for p in data["participants"]] == [ALICE, BOB]
        assert all(p["metadata"] == {} for p in data["participants"])
        assert data["properties"] == {"topic": "Project kickoff"} and data["metadata"] == {}
    for k in ("participantAdded", "participantRemoved"):
        if k in data:
            assert data[k]["displayName"] == "Carol"
            check_identifier(data[k]["participantCommunicationIdentifier"], CAROL)


@pytest.mark.parametrize("event", all_events(), ids=lambda e: catalog.short(e["eventType"]))
def test_cloud_event_envelope(event: dict) -> None:
    d = json.loads(json.dumps(payloads.to_cloud_event(event)))
    assert isinstance(d, dict) and d["specversion"] == "1.0"
    assert "specVersion" not in d and "dataVersion" not in d and "topic" not in d
    ce = CloudEvent.from_dict(d)
    assert ce.time is not None and ce.subject == event["subject"]
    assert ce.source == TOPIC and ce.type == event["eventType"] and ce.id == event["id"]
    assert ce.data == event["data"] and not ce.extensions


def test_validation_event_shape() -> None:
    v = payloads.validation_event(TOPIC, "code-1", "https://x/validate?id=code-1", 1717236000000)
    ev = EventGridEvent.from_dict(v)
    assert ev.event_type == SystemEventNames.EventGridSubscriptionValidationEventName
    assert v["subject"] == "" and v["dataVersion"] == "1" and v["topic"] == TOPIC
    assert v["data"] == {"validationCode": "code-1", "validationUrl": "https://x/validate?id=code-1"}


def test_event_type_names_are_canonicalised_case_insensitively() -> None:
    assert catalog.canonical("chatmessagereceived") == P + "ChatMessageReceived"
    assert catalog.canonical("MICROSOFT.COMMUNICATION.ChatThreadCreated") == P + "ChatThreadCreated"
    with pytest.raises(ValueError, match="unknown event type 'ChatMessageSent'"):
        catalog.canonical("ChatMessageSent")

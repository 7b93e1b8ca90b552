"""Chat events after acs-events-2025.md (S1-S10): sequenceId, thread metadata and retentionPolicy, participant
metadata, `reason` on ChatThreadDeleted, policy deletions, PropertiesUpdated on metadata/policy-only PATCHes and
the opt-in typing event. Facts come from real model writes (observer -> outbox); every payload is parsed with
azure-eventgrid (Event Grid schema) and azure-core (CloudEvents)."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable

import pytest
from azure.communication.chat import CommunicationTokenCredential
from azure.communication.chat._generated import AzureCommunicationChatService
from azure.core.messaging import CloudEvent
from azure.core.pipeline.policies import BearerTokenCredentialPolicy
from azure.eventgrid import EventGridEvent, SystemEventNames
from webhook_receiver import Receiver, wait_until

from azext_communication.emulator.events import catalog, payloads
from azext_communication.emulator.events.observer import observer
from azext_communication.emulator.events.outbox import Outbox
from azext_communication.emulator.model import Caller, ChatModel, ParticipantSpec
from azext_communication.emulator.store import MemoryStore
from azext_communication.testing import local_emulator

TOPIC = payloads.resource_topic("00000000-0000-0000-0000-000000000000")
P = "Microsoft.Communication."
POLICY = {"kind": "threadCreationDate", "deleteThreadAfterDays": 30}
KNOWN = {m.value for m in SystemEventNames}


class World:
    """A model whose writes become facts, and the events built from them (each one parsed by the SDKs)."""

    def __init__(self, typing: bool = False, clock: Callable[[], int] | None = None, sequence_id: bool = True) -> None:
        self.model = ChatModel(clock=clock) if clock else ChatModel()
        self.outbox = Outbox(MemoryStore())
        self.outbox.active = True
        self.model.observers.append(observer(self.outbox, typing=typing, sequence_id=sequence_id))
        self.alice, self.bob, self.carol = (Caller(self.model.create_identity().id, frozenset({"chat"}))
                                            for _ in range(3))

    def events(self) -> list[dict]:
        out = []
        for fact in self.outbox.take(0):
            for event in payloads.build_events(json.loads(json.dumps(fact)), TOPIC):
                parsed = EventGridEvent.from_dict(json.loads(json.dumps(event)))
                assert parsed.event_type in KNOWN and parsed.data == event["data"]
                cloud = CloudEvent.from_dict(json.loads(json.dumps(payloads.to_cloud_event(event))))
                assert cloud.type == parsed.event_type and cloud.data == event["data"]
                out.append(event)
        return out


def names(events: list[dict]) -> Counter:
    return Counter(catalog.short(e["eventType"]) for e in events)


def by_name(events: list[dict], name: str) -> list[dict]:
    return [e["data"] for e in events if e["eventType"] == P + name]


def test_message_events_carry_the_sequence_id_unchanged_on_edit_and_delete() -> None:
    w = World()
    t, _ = w.model.create_thread(w.alice, "t", [ParticipantSpec(w.bob.user_id)])
    m = w.model.send_message(w.alice, t.id, "hi")
    w.model.update_message(w.alice, t.id, m.id, "hi!")
    w.model.delete_message(w.alice, t.id, m.id)
    events = w.events()
    message_events = [e for e in events if e["eventType"].startswith(P + "ChatMessage")]
    assert len(message_events) == 6
    assert {e["data"]["sequenceId"] for e in message_events} == {3}  # after participantAdded, topicUpdated
    assert all(isinstance(e["data"]["sequenceId"], int) for e in message_events)
    assert all("sequenceId" not in e["data"] for e in events if e not in message_events)
    off = World(sequence_id=False)  # --events-no-sequence-id
    t, _ = off.model.create_thread(off.alice, "t", [ParticipantSpec(off.bob.user_id)])
    off.model.send_message(off.alice, t.id, "hi")
    sent = by_name(off.events(), "ChatMessageReceivedInThread")
    assert len(sent) == 1 and "sequenceId" not in sent[0]


def test_thread_events_carry_metadata_the_policy_once_set_and_participant_metadata() -> None:
    w = World()
    t, _ = w.model.create_thread(w.alice, "t", [ParticipantSpec(w.bob.user_id, "Bob", metadata={"role": "agent"})],
                                 props={"metadata": {"ticket": "42"}, "retentionPolicy": POLICY})
    plain, _ = w.model.create_thread(w.alice, "plain", [ParticipantSpec(w.bob.user_id)])
    w.model.add_participants(w.alice, t.id, [ParticipantSpec(w.carol.user_id, "C", metadata={"userType": "C2"})])
    events = w.events()
    created, created_plain = by_name(events, "ChatThreadCreated")
    assert (created["metadata"], created["retentionPolicy"]) == ({"ticket": "42"}, POLICY)
    assert "metadata" not in created["properties"]  # top level of data (S9)
    assert [p["metadata"] for p in created["participants"]] == [{}, {"role": "agent"}]
    [with_user] = [d for d in by_name(events, "ChatThreadCreatedWithUser") if d["threadId"] == t.id]
    assert with_user["retentionPolicy"] == POLICY and with_user["participants"] == created["participants"]
    assert "retentionPolicy" not in created_plain and created_plain["metadata"] == {}  # S5: omitted when never set
    [added] = by_name(events, "ChatThreadParticipantAdded")
    assert added["participantAdded"]["metadata"] == {"userType": "C2"}
    assert all(d["participantAdded"]["metadata"] == {"userType": "C2"}
               for d in by_name(events, "ChatParticipantAddedToThreadWithUser"))


def test_a_metadata_or_policy_only_patch_raises_properties_updated_and_an_empty_one_nothing() -> None:
    w = World()
    t, _ = w.model.create_thread(w.alice, "t", [ParticipantSpec(w.bob.user_id)], props={"metadata": {"a": "1"}})
    w.events()
    w.model.update_thread(w.alice, t.id, {})
    assert w.events() == []
    w.model.update_thread(w.alice, t.id, {"metadata": {"b": "2"}})
    w.model.update_thread(w.alice, t.id, {"retentionPolicy": POLICY})
    w.model.update_thread(w.alice, t.id, {"retentionPolicy": None})
    events = w.events()
    assert names(events) == {"ChatThreadPropertiesUpdated": 3, "ChatThreadPropertiesUpdatedPerUser": 3}
    first, second, third = by_name(events, "ChatThreadPropertiesUpdated")
    assert first["properties"] == {"topic": "t"} and first["metadata"] == {"a": "1", "b": "2"}  # S6: full map
    assert "retentionPolicy" not in first and second["retentionPolicy"] == POLICY
    assert third["retentionPolicy"] == {"kind": "none"}  # set (to none): kept, as stored
    per_user = by_name(events, "ChatThreadPropertiesUpdatedPerUser")
    assert [d["recipientCommunicationIdentifier"]["rawId"] for d in per_user] == [w.bob.user_id] * 3


def test_thread_deleted_says_who_and_why() -> None:
    clock = [1_750_000_000_000]
    w = World(clock=lambda: clock[0])
    w.model.retention.day_ms = 1000.0
    by_user, _ = w.model.create_thread(w.alice, "t", [ParticipantSpec(w.bob.user_id)])
    by_policy, _ = w.model.create_thread(w.alice, "t", [ParticipantSpec(w.bob.user_id)],
                                         props={"retentionPolicy": POLICY})
    w.events()
    w.model.delete_thread(w.bob, by_user.id)
    clock[0] += 30 * 1000
    w.model.expire_due()
    events = w.events()
    user_deleted, policy_deleted = by_name(events, "ChatThreadDeleted")
    assert user_deleted["reason"] == "deletedByUser"
    assert user_deleted["deletedByCommunicationIdentifier"]["rawId"] == w.bob.user_id
    assert policy_deleted["reason"] == "deletedByPolicy"
    assert policy_deleted["deletedByCommunicationIdentifier"]["rawId"] == w.alice.user_id  # the creator (S8)
    copies = [d for d in by_name(events, "ChatThreadWithUserDeleted") if d["threadId"] == by_policy.id]
    assert sorted(d["recipientCommunicationIdentifier"]["rawId"] for d in copies) == sorted(
        [w.alice.user_id, w.bob.user_id])  # no sender to exclude
    assert all("reason" not in d for d in by_name(events, "ChatThreadWithUserDeleted"))  # S7: thread level only


def test_typing_events_only_when_switched_on_with_the_documented_keys() -> None:
    off = World(typing=False)
    t, _ = off.model.create_thread(off.alice, "t", [ParticipantSpec(off.bob.user_id)])
    off.events()
    off.model.send_typing(off.bob, t.id, "Bob")
    assert off.events() == []
    w = World(typing=True)
    t, _ = w.model.create_thread(w.alice, "t", [ParticipantSpec(w.bob.user_id)])
    w.events()
    w.model.send_typing(w.bob, t.id, "Bob")
    w.model.send_typing(w.alice, t.id)
    events = w.events()
    assert names(events) == {"ChatTypingIndicatorReceivedInThread": 2}  # thread level, no fan-out
    bob, alice = events
    assert bob["subject"] == f"thread/{t.id}/sender/{w.bob.user_id}"
    assert set(bob["data"]) == {"senderCommunicationIdentifier", "senderDisplayName", "transactionId", "threadId"}
    assert bob["data"]["senderDisplayName"] == "Bob" and "senderDisplayName" not in alice["data"]
    big, _ = w.model.create_thread(w.alice, "big", [ParticipantSpec(w.model.create_identity().id)
                                                    for _ in range(20)])
    w.events()
    w.model.send_typing(w.alice, big.id)
    assert w.events() == []  # more than 20 participants: no typing notifications


def test_end_to_end_metadata_patch_and_typing_reach_a_webhook() -> None:
    with Receiver() as hook, local_emulator(events_typing=True, event_retry_scale=0.01) as emu:
        emu.subscribe(hook.url)
        alice, bob = emu.issue_token(), emu.create_user()
        client = AzureCommunicationChatService(emu.endpoint, api_version="2025-03-15",
                                               connection_verify=emu.ca_bundle,
                                               authentication_policy=BearerTokenCredentialPolicy(
                                                   CommunicationTokenCredential(alice.token)))
        body = {"topic": "t", "participants": [{"communicationIdentifier": {"rawId": bob}, "metadata": {"r": "1"}}]}
        tid = client.chat.create_chat_thread(io.BytesIO(json.dumps(body).encode())).chat_thread.id
        client.chat_thread.update_chat_thread_properties(tid, io.BytesIO(b'{"metadata": {"k": "v"}}'),
                                                         content_type="application/merge-patch+json")
        emu.chat_thread_client(alice, tid).send_typing_notification(sender_display_name="Alice")
        assert wait_until(lambda: len(hook.notifications()) >= 5)
        events = [EventGridEvent.from_dict(e) for r in hook.notifications() for e in r.events]
        assert [e.event_type for e in events] == [P + n for n in (
            "ChatThreadCreated", "ChatThreadCreatedWithUser", "ChatThreadPropertiesUpdated",
            "ChatThreadPropertiesUpdatedPerUser", "ChatTypingIndicatorReceivedInThread")]
        assert events[0].data["participants"][1]["metadata"] == {"r": "1"}
        assert events[2].data["metadata"] == {"k": "v"} and events[4].data["senderDisplayName"] == "Alice"


@pytest.mark.parametrize("name", ["ChatTypingIndicatorReceivedInThread", "chattypingindicatorreceivedinthread"])
def test_a_filter_may_name_the_typing_event(name: str) -> None:
    assert catalog.canonical(name) == P + "ChatTypingIndicatorReceivedInThread"

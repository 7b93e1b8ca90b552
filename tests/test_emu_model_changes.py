"""The model facade hands every successful chat write to its observers, once, with what an event needs."""

from __future__ import annotations

import pytest

from azext_communication.emulator.errors import Forbidden, NotFound
from azext_communication.emulator.model import Change, ChatModel, ParticipantSpec
from azext_communication.emulator.store import SqliteStore


@pytest.fixture
def model() -> ChatModel:
    return ChatModel()


@pytest.fixture
def changes(model: ChatModel) -> list[Change]:
    seen: list[Change] = []
    model.observers.append(seen.append)
    return seen


def user(model: ChatModel):
    ident = model.create_identity()
    return model.authenticate(model.issue_token(ident.id, ["chat"])[0])


def test_each_chat_write_publishes_one_change_with_thread_actor_members_and_message(
        model: ChatModel, changes: list[Change]) -> None:
    a, b, c = user(model), user(model), user(model)
    t, _ = model.create_thread(a, "topic", [ParticipantSpec(b.user_id)])
    assert [ch.kind for ch in changes] == ["thread.created"]
    created = changes[-1]
    assert created.thread is t and created.actor == a.user_id and created.members == (a.user_id, b.user_id)
    assert [p.raw_id for p in created.participants] == [a.user_id, b.user_id]

    msg = model.send_message(b, t.id, "hi")
    sent = changes[-1]
    assert (sent.kind, sent.actor, sent.message, sent.at_ms) == ("message.sent", b.user_id, msg, msg.created_ms)

    model.update_message(b, t.id, msg.id, "edited")
    assert changes[-1].kind == "message.edited" and changes[-1].message.content == {"message": "edited"}
    model.delete_message(b, t.id, msg.id)
    assert changes[-1].kind == "message.deleted" and changes[-1].message.deleted_ms is not None

    model.update_topic(a, t.id, "new topic")
    assert changes[-1].kind == "thread.topicUpdated" and changes[-1].message.type == "topicUpdated"

    model.add_participants(a, t.id, [ParticipantSpec(c.user_id, "Cee")])
    added = changes[-1]
    assert added.kind == "participants.added" and [p.display_name for p in added.participants] == ["Cee"]
    assert added.members == (a.user_id, b.user_id, c.user_id) and added.message.type == "participantAdded"

    model.remove_participant(a, t.id, b.user_id)
    removed = changes[-1]
    assert removed.kind == "participant.removed" and removed.participants[0].raw_id == b.user_id
    assert b.user_id in removed.members  # members before the removal: the removed user is told too

    model.delete_thread(a, t.id)
    assert changes[-1].kind == "thread.deleted" and changes[-1].members == (a.user_id, c.user_id)
    assert len(changes) == 8


def test_refusals_no_ops_and_reads_publish_nothing(model: ChatModel, changes: list[Change]) -> None:
    a, b = user(model), user(model)
    t, _ = model.create_thread(a, "topic", [], request_id="r1")
    model.create_thread(a, "topic", [], request_id="r1")  # replayed: the same thread, no second change
    msg = model.send_message(a, t.id, "hi")
    del changes[:]
    model.update_topic(a, t.id, None)
    model.add_participants(a, t.id, [ParticipantSpec(a.user_id)])  # already a member
    model.delete_message(a, t.id, msg.id)
    model.delete_message(a, t.id, msg.id)  # the second delete changes nothing
    model.send_typing(a, t.id)
    model.send_read_receipt(a, t.id, msg.id)
    model.list_messages(a, t.id, 10, None)
    with pytest.raises(Forbidden):
        model.send_message(b, t.id, "not a member")
    with pytest.raises(NotFound):
        model.remove_participant(a, t.id, b.user_id)
    # typing and a read receipt change nothing events report but are announced (typing events, real-time push,
    # the web page)
    assert [ch.kind for ch in changes] == ["message.deleted", "typing", "receipt"]
    assert (changes[1].actor, changes[1].message, changes[1].members) == (a.user_id, None, (a.user_id,))


def test_typing_and_read_receipts_are_published_for_real_time_outlets(model: ChatModel,
                                                                    changes: list[Change]) -> None:
    a, b = user(model), user(model)
    t, _ = model.create_thread(a, "topic", [ParticipantSpec(b.user_id, "Bee")])
    msg = model.send_message(a, t.id, "hi")
    del changes[:]
    model.send_typing(b, t.id, "Bee typing")
    model.send_read_receipt(b, t.id, msg.id)
    typing, receipt = changes
    assert (typing.kind, typing.actor, typing.sender_display_name) == ("typing", b.user_id, "Bee typing")
    assert typing.members == (a.user_id, b.user_id)
    assert (receipt.kind, receipt.actor, receipt.message.id) == ("receipt", b.user_id, msg.id)
    with pytest.raises(Forbidden):
        model.send_typing(user(model), t.id)
    assert len(changes) == 2


def test_an_observer_writes_in_the_same_store_transaction_as_the_change(tmp_path) -> None:
    store = SqliteStore(tmp_path / "db")
    model = ChatModel(store)
    model.observers.append(lambda ch: store.put("outbox", ch.kind, {"thread": ch.thread.id}))
    a = user(model)
    before = store.transactions
    t, _ = model.create_thread(a, "topic", [])
    assert store.transactions == before + 1  # the thread's records and the observer's row together
    model.close()
    reopened = SqliteStore(tmp_path / "db")
    assert dict(reopened.load("outbox")) == {"thread.created": {"thread": t.id}}
    reopened.close()

"""Retention policies fire (wire spec 12.4, 12.6 #7-8): a due thread is deleted as DELETE deletes it, without an
actor, lazily on a request touching it, by the sweeper without any request, and at the next start when it fell
due while the emulator was down. Events: ChatThreadDeleted says deletedByPolicy (acs-events-2025 S7, S8)."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from azure.communication.chat import CommunicationTokenCredential
from azure.communication.chat._generated import AzureCommunicationChatService
from azure.core.exceptions import ResourceNotFoundError
from azure.core.pipeline.policies import BearerTokenCredentialPolicy
from azure.eventgrid import EventGridEvent
from webhook_receiver import Receiver, wait_until

from azext_communication.emulator.cli import build_parser, run_emulator
from azext_communication.emulator.errors import NotFound
from azext_communication.emulator.model import Caller, Change, ChatModel, ParticipantSpec
from azext_communication.testing import local_emulator

DAY = 1000  # ms: the model tests run with a one-second "day" and their own clock


class Clock:
    def __init__(self) -> None:
        self.now = 1_750_000_000_000

    def __call__(self) -> int:
        return self.now


def policy(days: int) -> dict:
    return {"kind": "threadCreationDate", "deleteThreadAfterDays": days}


@pytest.fixture
def world() -> tuple[ChatModel, Clock, Caller, Caller, list[Change]]:
    clock = Clock()
    model = ChatModel(clock=clock, retention_day_seconds=1)
    a, b = (Caller(model.create_identity().id, frozenset({"chat"})) for _ in range(2))
    changes: list[Change] = []
    model.observers.append(changes.append)
    return model, clock, a, b, changes


def test_a_due_thread_is_deleted_lazily_by_the_next_request_as_delete_would_without_an_actor(world) -> None:
    model, clock, a, b, changes = world
    t, _ = model.create_thread(a, "t", [ParticipantSpec(b.user_id, "B")], props={"retentionPolicy": policy(30)})
    msg = model.send_message(b, t.id, "hi")
    model.send_read_receipt(a, t.id, msg.id)
    clock.now = t.created_ms + 30 * DAY - 1
    assert model.get_thread(b, t.id) is t  # not yet
    clock.now += 1
    del changes[:]
    with pytest.raises(NotFound):
        model.get_message(b, t.id, msg.id)
    assert [(c.kind, c.actor, c.reason, c.members) for c in changes] == [
        ("thread.deleted", None, "deletedByPolicy", (a.user_id, b.user_id))]
    assert t.deleted_ms == clock.now and t.deleted_by_policy
    for call in (lambda: model.get_thread(a, t.id), lambda: model.list_messages(a, t.id, 10, None),
                 lambda: model.list_participants(a, t.id, 10, 0), lambda: model.list_read_receipts(a, t.id, 10, 0),
                 lambda: model.send_message(a, t.id, "x"), lambda: model.delete_thread(a, t.id)):
        with pytest.raises(NotFound):
            call()
    listed = model.list_threads(b, 10, None).items
    assert listed == [t] and listed[0].deleted_ms is not None  # kept with deletedOn, like a user delete
    assert [c.kind for c in changes] == ["thread.deleted"]  # deleted once


def test_the_due_time_counts_from_creation_and_follows_every_policy_change(world) -> None:
    model, clock, a, _, changes = world
    t, _ = model.create_thread(a, "t", [], props={"retentionPolicy": policy(30)})
    keep, _ = model.create_thread(a, "keep", [], props={"retentionPolicy": policy(30)})
    model.update_thread(a, keep.id, {"retentionPolicy": None})
    clock.now = t.created_ms + 25 * DAY
    model.update_thread(a, t.id, {"retentionPolicy": policy(40)})  # from creation, not from this update
    clock.now = t.created_ms + 35 * DAY  # past the old due time
    assert model.get_thread(a, t.id) is t
    assert model.expire_due() == t.created_ms + 40 * DAY
    clock.now = t.created_ms + 40 * DAY
    assert model.expire_due() is None and t.deleted_ms == clock.now
    assert keep.deleted_ms is None and model.get_thread(a, keep.id) is keep
    late, _ = model.create_thread(a, "late", [])
    clock.now += 31 * DAY
    model.update_thread(a, late.id, {"retentionPolicy": policy(30)})  # already past: deleted at once
    assert late.deleted_ms == clock.now and changes[-1].reason == "deletedByPolicy"


def test_a_user_delete_says_deleted_by_user(world) -> None:
    model, _, a, _, changes = world
    t, _ = model.create_thread(a, "t", [], props={"retentionPolicy": policy(30)})
    model.delete_thread(a, t.id)
    assert (changes[-1].actor, changes[-1].reason) == (a.user_id, "deletedByUser")
    assert model.expire_due() is None and not t.deleted_by_policy


def _client(emu, token: str) -> AzureCommunicationChatService:
    return AzureCommunicationChatService(emu.endpoint, api_version="2025-03-15", connection_verify=emu.ca_bundle,
                                         authentication_policy=BearerTokenCredentialPolicy(
                                             CommunicationTokenCredential(token)))


def _create(emu, days: int, *others: str) -> tuple[str, str, str]:
    alice = emu.issue_token()
    parts = [{"communicationIdentifier": {"rawId": u, "communicationUser": {"id": u}}} for u in others]
    body = {"topic": "short-lived", "retentionPolicy": policy(days), "participants": parts}
    created = _client(emu, alice.token).chat.create_chat_thread(io.BytesIO(json.dumps(body).encode()))
    return alice.user_id, alice.token, created.chat_thread.id


def _deleted_events(hook: Receiver) -> list[EventGridEvent]:
    events = [EventGridEvent.from_dict(e) for r in hook.notifications() for e in r.events]
    return [e for e in events if e.event_type.endswith(("ChatThreadDeleted", "ChatThreadWithUserDeleted"))]


def test_the_sweeper_fires_a_30_day_policy_within_2_seconds_at_0_02_day_seconds(tmp_path: Path) -> None:
    with Receiver() as hook, local_emulator(home=tmp_path, retention_day_seconds=0.02,
                                            event_retry_scale=0.01) as emu:
        emu.subscribe(hook.url)
        bob = emu.create_user()
        alice, token, tid = _create(emu, 30, bob)
        start = time.monotonic()
        assert wait_until(lambda: len(_deleted_events(hook)) == 3, timeout=5)  # no request touched the thread
        assert time.monotonic() - start < 2.0
        thread_level, *copies = _deleted_events(hook)
        assert thread_level.data["reason"] == "deletedByPolicy"
        assert thread_level.data["deletedByCommunicationIdentifier"]["rawId"] == alice  # the creator (S8)
        assert thread_level.subject.endswith(f"/deletedBy/{alice}")
        assert sorted(e.data["recipientCommunicationIdentifier"]["rawId"] for e in copies) == sorted([alice, bob])
        assert all("reason" not in e.data for e in copies)
        client = _client(emu, token)
        with pytest.raises(ResourceNotFoundError):
            client.chat_thread.get_chat_thread_properties(tid)
        with pytest.raises(ResourceNotFoundError):
            list(client.chat_thread.list_chat_messages(tid))
        item = next(i for i in client.chat.list_chat_threads() if i.id == tid)
        assert item.deleted_on is not None


def test_a_deletion_due_while_the_emulator_was_down_happens_at_the_next_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Receiver() as hook:
        sub = {"name": "retention", "endpoint": hook.url}
        with local_emulator(data_dir=data, retention_day_seconds=0.05, subscriptions=[sub]) as emu:
            created = time.monotonic()
            alice, token, tid = _create(emu, 30, emu.create_user())  # due 1.5 s after creation
            assert wait_until(lambda: len(hook.notifications()) >= 2)  # ChatThreadCreated (+WithUser)
        assert time.monotonic() - created < 1.5, "the first run outlived the due time: nothing proven"
        time.sleep(max(0.0, created + 1.8 - time.monotonic()))
        assert _deleted_events(hook) == []  # nothing happened while it was down
        with local_emulator(data_dir=data, retention_day_seconds=0.05) as emu:  # the subscription is stored
            assert wait_until(lambda: len(_deleted_events(hook)) == 3, timeout=5)  # before any chat request
            assert _deleted_events(hook)[0].data["reason"] == "deletedByPolicy"
            with pytest.raises(ResourceNotFoundError):
                _client(emu, token).chat_thread.get_chat_thread_properties(tid)
        with local_emulator(data_dir=data, retention_day_seconds=0.05) as emu, pytest.raises(ResourceNotFoundError):
            _client(emu, emu.issue_token(alice).token).chat_thread.get_chat_thread_properties(tid)


@pytest.mark.parametrize("bad", ["0", "-1", "x", "nan", "40000000"])
def test_a_bad_retention_day_length_is_a_one_line_usage_error(bad: str, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AZURE_COMMUNICATION_EMULATOR_HOME", str(tmp_path))
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["--retention-day-seconds", bad])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--retention-day-seconds" in err and "greater than 0" in err
    messages: list[str] = []
    assert run_emulator(port=0, retention_day_seconds=-1.0, report=messages.append) == 2
    assert len(messages) == 1 and "--retention-day-seconds" in messages[0] and "\n" not in messages[0]
    assert build_parser().parse_args(["--retention-day-seconds", "0.02"]).retention_day_seconds == 0.02
    assert build_parser().parse_args([]).retention_day_seconds == 86400.0


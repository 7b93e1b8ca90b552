"""Who gets which push, how often, and when a socket ends (acs-realtime-spec.md sections 4, 7 and 9), seen by
`websockets` clients speaking socket.io 0.9 to an in-process emulator."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from realtime_client import RealtimeClient, push_body
from websockets.exceptions import ConnectionClosed

from azext_communication.emulator.model import Caller, ParticipantSpec
from azext_communication.emulator.realtime import websocket
from azext_communication.emulator.server import EmulatorServer


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    with EmulatorServer(port=0, data_dir=tmp_path_factory.mktemp("rt-fanout")) as server:
        yield server


@pytest.fixture(scope="module")
def client(emu: EmulatorServer) -> RealtimeClient:
    return RealtimeClient(emu)


def new_user(emu: EmulatorServer, **token_options: object) -> tuple[Caller, str]:
    ident = emu.model.create_identity()
    token, _ = emu.model.issue_token(ident.id, ["chat"], **token_options)
    return emu.model.authenticate(token), token


def pushes(ws: object, wait: float = 0.5) -> list[dict]:
    """Every push body that arrives until `wait` seconds pass without one (answering each, as the SDK does)."""
    out = []
    while True:
        try:
            frame = ws.recv(timeout=wait)
        except TimeoutError:
            return out
        if frame.startswith("3:::"):
            out.append(push_body(frame))
            ws.send(f'3:::{{"status":200,"id":{json.loads(frame[4:])["id"]}}}')


def test_every_connection_of_a_user_gets_its_own_copy_once(emu, client) -> None:
    alice, _ = new_user(emu)
    bob, token = new_user(emu)
    tabs = [client.live_socket(token), client.live_socket(token)]
    thread, _ = emu.model.create_thread(alice, "tabs", [ParticipantSpec(bob.user_id)])
    emu.model.send_message(alice, thread.id, "to both tabs")
    for ws in tabs:
        assert [p["eventId"] for p in pushes(ws)] == [257, 200]
        ws.close()


def test_typing_and_receipts_skip_their_sender_other_events_include_the_actor(emu, client) -> None:
    alice, alice_token = new_user(emu)
    bob, bob_token = new_user(emu)
    thread, _ = emu.model.create_thread(alice, "who", [ParticipantSpec(bob.user_id, "Bob")])
    a_ws, b_ws = client.live_socket(alice_token), client.live_socket(bob_token)
    msg = emu.model.send_message(alice, thread.id, "hi")
    emu.model.send_typing(alice, thread.id, "Alice")
    emu.model.send_read_receipt(bob, thread.id, msg.id)
    a_got, b_got = pushes(a_ws), pushes(b_ws)
    assert [p["eventId"] for p in a_got] == [200, 246]  # her own message; Bob's receipt; not her typing
    assert [p["eventId"] for p in b_got] == [200, 245]  # Alice's message and typing; not his own receipt
    typing, receipt = b_got[1], a_got[1]
    assert (typing["senderId"], typing["recipientMri"], typing["senderDisplayName"]) == (
        alice.user_id, bob.user_id, "Alice")
    horizon = json.loads(receipt["messageBody"])
    assert receipt["messageId"] == msg.id and horizon["consumptionhorizon"].split(";")[0] == msg.id
    assert int(horizon["consumptionhorizon"].split(";")[1]) >= msg.created_ms
    for ws in (a_ws, b_ws):
        ws.close()


def test_added_and_removed_users_get_their_event_and_nothing_after(emu, client) -> None:
    alice, _ = new_user(emu)
    carol, carol_token = new_user(emu)
    thread, _ = emu.model.create_thread(alice, "join", [])
    ws = client.live_socket(carol_token)
    emu.model.add_participants(alice, thread.id, [ParticipantSpec(carol.user_id, "Carol")])
    emu.model.send_message(alice, thread.id, "welcome")
    emu.model.remove_participant(alice, thread.id, carol.user_id)
    emu.model.send_message(alice, thread.id, "after she left")
    got = pushes(ws)
    assert [p["eventId"] for p in got] == [260, 200, 261]
    assert json.loads(got[0]["participantsAdded"])[0] == {"participantId": carol.user_id, "displayName": "Carol"}
    assert got[1]["messageBody"] == "welcome"
    ws.close()


def test_a_thread_deletion_goes_to_the_participants_at_deletion(emu, client) -> None:
    alice, alice_token = new_user(emu)
    thread, _ = emu.model.create_thread(alice, "bye", [])
    ws = client.live_socket(alice_token)
    emu.model.delete_thread(alice, thread.id)
    [gone] = pushes(ws)
    assert (gone["eventId"], gone["reason"]) == (259, "deletedByUser")
    assert json.loads(gone["deletedBy"])["participantId"] == alice.user_id
    ws.close()


def test_an_expired_token_ends_its_connection(emu, client) -> None:
    _, token = new_user(emu, expires_at=int(time.time()) + 3)
    ws = client.live_socket(token)
    started = time.monotonic()
    frames = []
    with pytest.raises(ConnectionClosed):
        while True:
            frames.append(ws.recv(timeout=10))
    assert frames[-1] == '0:::{"reason":"unauthorized"}'
    assert time.monotonic() - started < 6


def test_heartbeats_are_sent_and_silence_is_not_fatal(emu, client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(websocket, "HEARTBEAT_EVERY_S", 0.5)
    _, token = new_user(emu)
    ws = client.live_socket(token)
    assert ws.recv(timeout=3) == "2::"
    ws.send("2::")
    assert ws.recv(timeout=3) == "2::"
    ws.close()


def test_pushes_keep_commit_order_across_threads_of_writers(emu, client) -> None:
    import threading

    alice, _ = new_user(emu)
    bob, bob_token = new_user(emu)
    senders = [new_user(emu)[0] for _ in range(4)]
    thread, _ = emu.model.create_thread(alice, "order", [ParticipantSpec(bob.user_id)]
                                        + [ParticipantSpec(s.user_id) for s in senders])
    ws = client.live_socket(bob_token)
    pushes(ws, 0.2)

    def send(who: Caller) -> None:
        for i in range(25):
            emu.model.send_message(who, thread.id, f"{who.user_id[-4:]}-{i}")

    workers = [threading.Thread(target=send, args=(s,)) for s in senders]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    got = [p for p in pushes(ws) if p["eventId"] == 200]
    ids = [int(p["messageId"]) for p in got]
    assert len(ids) == 100 and len(set(ids)) == 100 and ids == sorted(ids)
    ws.close()

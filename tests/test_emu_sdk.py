"""The unmodified SDKs against an in-process emulator over HTTPS, certificate verification on."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.communication.chat import (
    ChatClient,
    ChatMessageType,
    ChatParticipant,
    CommunicationTokenCredential,
)
from azure.communication.identity import (
    CommunicationIdentityClient,
    CommunicationTokenScope,
    CommunicationUserIdentifier,
)
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from emulator_process import in_process_emulator

from azext_communication.emulator.server import EmulatorServer

UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    with in_process_emulator(tmp_path_factory.mktemp("emuhome")) as server:
        yield server


@pytest.fixture
def trusted(emu: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    """Trust the emulator the documented way: REQUESTS_CA_BUNDLE (covers thread clients too)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_bundle)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return emu


@pytest.fixture
def identity(trusted: EmulatorServer) -> CommunicationIdentityClient:
    return CommunicationIdentityClient.from_connection_string(trusted.connection_string)


def chat_for(emu: EmulatorServer, identity: CommunicationIdentityClient, scopes=("chat",)):
    user, token = identity.create_user_and_token(list(scopes))
    return user, ChatClient(emu.endpoint, CommunicationTokenCredential(token.token))


def test_identity_operations(trusted: EmulatorServer, identity: CommunicationIdentityClient) -> None:
    user = identity.create_user()
    assert user.raw_id.startswith("8:acs:") and user.properties["id"] == user.raw_id
    user2, token = identity.create_user_and_token([CommunicationTokenScope.CHAT, CommunicationTokenScope.VOIP],
                                                  token_expires_in=dt.timedelta(minutes=120))
    exp = dt.datetime.fromisoformat(token.expires_on)
    assert abs((exp - dt.datetime.now(UTC)).total_seconds() - 7200) < 30
    tok = identity.get_token(user, [CommunicationTokenScope.CHAT], token_expires_in=dt.timedelta(hours=1))
    assert tok.token.count(".") == 2
    CommunicationTokenCredential(tok.token).get_token()  # the chat SDK parses it
    with pytest.raises(HttpResponseError) as exc:
        identity.get_token(user, [CommunicationTokenScope.CHAT], token_expires_in=dt.timedelta(minutes=30))
    assert exc.value.status_code == 400
    identity.revoke_tokens(user)
    identity.delete_user(user)
    with pytest.raises(ResourceNotFoundError):
        identity.get_token(user, [CommunicationTokenScope.CHAT])
    teams = identity.get_token_for_teams_user("header.payload.sig", "client-id", "00000000-aaaa")
    assert teams.token.count(".") == 2 and teams.expires_on
    bad = CommunicationIdentityClient.from_connection_string(
        trusted.connection_string.split("accesskey=")[0] + "accesskey=" + "QUJDRA==")
    with pytest.raises(ClientAuthenticationError):
        bad.create_user()


def test_full_chat_flow(trusted: EmulatorServer, identity: CommunicationIdentityClient) -> None:
    alice, chat = chat_for(trusted, identity)
    bob, bob_chat = chat_for(trusted, identity)
    carol = identity.create_user()
    unknown = CommunicationUserIdentifier("8:acs:11111111-1111-1111-1111-111111111111_"
                                          "22222222-2222-2222-2222-222222222222")
    result = chat.create_chat_thread("launch", thread_participants=[
        ChatParticipant(identifier=bob, display_name="Bob"), ChatParticipant(identifier=unknown)])
    thread = result.chat_thread
    assert thread.topic == "launch" and thread.created_by.raw_id == alice.raw_id
    assert len(result.errors) == 1 and result.errors[0][1].code == "403"
    assert result.errors[0][1].message == "Permissions check failed"
    tc = chat.get_chat_thread_client(thread.id)
    system = list(tc.list_messages())
    assert [(m.type, m.sequence_id) for m in system] == [(ChatMessageType.TOPIC_UPDATED, "2"),
                                                          (ChatMessageType.PARTICIPANT_ADDED, "1")]
    assert system[0].content.topic == "launch" and system[0].content.initiator.raw_id == alice.raw_id
    assert sorted(p.identifier.raw_id for p in system[1].content.participants) == sorted([alice.raw_id, bob.raw_id])

    sent = tc.send_message("hello <b>bob</b>", chat_message_type=ChatMessageType.HTML, sender_display_name="Alice",
                           metadata={"tag": "greeting"})
    msg = tc.get_message(sent.id)
    assert msg.type == ChatMessageType.HTML and msg.sequence_id == "3" and msg.version == sent.id
    assert msg.sender.raw_id == alice.raw_id and msg.sender_display_name == "Alice"
    assert msg.content.message == "hello <b>bob</b>" and msg.metadata == {"tag": "greeting"}
    assert msg.edited_on is None and msg.deleted_on is None

    tc.update_message(sent.id, content="edited", metadata={"tag": "changed"})
    edited = tc.get_message(sent.id)
    assert edited.content.message == "edited" and edited.edited_on is not None
    assert int(edited.version) > int(sent.id) and edited.metadata == {"tag": "changed"}

    bob_tc = bob_chat.get_chat_thread_client(thread.id)
    bob_tc.send_typing_notification(sender_display_name="Bob")
    bob_tc.send_read_receipt(sent.id)
    tc.send_read_receipt(sent.id)
    tc.send_read_receipt(sent.id)
    receipts = list(tc.list_read_receipts())
    assert sorted(r.sender.raw_id for r in receipts) == sorted([alice.raw_id, bob.raw_id])
    assert all(r.chat_message_id == sent.id for r in receipts)
    assert len(list(tc.list_read_receipts(skip=1))) == 1

    tc.update_topic("renamed")
    props = bob_tc.get_properties()
    assert props.topic == "renamed" and props.id == thread.id and props.created_by.raw_id == alice.raw_id

    errors = tc.add_participants([ChatParticipant(identifier=carol, display_name="Carol",
                                                  share_history_time=dt.datetime.now(UTC)), ChatParticipant(
        identifier=unknown)])
    assert [e[1].code for e in errors] == ["403"]
    parts = list(tc.list_participants())
    assert [p.identifier.raw_id for p in parts] == [alice.raw_id, bob.raw_id, carol.raw_id]
    assert parts[0].share_history_time == dt.datetime(1970, 1, 1, tzinfo=UTC) and parts[1].display_name == "Bob"
    assert [p.identifier.raw_id for p in tc.list_participants(skip=2)] == [carol.raw_id]
    tc.remove_participant(carol)

    bob_msg = bob_tc.send_message("from bob")
    with pytest.raises(HttpResponseError) as exc:
        tc.delete_message(bob_msg.id)
    assert exc.value.status_code == 403
    bob_tc.delete_message(bob_msg.id)
    deleted = tc.get_message(bob_msg.id)
    assert deleted.deleted_on is not None and deleted.content.message == "" and deleted.sender.raw_id == bob.raw_id

    types = [m.type for m in tc.list_messages()]
    assert types == [ChatMessageType.TEXT, ChatMessageType.PARTICIPANT_REMOVED, ChatMessageType.PARTICIPANT_ADDED,
                     ChatMessageType.TOPIC_UPDATED, ChatMessageType.HTML, ChatMessageType.TOPIC_UPDATED,
                     ChatMessageType.PARTICIPANT_ADDED]
    removed = next(m for m in tc.list_messages() if m.type == ChatMessageType.PARTICIPANT_REMOVED)
    assert [p.identifier.raw_id for p in removed.content.participants] == [carol.raw_id]

    items = list(chat.list_chat_threads())
    assert items[0].id == thread.id and items[0].topic == "renamed" and items[0].last_message_received_on
    chat.delete_chat_thread(thread.id)
    with pytest.raises(ResourceNotFoundError):
        tc.get_properties()
    assert next(t for t in chat.list_chat_threads() if t.id == thread.id).deleted_on is not None


def test_idempotency_token(trusted: EmulatorServer, identity: CommunicationIdentityClient) -> None:
    _, chat = chat_for(trusted, identity)
    a = chat.create_chat_thread("once", idempotency_token="6f0c1a6e-1d39-4d55-9a35-000000000001")
    b = chat.create_chat_thread("once", idempotency_token="6f0c1a6e-1d39-4d55-9a35-000000000001")
    assert a.chat_thread.id == b.chat_thread.id
    assert len(list(chat.list_chat_threads())) == 1


def test_paging_and_filters(trusted: EmulatorServer, identity: CommunicationIdentityClient) -> None:
    me, chat = chat_for(trusted, identity)
    ids = [chat.create_chat_thread(f"t{i}").chat_thread.id for i in range(5)]
    pages = list(chat.list_chat_threads(results_per_page=2).by_page())
    assert [len(list(p)) for p in pages] == [2, 2, 1]
    assert sorted(t.id for t in chat.list_chat_threads(results_per_page=2)) == sorted(ids)
    tc = chat.get_chat_thread_client(ids[0])
    for i in range(8):
        tc.send_message(f"m{i}")
    time.sleep(0.05)
    cut = dt.datetime.now(UTC)
    time.sleep(0.05)
    for i in range(8, 11):
        tc.send_message(f"m{i}")
    pages = list(tc.list_messages(results_per_page=4).by_page())
    assert [len(list(p)) for p in pages] == [4, 4, 4, 1]
    seqs = [int(m.sequence_id) for m in tc.list_messages(results_per_page=4)]
    assert seqs == list(range(13, 0, -1))
    recent = [m.content.message for m in tc.list_messages(results_per_page=2, start_time=cut)]
    assert recent == ["m10", "m9", "m8"]
    newest = [t.id for t in chat.list_chat_threads(start_time=cut)]
    assert newest == [ids[0]]
    others = [identity.create_user() for _ in range(6)]
    tc.add_participants([ChatParticipant(identifier=u) for u in others])
    got = list(tc.list_participants(results_per_page=2, skip=1))
    assert [p.identifier.raw_id for p in got] == [u.raw_id for u in others]
    assert len(list(tc.list_participants(results_per_page=3).by_page())) == 3


def test_connection_verify_per_client(emu: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust by `connection_verify=<CA file>` passed to every client, no environment variable."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    ca = emu.ca_cert
    assert Path(ca).read_text().startswith("-----BEGIN CERTIFICATE-----")
    identity = CommunicationIdentityClient.from_connection_string(emu.connection_string, connection_verify=ca)
    _, token = identity.create_user_and_token(["chat"])
    chat = ChatClient(emu.endpoint, CommunicationTokenCredential(token.token), connection_verify=ca)
    tid = chat.create_chat_thread("verify").chat_thread.id
    tc = chat.get_chat_thread_client(tid, connection_verify=ca)
    tc.send_message("ok")
    assert len(list(tc.list_messages())) == 3
    untrusted = ChatClient(emu.endpoint, CommunicationTokenCredential(token.token))
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
        untrusted.get_chat_thread_client(tid, retry_total=0).get_properties()


def test_sdk_sees_permission_errors(trusted: EmulatorServer, identity: CommunicationIdentityClient) -> None:
    owner, chat = chat_for(trusted, identity)
    outsider, other = chat_for(trusted, identity)
    _, join = chat_for(trusted, identity, scopes=("chat.join",))
    tid = chat.create_chat_thread("private").chat_thread.id
    with pytest.raises(HttpResponseError) as exc:
        other.get_chat_thread_client(tid).send_message("let me in")
    assert exc.value.status_code == 403 and exc.value.error.code == "Forbidden"
    with pytest.raises(HttpResponseError) as exc:
        join.create_chat_thread("nope")
    assert exc.value.status_code == 403
    with pytest.raises(ResourceNotFoundError):
        chat.get_chat_thread_client("19:doesnotexist@thread.v2").get_properties()
    identity.revoke_tokens(owner)
    with pytest.raises(ClientAuthenticationError):
        chat.get_chat_thread_client(tid).get_properties()


def test_sdk_retries_through_injected_throttling(trusted: EmulatorServer,
                                                 identity: CommunicationIdentityClient) -> None:
    """Faults hit the next N requests; the SDK honours Retry-After and gets through."""
    trusted.add_fault("429", count=1, retry_after=1)
    t0 = time.monotonic()
    assert identity.create_user().raw_id.startswith("8:acs:")
    assert time.monotonic() - t0 >= 1.0
    trusted.add_fault("503", count=1)
    with pytest.raises(HttpResponseError) as exc:
        identity.create_user(retry_total=0)
    assert exc.value.status_code == 503 and exc.value.error.code == "ServiceUnavailable"

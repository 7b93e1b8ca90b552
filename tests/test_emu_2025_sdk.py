"""api-version 2025-03-15 through a client no one here wrote: the Python SDK's generated client (the 1.3 SDK's
public client speaks 2024-03-07 only; its generated layer takes any api_version and keeps unknown response
fields in `additional_properties`), over HTTPS; plus persistence and opening a data folder of schema 1."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.communication.chat import ChatClient, CommunicationTokenCredential
from azure.communication.chat._generated import AzureCommunicationChatService
from azure.communication.identity import CommunicationIdentityClient, CommunicationUserIdentifier
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.pipeline.policies import BearerTokenCredentialPolicy

from azext_communication.emulator.server import HOME_ENV, EmulatorServer

FIXTURE = Path(__file__).resolve().parent / "data" / "emulator-db-schema1.json"
POLICY = {"kind": "threadCreationDate", "deleteThreadAfterDays": 45}


@pytest.fixture
def trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return tmp_path


def started(data_dir: Path | None, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    emu = EmulatorServer(port=0, data_dir=data_dir).start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_bundle)
    return emu


def generated(emu: EmulatorServer, token: str) -> AzureCommunicationChatService:
    return AzureCommunicationChatService(emu.endpoint, api_version="2025-03-15",
                                         authentication_policy=BearerTokenCredentialPolicy(
                                             CommunicationTokenCredential(token)))


def body(data: dict) -> io.BytesIO:
    return io.BytesIO(json.dumps(data).encode())


def cim(raw: str) -> dict:
    return {"rawId": raw, "communicationUser": {"id": raw}}


@pytest.fixture
def emu(trust: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    server = started(None, monkeypatch)
    try:
        yield server
    finally:
        server.stop()


def test_the_generated_client_at_2025_03_15_round_trips_metadata_and_policy(emu: EmulatorServer) -> None:
    ids = CommunicationIdentityClient.from_connection_string(emu.connection_string)
    alice, token = ids.create_user_and_token(["chat"])
    bob, carol = ids.create_user(), ids.create_user()
    client = generated(emu, token.token)
    created = client.chat.create_chat_thread(body({
        "topic": "t", "metadata": {"ticket": "42"}, "retentionPolicy": POLICY,
        "participants": [{"communicationIdentifier": cim(bob.raw_id), "metadata": {"role": "agent"}}]}))
    thread = created.chat_thread
    assert thread.topic == "t" and thread.created_by_communication_identifier.raw_id == alice.raw_id
    assert thread.additional_properties == {"metadata": {"ticket": "42"}, "retentionPolicy": POLICY}
    ops = client.chat_thread
    ops.update_chat_thread_properties(thread.id, body({"metadata": {"ticket": None, "stage": "open"},
                                                       "retentionPolicy": None}),
                                      content_type="application/merge-patch+json")
    got = ops.get_chat_thread_properties(thread.id)
    assert got.additional_properties == {"metadata": {"stage": "open"}, "retentionPolicy": {"kind": "none"}}
    ops.add_chat_participants(thread.id, body({"participants": [
        {"communicationIdentifier": cim(carol.raw_id), "displayName": "C", "metadata": {"userType": "C2"}}]}))
    members = {p.communication_identifier.raw_id: p for p in ops.list_chat_participants(thread.id)}
    assert members[alice.raw_id].additional_properties == {}
    assert members[bob.raw_id].additional_properties == {"metadata": {"role": "agent"}}
    assert members[carol.raw_id].display_name == "C"
    assert members[carol.raw_id].additional_properties == {"metadata": {"userType": "C2"}}
    with pytest.raises(HttpResponseError) as err:
        ops.update_chat_thread_properties(thread.id, body({"retentionPolicy": {"kind": "threadCreationDate",
                                                                               "deleteThreadAfterDays": 7}}),
                                          content_type="application/merge-patch+json")
    assert err.value.status_code == 400 and "between 30 and 90" in str(err.value)
    # the public 1.3 client (2024-03-07) works on the same thread and sees none of it
    public = ChatClient(emu.endpoint, CommunicationTokenCredential(token.token)).get_chat_thread_client(thread.id)
    props = public.get_properties()
    assert props.topic == "t" and not hasattr(props, "metadata")
    names = {p.identifier.raw_id: p.display_name for p in public.list_participants()}
    assert names[carol.raw_id] == "C" and len(names) == 3


def _old_folder(folder: Path, schema: str = "1") -> dict:
    """An emulator.db exactly as the schema-1 emulator left it (rows from the fixture)."""
    rows = json.loads(FIXTURE.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    c = sqlite3.connect(folder / "emulator.db")
    c.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    c.execute("CREATE TABLE records (kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, "
              "PRIMARY KEY (kind, key))")
    meta = dict(rows["meta"], schema=schema, tokenSecret="dGVzdC1vbmx5LXRva2VuLXNlY3JldC0wMDAwMDAwMDAwMDA=")
    c.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
    c.executemany("INSERT INTO records VALUES (?, ?, ?)",
                  [(k, key, json.dumps(v, separators=(",", ":"))) for k, key, v in rows["records"]])
    c.commit()
    c.close()
    return rows


def test_a_schema_1_data_folder_opens_and_gains_the_new_fields(trust: Path, monkeypatch) -> None:
    folder = trust / "data"
    rows = _old_folder(folder)
    tid = next(key for kind, key, _ in rows["records"] if kind == "thread")
    creator = next(v["createdBy"] for kind, _, v in rows["records"] if kind == "thread")
    emu = started(folder, monkeypatch)
    try:
        ids = CommunicationIdentityClient.from_connection_string(emu.connection_string)
        token = ids.get_token(CommunicationUserIdentifier(creator), ["chat"]).token
        ops = generated(emu, token).chat_thread
        got = ops.get_chat_thread_properties(tid)
        assert got.topic == "from schema 1" and got.additional_properties == {"retentionPolicy": {"kind": "none"}}
        texts = [m.content.message for m in ops.list_chat_messages(tid) if m.type == "text"]
        assert texts == ["hello"]
        ops.update_chat_thread_properties(tid, body({"metadata": {"migrated": "yes"}}),
                                          content_type="application/merge-patch+json")
    finally:
        emu.stop()
    c = sqlite3.connect(folder / "emulator.db")
    assert c.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone() == ("2",)
    c.close()
    emu = started(folder, monkeypatch)
    try:
        ops = generated(emu, token).chat_thread
        assert ops.get_chat_thread_properties(tid).additional_properties == {"metadata": {"migrated": "yes"},
                                                                             "retentionPolicy": {"kind": "none"}}
        members = [p.additional_properties for p in ops.list_chat_participants(tid)]
        assert members == [{}, {}]
        # the thread was created on 2025-01-01: a 45-day policy is already past due, so it deletes at once
        ops.update_chat_thread_properties(tid, body({"retentionPolicy": POLICY}),
                                          content_type="application/merge-patch+json")
        with pytest.raises(ResourceNotFoundError):
            ops.get_chat_thread_properties(tid)
        items = [i for i in generated(emu, token).chat.list_chat_threads() if i.id == tid]
        assert len(items) == 1 and items[0].deleted_on is not None
    finally:
        emu.stop()


def test_a_data_folder_of_a_newer_schema_is_refused_in_one_line(trust: Path, monkeypatch) -> None:
    folder = trust / "data"
    _old_folder(folder, schema="99")
    for _ in range(2):  # the second time proves the refused start released the folder's lock
        with pytest.raises(RuntimeError) as err:
            EmulatorServer(port=0, data_dir=folder).start()
        assert "newer emulator (schema 99" in str(err.value) and "\n" not in str(err.value)
    c = sqlite3.connect(folder / "emulator.db")
    assert c.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone() == ("99",)  # left as it was
    assert c.execute("SELECT COUNT(*) FROM records").fetchone()[0] == len(json.loads(FIXTURE.read_text())["records"])
    c.close()


def test_metadata_and_policy_survive_a_restart_with_a_data_folder(trust: Path, monkeypatch) -> None:
    folder = trust / "data"
    emu = started(folder, monkeypatch)
    try:
        ids = CommunicationIdentityClient.from_connection_string(emu.connection_string)
        alice, token = ids.create_user_and_token(["chat"])
        bob = ids.create_user()
        client = generated(emu, token.token)
        tid = client.chat.create_chat_thread(body({
            "topic": "t", "metadata": {"a": "1", "b": "2"}, "retentionPolicy": POLICY,
            "participants": [{"communicationIdentifier": cim(bob.raw_id), "metadata": {"role": "agent"}}]}
        )).chat_thread.id
        client.chat_thread.update_chat_thread_properties(tid, body({"metadata": {"b": None, "c": "3"}}),
                                                         content_type="application/merge-patch+json")
        before = client.chat_thread.get_chat_thread_properties(tid).additional_properties
    finally:
        emu.stop()
    assert before == {"metadata": {"a": "1", "c": "3"}, "retentionPolicy": POLICY}
    emu = started(folder, monkeypatch)
    try:
        client = generated(emu, token.token)
        assert client.chat_thread.get_chat_thread_properties(tid).additional_properties == before
        members = {p.communication_identifier.raw_id: p.additional_properties
                   for p in client.chat_thread.list_chat_participants(tid)}
        assert members == {alice.raw_id: {}, bob.raw_id: {"metadata": {"role": "agent"}}}
    finally:
        emu.stop()

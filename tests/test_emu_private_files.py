"""The data folder keeps its secrets private: the database (Event Grid topic keys), its -wal/-shm, the lock files,
the running record and dead-letter files are created 0600, and a folder the emulator creates is 0700, whatever
the umask."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from wire_client import KEY, Client, new_user

from azext_communication.emulator import instances
from azext_communication.emulator.events.deadletter import DeadLetterSink
from azext_communication.emulator.server import EmulatorServer
from azext_communication.emulator.store import SqliteStore

PUBLIC = {"ca.pem", "server.pem", "ca-bundle.pem"}  # certificates: public by nature, the trust setting reads them


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_folder_created_0700_and_every_file_in_it_0600(tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"
    with umask(0o022), EmulatorServer(port=0, data_dir=data, access_key=KEY) as emu:
        new_user(Client(emu.app))  # a committed write: the -wal file holds it
        emu.model.store.wait_durable()
        names = {p.name for p in data.iterdir()}
        assert {"emulator.db", "emulator.db-wal", "emulator.db-shm", "emulator.lock", ".lock"} <= names, names
        assert mode(data) == 0o700
        wide = {p.name: oct(mode(p)) for p in data.iterdir()
                if p.is_file() and p.name not in PUBLIC and mode(p) & 0o077}
        assert wide == {}


def test_an_existing_database_and_its_wal_are_narrowed_to_0600(tmp_path: Path) -> None:
    db = tmp_path / "emulator.db"
    for path in (db, tmp_path / "emulator.db-wal"):
        path.touch()
        os.chmod(path, 0o644)
    store = SqliteStore(db)
    try:
        assert mode(db) == 0o600 and mode(tmp_path / "emulator.db-wal") == 0o600
    finally:
        store.close()


def test_an_existing_folder_keeps_the_mode_its_owner_gave_it(tmp_path: Path) -> None:
    data = tmp_path / "shared"
    data.mkdir()
    os.chmod(data, 0o750)
    with umask(0o022), EmulatorServer(port=0, data_dir=data, access_key=KEY):
        assert mode(data) == 0o750
        assert mode(data / "emulator.db") == 0o600


def test_dead_letter_folder_and_files_are_private(tmp_path: Path) -> None:
    sink = DeadLetterSink(tmp_path)
    event = {"id": "1", "eventType": "Microsoft.Communication.ChatThreadCreated", "subject": "thread/1",
             "data": {}, "eventTime": "2026-01-01T00:00:00Z", "dataVersion": "1.0"}
    with umask(0o022):
        sink.write("Sub", event, False, "MaxDeliveryAttemptsExceeded", 1, "Probing", 0, None)
    path = sink.path("Sub")
    assert path.read_text().count("\n") == 1
    assert mode(path.parent) == 0o700 and mode(path) == 0o600


@pytest.mark.parametrize("home_exists", [False, True])
def test_running_record_is_private_from_its_first_byte(tmp_path: Path, home_exists: bool) -> None:
    if home_exists:
        (tmp_path / instances.RUNNING_DIR).mkdir(mode=0o755)
    with umask(0o022):
        path = instances.record(tmp_path, {"connectionString": "endpoint=https://x/;accesskey=secret"})
    assert mode(path) == 0o600
    assert mode(path.parent) == (0o755 if home_exists else 0o700)

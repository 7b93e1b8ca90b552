"""Group commit in the SQLite store: concurrent writers share commits, an answer waits for its commit, the
thread counters a message no longer rewrites come back after a restart, and a failing disk turns into 503s
(never an acknowledgement of something that is not on disk). The kill -9 rounds are in test_emu_process."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from azext_communication.emulator.model import ChatModel
from azext_communication.emulator.store import SqliteStore
from azext_communication.emulator.wire import WireApp

KEY = "a2V5a2V5a2V5a2V5"
CHAT = "api-version=2024-03-07"


def _caller(model: ChatModel):
    ident = model.create_identity()
    token, _ = model.issue_token(ident.id, ["chat"])
    return model.authenticate(token), token


def _on_disk(db: Path, kind: str) -> int:
    conn = sqlite3.connect(str(db))  # a second connection sees only what was committed
    try:
        return conn.execute("SELECT COUNT(*) FROM records WHERE kind = ?", (kind,)).fetchone()[0]
    finally:
        conn.close()


def test_concurrent_writers_share_commits_and_each_waits_for_its_own(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    store = SqliteStore(db)
    model = ChatModel(store)
    try:
        caller, _ = _caller(model)
        tid = model.create_thread(caller, "t", [])[0].id
        store.wait_durable()
        before_tx, before_commits = store.transactions, store.commits
        seen: list[int] = []
        errors: list[BaseException] = []

        def writer() -> None:
            try:
                for i in range(40):
                    model.send_message(caller, tid, f"m{i}")
                    store.wait_durable()  # what the wire layer does before answering
                    if i == 39:
                        seen.append(_on_disk(db, "message"))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=writer) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        assert _on_disk(db, "message") == 2 + 320  # two system messages at creation
        assert min(seen) >= 40  # a writer's own 40 messages were on disk when it was told so
        assert store.transactions - before_tx == 320
        assert store.commits - before_commits < 320  # writers shared fsyncs
    finally:
        model.close()


def test_thread_counters_follow_from_messages_after_a_restart(tmp_path: Path) -> None:
    start = int(time.time() * 1000) - 60_000  # a second apart each, in the past minute
    clock = iter(range(start, start + 60_000, 1000))
    model = ChatModel(SqliteStore(tmp_path / "e.db"), clock=lambda: next(clock))
    caller, token = _caller(model)
    older = model.create_thread(caller, "older", [])[0].id
    newer = model.create_thread(caller, "newer", [])[0].id
    model.send_message(caller, older, "brings the older thread to the top")
    before = [(t.id, t.last_message_ms, t.activity_ms) for t in model.list_threads(caller, 10, None).items]
    model.close()
    reloaded = ChatModel(SqliteStore(tmp_path / "e.db"))
    try:
        after = [(t.id, t.last_message_ms, t.activity_ms)
                 for t in reloaded.list_threads(reloaded.authenticate(token), 10, None).items]
        assert after == before and after[0][0] == older and after[1] == (newer, None, after[1][2])
        assert reloaded.threads[older].seq == 3 and reloaded.send_message(
            reloaded.authenticate(token), older, "next").seq == 4
    finally:
        reloaded.close()


def test_a_failing_disk_answers_503_and_never_acknowledges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    store = SqliteStore(tmp_path / "e.db")
    model = ChatModel(store)
    app = WireApp(model, KEY)
    try:
        _, token = _caller(model)
        store.wait_durable()
        headers = {"Authorization": f"Bearer {token}", "Host": "127.0.0.1"}

        def broken(*_: object) -> None:
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(store, "_write", broken)
        with caplog.at_level(logging.ERROR, logger="azext_communication.emulator"):
            status, hdrs, body = app.handle("POST", f"/chat/threads?{CHAT}", headers,
                                            b'{"topic":"t","participants":[]}')
        assert status == 503 and json.loads(body)["error"]["code"] == "StorageFailure"
        assert ("Content-Type", "application/json; charset=utf-8") in hdrs
        assert "could not commit" in caplog.text
        status, _, body = app.handle("GET", f"/chat/threads?{CHAT}", headers, b"")
        assert status == 503  # what memory holds is not on disk: nothing is shown as if it were
    finally:
        model.close()  # returns although the committer stopped

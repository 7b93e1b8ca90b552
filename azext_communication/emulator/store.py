"""Persistence behind the model: a no-op memory store and a SQLite store (stdlib sqlite3, WAL, synchronous=FULL).

The model keeps its working state in memory and hands every change to the store inside one transaction per
model operation. The SQLite store commits them with group commit: a transaction only queues its rows (under the
model lock, so the queue is in the order the model applied them); one committer thread writes everything queued
so far in a single SQLite transaction, with one fsync, outside the model lock. The wire layer calls
`wait_durable()` before it answers, so whatever the HTTP layer acknowledged (or showed) survives `kill -9`, while
concurrent writers share fsyncs instead of queueing behind each other's. At start-up the model reloads
everything from the store.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from pathlib import Path

from .errors import ServiceUnavailable
from .files import create_private

log = logging.getLogger("azext_communication.emulator")

SCHEMA_VERSION = 2
# schema -> what opening an older data folder changes on the way to the next schema. 1 -> 2 (api-version
# 2025-03-15): thread records may carry `metadata`, `retention`, `byPolicy`, member records `meta`; all optional,
# so records of schema 1 load as they are (no metadata, no policy) and nothing is rewritten.
_MIGRATIONS: dict[int, str] = {1: "thread and participant metadata, retention policies (optional fields)"}
_NO_TRANSACTION = nullcontext()


class Store:
    """Storage interface (also the in-memory implementation: nothing to persist)."""

    persistent = False

    def put(self, kind: str, key: str, value: dict) -> None:
        """Insert or replace one record."""

    def delete(self, kind: str, key: str) -> None:
        """Remove one record (no error if absent)."""

    def load(self, kind: str) -> Iterator[tuple[str, dict]]:
        """All records of a kind, in insertion order."""
        return iter(())

    def get_meta(self, name: str) -> str | None:
        return None

    def set_meta(self, name: str, value: str) -> None:
        """Small settings such as the token secret."""

    def transaction(self) -> AbstractContextManager:
        """Group the writes of one model operation; they become durable together (see `wait_durable`).

        Nothing to group here: one shared, reentrant no-op context (cheaper than a generator per call)."""
        return _NO_TRANSACTION

    def wait_durable(self) -> None:
        """Return once every transaction finished before this call is on disk (before answering a request)."""

    def close(self) -> None:
        """Write what is pending and release resources; safe to call twice."""


class MemoryStore(Store):
    """State lives only in the model's memory (default mode, fastest)."""


_ROWS_PER_STATEMENT = 5000  # 3 parameters a row, under SQLite's 32,766 parameters per statement


def _upsert_sql(rows: int) -> str:
    return ("INSERT INTO records (kind, key, value) VALUES " + ",".join(["(?,?,?)"] * rows)
            + " ON CONFLICT(kind, key) DO UPDATE SET value = excluded.value")


class SqliteStore(Store):
    """Key/value records per kind in one SQLite file, written by a group-commit thread (see the module doc)."""

    persistent = True
    _PUT = ("INSERT INTO records (kind, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT(kind, key) DO UPDATE SET value = excluded.value")
    _DELETE = "DELETE FROM records WHERE kind = ? AND key = ?"
    _META = "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value"

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        for name in (self.path, self.path + "-wal", self.path + "-shm"):  # topic keys live here: owner only
            if name == self.path or os.path.exists(name):
                create_private(name)
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db = threading.Lock()  # the connection: committer thread, start-up reads, close
        self._tx = threading.RLock()  # the transaction being built (held while the model builds it)
        self._depth = 0
        self._rows: list[tuple[str, tuple]] = []
        lock = threading.Lock()  # queue and counters below
        self._cond = threading.Condition(lock)  # request threads wait here for commits
        self._work = threading.Condition(lock)  # the committer waits here for work
        self._queue: list[list[tuple[str, tuple]]] = []
        self._enqueued = 0  # transactions queued so far
        self._committed = 0  # transactions on disk so far (a prefix of the queue order)
        self._failure: BaseException | None = None
        self._closing = False
        self.commits = 0  # SQLite commits (fsyncs) so far: fewer than transactions when writers share them
        c = self._conn
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=FULL")
        c.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        c.execute("CREATE TABLE IF NOT EXISTS records (kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, "
                  "PRIMARY KEY (kind, key))")
        self._committer = threading.Thread(target=self._commit_loop, name="acs-emulator-commit", daemon=True)
        self._committer.start()
        self._migrate()

    def _migrate(self) -> None:
        """Bring an older data folder to SCHEMA_VERSION; refuse one written by a newer emulator (one line)."""
        found = self.get_meta("schema")
        schema = SCHEMA_VERSION if found is None else int(found)
        if schema > SCHEMA_VERSION:
            self.close()
            raise RuntimeError(f"the data folder {Path(self.path).parent} was written by a newer emulator (schema "
                               f"{schema}; this one reads up to {SCHEMA_VERSION})")
        for old in range(schema, SCHEMA_VERSION):
            log.info("data folder schema %d -> %d: %s", old, old + 1, _MIGRATIONS[old])
        if found is None or schema < SCHEMA_VERSION:
            self.set_meta("schema", str(SCHEMA_VERSION))
            self.wait_durable()

    def _c(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("store is closed")
        return self._conn

    # ------------------------------------------------------------------ writes (queued)
    def put(self, kind: str, key: str, value: dict) -> None:
        row = (kind, key, json.dumps(value, separators=(",", ":")))  # serialised now: `value` may change later
        with self.transaction():
            self._rows.append((self._PUT, row))

    def delete(self, kind: str, key: str) -> None:
        with self.transaction():
            self._rows.append((self._DELETE, (kind, key)))

    def set_meta(self, name: str, value: str) -> None:
        with self.transaction():
            self._rows.append((self._META, (name, value)))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._tx:
            outer = self._depth == 0
            if outer:
                self._rows = []
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._rows = []
                raise
            self._depth -= 1
            if outer and self._rows:
                rows, self._rows = self._rows, []
                with self._cond:
                    if self._closing:
                        raise RuntimeError("store is closed")
                    self._queue.append(rows)
                    self._enqueued += 1
                    if len(self._queue) == 1:  # the committer only sleeps on an empty queue
                        self._work.notify()

    @property
    def transactions(self) -> int:
        """Model transactions handed to the store so far."""
        return self._enqueued

    def wait_durable(self) -> None:
        target = self._enqueued
        if self._committed >= target:  # fast path: both only grow, so this is enough without the lock
            return
        with self._cond:
            while self._committed < target and self._failure is None:
                self._cond.wait()
            if self._committed < target:
                raise ServiceUnavailable("The emulator could not write its data folder.", code="StorageFailure")

    def _commit_loop(self) -> None:
        """The committer: everything queued so far in one SQLite transaction (one fsync), then wake the waiters."""
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._work.wait()
                if not self._queue:
                    return
                batch, self._queue = self._queue, []
                upto = self._committed + len(batch)
            try:
                with self._db:
                    self._write(self._c(), batch)
            except BaseException as exc:  # nothing acknowledged from here on: every waiter gets a 503
                log.exception("could not commit to %s", self.path)
                with self._cond:
                    self._failure = exc
                    self._cond.notify_all()
                return
            with self._cond:
                self._committed = upto
                self.commits += 1
                self._cond.notify_all()

    def _write(self, c: sqlite3.Connection, batch: list[list[tuple[str, tuple]]]) -> None:
        """One atomic, durable SQLite transaction for a batch of model transactions.

        Usually every row is a record upsert: then the batch is one multi-row INSERT in autocommit mode (itself a
        transaction). Few statements matter more than it seems: sqlite3 releases the GIL around each one, and
        getting it back from busy request threads can cost a switch interval each time. A record written twice
        in the batch is written once with its last value, at the place of its first write (rowid order, which
        the model's reload follows, stays the order of first insertion). Anything else runs statement by
        statement inside BEGIN IMMEDIATE ... COMMIT.
        """
        if all(sql is self._PUT for rows in batch for sql, _ in rows):
            latest: dict[tuple[str, str], str] = {}
            for rows in batch:
                for _, (kind, key, value) in rows:
                    latest[(kind, key)] = value
            items = list(latest.items())
            chunks = [items[i:i + _ROWS_PER_STATEMENT] for i in range(0, len(items), _ROWS_PER_STATEMENT)]
            statements = [(_upsert_sql(len(chunk)), [v for (kind, key), value in chunk for v in (kind, key, value)])
                          for chunk in chunks]
        else:
            statements = [(sql, args) for rows in batch for sql, args in rows]
        if len(statements) == 1:
            c.execute(*statements[0])
            return
        c.execute("BEGIN IMMEDIATE")
        try:
            for sql, args in statements:
                c.execute(sql, args)
            c.execute("COMMIT")
        except BaseException:
            with suppress(sqlite3.Error):
                c.execute("ROLLBACK")
            raise

    # ------------------------------------------------------------------ reads (start-up only)
    def load(self, kind: str) -> Iterator[tuple[str, dict]]:
        self.wait_durable()
        with self._db:
            rows = self._c().execute("SELECT key, value FROM records WHERE kind = ? ORDER BY rowid", (kind,)).fetchall()
        for key, value in rows:
            yield key, json.loads(value)

    def get_meta(self, name: str) -> str | None:
        self.wait_durable()
        with self._db:
            row = self._c().execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        with self._cond:
            if self._closing:
                return
            self._closing = True
            self._work.notify()
        self._committer.join()
        with self._db:
            if self._conn is not None:
                with suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._conn.close()
                self._conn = None

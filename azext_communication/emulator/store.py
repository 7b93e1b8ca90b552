"""Persistence behind the model: a no-op memory store and a SQLite store (stdlib sqlite3, WAL, synchronous=FULL).

The model keeps its working state in memory and writes every change through to the store inside one
transaction per model operation, committed before the operation returns, so that whatever the HTTP layer
acknowledged survives `kill -9`. At start-up the model reloads everything from the store.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

SCHEMA_VERSION = 1


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

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group the writes of one model operation; committed (durably) on exit."""
        yield

    def close(self) -> None:
        """Release resources; safe to call twice."""


class MemoryStore(Store):
    """State lives only in the model's memory (default mode, fastest)."""


class SqliteStore(Store):
    """Key/value records per kind in one SQLite file; every committed transaction is durable."""

    persistent = True

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._lock = threading.RLock()
        self._depth = 0
        c = self._conn
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=FULL")
        c.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        c.execute("CREATE TABLE IF NOT EXISTS records (kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, "
                  "PRIMARY KEY (kind, key))")
        if self.get_meta("schema") is None:
            self.set_meta("schema", str(SCHEMA_VERSION))

    def _c(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("store is closed")
        return self._conn

    def put(self, kind: str, key: str, value: dict) -> None:
        with self.transaction():
            self._c().execute("INSERT INTO records (kind, key, value) VALUES (?, ?, ?) "
                              "ON CONFLICT(kind, key) DO UPDATE SET value = excluded.value",
                              (kind, key, json.dumps(value, separators=(",", ":"))))

    def delete(self, kind: str, key: str) -> None:
        with self.transaction():
            self._c().execute("DELETE FROM records WHERE kind = ? AND key = ?", (kind, key))

    def load(self, kind: str) -> Iterator[tuple[str, dict]]:
        with self._lock:
            rows = self._c().execute("SELECT key, value FROM records WHERE kind = ? ORDER BY rowid", (kind,)).fetchall()
        for key, value in rows:
            yield key, json.loads(value)

    def get_meta(self, name: str) -> str | None:
        with self._lock:
            row = self._c().execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def set_meta(self, name: str, value: str) -> None:
        with self.transaction():
            self._c().execute("INSERT INTO meta (name, value) VALUES (?, ?) "
                              "ON CONFLICT(name) DO UPDATE SET value = excluded.value", (name, value))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._c().execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._c().execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._c().execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._conn.close()
                self._conn = None

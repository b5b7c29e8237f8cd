"""State that survives a restart (``--state-dir``): async jobs, stored chat completions, the spec engine's
resources and file contents.

Both live in one SQLite file, ``<state-dir>/mockserver.sqlite3``, in WAL mode.
Every write is one transaction (the row and the pruning of the oldest rows
together), so a process killed at any moment, SIGKILL included, leaves each
write whole or absent, never half-written; a job whose id reached the client is
on disk (``synchronous=NORMAL`` in WAL mode loses nothing on a process crash,
only on a power cut). Several worker processes may share the file (WAL readers
never block, writers wait up to ``BUSY_TIMEOUT_MS``).

The stores keep the small interfaces of their in-memory versions
(:class:`~mockserver.storage.JobStore`: ``create``/``get``;
:class:`~mockserver.storage.CompletionStore`: ``put``/``find``/``set_metadata``/
``delete``/``clear``/``values``), so nothing else knows whether state persists.
A job's schedule counts from its wall-clock birth, so after a restart a job
answers the status it has reached meanwhile.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from mockserver.storage.records import (
    MAX_COMPLETIONS,
    MAX_FILES,
    MAX_JOBS,
    MAX_RESOURCES,
    MAX_STORE_BYTES,
    Job,
    StoredCompletion,
)

DATABASE_NAME = "mockserver.sqlite3"
BUSY_TIMEOUT_MS = 5000
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, created_at INTEGER NOT NULL, born REAL NOT NULL, request BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS completions (id TEXT PRIMARY KEY, body BLOB NOT NULL, messages BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS resources (
    key TEXT PRIMARY KEY, collection TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS resources_by_collection ON resources (collection);
CREATE TABLE IF NOT EXISTS contents (id TEXT PRIMARY KEY, data BLOB NOT NULL);
"""
# An id written again keeps its row (and so its place in the order), as the in-memory stores keep theirs.
UPSERT_JOB = """
INSERT INTO jobs (id, kind, created_at, born, request) VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET
kind = excluded.kind, created_at = excluded.created_at, born = excluded.born, request = excluded.request
"""
UPSERT_COMPLETION = """
INSERT INTO completions (id, body, messages) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET
body = excluded.body, messages = excluded.messages
"""


class StateDatabase:
    """The SQLite file under ``state_dir`` (created if missing), opened once per server."""

    def __init__(self, state_dir: str | Path) -> None:
        directory = Path(state_dir)
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / DATABASE_NAME
        # The app is built on one thread and served on another (MockServer): one connection, used by one at a time.
        self.connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self.connection.execute("PRAGMA journal_mode = WAL")
        self.connection.execute("PRAGMA synchronous = NORMAL")
        self.connection.executescript(SCHEMA)

    def write(self, *statements: tuple[str, tuple[Any, ...]]) -> None:
        """Run ``statements`` as one transaction: all of them are on disk afterwards, or none."""
        with self.connection:  # not autocommit inside: BEGIN ... COMMIT (ROLLBACK on error)
            self.connection.execute("BEGIN IMMEDIATE")
            for sql, parameters in statements:
                self.connection.execute(sql, parameters)

    def rows(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, parameters).fetchall()


def _prune(table: str, limit: int) -> tuple[str, tuple[Any, ...]]:
    """Keep at most ``limit`` rows, dropping the oldest (row ids only grow, so the newest ``limit`` ids stay)."""
    return f"DELETE FROM {table} WHERE rowid <= (SELECT MAX(rowid) FROM {table}) - ?", (limit,)


def _prune_bytes(table: str, size: str, max_bytes: int) -> tuple[str, tuple[Any, ...]]:
    """Drop the oldest rows while the rows' ``size`` (an SQL expression) adds up past ``max_bytes``; the newest
    row always stays, as in memory."""
    return (
        f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM (SELECT rowid, SUM({size}) OVER (ORDER BY rowid DESC)"
        f" AS newer FROM {table}) WHERE newer > ?) AND rowid < (SELECT MAX(rowid) FROM {table})",
        (max_bytes,),
    )


class PersistentJobStore:
    """:class:`~mockserver.storage.JobStore` on disk."""

    def __init__(
        self,
        database: StateDatabase,
        limit: int = MAX_JOBS,
        max_bytes: int = MAX_STORE_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limit = limit
        self.max_bytes = max_bytes
        self.clock = clock
        self.database = database

    def create(self, job_id: str, kind: str, request: dict[str, Any], created_at: int) -> Job:
        job = Job(job_id, kind, created_at, self.clock(), request)
        self.database.write(
            (UPSERT_JOB, (job.id, job.kind, job.created_at, job.born, orjson.dumps(job.request))),
            _prune("jobs", self.limit),
            _prune_bytes("jobs", "length(request)", self.max_bytes),
        )
        return job

    def get(self, job_id: str) -> Job | None:
        found = self.database.rows("SELECT kind, created_at, born, request FROM jobs WHERE id = ?", (job_id,))
        if not found:
            return None
        kind, created_at, born, request = found[0]
        return Job(job_id, kind, created_at, born, orjson.loads(request))

    def count(self) -> int:
        return int(self.database.rows("SELECT COUNT(*) FROM jobs")[0][0])

    def clear(self) -> None:
        self.database.write(("DELETE FROM jobs", ()))


class PersistentCompletionStore:
    """:class:`~mockserver.storage.CompletionStore` on disk."""

    def __init__(
        self, database: StateDatabase, capacity: int = MAX_COMPLETIONS, max_bytes: int = MAX_STORE_BYTES
    ) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.database = database

    def put(
        self, body: dict[str, Any], messages: list[dict[str, Any]], metadata: dict[str, str] | None
    ) -> StoredCompletion:
        stored = StoredCompletion({**body, "metadata": dict(metadata or {})}, messages)
        self._save(stored, prune=True)
        return stored

    def find(self, completion_id: str) -> StoredCompletion | None:
        found = self.database.rows("SELECT body, messages FROM completions WHERE id = ?", (completion_id,))
        return StoredCompletion(orjson.loads(found[0][0]), orjson.loads(found[0][1])) if found else None

    def set_metadata(self, completion_id: str, metadata: dict[str, str]) -> StoredCompletion:
        stored = self.find(completion_id)
        if stored is None:
            raise KeyError(completion_id)
        stored.body["metadata"] = metadata
        self._save(stored, prune=False)
        return stored

    def delete(self, completion_id: str) -> None:
        self.database.write(("DELETE FROM completions WHERE id = ?", (completion_id,)))

    def count(self) -> int:
        return int(self.database.rows("SELECT COUNT(*) FROM completions")[0][0])

    def clear(self) -> None:
        self.database.write(("DELETE FROM completions", ()))

    def values(self) -> list[StoredCompletion]:
        kept = []
        for body, messages in self.database.rows("SELECT body, messages FROM completions ORDER BY rowid"):
            parsed, said = _loaded(body, "completions"), _loaded(messages, "completions")
            if isinstance(parsed, dict) and isinstance(said, list):
                kept.append(StoredCompletion(parsed, said))
        return kept

    def _save(self, stored: StoredCompletion, *, prune: bool) -> None:
        upsert = (UPSERT_COMPLETION, (stored.body["id"], orjson.dumps(stored.body), orjson.dumps(stored.messages)))
        if prune:
            self.database.write(
                upsert,
                _prune("completions", self.capacity),
                _prune_bytes("completions", "length(body) + length(messages)", self.max_bytes),
            )
        else:
            self.database.write(upsert)


UPSERT_RESOURCE = """
INSERT INTO resources (key, collection, id, body) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET
body = excluded.body
"""
UPSERT_CONTENT = "INSERT INTO contents (id, data) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET data = excluded.data"


class PersistentResourceStore:
    """:class:`~mockserver.storage.ResourceStore` on disk."""

    def __init__(self, database: StateDatabase, max_bytes: int = MAX_STORE_BYTES) -> None:
        self.database = database
        self.max_bytes = max_bytes

    def put(self, collection: str, resource_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self.database.write(
            (UPSERT_RESOURCE, (f"{collection}\n{resource_id}", collection, resource_id, orjson.dumps(body))),
            _prune("resources", MAX_RESOURCES),
            _prune_bytes("resources", "length(body) + length(collection)", self.max_bytes),
        )
        return body

    def get(self, collection: str, resource_id: str) -> dict[str, Any] | None:
        found = self.database.rows("SELECT body FROM resources WHERE key = ?", (f"{collection}\n{resource_id}",))
        item = _loaded(found[0][0], collection) if found else None
        return item if isinstance(item, dict) else None

    def delete(self, collection: str, resource_id: str) -> None:
        below = f"{collection}/{resource_id}/"
        self.database.write(
            ("DELETE FROM resources WHERE key = ?", (f"{collection}\n{resource_id}",)),
            ("DELETE FROM resources WHERE substr(collection, 1, length(?)) = ?", (below, below)),
            ("DELETE FROM contents WHERE id = ?", (resource_id,)),
        )

    def items(self, collection: str) -> list[dict[str, Any]]:
        rows = self.database.rows("SELECT body FROM resources WHERE collection = ? ORDER BY rowid", (collection,))
        return [item for (body,) in rows if isinstance(item := _loaded(body, collection), dict)]

    def ids(self, collection: str) -> list[str]:
        rows = self.database.rows("SELECT key FROM resources WHERE collection = ? ORDER BY rowid", (collection,))
        return [key.split("\n", 1)[1] for (key,) in rows]

    def put_content(self, resource_id: str, data: bytes) -> None:
        self.database.write(
            (UPSERT_CONTENT, (resource_id, data)),
            _prune("contents", MAX_FILES),
            _prune_bytes("contents", "length(data)", self.max_bytes),
        )

    def content(self, resource_id: str) -> bytes | None:
        found = self.database.rows("SELECT data FROM contents WHERE id = ?", (resource_id,))
        return bytes(found[0][0]) if found else None

    def count(self) -> int:
        return int(self.database.rows("SELECT COUNT(*) FROM resources")[0][0])

    def clear(self) -> None:
        self.database.write(("DELETE FROM resources", ()), ("DELETE FROM contents", ()))


LOG = logging.getLogger("mockserver.storage")


def _loaded(raw: Any, where: str) -> Any:
    """A stored row's JSON; a row corrupted on disk is skipped with a warning, never a 500 for its whole list."""
    try:
        return orjson.loads(raw)
    except (orjson.JSONDecodeError, TypeError):
        LOG.warning("--state-dir: a corrupt row in %s was skipped (%d bytes that are not JSON)", where,
                    len(raw) if isinstance(raw, bytes | str) else 0)
        return None


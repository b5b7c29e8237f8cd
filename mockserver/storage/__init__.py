"""The storage layer: the state a request can leave behind, behind small interfaces.

Endpoints use :class:`JobStore` and :class:`CompletionStore` only; whether the
state lives in memory (:mod:`~mockserver.storage.memory`, the default) or in
SQLite under ``--state-dir`` (:mod:`~mockserver.storage.sqlite`) is decided once,
by :func:`open_stores`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from mockserver.config import ConfigError
from mockserver.storage.leases import LocalLeases
from mockserver.storage.memory import IdSet, MemoryCompletionStore, MemoryJobStore
from mockserver.storage.records import MAX_STORE_BYTES, Job, StoredCompletion
from mockserver.storage.resources import MemoryResourceStore
from mockserver.storage.sqlite import (
    PersistentCompletionStore,
    PersistentJobStore,
    PersistentResourceStore,
    StateDatabase,
)


class JobStore(Protocol):
    """Serika's async jobs, bounded (``limit``); ``clock`` is the wall clock their schedule counts from."""

    limit: int

    def clock(self) -> float: ...

    def create(self, job_id: str, kind: str, request: dict[str, Any], created_at: int) -> Job: ...

    def get(self, job_id: str) -> Job | None: ...

    def count(self) -> int: ...

    def clear(self) -> None: ...


class CompletionStore(Protocol):
    """Chat completions created with ``store: true``, in creation order, bounded (``capacity``)."""

    capacity: int

    def put(
        self, body: dict[str, Any], messages: list[dict[str, Any]], metadata: dict[str, str] | None
    ) -> StoredCompletion: ...

    def find(self, completion_id: str) -> StoredCompletion | None: ...

    def set_metadata(self, completion_id: str, metadata: dict[str, str]) -> StoredCompletion: ...

    def delete(self, completion_id: str) -> None: ...

    def count(self) -> int: ...

    def clear(self) -> None: ...

    def values(self) -> list[StoredCompletion]: ...


class ResourceStore(Protocol):
    """The spec engine's resources by collection (a concrete path) and id, and uploaded file contents."""

    def put(self, collection: str, resource_id: str, body: dict[str, Any]) -> dict[str, Any]: ...

    def get(self, collection: str, resource_id: str) -> dict[str, Any] | None: ...

    def delete(self, collection: str, resource_id: str) -> None: ...

    def items(self, collection: str) -> list[dict[str, Any]]: ...

    def ids(self, collection: str) -> list[str]: ...

    def put_content(self, resource_id: str, data: bytes) -> None: ...

    def content(self, resource_id: str) -> bytes | None: ...

    def count(self) -> int: ...

    def clear(self) -> None: ...


class Leases(Protocol):
    """One holder at a time for a key (a resource's lifecycle step); the others wait their turn."""

    def hold(self, key: str) -> AbstractAsyncContextManager[None]: ...


class IdStore(Protocol):
    """A bounded set of ids, the oldest forgotten past its capacity (the ids of deleted models)."""

    def add(self, item: str) -> None: ...

    def __contains__(self, item: object) -> bool: ...

    def __len__(self) -> int: ...

    def clear(self) -> None: ...


@dataclass
class Stores:
    """Everything requests can change, per server: stored completions, async jobs, deleted model ids."""

    completions: CompletionStore
    jobs: JobStore
    deleted_models: IdStore = field(default_factory=IdSet)
    resources: ResourceStore = field(default_factory=MemoryResourceStore)
    leases: Leases = field(default_factory=LocalLeases)

    def clear(self) -> None:
        """Empty every store (``POST /_mock/reset``, ``MockServer.reset()``, the plugin before each test)."""
        self.completions.clear()
        self.jobs.clear()
        self.deleted_models.clear()
        self.resources.clear()


def open_stores(state_dir: str | None, max_bytes: int = MAX_STORE_BYTES,
                clock: Callable[[], float] = time.time) -> Stores:
    """The stores of one server: in memory, or on disk under ``state_dir``; each holds at most ``max_bytes``.
    ``clock`` (the app's :class:`~mockserver.clock.Clock`) stamps a job's birth."""
    if not state_dir:
        return Stores(MemoryCompletionStore(max_bytes=max_bytes), MemoryJobStore(max_bytes=max_bytes, clock=clock),
                      resources=MemoryResourceStore(max_bytes))
    try:
        database = StateDatabase(state_dir)
    except (OSError, sqlite3.Error) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ConfigError(f"--state-dir {state_dir}: cannot keep state there: {reason}") from None
    return Stores(
        PersistentCompletionStore(database, max_bytes=max_bytes),
        PersistentJobStore(database, max_bytes=max_bytes, clock=clock),
        resources=PersistentResourceStore(database, max_bytes),
    )


__all__ = ["CompletionStore", "IdStore", "Job", "JobStore", "Leases", "ResourceStore", "StoredCompletion", "Stores",
           "open_stores"]

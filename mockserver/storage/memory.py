"""The stores in memory (the default): bounded, oldest dropped first."""

from __future__ import annotations

import copy
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import orjson

from mockserver.storage.records import (
    MAX_COMPLETIONS,
    MAX_DELETED_IDS,
    MAX_JOBS,
    MAX_STORE_BYTES,
    Job,
    StoredCompletion,
)

V = TypeVar("V")


class BoundedMap(Generic[V]):
    """Values by id in insertion order: at most ``limit`` of them and ``max_bytes`` in all, oldest dropped first.

    Each value is counted as the size it is put with (its JSON); the newest value always stays, so
    whatever was just stored can be read back.
    """

    def __init__(self, limit: int, max_bytes: int) -> None:
        self.limit = limit
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[str, tuple[V, int]] = OrderedDict()

    def put(self, key: str, value: V, size: int) -> None:
        """Store ``value``; a key stored again keeps its place in the order."""
        previous = self._items.get(key)
        if previous is not None:
            self.bytes -= previous[1]
        self._items[key] = (value, size)
        self.bytes += size
        while len(self._items) > 1 and (len(self._items) > self.limit or self.bytes > self.max_bytes):
            _, (_, dropped) = self._items.popitem(last=False)
            self.bytes -= dropped

    def get(self, key: str) -> V | None:
        found = self._items.get(key)
        return None if found is None else found[0]

    def pop(self, key: str) -> V:
        value, size = self._items.pop(key)
        self.bytes -= size
        return value

    def values(self) -> list[V]:
        return [value for value, _ in self._items.values()]

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)


class MemoryJobStore:
    """The jobs of one server, in memory, bounded by count and bytes (:class:`BoundedMap`).

    Only :meth:`create` and :meth:`get` are used, so a store that persists jobs
    (``--state-dir``, :class:`~mockserver.storage.sqlite.PersistentJobStore`) takes
    its place there. ``clock`` is the app's
    clock (:class:`~mockserver.clock.Clock`), which tests advance to step through a job's states.
    """

    def __init__(
        self, limit: int = MAX_JOBS, max_bytes: int = MAX_STORE_BYTES, clock: Callable[[], float] = time.time
    ) -> None:
        self.limit = limit
        self.clock = clock
        self._jobs: BoundedMap[Job] = BoundedMap(limit, max_bytes)

    def create(self, job_id: str, kind: str, request: dict[str, Any], created_at: int) -> Job:
        job = Job(job_id, kind, created_at, self.clock(), request)
        self._jobs.put(job_id, job, len(orjson.dumps(request)))
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def count(self) -> int:
        return len(self._jobs)

    def clear(self) -> None:
        self._jobs.clear()


class MemoryCompletionStore:
    """Completions created with ``store: true``, in creation order, bounded by count and bytes.

    In memory; ``--state-dir`` puts :class:`~mockserver.storage.sqlite.PersistentCompletionStore`,
    which keeps the same methods, in its place.
    """

    def __init__(self, capacity: int = MAX_COMPLETIONS, max_bytes: int = MAX_STORE_BYTES) -> None:
        self.capacity = capacity
        self._items: BoundedMap[StoredCompletion] = BoundedMap(capacity, max_bytes)

    def put(
        self, body: dict[str, Any], messages: list[dict[str, Any]], metadata: dict[str, str] | None
    ) -> StoredCompletion:
        stored = StoredCompletion({**copy.deepcopy(body), "metadata": dict(metadata or {})}, copy.deepcopy(messages))
        self._items.put(body["id"], stored, len(orjson.dumps(stored.body)) + len(orjson.dumps(stored.messages)))
        return stored

    def find(self, completion_id: str) -> StoredCompletion | None:
        return self._items.get(completion_id)

    def set_metadata(self, completion_id: str, metadata: dict[str, str]) -> StoredCompletion:
        """Replace a stored completion's metadata (``POST /chat/completions/{id}``); the id must exist."""
        stored = self._items.get(completion_id)
        if stored is None:
            raise KeyError(completion_id)
        stored.body["metadata"] = metadata
        return stored

    def delete(self, completion_id: str) -> None:
        self._items.pop(completion_id)

    def count(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()

    def values(self) -> list[StoredCompletion]:
        return self._items.values()


class IdSet:
    """A set of ids bounded at ``capacity``: past it the oldest is forgotten (deleted model ids)."""

    def __init__(self, capacity: int = MAX_DELETED_IDS) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, item: str) -> None:
        self._ids[item] = None
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)

    def __contains__(self, item: object) -> bool:
        return item in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def clear(self) -> None:
        self._ids.clear()

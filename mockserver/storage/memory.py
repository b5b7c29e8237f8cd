"""The stores in memory (the default): bounded, oldest dropped first."""

from __future__ import annotations

import copy
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from mockserver.storage.records import MAX_COMPLETIONS, MAX_DELETED_IDS, MAX_JOBS, Job, StoredCompletion


class MemoryJobStore:
    """The jobs of one server, in memory, oldest dropped past ``limit``.

    Only :meth:`create` and :meth:`get` are used, so a store that persists jobs
    (``--state-dir``, :class:`~mockserver.storage.sqlite.PersistentJobStore`) takes
    its place there. ``clock`` is wall-clock seconds; tests
    may replace it to step through a job's states without sleeping.
    """

    def __init__(self, limit: int = MAX_JOBS, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self.clock = clock
        self._jobs: OrderedDict[str, Job] = OrderedDict()

    def create(self, job_id: str, kind: str, request: dict[str, Any], created_at: int) -> Job:
        job = Job(job_id, kind, created_at, self.clock(), request)
        self._jobs[job_id] = job
        while len(self._jobs) > self.limit:
            self._jobs.popitem(last=False)
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def clear(self) -> None:
        self._jobs.clear()


class MemoryCompletionStore:
    """Completions created with ``store: true``, in creation order.

    In memory; ``--state-dir`` puts :class:`~mockserver.storage.sqlite.PersistentCompletionStore`,
    which keeps the same methods, in its place.
    """

    def __init__(self, capacity: int = MAX_COMPLETIONS) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, StoredCompletion] = OrderedDict()

    def put(
        self, body: dict[str, Any], messages: list[dict[str, Any]], metadata: dict[str, str] | None
    ) -> StoredCompletion:
        stored = StoredCompletion({**copy.deepcopy(body), "metadata": dict(metadata or {})}, copy.deepcopy(messages))
        self._items[body["id"]] = stored
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return stored

    def find(self, completion_id: str) -> StoredCompletion | None:
        return self._items.get(completion_id)

    def set_metadata(self, completion_id: str, metadata: dict[str, str]) -> StoredCompletion:
        """Replace a stored completion's metadata (``POST /chat/completions/{id}``); the id must exist."""
        stored = self._items[completion_id]
        stored.body["metadata"] = metadata
        return stored

    def delete(self, completion_id: str) -> None:
        del self._items[completion_id]

    def clear(self) -> None:
        self._items.clear()

    def values(self) -> list[StoredCompletion]:
        return list(self._items.values())


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

"""What the stores keep: submitted async jobs and stored chat completions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_JOBS = 10_000
MAX_COMPLETIONS = 10_000
MAX_DELETED_IDS = 10_000
MAX_RESOURCES = 10_000
MAX_FILES = 1_000
MAX_STORE_BYTES = 64 * 1024 * 1024
"""What stored completions, and async jobs, may hold each (their JSON), unless ``--store-bytes`` says otherwise."""


@dataclass(frozen=True)
class Job:
    """A submitted job. ``born`` is real wall-clock time, which the schedule counts from
    even with ``--freeze-time`` (where ``created_at``, the reported time, is frozen)."""

    id: str
    kind: str
    created_at: int
    born: float
    request: dict[str, Any]


@dataclass
class StoredCompletion:
    body: dict[str, Any]
    messages: list[dict[str, Any]]

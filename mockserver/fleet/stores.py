"""The fleet's stores: stored completions, async jobs, the spec engine's resources and file bytes, and deleted model
ids, in Redis, so a thing created on one node is read, changed and deleted on any other.

Each store keeps the interface of its in-memory version (:mod:`mockserver.storage`) and its bounds: entries in
creation order, at most so many and so many bytes (each counted as one mock counts it), the oldest dropped first
and the newest always kept; a key written again keeps its place. A write is one Lua call (stored, counted and
trimmed together), so two nodes writing at once never leave a store past its bounds or half-written.

:class:`FleetLeases` let one node at a time move a resource along its lifecycle, so a step runs once fleet-wide.

The stores are called as the in-memory ones are, from the request's own code on the event loop: each call is one
round trip on the sync client (a fraction of a millisecond on a LAN, as ``--state-dir``'s SQLite is a write to
disk), bounded by :data:`~mockserver.fleet.backend.STATE_TIMEOUT`, and while Redis is known to be away they fail at
once (:meth:`SharedState.call_on_loop`) instead of each waiting out that timeout.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson

from mockserver.errors import ApiError
from mockserver.fleet.backend import SharedState
from mockserver.storage import Stores
from mockserver.storage.records import (
    MAX_COMPLETIONS,
    MAX_DELETED_IDS,
    MAX_FILES,
    MAX_JOBS,
    MAX_RESOURCES,
    Job,
    StoredCompletion,
)

# A bounded map's keys, after its name: the order (a sorted set by a sequence number), values and sizes (hashes),
# the byte count, the sequence, each member's group and the set of groups (a group's members are a sorted set of
# their own, "<name>:in:<group>"). Every script below starts with FORGET.
PARTS = ("order", "values", "sizes", "bytes", "sequence", "group_of", "groups")
FORGET = """
local function forget(member)
  local size = redis.call('HGET', KEYS[3], member)
  if not size then return 0 end
  redis.call('ZREM', KEYS[1], member)
  redis.call('HDEL', KEYS[2], member)
  redis.call('HDEL', KEYS[3], member)
  redis.call('DECRBY', KEYS[4], size)
  local group = redis.call('HGET', KEYS[6], member)
  if group then
    local members = ARGV[1] .. group
    redis.call('ZREM', members, member)
    redis.call('HDEL', KEYS[6], member)
    if redis.call('ZCARD', members) == 0 then redis.call('SREM', KEYS[7], group) end
  end
  return tonumber(size)
end
"""

# ARGV: the groups' key prefix, the member, its value, its size, the bounds (entries, bytes), its group ('' none).
PUT = FORGET + """
local member, size = ARGV[2], tonumber(ARGV[4])
local previous = redis.call('HGET', KEYS[3], member)
if previous then
  redis.call('DECRBY', KEYS[4], previous)
else
  local place = redis.call('INCR', KEYS[5])
  redis.call('ZADD', KEYS[1], place, member)
  if ARGV[7] ~= '' then
    redis.call('ZADD', ARGV[1] .. ARGV[7], place, member)
    redis.call('HSET', KEYS[6], member, ARGV[7])
    redis.call('SADD', KEYS[7], ARGV[7])
  end
end
redis.call('HSET', KEYS[2], member, ARGV[3])
redis.call('HSET', KEYS[3], member, size)
local held = redis.call('INCRBY', KEYS[4], size)
local count = redis.call('ZCARD', KEYS[1])
while count > 1 and (count > tonumber(ARGV[5]) or held > tonumber(ARGV[6])) do
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  held = held - forget(oldest)
  count = count - 1
end
return count
"""

# ARGV: the groups' key prefix, the member, then '' or a group prefix: every group starting with it goes too.
DELETE = FORGET + """
local gone = forget(ARGV[2]) > 0 and 1 or 0
if ARGV[3] ~= '' then
  for _, group in ipairs(redis.call('SMEMBERS', KEYS[7])) do
    if string.sub(group, 1, #ARGV[3]) == ARGV[3] then
      for _, member in ipairs(redis.call('ZRANGE', ARGV[1] .. group, 0, -1)) do forget(member) end
    end
  end
end
return gone
"""


# KEYS: the order to read (the map's or a group's), the values. Every member in the order has its value (the
# scripts above change both together).
VALUES = """
local values = {}
for i, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do values[i] = redis.call('HGET', KEYS[2], member) end
return values
"""


class RedisBoundedMap:
    """:class:`~mockserver.storage.memory.BoundedMap` in Redis: values by member in insertion order, at most
    ``limit`` of them and ``max_bytes`` in all, optionally grouped (a resource's collection) for listing."""

    def __init__(self, shared: SharedState, name: str, limit: int, max_bytes: int) -> None:
        self.shared = shared
        self.name = name
        self.limit, self.max_bytes = limit, max_bytes
        self.keys = [shared.key("store", name, part) for part in PARTS]
        self.group_prefix = shared.key("store", name, "in", "")
        self._put = shared.sync_client.register_script(PUT)
        self._delete = shared.sync_client.register_script(DELETE)
        self._values = shared.sync_client.register_script(VALUES)

    def put(self, member: str, value: bytes, size: int, group: str = "") -> None:
        arguments: list[Any] = [self.group_prefix, member, value, size, self.limit, self.max_bytes, group]
        self.shared.call_on_loop(lambda: self._put(keys=self.keys, args=arguments))

    def get(self, member: str) -> bytes | None:
        found: Any = self.shared.call_on_loop(lambda: self.shared.sync_client.hget(self.keys[1], member))
        return found

    def delete(self, member: str, nested_prefix: str = "") -> None:
        """Forget ``member`` and, with ``nested_prefix``, every member of a group whose name starts with it."""
        arguments = [self.group_prefix, member, nested_prefix]
        self.shared.call_on_loop(lambda: self._delete(keys=self.keys, args=arguments))

    def members(self, group: str | None = None) -> list[str]:
        """The members (of one group), oldest first."""
        source = self.keys[0] if group is None else self.group_prefix + group
        found: Any = self.shared.call_on_loop(lambda: self.shared.sync_client.zrange(source, 0, -1))
        return [member.decode() for member in found]

    def values(self, group: str | None = None) -> list[bytes]:
        """The values (of one group), oldest first, read in one round trip (only that group's)."""
        source = self.keys[0] if group is None else self.group_prefix + group
        found: Any = self.shared.call_on_loop(lambda: self._values(keys=[source, self.keys[1]]))
        return list(found)

    def count(self) -> int:
        return int(self.shared.call_on_loop(lambda: self.shared.sync_client.zcard(self.keys[0])))

    @property
    def bytes(self) -> int:
        """What the values held count, as their bound counts them."""
        return int(self.shared.call_on_loop(lambda: self.shared.sync_client.get(self.keys[3])) or 0)

    def clear(self) -> None:
        self.shared.forget(f"store:{self.name}:*")


class FleetJobStore:
    """:class:`~mockserver.storage.JobStore` in the fleet's Redis."""

    def __init__(self, shared: SharedState, max_bytes: int, clock: Callable[[], float] = time.time) -> None:
        self.limit = MAX_JOBS
        self.clock = clock
        self._jobs = RedisBoundedMap(shared, "jobs", MAX_JOBS, max_bytes)

    def create(self, job_id: str, kind: str, request: dict[str, Any], created_at: int) -> Job:
        job = Job(job_id, kind, created_at, self.clock(), request)
        request_json = orjson.dumps(request)  # encoded once: kept after the job's line, and counted by its size
        self._jobs.put(job_id, orjson.dumps([kind, created_at, job.born]) + b"\n" + request_json, len(request_json))
        return job

    def get(self, job_id: str) -> Job | None:
        kept = self._jobs.get(job_id)
        if kept is None:
            return None
        head, request = kept.split(b"\n", 1)  # (orjson writes no raw newline)
        kind, created_at, born = orjson.loads(head)
        return Job(job_id, kind, created_at, born, orjson.loads(request))

    def count(self) -> int:
        return self._jobs.count()

    def clear(self) -> None:
        self._jobs.clear()


class FleetCompletionStore:
    """:class:`~mockserver.storage.CompletionStore` in the fleet's Redis."""

    def __init__(self, shared: SharedState, max_bytes: int) -> None:
        self.capacity = MAX_COMPLETIONS
        self._completions = RedisBoundedMap(shared, "completions", MAX_COMPLETIONS, max_bytes)

    def put(
        self, body: dict[str, Any], messages: list[dict[str, Any]], metadata: dict[str, str] | None
    ) -> StoredCompletion:
        stored = StoredCompletion({**body, "metadata": dict(metadata or {})}, messages)
        self._save(stored)
        return stored

    def find(self, completion_id: str) -> StoredCompletion | None:
        kept = self._completions.get(completion_id)
        return None if kept is None else StoredCompletion(*_decoded(kept))

    def set_metadata(self, completion_id: str, metadata: dict[str, str]) -> StoredCompletion:
        stored = self.find(completion_id)
        if stored is None:
            raise KeyError(completion_id)
        stored.body["metadata"] = metadata
        self._save(stored)
        return stored

    def delete(self, completion_id: str) -> None:
        self._completions.delete(completion_id)

    def count(self) -> int:
        return self._completions.count()

    def clear(self) -> None:
        self._completions.clear()

    def values(self) -> list[StoredCompletion]:
        return [StoredCompletion(*_decoded(kept)) for kept in self._completions.values()]

    def _save(self, stored: StoredCompletion) -> None:
        body, messages = orjson.dumps(stored.body), orjson.dumps(stored.messages)
        self._completions.put(stored.body["id"], b"[" + body + b"," + messages + b"]", len(body) + len(messages))


def _decoded(kept: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    body, messages = orjson.loads(kept)
    return body, messages


class FleetResourceStore:
    """:class:`~mockserver.storage.ResourceStore` in the fleet's Redis: resources grouped by collection, and file
    contents by file id."""

    def __init__(self, shared: SharedState, max_bytes: int) -> None:
        self._resources = RedisBoundedMap(shared, "resources", MAX_RESOURCES, max_bytes)
        self._contents = RedisBoundedMap(shared, "contents", MAX_FILES, max_bytes)

    def put(self, collection: str, resource_id: str, body: dict[str, Any]) -> dict[str, Any]:
        kept = orjson.dumps(body)
        self._resources.put(_member(collection, resource_id), kept, len(kept) + len(collection), group=collection)
        return body

    def get(self, collection: str, resource_id: str) -> dict[str, Any] | None:
        kept = self._resources.get(_member(collection, resource_id))
        return None if kept is None else orjson.loads(kept)

    def delete(self, collection: str, resource_id: str) -> None:
        """Forget the resource, what is nested under it, and its content."""
        self._resources.delete(_member(collection, resource_id), nested_prefix=f"{collection}/{resource_id}/")
        self._contents.delete(resource_id)

    def items(self, collection: str) -> list[dict[str, Any]]:
        return [orjson.loads(kept) for kept in self._resources.values(collection)]

    def ids(self, collection: str) -> list[str]:
        return [member.split("\n", 1)[1] for member in self._resources.members(collection)]

    def put_content(self, resource_id: str, data: bytes) -> None:
        self._contents.put(resource_id, data, len(data))

    def content(self, resource_id: str) -> bytes | None:
        return self._contents.get(resource_id)

    def count(self) -> int:
        return self._resources.count()

    def clear(self) -> None:
        self._resources.clear()
        self._contents.clear()


def _member(collection: str, resource_id: str) -> str:
    return f"{collection}\n{resource_id}"


class FleetIdSet:
    """:class:`~mockserver.storage.memory.IdSet` in the fleet's Redis (the ids of deleted models)."""

    def __init__(self, shared: SharedState, capacity: int = MAX_DELETED_IDS) -> None:
        self.capacity = capacity
        self._ids = RedisBoundedMap(shared, "deleted_models", capacity, 2**62)

    def add(self, item: str) -> None:
        self._ids.put(item, b"", 0)

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str) and self._ids.get(item) is not None

    def __len__(self) -> int:
        return self._ids.count()

    def clear(self) -> None:
        self._ids.clear()


class FleetCreates:
    """:class:`~mockserver.determinism.CreateCounter` in the fleet's Redis: under ``--freeze-time`` the n-th create
    of the fleet makes the id the n-th create of one mock would, whichever node serves it."""

    def __init__(self, shared: SharedState) -> None:
        self.shared = shared
        self.key = shared.key("creates")

    def next(self) -> int:
        return int(self.shared.call_on_loop(lambda: self.shared.sync_client.incr(self.key))) - 1

    def restart(self) -> None:
        self.shared.call_sync(lambda: self.shared.sync_client.delete(self.key))


LEASE_SECONDS = 10.0
"""How long a lease lasts if its holder never lets it go (a node killed while holding it)."""
LEASE_POLL_SECONDS = 0.01

# KEYS: the lease. ARGV: the holder's token. Let go only by its holder (not after it expired and another took it).
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class FleetLeases:
    """:class:`~mockserver.storage.Leases` across the fleet: a key in Redis set only if absent, with an expiry."""

    def __init__(self, shared: SharedState) -> None:
        self.shared = shared
        self._release = shared.register(RELEASE)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lease, token = self.shared.key("lease", key), secrets.token_hex(8)
        deadline = time.monotonic() + 2 * LEASE_SECONDS  # a dead holder's lease has expired by then
        while not await self.shared.run(self.shared.client.set(lease, token, nx=True, px=int(LEASE_SECONDS * 1000))):
            if time.monotonic() > deadline:
                raise ApiError(503, f"{key.split(chr(10))[-1]} is being updated by another node; try again.",
                               type="server_error", code="resource_busy")
            await asyncio.sleep(LEASE_POLL_SECONDS)
        try:
            yield
        finally:
            await self.shared.run(self._release(keys=[lease], args=[token]))


def fleet_stores(shared: SharedState, max_bytes: int, clock: Callable[[], float]) -> Stores:
    """Every store a request can change, in the fleet's Redis."""
    return Stores(FleetCompletionStore(shared, max_bytes), FleetJobStore(shared, max_bytes, clock),
                  deleted_models=FleetIdSet(shared), resources=FleetResourceStore(shared, max_bytes),
                  leases=FleetLeases(shared))


__all__ = ["DELETE", "PUT", "RELEASE", "VALUES", "FleetCompletionStore", "FleetCreates", "FleetIdSet", "FleetJobStore",
           "FleetLeases", "FleetResourceStore", "RedisBoundedMap", "fleet_stores"]

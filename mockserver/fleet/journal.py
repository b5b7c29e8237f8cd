"""The fleet's journal: every node's finished exchanges in one bounded list in Redis, so ``GET /_mock/requests``,
an exchange's detail, the live feed, the sandbox and ``MockServer.requests`` on any node see every node's requests.

A node keeps its own :class:`~mockserver.journal.Journal` as ever (its requests in flight, its metrics); each
exchange it finishes is also queued here, on the event loop, and a writer thread sends the queue in batches (one
Lua call a batch: pushed, counted, trimmed to ``--journal-size`` entries and ``--journal-bytes``, announced on a
channel the live feeds follow), never on a request's path. Ids are made unique in the fleet from a node number
Redis hands out at start (``node * 10**9 + n``). Each entry names the node (host) and worker (process id) that
served it. Reads are control actions (a worker thread, a test's thread), through the sync client.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

import orjson

from mockserver.fleet.backend import STATE_TIMEOUT, SharedState, StateUnavailable
from mockserver.journal import Exchange, json_safe

IDS_PER_NODE = 1_000_000_000
"""A node's exchange ids are ``node × IDS_PER_NODE + n``: unique in a fleet of up to 9 million node starts."""
MAX_QUEUED = 10_000
"""Finished exchanges a node holds for the writer while Redis is slow or away; past it the oldest are dropped
(and counted)."""
BATCH = 64
RETRY_SECONDS = 1.0
POLL_SECONDS = 0.05

# KEYS: the list, the details hash, the byte count, the feed channel. ARGV: the bounds (entries, bytes), then each
# exchange's id, its bytes as one mock counts them (Exchange.journal_bytes, so a fleet keeps the entries one mock
# would), its list view and its detail. A list entry is "<id> <bytes>\n<list view JSON>" (read without JSON).
PUSH = """
for i = 3, #ARGV, 4 do
  local listed = ARGV[i] .. ' ' .. ARGV[i + 1] .. '\\n' .. ARGV[i + 2]
  redis.call('RPUSH', KEYS[1], listed)
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 3])
  redis.call('INCRBY', KEYS[3], ARGV[i + 1])
  redis.call('PUBLISH', KEYS[4], listed)
end
local length = redis.call('LLEN', KEYS[1])
while length > 1 and (length > tonumber(ARGV[1]) or tonumber(redis.call('GET', KEYS[3])) > tonumber(ARGV[2])) do
  local oldest = redis.call('LPOP', KEYS[1])
  local id, counted = string.match(oldest, '^(%d+) (%d+)')
  redis.call('HDEL', KEYS[2], id)
  redis.call('DECRBY', KEYS[3], counted)
  length = length - 1
end
return length
"""

# ARGV[1]: the test id whose entries go.
DISCARD = """
for _, listed in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local id, counted, view = string.match(listed, '^(%d+) (%d+)\\n(.*)$')
  if cjson.decode(view).test_id == ARGV[1] then
    redis.call('LREM', KEYS[1], 1, listed)
    redis.call('HDEL', KEYS[2], id)
    redis.call('DECRBY', KEYS[3], counted)
  end
end
return 0
"""


class FleetJournal:
    """The fleet's journal, bounded in entries and bytes as one mock's is."""

    def __init__(self, shared: SharedState, size: int, max_bytes: int) -> None:
        self.shared = shared
        self.size, self.max_bytes = size, max_bytes
        self.keys = [shared.key("journal", name) for name in ("list", "detail", "bytes", "feed")]
        self.node, self.worker = socket.gethostname(), os.getpid()
        self.dropped = 0  # exchanges the writer could not keep (Redis away while the queue was full)
        self._queue: deque[Exchange] = deque()
        self._wake = threading.Event()
        self._writer: tuple[threading.Thread, threading.Event] | None = None  # the thread, and what stops it
        self._writer_lock = threading.Lock()
        self._push = shared.sync_client.register_script(PUSH)
        self._discard = shared.sync_client.register_script(DISCARD)

    def first_id(self) -> int:
        """Where this node's exchange ids start: after a node number Redis hands out (a random one while Redis is
        away at start, so the node still starts)."""
        try:
            number = int(self.shared.call_sync(lambda: self.shared.sync_client.incr(self.shared.key("nodes"))))
        except StateUnavailable:
            number = random.SystemRandom().randrange(1_000_000, 9_000_000)
        return (number % 9_000_000) * IDS_PER_NODE + 1

    # ---------------------------------------------------------------- writing (a thread of its own)

    def observe(self, exchange: Exchange) -> None:
        """A journal listener: queue ``exchange`` for the writer (the request's loop only appends and signals)."""
        if not self.size:
            return
        if len(self._queue) >= MAX_QUEUED:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(exchange)
        if self._writer is None:
            with self._writer_lock:
                if self._writer is None:
                    stop = threading.Event()
                    thread = threading.Thread(target=self._write, args=(stop,), name="mockserver-journal",
                                              daemon=True)
                    self._writer = thread, stop
                    thread.start()
        self._wake.set()

    def _write(self, stop: threading.Event) -> None:
        """Write the queue in batches until ``stop``. A thread, so the request's loop (or, in process, whichever
        loop a transport or a test runs) never waits on Redis for its journal and never owns the writer."""
        while not stop.is_set():
            self._wake.wait(RETRY_SECONDS)
            self._wake.clear()
            while self._queue and not stop.is_set():
                batch = [self._queue[index] for index in range(min(BATCH, len(self._queue)))]
                arguments: list[Any] = [self.size, self.max_bytes]
                for exchange in batch:
                    arguments += [exchange.id, exchange.journal_bytes, *packed(exchange)]
                try:
                    self.shared.call_sync(partial(self._push, keys=self.keys, args=arguments))
                except StateUnavailable:
                    stop.wait(RETRY_SECONDS)  # kept queued (within MAX_QUEUED) until Redis answers
                    break
                written = {id(exchange) for exchange in batch}
                while self._queue and id(self._queue[0]) in written:  # (those dropped meanwhile are gone already)
                    self._queue.popleft()

    async def flush(self, timeout: float = 2.0) -> None:
        """Wait (at most ``timeout`` seconds, and not at all while Redis is away) until every queued exchange is
        written, then stop the writer."""
        deadline = time.monotonic() + timeout
        while self._queue and self._writer is not None and self.shared.reachable is not False \
                and time.monotonic() < deadline:
            await asyncio.sleep(POLL_SECONDS)
        with self._writer_lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            thread, stop = writer
            stop.set()
            self._wake.set()
            await asyncio.to_thread(thread.join, STATE_TIMEOUT + 1)  # at most the batch in flight

    def pending(self) -> int:
        """Exchanges finished here and not written yet."""
        return len(self._queue)

    # ---------------------------------------------------------------- reading (control actions)

    def entries(self) -> list[Exchange]:
        """The fleet's finished exchanges, oldest first (their list views: no response parts), and this node's
        not written yet after them, so a node reads its own requests at once (another node's, once written)."""
        unwritten = list(self._queue)  # one C-level copy: the loop may append meanwhile
        listed = self.shared.call_sync(lambda: self.shared.sync_client.lrange(self.keys[0], 0, -1))
        found = [listed_exchange(entry) for entry in listed]
        written = {exchange.id for exchange in found}
        return found + [exchange for exchange in unwritten if exchange.id not in written]

    def get(self, exchange_id: int) -> Exchange | None:
        """The exchange with this id, whole (its response parts and fault marks too); None once trimmed."""
        waiting = next((exchange for exchange in list(self._queue) if exchange.id == exchange_id), None)
        if waiting is not None:
            return waiting
        detail = self.shared.call_sync(lambda: self.shared.sync_client.hget(self.keys[1], str(exchange_id)))
        return None if detail is None else unpacked(orjson.loads(detail))

    def wait_until(self, predicate: Callable[[list[Exchange]], bool], timeout: float) -> list[Exchange]:
        """The entries once ``predicate(entries)`` holds, or when ``timeout`` seconds have passed."""
        deadline = time.monotonic() + timeout
        while True:
            entries = self.entries()
            if predicate(entries) or time.monotonic() >= deadline:
                return entries
            time.sleep(POLL_SECONDS)

    def discard(self, test_id: str) -> None:
        self.shared.call_sync(lambda: self._discard(keys=self.keys, args=[test_id]))

    def clear(self) -> None:
        self.shared.call_sync(lambda: self.shared.sync_client.delete(*self.keys[:3]))

    async def follow(self) -> AsyncIterator[Exchange]:
        """Every exchange the fleet finishes from now on, as the writers announce them."""
        listening = self.shared.client.pubsub()
        try:
            await self.shared.run(listening.subscribe(self.keys[3]))
            async for message in listening.listen():
                if message.get("type") == "message":
                    yield listed_exchange(message["data"])
        finally:
            await listening.aclose()


def packed(exchange: Exchange) -> tuple[bytes, bytes]:
    """An exchange's list view and its whole detail (response parts in base64), as JSON."""
    listed = exchange.as_dict()
    detail = {"listed": listed, "marks": exchange.marks, "captured_bytes": exchange.captured_bytes,
              "parts": [[at_ms, base64.b64encode(part).decode()] for at_ms, part in exchange.response_parts]}
    try:
        return orjson.dumps(listed), orjson.dumps(detail)
    except TypeError:
        return orjson.dumps(json_safe(listed)), orjson.dumps(json_safe(detail))


def listed_exchange(entry: bytes | str) -> Exchange:
    """An exchange from its list entry (``<id> <bytes>\\n<list view JSON>``)."""
    view = entry.split(b"\n", 1)[1] if isinstance(entry, bytes) else entry.split("\n", 1)[1]
    return Exchange.from_listed(orjson.loads(view))


def unpacked(detail: dict[str, Any]) -> Exchange:
    return Exchange.from_listed(detail["listed"], marks=detail["marks"], captured_bytes=detail["captured_bytes"],
                                response_parts=[(at_ms, base64.b64decode(part)) for at_ms, part in detail["parts"]])


__all__ = ["DISCARD", "IDS_PER_NODE", "PUSH", "FleetJournal", "listed_exchange", "packed", "unpacked"]

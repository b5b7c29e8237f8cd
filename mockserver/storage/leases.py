"""Leases: one holder at a time for a key, so a resource's lifecycle step (a batch finalized, a fine-tuning job's
model made) runs once however many requests read the resource at that moment.

In memory, an :class:`asyncio.Lock` per key, kept only while someone holds or waits for it; a fleet's are in its
Redis (:class:`mockserver.fleet.stores.FleetLeases`), so the step runs once fleet-wide.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class LocalLeases:
    """Leases within one server."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[asyncio.Lock, int]] = {}  # a key's lock and how many hold or wait for it

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._held.get(key, (asyncio.Lock(), 0))
        self._held[key] = lock, users + 1
        try:
            async with lock:
                yield
        finally:
            lock, users = self._held[key]
            if users == 1:
                del self._held[key]
            else:
                self._held[key] = lock, users - 1

    def __len__(self) -> int:
        return len(self._held)


__all__ = ["LocalLeases"]

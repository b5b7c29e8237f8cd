"""The prompt cache: which prompt prefixes a provider would have cached, and until when, on the mock's clock.

A family that bills cache writes and reads (Anthropic's ``cache_control`` breakpoints) asks :meth:`PromptCache.hit`
for each prefix it would cache: a prefix seen within its time to live is a read (and its life starts again, as the
real cache's does on a hit), an unseen one a write. Entries are keyed by a digest of the prefix (model included),
so the cache holds no prompt text; it holds at most :data:`MAX_ENTRIES`, the oldest forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

MAX_ENTRIES = 10_000


class PromptCache:
    def __init__(self, now: Callable[[], float], max_entries: int = MAX_ENTRIES) -> None:
        self._now = now
        self._max_entries = max_entries
        self._expiry: OrderedDict[bytes, float] = OrderedDict()

    def hit(self, key: bytes, ttl_seconds: float) -> bool:
        """Whether ``key`` is cached now; either way it is cached for ``ttl_seconds`` from now."""
        now = self._now()
        expires = self._expiry.pop(key, None)
        cached = expires is not None and expires > now
        self._expiry[key] = now + ttl_seconds
        while len(self._expiry) > self._max_entries:
            self._expiry.popitem(last=False)
        return cached

    def cached(self, key: bytes) -> bool:
        """Whether ``key`` is cached now, without touching it."""
        expires = self._expiry.get(key)
        return expires is not None and expires > self._now()

    def clear(self) -> None:
        self._expiry.clear()

    def __len__(self) -> int:
        return len(self._expiry)


__all__ = ["MAX_ENTRIES", "PromptCache"]

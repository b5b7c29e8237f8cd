"""Attempts without ``x-stainless-retry-count``: the same request again, within a window, is a retry.

Stainless SDKs (openai-python, openai-node) say which attempt a request is; other clients (the AI SDK,
curl, LiteLLM's own retries) do not. For those the attempt is how many times the same request (the same
API key, test id, path and body) arrived before it within ``--retry-window`` seconds, so
``attempts=N`` faults let their retries through too. At most :data:`MAX_REQUESTS` requests are
remembered, oldest forgotten first; reset forgets them.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

MAX_REQUESTS = 10_000


class Repeats:
    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._clock = clock
        self._seen: OrderedDict[bytes, tuple[int, float]] = OrderedDict()
        self._lock = threading.Lock()

    def attempt(self, key: str, test_id: str | None, path: str, body: bytes) -> int:
        """0 for a request not seen within the window, else one more than the last time it came."""
        digest = hashlib.sha256(b"\0".join((key.encode(), (test_id or "").encode(), path.encode(), body))).digest()
        now = self._clock()
        with self._lock:
            count, last = self._seen.pop(digest, (-1, now))
            count = count + 1 if now - last <= self.window else 0
            self._seen[digest] = (count, now)
            while len(self._seen) > MAX_REQUESTS:
                self._seen.popitem(last=False)
        return count

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

"""Attempts without ``x-stainless-retry-count``: the same request again, within a window, is a retry.

Stainless SDKs (openai-python, openai-node) say which attempt a request is; other clients (the AI SDK,
curl, LiteLLM's own retries) do not. For those the attempt is how many times the same request (the same
API key, test id, path and body) was answered before it arrived, the last within ``--retry-window`` seconds, so
``attempts=N`` faults let their retries through too. A client that wraps the SDK in retries of its own (litellm's
``num_retries``, under DSPy) sends each retry with the header at 0: for a request whose header says 0, the same
request again after a *failed* answer is its retry. At most :data:`MAX_REQUESTS` requests are remembered, oldest
forgotten first; reset forgets them.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

MAX_REQUESTS = 10_000


class Repeats:
    """How often each request was answered lately: a retry comes after the answer to the attempt before it, so
    identical requests sent at once (a load test, a fan-out) are each a first attempt, not each other's retries."""

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._clock = clock
        self._answered: OrderedDict[bytes, tuple[int, float, bool]] = OrderedDict()  # count, last, it failed
        self._lock = threading.Lock()

    @staticmethod
    def digest(key: str, test_id: str | None, path: str, body: bytes) -> bytes:
        return hashlib.sha256(b"\0".join((key.encode(), (test_id or "").encode(), path.encode(), body))).digest()

    def attempt(self, digest: bytes, *, after_failure: bool = False) -> int:
        """How many times this request was answered, the last within the window (0: a first attempt); with
        ``after_failure``, 0 unless that last answer failed."""
        with self._lock:
            count, last, failed = self._answered.get(digest, (0, 0.0, False))
            if after_failure and not failed:
                return 0
            return count if count and self._clock() - last <= self.window else 0

    def answered(self, digest: bytes, *, failed: bool = False) -> None:
        """The request was answered (``failed``: with an error or a cut): the next identical one within the
        window is its retry."""
        now = self._clock()
        with self._lock:
            count, last, _ = self._answered.pop(digest, (0, now, False))
            self._answered[digest] = ((count if now - last <= self.window else 0) + 1, now, failed)
            while len(self._answered) > MAX_REQUESTS:
                self._answered.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._answered.clear()

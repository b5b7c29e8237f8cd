"""Real rate limits: ``--rpm`` / ``--tpm`` token buckets per API key, refilled continuously.

A bucket holds one minute's allowance and refills at ``limit / 60`` per
second, so a client that paces itself at the limit is never refused and a
burst is refused with the exact time until enough has refilled. Every
generation response carries the ``x-ratelimit-*`` headers OpenAI sends, with
durations in its format (``1s``, ``6m0s``, ``12ms``).

A request costs one request and, like OpenAI's own estimate, a quarter token
per character of its messages plus its ``max_completion_tokens`` (or
``max_tokens``). Refused requests cost nothing.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from mockserver.errors import ApiError
from mockserver.messages import content_text


def format_duration(seconds: float) -> str:
    """A duration as OpenAI writes it (Go style, rounded up to the millisecond): ``12ms``, ``1.5s``, ``6m0s``."""
    millis = math.ceil(round(seconds * 1000, 6))
    if millis <= 0:
        return "0s"
    if millis < 1000:
        return f"{millis}ms"
    minutes, millis = divmod(millis, 60_000)
    hours, minutes = divmod(minutes, 60)
    whole, fraction = divmod(millis, 1000)
    text = f"{whole}" + (f".{fraction:03d}".rstrip("0") if fraction else "") + "s"
    if hours or minutes:
        text = f"{minutes}m" + text
    if hours:
        text = f"{hours}h" + text
    return text


def rate_limit_headers(scope: str, limit: int, remaining: int, reset_seconds: float) -> dict[str, str]:
    """The three ``x-ratelimit-*`` headers of one scope (``requests`` or ``tokens``)."""
    return {
        f"x-ratelimit-limit-{scope}": str(limit),
        f"x-ratelimit-remaining-{scope}": str(remaining),
        f"x-ratelimit-reset-{scope}": format_duration(reset_seconds),
    }


def estimate_tokens(body: Any) -> int:
    """What a request costs against ``--tpm``: characters / 4 of its input, plus its output budget."""
    if not isinstance(body, dict):
        return 0
    messages = body.get("messages")
    if isinstance(messages, list):
        characters = sum(len(content_text(message.get("content"))) for message in messages if isinstance(message, dict))
    else:
        given = body.get("input", body.get("prompt"))
        parts = [given] if isinstance(given, str) else given if isinstance(given, list) else []
        characters = sum(len(part) for part in parts if isinstance(part, str))
    budget = body.get("max_completion_tokens") or body.get("max_tokens")
    return math.ceil(characters / 4) + (budget if isinstance(budget, int) and budget > 0 else 0)


class TokenBucket:
    """``limit`` per minute, refilled continuously; starts full."""

    def __init__(self, limit: int, now: float) -> None:
        self.limit = limit
        self.rate = limit / 60.0
        self.level = float(limit)
        self.stamp = now

    def refill(self, now: float) -> None:
        self.level = min(float(self.limit), self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait(self, amount: int) -> float:
        """Seconds until ``amount`` is available (after :meth:`refill`)."""
        return max(0.0, (amount - self.level) / self.rate)

    def headers(self, scope: str) -> dict[str, str]:
        return rate_limit_headers(scope, self.limit, math.floor(self.level), (self.limit - self.level) / self.rate)


# API keys whose buckets are kept at once. Past it, full buckets go first (a full bucket is what a new key
# gets anyway, so forgetting one changes nothing), then the least recently used.
MAX_KEYS = 10_000


class Limiter(Protocol):
    """Where ``--rpm`` / ``--tpm`` buckets live: this process (:class:`RateLimiter`) or a fleet's Redis
    (:class:`mockserver.fleet.FleetRateLimiter`)."""

    async def admit(self, key: str, tokens: int, model: str) -> tuple[ApiError | None, dict[str, str]]: ...

    async def buckets(self, label: Callable[[str], str | None]) -> list[dict[str, object]]: ...

    def reset(self) -> None: ...


class RateLimiter:
    """The ``--rpm`` / ``--tpm`` buckets of every API key seen, for at most :data:`MAX_KEYS` keys."""

    def __init__(
        self, rpm: int | None, tpm: int | None, clock: Callable[[], float] = time.monotonic, max_keys: int = MAX_KEYS
    ) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, dict[str, TokenBucket]] = OrderedDict()

    async def admit(self, key: str, tokens: int, model: str) -> tuple[ApiError | None, dict[str, str]]:
        """:meth:`take`, as the :class:`Limiter` protocol asks."""
        return self.take(key, tokens, model)

    async def buckets(self, label: Callable[[str], str | None]) -> list[dict[str, object]]:
        """:meth:`snapshot`, as the :class:`Limiter` protocol asks."""
        return self.snapshot(label)

    def take(self, key: str, tokens: int, model: str) -> tuple[ApiError | None, dict[str, str]]:
        """Take one request and ``tokens`` from ``key``'s buckets, or the 429 saying when to retry.

        The second value is the ``x-ratelimit-*`` headers for the response either way.
        """
        now = self.clock()
        buckets = self._buckets.get(key)
        if buckets is None:
            if len(self._buckets) >= self.max_keys:
                self._evict(now)
            buckets = self._buckets[key] = self._new_buckets(now)
        else:
            self._buckets.move_to_end(key)
        costs = {"requests": 1, "tokens": tokens}
        for bucket in buckets.values():
            bucket.refill(now)
        tokens_bucket = buckets.get("tokens")
        if tokens_bucket is not None and tokens > tokens_bucket.limit:
            headers = self.headers_of(buckets)
            return too_large(model, tokens_bucket.limit, tokens, headers), headers
        waits = {scope: bucket.wait(costs[scope]) for scope, bucket in buckets.items()}
        scope, wait = max(waits.items(), key=lambda item: item[1])
        if wait > 0:
            headers = self.headers_of(buckets)
            return refused(model, scope, buckets[scope], costs[scope], wait, headers), headers
        for name, bucket in buckets.items():
            bucket.level -= costs[name]
        return None, self.headers_of(buckets)

    def snapshot(self, label: Callable[[str], str | None]) -> list[dict[str, object]]:
        """Every key's buckets as they stand: what is left, and the seconds until each is full again; keys are
        shown as ``label`` makes them (a hash, never the key)."""
        now = self.clock()
        rows: list[dict[str, object]] = []
        for key, buckets in self._buckets.items():
            for scope, bucket in buckets.items():
                bucket.refill(now)
                rows.append({"key": label(key), "bucket": scope, "limit": bucket.limit,
                             "remaining": int(bucket.level),
                             "full_in_seconds": round((bucket.limit - bucket.level) / bucket.rate, 1)})
        return rows

    def reset(self) -> None:
        self._buckets.clear()

    def __len__(self) -> int:
        return len(self._buckets)

    def _evict(self, now: float) -> None:
        for key, buckets in list(self._buckets.items()):
            for bucket in buckets.values():
                bucket.refill(now)
            if all(bucket.level >= bucket.limit for bucket in buckets.values()):
                del self._buckets[key]
        while len(self._buckets) >= self.max_keys:
            self._buckets.popitem(last=False)

    def _new_buckets(self, now: float) -> dict[str, TokenBucket]:
        buckets = {}
        if self.rpm:
            buckets["requests"] = TokenBucket(self.rpm, now)
        if self.tpm:
            buckets["tokens"] = TokenBucket(self.tpm, now)
        return buckets

    @staticmethod
    def headers_of(buckets: dict[str, TokenBucket]) -> dict[str, str]:
        headers: dict[str, str] = {}
        for scope, bucket in buckets.items():
            headers.update(bucket.headers(scope))
        return headers


_UNITS = {"requests": "requests per min (RPM)", "tokens": "tokens per min (TPM)"}


def refused(model: str, scope: str, bucket: TokenBucket, cost: int, wait: float, headers: dict[str, str]) -> ApiError:
    millis = math.ceil(round(wait * 1000, 6))
    used = bucket.limit - math.floor(bucket.level)
    message = (
        f"Rate limit reached for {model} in organization org-mock on {_UNITS[scope]}: Limit {bucket.limit}, "
        f"Used {used}, Requested {cost}. Please try again in {format_duration(wait)}. "
        "Visit https://platform.openai.com/account/rate-limits to learn more."
    )
    retry = {"retry-after": str(math.ceil(millis / 1000)), "retry-after-ms": str(millis)}
    return ApiError(429, message, type=scope, code="rate_limit_exceeded", headers={**headers, **retry})


def too_large(model: str, limit: int, tokens: int, headers: dict[str, str]) -> ApiError:
    message = (
        f"Request too large for {model} in organization org-mock on tokens per min (TPM): Limit {limit}, "
        f"Requested {tokens}. The input or output tokens must be reduced in order to run successfully. "
        "Visit https://platform.openai.com/account/rate-limits to learn more."
    )
    headers = {**headers, "x-should-retry": "false"}
    return ApiError(429, message, type="tokens", code="rate_limit_exceeded", headers=headers)

"""``--rpm`` / ``--tpm`` buckets shared by a fleet: one bucket per API key and scope in Redis, taken by one Lua
script, so the fleet admits exactly the limit whichever node serves each request.

The buckets behave as :class:`~mockserver.control.ratelimit.RateLimiter`'s do (a minute's allowance, refilled
continuously, a refusal costing nothing, a request larger than ``--tpm`` refused outright) and answer with the same
429s and ``x-ratelimit-*`` headers. A bucket's key expires once it would be full again (a full bucket is what a new
key gets), so Redis holds only the buckets in use. Keys are stored as their hash label, never the key.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from mockserver.asgi.context import key_id
from mockserver.control.ratelimit import RateLimiter, TokenBucket, refused, too_large
from mockserver.errors import ApiError
from mockserver.fleet.backend import SharedState

# KEYS: each scope's bucket (a hash of level and stamp). ARGV: now in seconds, then each scope's limit, cost, and
# whether a cost over the limit is refused outright (tokens: a request that no wait would let through).
# Returns the scope that must wait (0: admitted, -1: the tokens bucket can never hold the cost), the wait in
# seconds, and each bucket's level after, as strings (Redis would cut Lua's numbers to integers).
TAKE = """
local now = tonumber(ARGV[1])
local levels = {}
for i = 1, #KEYS do
  local limit = tonumber(ARGV[3 * i - 1])
  local held = redis.call('HMGET', KEYS[i], 'level', 'stamp')
  local level = tonumber(held[1]) or limit
  local stamp = tonumber(held[2]) or now
  if now > stamp then level = math.min(limit, level + (now - stamp) * limit / 60) end
  levels[i] = level
end
local worst, wait = 0, 0
for i = 1, #KEYS do
  local limit, cost = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
  if ARGV[3 * i + 1] == '1' and cost > limit then worst, wait = -1, 0 break end
  local needed = (cost - levels[i]) / (limit / 60)
  if needed > wait then worst, wait = i, needed end
end
if worst == 0 then
  for i = 1, #KEYS do levels[i] = levels[i] - tonumber(ARGV[3 * i]) end
end
local answer = {tostring(worst), tostring(wait)}
for i = 1, #KEYS do
  local limit = tonumber(ARGV[3 * i - 1])
  redis.call('HSET', KEYS[i], 'level', tostring(levels[i]), 'stamp', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil((limit - levels[i]) / (limit / 60) * 1000) + 1000)
  answer[#answer + 1] = tostring(levels[i])
end
return answer
"""


class FleetRateLimiter:
    """The ``--rpm`` / ``--tpm`` buckets of every API key, in the fleet's Redis."""

    def __init__(self, shared: SharedState, rpm: int | None, tpm: int | None, clock: Callable[[], float]) -> None:
        self.shared = shared
        self.limits = {scope: limit for scope, limit in (("requests", rpm), ("tokens", tpm)) if limit}
        self.clock = clock
        self._take = shared.register(TAKE)

    async def admit(self, key: str, tokens: int, model: str) -> tuple[ApiError | None, dict[str, str]]:
        """Take one request and ``tokens`` from ``key``'s buckets, fleet-wide, or the 429 saying when to retry;
        the ``x-ratelimit-*`` headers either way."""
        now = self.clock()
        costs = {"requests": 1, "tokens": tokens}
        label = key_id(key) or "anonymous"
        keys = [self.shared.key("ratelimit", label, scope) for scope in self.limits]
        arguments: list[Any] = [repr(now)]
        for scope, limit in self.limits.items():
            arguments += [limit, costs[scope], int(scope == "tokens")]
        answer = await self.shared.run(self._take(keys=keys, args=arguments))
        worst, wait = int(answer[0]), float(answer[1])
        buckets = {}
        for (scope, limit), level in zip(self.limits.items(), answer[2:], strict=True):
            bucket = buckets[scope] = TokenBucket(limit, now)
            bucket.level = float(level)
        headers = RateLimiter.headers_of(buckets)
        if worst == -1:
            return too_large(model, self.limits["tokens"], tokens, headers), headers
        if worst > 0:
            scope = list(self.limits)[worst - 1]
            return refused(model, scope, buckets[scope], costs[scope], wait, headers), headers
        return None, headers

    async def buckets(self, label: Callable[[str], str | None]) -> list[dict[str, object]]:
        """Every key's buckets in the fleet as they stand (keys are stored as their labels already)."""
        now = self.clock()
        rows: list[dict[str, object]] = []
        found = await self.shared.run(_scanned(self.shared, self.shared.key("ratelimit", "*")))
        for name in sorted(found)[:10_000]:
            *_, key_label, scope = name.decode().split(":")
            if scope not in self.limits:
                continue
            level, stamp = await self.shared.run(self.shared.client.hmget(name, "level", "stamp"))
            if level is None or stamp is None:
                continue  # expired since the scan: full again
            bucket = TokenBucket(self.limits[scope], float(stamp))
            bucket.level = float(level)
            bucket.refill(max(now, bucket.stamp))
            rows.append({"key": key_label, "bucket": scope, "limit": bucket.limit,
                         "remaining": math.floor(bucket.level),
                         "full_in_seconds": round((bucket.limit - bucket.level) / bucket.rate, 1)})
        return rows

    def reset(self) -> None:
        self.shared.forget("ratelimit:*")


async def _scanned(shared: SharedState, pattern: str) -> list[bytes]:
    return [name async for name in shared.client.scan_iter(match=pattern, count=1_000)]


__all__ = ["TAKE", "FleetRateLimiter"]

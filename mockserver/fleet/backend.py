"""The connection to the shared state: a Redis server, through the ``redis`` package's asyncio client.

Every call is bounded by :data:`STATE_TIMEOUT` (connecting and each reply) and never retried in place: a
request that needs the state while Redis is unreachable gets a 503 naming the backend within that time, in its
provider's envelope, and the next request tries again, so service resumes by itself once Redis is back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from mockserver.config import ConfigError
from mockserver.errors import ApiError

STATE_TIMEOUT = 1.0
"""Seconds a state call may take (connecting, then each reply) before it counts as unreachable."""
Result = TypeVar("Result")


class StateUnavailable(ApiError):
    """Redis did not answer: a 503 naming it, which each family's wire puts in its own envelope."""

    def __init__(self, where: str, reason: BaseException) -> None:
        super().__init__(503, f"The mock's shared state (Redis at {where}) is unreachable: "
                         f"{type(reason).__name__}: {reason}. Requests that need it fail until it answers again.",
                         type="server_error", code="state_backend_unavailable")


class SharedState:
    """One Redis database and a key prefix; keys of several fleets on one Redis differ by prefix."""

    def __init__(self, url: str, prefix: str) -> None:
        try:
            import redis
            import redis.asyncio
        except ImportError:
            raise ConfigError("--state redis://… needs the redis package: pip install 'mockserver[redis]'") \
                from None
        self._failures: tuple[type[BaseException], ...] = (redis.exceptions.ConnectionError,
                                                           redis.exceptions.TimeoutError, OSError)
        bounded: dict[str, Any] = {"socket_timeout": STATE_TIMEOUT, "socket_connect_timeout": STATE_TIMEOUT,
                                   "retry_on_timeout": False, "retry": None, "health_check_interval": 0}
        try:
            self.client = redis.asyncio.Redis.from_url(url, **bounded)
            # for the control actions (adding scripts, resets) that a test's thread or a worker thread runs
            self.sync_client = redis.Redis.from_url(url, **bounded)
        except ValueError as error:
            raise ConfigError(f"--state {url}: {error}") from None
        self.prefix = prefix
        self.where = where(url)
        self.reachable: bool | None = None  # unknown until the first call

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    async def run(self, call: Awaitable[Result]) -> Result:
        """``call``'s result, or :class:`StateUnavailable` when Redis does not answer in time."""
        try:
            result = await call
        except self._failures as error:
            self.reachable = False
            raise StateUnavailable(self.where, error) from None
        self.reachable = True
        return result

    async def health(self) -> dict[str, Any]:
        """What ``/_mock/health`` says of the state: the backend, where, and whether it answers now."""
        try:
            await self.run(self.client.ping())
        except StateUnavailable as error:
            return {"backend": "redis", "at": self.where, "reachable": False, "error": error.message}
        return {"backend": "redis", "at": self.where, "reachable": True}

    def call_sync(self, call: Callable[[], Result]) -> Result:
        """``call()`` on the sync client, off the event loop: :class:`StateUnavailable` as :meth:`run` says."""
        try:
            result = call()
        except self._failures as error:
            self.reachable = False
            raise StateUnavailable(self.where, error) from None
        self.reachable = True
        return result

    def forget(self, *patterns: str) -> None:
        """Delete every key under the prefix that matches one of ``patterns`` (a reset of the fleet)."""

        def delete() -> None:
            for pattern in patterns:
                doomed = list(self.sync_client.scan_iter(match=self.key(pattern), count=1_000))
                for start in range(0, len(doomed), 1_000):
                    self.sync_client.unlink(*doomed[start:start + 1_000])

        self.call_sync(delete)

    async def aclose(self) -> None:
        await self.client.aclose()
        self.sync_client.close()


def where(url: str) -> str:
    """``host:port/db`` of a Redis URL, without its password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or '/0'}"


__all__ = ["STATE_TIMEOUT", "SharedState", "StateUnavailable", "where"]

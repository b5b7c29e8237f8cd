"""The connection to the shared state: a Redis server, through the ``redis`` package's asyncio client.

Every call is bounded by :data:`STATE_TIMEOUT` (connecting and each reply) and never retried in place: a
request that needs the state while Redis is unreachable gets a 503 naming the backend within that time, in its
provider's envelope, and the next request tries again, so service resumes by itself once Redis is back.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from mockserver.config import ConfigError
from mockserver.errors import ApiError

if TYPE_CHECKING:
    import redis.asyncio

STATE_TIMEOUT = 1.0
"""Seconds a state call may take (connecting, then each reply) before it counts as unreachable."""
RETRY_AFTER = 1.0
"""Seconds after a failed call in which a call from the event loop fails at once (:meth:`SharedState.call_on_loop`)."""
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
            # Scripts are registered on this one, which never connects: each event loop calls them on its own.
            self._template = redis.asyncio.Redis.from_url(url, **bounded)
            # for the control actions (adding scripts, resets) that a test's thread or a worker thread runs
            self.sync_client = redis.Redis.from_url(url, **bounded)
        except ValueError as error:
            raise ConfigError(f"--state {url}: {error}") from None
        self._url, self._bounded = url, bounded
        # An asyncio client belongs to the event loop it first connects on: one per loop (the server's, and in
        # process a transport's or a test's), those of closed loops let go.
        self._clients: dict[asyncio.AbstractEventLoop, redis.asyncio.Redis] = {}
        self._clients_lock = threading.Lock()
        self.prefix = prefix
        self.where = where(url)
        self.reachable: bool | None = None  # unknown until the first call
        self._failed_at = 0.0  # time.monotonic() of the last call Redis did not answer

    @property
    def client(self) -> redis.asyncio.Redis:
        """The asyncio client of the running event loop."""
        loop = asyncio.get_running_loop()
        with self._clients_lock:
            client = self._clients.get(loop)
            if client is None:
                for closed in [held for held in self._clients if held.is_closed()]:
                    del self._clients[closed]
                client = self._clients[loop] = type(self._template).from_url(self._url, **self._bounded)
            return client

    def register(self, source: str) -> Callable[..., Awaitable[Any]]:
        """A Lua script, called ``(keys=..., args=...)`` on the running loop's client (by its SHA, loaded when
        Redis does not know it yet)."""
        script = self._template.register_script(source)
        return lambda keys, args=(): script(keys=keys, args=args, client=self.client)

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    async def run(self, call: Awaitable[Result]) -> Result:
        """``call``'s result, or :class:`StateUnavailable` when Redis does not answer in time."""
        try:
            result = await call
        except self._failures as error:
            self._unreachable()
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
            self._unreachable()
            raise StateUnavailable(self.where, error) from None
        self.reachable = True
        return result

    def call_on_loop(self, call: Callable[[], Result]) -> Result:
        """``call()`` on the sync client from the event loop (a store's round trip, as a request's own code makes
        it): within :data:`RETRY_AFTER` of a failure, :class:`StateUnavailable` at once rather than holding the loop
        for another timeout (the requests' own async calls, and the health check, find Redis back meanwhile)."""
        if self.reachable is False and time.monotonic() - self._failed_at < RETRY_AFTER:
            raise StateUnavailable(self.where, ConnectionError("unreachable a moment ago"))
        return self.call_sync(call)

    def _unreachable(self) -> None:
        self.reachable = False
        self._failed_at = time.monotonic()

    def forget(self, *patterns: str) -> None:
        """Delete every key under the prefix that matches one of ``patterns`` (a reset of the fleet)."""

        def delete() -> None:
            for pattern in patterns:
                doomed = list(self.sync_client.scan_iter(match=self.key(pattern), count=1_000))
                for start in range(0, len(doomed), 1_000):
                    self.sync_client.unlink(*doomed[start:start + 1_000])

        self.call_sync(delete)

    async def aclose(self) -> None:
        with self._clients_lock:
            client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
        self.sync_client.close()


def where(url: str) -> str:
    """``host:port/db`` of a Redis URL, without its password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or '/0'}"


__all__ = ["STATE_TIMEOUT", "SharedState", "StateUnavailable", "where"]

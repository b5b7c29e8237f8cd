"""``MockServer``: a real uvicorn server on a loopback port, in a background thread.

This is what tests and the pytest plugin use: the openai SDK talks to it over
a real socket, so timeouts, resets and cut streams behave exactly as they do
against a provider. The socket is bound before the thread starts (port 0 picks
a free port), so the URL is known at once and there is no port race.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import errno
import gc
import json
import logging
import os
import socket
import threading
import time
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.supervisors import Multiprocess

from mockserver.app.assembly import create_app
from mockserver.app.expectations import Expectations
from mockserver.app.state import AppState
from mockserver.asgi.protocol import MockHttpProtocol
from mockserver.config import Config, ConfigError

START_TIMEOUT = 10.0
GRACEFUL_SHUTDOWN_SECONDS = 1
TICK_SECONDS = 0.1  # uvicorn's: how often the main loop refreshes the Date header and looks for a signal's exit
SHUTDOWN_POLL_SECONDS = 0.005
uvicorn_log = logging.getLogger("uvicorn.error")
# How `mockserver serve --workers N` hands its merged configuration to the worker processes it spawns.
WORKER_CONFIG_ENV = "MOCKSERVER_WORKER_CONFIG"
WORKER_APP = "mockserver.app.server:worker_app"


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging setup plus the ``mockserver`` logger (one line per request at ``info``)."""
    settings = copy.deepcopy(LOGGING_CONFIG)
    settings["loggers"]["mockserver"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return settings


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (0: a free port); a :class:`ConfigError` saying why it cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        hint = " (another server is using it: pick another --port, or --port 0 for a free one)"
        reason = error.strerror or str(error)
        raise ConfigError(
            f"cannot listen on {host}:{port}: {reason}{hint if error.errno == errno.EADDRINUSE else ''}"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)  # worker processes (--workers) serve this very socket
    return sock


def uvicorn_config(app: Any, config: Config, **extra: Any) -> uvicorn.Config:
    """uvicorn settings shared by ``mockserver serve`` and :class:`MockServer`.

    The HTTP protocol is the mock's own (:class:`MockHttpProtocol`: httptools
    straight into the app, the transport in the scope for the socket faults).
    """
    settings = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        loop="auto",
        http=MockHttpProtocol,
        proxy_headers=False,  # nothing the mock does reads the client address; X-Forwarded-For stays a header
        ws="websockets-sansio",  # the Realtime API's sessions
        lifespan="off",
        access_log=False,
        log_level=config.log_level,
        log_config=log_config(config.log_level),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        ssl_certfile=config.tls_cert,
        ssl_keyfile=config.tls_key,
        **extra,
    )
    # Read by MockHttpProtocol, which uvicorn builds with this config (workers get it pickled).
    settings.mockserver_request_timeout = config.request_timeout  # type: ignore[attr-defined]
    return settings


class Server(uvicorn.Server):
    """uvicorn's server, which stops as soon as it is asked and what it serves has finished, and which also lets
    go of what the app holds open beyond its connections (the cassette recorder's client to the upstream, the
    fleet's Redis connections) once they are closed.

    uvicorn's own polls: it notices ``should_exit`` at its next tick (every 0.1 s), sleeps 0.1 s after asking
    the connections to close and checks every 0.1 s whether they have; a test suite that starts and stops a
    server in 200 tests waited about 35 s for those ticks. Here :meth:`stop_soon` wakes the main loop at once
    and the shutdown looks again every few milliseconds, under the same graceful-shutdown timeout.
    """

    def __init__(self, app: Any, config: Config, **extra: Any) -> None:
        super().__init__(uvicorn_config(app, config, **extra))
        self.mock_state: AppState = app.state.mock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    @property
    def stopped_by(self) -> list[int]:
        """The signals that stopped the server (SIGINT, SIGTERM), in the order they came."""
        return list(self._captured_signals)

    def stop_soon(self) -> None:
        """Ask the server to stop, from any thread; its loop notices at once instead of at its next tick."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(wake.set)

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        ticks = 0
        should_exit = await self.on_tick(ticks)
        while not should_exit:
            ticks = (ticks + 1) % 864_000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK_SECONDS)  # a signal sets should_exit: next tick
            should_exit = await self.on_tick(ticks)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        uvicorn_log.info("Shutting down")
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        try:
            await asyncio.wait_for(self._served(), timeout=self.config.timeout_graceful_shutdown)
        except TimeoutError:
            uvicorn_log.error("Cancel %s running task(s), timeout graceful shutdown exceeded",
                              len(self.server_state.tasks))
            for task in self.server_state.tasks:
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        await self.mock_state.aclose()

    async def _served(self) -> None:
        """Until every connection has closed and every request's task has ended (or ``force_exit``)."""
        while (self.server_state.connections or self.server_state.tasks) and not self.force_exit:
            await asyncio.sleep(SHUTDOWN_POLL_SECONDS)
        for server in self.servers:
            await server.wait_closed()


# Allocations before a young collection, then young collections per middle one, middle ones per full one.
GC_THRESHOLDS = (20_000, 50, 100)


def warm_up() -> None:
    """Get a server process ready for traffic; only for processes that do nothing but serve.

    Tunes the garbage collector, whose pauses set the server's p99
    (measured with ``bench/``). The vocabulary and its phrasebook are not
    loaded here: the first request that counts tokens loads them (0.26 s of
    CPU, 76 MiB), so a mock that serves no chat stays small
    (``bench/startup.py``).

    - ``gc.freeze()``: everything built so far (catalogs, schemas, routes:
      about 75,000 objects that live as long as the process) is left out of
      every collection.
    - rarer collections (``GC_THRESHOLDS``): a request's garbage is freed by
      reference counting as it goes, and with 1,000 streams open a young
      collection every 700 allocations paused the loop 2-13 ms several
      times a second (1,000 paced streams: inter-chunk p99 error 14 ms with
      the defaults, 5-9 ms with these).
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def serve_workers(config: Config, sock: socket.socket) -> None:
    """Run ``config.workers`` worker processes on one socket (uvicorn's supervisor), until SIGINT or SIGTERM.

    uvicorn spawns fresh interpreters that import the app by name, so the
    configuration (flags, environment and file already merged) travels as
    JSON in an environment variable and each worker builds its own app from
    it: every piece of state (journal, scripts, rate-limit buckets, jobs,
    stored completions, chaos sequence) is per worker.
    """
    os.environ[WORKER_CONFIG_ENV] = json.dumps(dataclasses.asdict(config))
    settings = uvicorn_config(WORKER_APP, config, factory=True, workers=config.workers)
    Multiprocess(settings, sockets=[sock]).run()


def worker_app() -> Any:
    """The app of one worker of ``mockserver serve --workers N`` (a uvicorn factory)."""
    app = create_app(Config.from_mapping(json.loads(os.environ[WORKER_CONFIG_ENV])))
    warm_up()
    return app


class MockServer(Expectations):
    """One mock server: ``with MockServer() as server: OpenAI(base_url=server.url, ...)``.

    Its Python control API (``reply``, ``fail``, ``requests``, ``assert_called``, ...) is
    :class:`~mockserver.app.expectations.Expectations`.
    """

    def __init__(self, config: Config | None = None, **settings: Any) -> None:
        base = config or Config(port=0, log_level="warning")
        self.config = Config.from_mapping({**base.__dict__, **settings}) if settings else base
        self.app = create_app(self.config)
        self.state: AppState = self.app.state.mock
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port: int | None = None
        # The dialect ``url`` points at; None: the server's default dialect (``/v1``). Set per test by ``scope()``.
        self.dialect: str | None = None

    @property
    def host(self) -> str:
        return self.config.host

    @property
    def origin(self) -> str:
        if self.port is None:
            raise RuntimeError("the server is not started: call start() or use it as a context manager")
        return f"{'https' if self.config.tls_cert else 'http'}://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """Base URL of the default dialect, ready for ``OpenAI(base_url=...)``."""
        return self.origin + "/v1" if self.dialect is None else self.url_for(self.dialect)

    def url_for(self, dialect: str) -> str:
        """Base URL of ``dialect`` at its documented path, e.g. ``…/serika/api/openai/v1``."""
        if dialect not in self.state.dialects:
            raise KeyError(f"unknown dialect {dialect!r}; known: {', '.join(self.state.dialects)}")
        return self.origin + self.state.dialects[dialect].mount_path

    def start(self) -> MockServer:
        if self._thread is not None:
            return self
        sock = bind_socket(self.config.host, self.config.port)
        self._socket = sock
        self.port = sock.getsockname()[1]
        self._server = Server(self.app, self.config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"mockserver:{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("mockserver failed to start; see the log above for uvicorn's reason")
            if time.monotonic() > deadline:
                raise RuntimeError(f"mockserver did not start within {START_TIMEOUT} s")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        """Stop within about a second, even with open or stalled streams."""
        if self._server is None or self._thread is None:
            return
        self._server.stop_soon()
        self._thread.join(GRACEFUL_SHUTDOWN_SECONDS + 2)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(2)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

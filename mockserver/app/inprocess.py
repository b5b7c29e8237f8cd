"""In-process transports: the mock inside the test's own process, no port.

For functional tests that only need answers (shapes, tools, scripted replies),
the SDK's ``http_client`` can carry the ASGI app directly. A ``MockServer``
that is never started lends its app and keeps its Python API::

    server = MockServer(seed=1)
    server.reply("Hello.")
    client = OpenAI(base_url="http://mockserver/v1", api_key="sk-mock",
                    http_client=httpx2.Client(transport=SyncTransport(server.app)))

openai 3.x uses ``httpx2``; pass ``http=httpx`` for openai 1.x/2.x clients
(``httpx2`` is imported only when no ``http`` module is given, so the ``httpx``
path works without it installed).

What these transports cannot do, honestly (measured with the SDK): there is
no socket and no clock between client and server. A streamed response is
buffered whole before the client sees its first chunk; ``latency``, ``ttft``,
``stall`` and ``tokens_per_second`` only delay the whole answer, the client's
timeouts are not enforced (``hang`` blocks for ever); ``disconnect``,
``reset``, ``empty`` and ``garbage`` surface as an ``AssertionError`` from the
ASGI transport instead of ``APIConnectionError``. HTTP errors, retries,
``truncate``, ``malformed`` and ``error_event`` behave as over a socket. Prove
timing and transport faults against a started :class:`~mockserver.MockServer`.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from types import ModuleType, TracebackType
from typing import Any


def _client_module(http: ModuleType | None) -> ModuleType:
    return http if http is not None else importlib.import_module("httpx2")


def async_transport(app: Any, *, http: ModuleType | None = None) -> Any:
    """An async transport for ``AsyncOpenAI(http_client=http.AsyncClient(transport=...))``."""
    return _client_module(http).ASGITransport(app=app)


class SyncTransport:
    """A sync transport that runs the ASGI app on a private event loop thread.

    ``httpx2`` (and ``httpx``) ship only an async ASGI transport; sync SDK
    clients need this bridge. One loop thread per transport, started lazily
    and stopped by :meth:`close`. It has the methods of ``BaseTransport`` of
    either library (``handle_request``, ``close``, the context manager).
    """

    def __init__(self, app: Any, *, http: ModuleType | None = None) -> None:
        self._http = _client_module(http)
        self._asgi = self._http.ASGITransport(app=app)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name="mockserver-inprocess", daemon=True)
                self._thread.start()
            return self._loop

    def handle_request(self, request: Any) -> Any:
        content = request.read()
        forwarded = self._http.Request(request.method, request.url, headers=request.headers, content=content)

        async def exchange() -> tuple[int, Any, bytes]:
            response = await self._asgi.handle_async_request(forwarded)
            return response.status_code, response.headers, await response.aread()

        status, headers, body = asyncio.run_coroutine_threadsafe(exchange(), self._running_loop()).result()
        return self._http.Response(status, headers=headers, content=body, request=request)

    def close(self) -> None:
        with self._lock:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._loop.stop)
                if self._thread is not None:
                    self._thread.join(5)
                self._loop.close()
                self._loop = self._thread = None

    def __enter__(self) -> SyncTransport:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

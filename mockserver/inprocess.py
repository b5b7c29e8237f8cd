"""In-process transports: the mock inside the test's own process, no port.

For functional tests that only need answers (shapes, tools, scripted replies),
the SDK's ``http_client`` can carry the ASGI app directly. A ``MockServer``
that is never started lends its app and keeps its Python API::

    server = MockServer(seed=1)
    server.reply("Hello.")
    client = OpenAI(base_url="http://mockserver/v1", api_key="sk-mock",
                    http_client=httpx2.Client(transport=SyncTransport(server.app)))

openai 3.x uses ``httpx2``; pass ``http=httpx`` for openai 1.x/2.x clients.

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
import threading
from types import ModuleType
from typing import Any

import httpx2


def async_transport(app: Any, *, http: ModuleType = httpx2) -> Any:
    """An async transport for ``AsyncOpenAI(http_client=http.AsyncClient(transport=...))``."""
    return http.ASGITransport(app=app)


class SyncTransport(httpx2.BaseTransport):
    """A sync transport that runs the ASGI app on a private event loop thread.

    ``httpx2`` (and ``httpx``) ship only an async ASGI transport; sync SDK
    clients need this bridge. One loop thread per transport, started lazily
    and stopped by :meth:`close`.
    """

    def __init__(self, app: Any, *, http: ModuleType = httpx2) -> None:
        self._http = http
        self._asgi = http.ASGITransport(app=app)
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

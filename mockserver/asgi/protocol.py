"""The one hook into uvicorn: its httptools protocol, with the connection's transport in the scope.

ASGI never exposes the socket, yet a TCP reset, a close without a response or
bytes that are not HTTP can only be produced on the socket itself. This
subclass adds ``scope["mockserver.transport"]``; the wire layer
(:mod:`mockserver.wire`) uses it for the socket faults and for clean cuts. It
relies on uvicorn internals (``on_message_begin`` builds ``self.scope``, the
parser callbacks, ``send_400_response``), hence the exact uvicorn pin and the
test that checks it.

It also sends each response in as few ``send()`` calls as it can: uvicorn
writes a response's head and its body separately, two system calls and two
TCP segments for every small answer; through :class:`CoalescingTransport`
what one step of the event loop writes leaves in one.

It also makes uvicorn's own refusals answer like the rest of the mock: a
request httptools cannot parse gets the 400 in the OpenAI error envelope
(uvicorn sends plain text), and a request line plus headers above
``MAX_HEAD_BYTES`` gets a 431 instead of being buffered without limit
(httptools has none).
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from mockserver.asgi.context import CONTEXT_KEY, TRANSPORT_KEY
from mockserver.errors import ApiError

MAX_HEAD_BYTES = 64 * 1024
LINGER_SECONDS = 1.0


class CoalescingTransport:
    """A connection's transport whose writes wait for the end of the current event-loop step.

    A response's head and body are written by the same step of its task, so
    they are joined and leave in one ``send()``. Everything that ends or
    breaks the connection (``close``, ``abort``, ``write_eof``) first sends
    what is waiting, so bytes keep their order with every fault the wire layer
    produces. Everything else is the real transport's.
    """

    __slots__ = ("_loop", "_pending", "transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self.transport.write(data)

    def write_eof(self) -> None:
        self.flush()
        self.transport.write_eof()

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def abort(self) -> None:
        self.flush()
        self.transport.abort()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class TransportInScopeProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus the connection's transport in every request's scope."""

    _in_head = False
    _head_bytes = 0
    _refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope[TRANSPORT_KEY] = self.transport  # type: ignore[literal-required]
        self._in_head = True
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the rest of a refused request: read and dropped until the connection closes
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            # The head goes on past this read; count it (a read that began with the end of the previous
            # request is counted whole, which only errs towards refusing a little earlier).
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse(
                    431,
                    f"The request line and headers exceed {MAX_HEAD_BYTES} bytes.",
                    "request_header_fields_too_large",
                )

    def shutdown(self) -> None:
        """Server shutdown: a response a fault is holding back (stall, hang, pacing) is cut now.

        uvicorn otherwise lets every in-flight response finish within the
        graceful-shutdown timeout, and a stalled or hung one never does: the
        whole timeout would pass, then uvicorn would cancel it with an error.
        Responses without faults still finish normally.
        """
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and _faults_planned(self.scope):
            self.transport.close()
            return
        super().shutdown()

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, f"{msg} The request is not valid HTTP/1.1.", "invalid_http_request")

    def _refuse(self, status: int, message: str, code: str) -> None:
        """Answer ``status`` in the error envelope and close: the connection cannot be trusted any more.

        The close lingers: the answer is followed by a FIN while what the client
        is still sending is read and dropped, for up to ``LINGER_SECONDS``.
        Closing at once with unread bytes would send a TCP reset, which can
        destroy the answer before the client reads it.
        """
        body = orjson.dumps(ApiError(status, message, code=code).envelope())
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ])
        self.transport.write(b"".join(content))
        self._refused = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()


def _faults_planned(scope: Any) -> bool:
    context = scope.get(CONTEXT_KEY)
    return context is not None and bool(context.faults)

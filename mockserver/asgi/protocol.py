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

from mockserver.asgi.context import CONTEXT_KEY, ENDLESS_KEY, TRANSPORT_KEY
from mockserver.errors import ApiError

MAX_HEAD_BYTES = 64 * 1024
DEFAULT_REQUEST_TIMEOUT = 30.0
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


class _HeadTooLarge(Exception):
    """Raised from a parser callback: httptools stops, uvicorn calls send_400_response, which answers 431."""


class _LingeringClose:
    """The transport a request's cycle closes: while the request body is still arriving, the close lingers.

    uvicorn closes the connection as soon as a ``Connection: close`` (or HTTP/1.0) response is sent; when the
    client is still sending a body the mock refused (a 413), closing with unread bytes sends a TCP reset that
    destroys the answer before the client reads it. So the close becomes a FIN, with the rest of the body read
    and dropped for up to ``LINGER_SECONDS``, as for the protocol's own refusals.
    """

    __slots__ = ("_cycle", "_protocol", "transport")

    def __init__(self, transport: Any, protocol: TransportInScopeProtocol, cycle: Any) -> None:
        self.transport = transport
        self._protocol = protocol
        self._cycle = cycle

    def close(self) -> None:
        if self._cycle.more_body and not self.transport.is_closing():
            self._protocol.linger()
        else:
            self.transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class TransportInScopeProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus the connection's transport in every request's scope."""

    _in_head = False
    _head_bytes = 0  # of the current request's head: its URL and headers as the parser reported them
    _unparsed = 0  # bytes read since the parser last reported a piece of a head
    _parsed_piece = False
    _head_too_large = False
    _refused = False
    _request_timer: asyncio.TimerHandle | None = None

    @property
    def request_timeout(self) -> float:
        return getattr(self.config, "mockserver_request_timeout", DEFAULT_REQUEST_TIMEOUT)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
        self._arm_request_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_request_timer()
        super().connection_lost(exc)

    def on_message_complete(self) -> None:
        self._cancel_request_timer()  # received whole: what follows is the app's time, not the client's
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        idle = not self.pipeline and (self.cycle is None or self.cycle.response_complete)
        if idle and not self.transport.is_closing():
            self._arm_request_timer()  # the next request's clock (uvicorn's keep-alive timeout closes idle ones)

    def _arm_request_timer(self) -> None:
        self._cancel_request_timer()
        self._request_timer = self.loop.call_later(self.request_timeout, self._request_timed_out)

    def _cancel_request_timer(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
            self._request_timer = None

    def _request_timed_out(self) -> None:
        """Slow or silent clients (a head or a body trickling in, a connection that sends nothing) let go."""
        self._request_timer = None
        if self.transport.is_closing() or self._refused:
            return
        if self.cycle is not None and self.cycle.response_started:
            self.linger()
            return
        self._refuse(408, f"The request was not received within {self.request_timeout:g} s (--request-timeout).",
                     "request_timeout")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope[TRANSPORT_KEY] = self.transport  # type: ignore[literal-required]
        self._in_head = True
        self._head_bytes = 0
        self._parsed_piece = True

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._parsed_piece = True
        super().on_headers_complete()
        if self.cycle is not None:
            self.cycle.transport = _LingeringClose(self.transport, self, self.cycle)  # type: ignore[assignment]

    def _count_head(self, size: int) -> None:
        """Count one request's head as the parser reports it: per request, so pipelined ones never add up."""
        self._parsed_piece = True
        self._head_bytes += size
        if self._head_bytes > MAX_HEAD_BYTES:
            self._head_too_large = True
            raise _HeadTooLarge

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the rest of a refused request: read and dropped until the connection closes
        self._parsed_piece = False
        super().data_received(data)
        # A head piece that never ends (one endless header) reports nothing to the parser callbacks: count
        # the reads that brought no piece of a head.
        self._unparsed = 0 if self._parsed_piece or not self._in_head else self._unparsed + len(data)
        if self._in_head and not self.transport.is_closing() and self._head_bytes + self._unparsed > MAX_HEAD_BYTES:
            self._refuse_head()

    def _refuse_head(self) -> None:
        self._refuse(431, f"The request line and headers exceed {MAX_HEAD_BYTES} bytes.",
                     "request_header_fields_too_large")

    def linger(self) -> None:
        """Close gently: a FIN now, the rest of what the client sends read and dropped, the close later."""
        self._refused = True
        self.flow.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()

    def shutdown(self) -> None:
        """Server shutdown: a response a fault is holding back (stall, hang, pacing), or one that never ends by
        itself (the sandbox's live feed), is cut now.

        uvicorn otherwise lets every in-flight response finish within the
        graceful-shutdown timeout, and a stalled or hung one never does: the
        whole timeout would pass, then uvicorn would cancel it with an error.
        Responses without faults still finish normally.
        """
        cycle = self.cycle
        endless = self.scope is not None and self.scope.get(ENDLESS_KEY, False)
        if cycle is not None and not cycle.response_complete and (endless or _faults_planned(self.scope)):
            self.transport.close()
            return
        super().shutdown()

    def send_400_response(self, msg: str) -> None:
        if self._head_too_large:
            self._refuse_head()
            return
        self._refuse(400, f"{msg} The request is not valid HTTP/1.1.", "invalid_http_request")

    def _refuse(self, status: int, message: str, code: str) -> None:
        """Answer ``status`` in the error envelope and close: the connection cannot be trusted any more.

        The close lingers: the answer is followed by a FIN while what the client
        is still sending is read and dropped, for up to ``LINGER_SECONDS``.
        Closing at once with unread bytes would send a TCP reset, which can
        destroy the answer before the client reads it. A connection is refused once: the parser's error and
        the head count can both find the same oversized head.
        """
        if self._refused:
            return
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
        self.linger()


def _faults_planned(scope: Any) -> bool:
    context = scope.get(CONTEXT_KEY)
    return context is not None and bool(context.faults)

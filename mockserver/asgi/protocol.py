"""The mock's HTTP/1.1 server protocol: httptools' parser and the ASGI app, with nothing between them.

uvicorn runs the server (sockets, workers, signals, shutdown) and builds this
protocol for every connection (``uvicorn.Config(http=MockHttpProtocol)``);
what it replaces is uvicorn's own httptools protocol, which did per request
what a mock serving its own app never needs: a regular expression per
response header, a scope proxy middleware, an ``asyncio.Event`` and two timers.
Here a request costs one scope, one task, at most one future (only when the
body has not arrived yet) and a few stores to the connection's one timer.

It does what ASGI cannot:

- the connection's transport goes in every request's scope (``TRANSPORT_KEY``):
  a TCP reset, a close without a response or bytes that are not HTTP can only
  be produced on the socket itself; the wire layer (:mod:`mockserver.asgi.wire`)
  uses it for the socket faults and for clean cuts;
- each response leaves in as few ``send()`` calls as it can: through
  :class:`CoalescingTransport` what one step of the event loop writes (a
  response's head and its body) leaves in one;
- its refusals answer like the rest of the mock: a request httptools cannot
  parse gets the 400 in the OpenAI error envelope, a request line plus headers
  above ``MAX_HEAD_BYTES`` a 431 instead of being buffered without limit
  (httptools has none), a request not received within ``--request-timeout`` a 408;
- a response a fault is holding back, or one that never ends by itself, is cut
  at shutdown instead of holding the graceful-shutdown timeout.

It relies on uvicorn's server (``ServerState``, ``Config``) and hands a WebSocket
upgrade to uvicorn's WebSocket protocol, hence the exact uvicorn pin and the
test that checks it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import urllib.parse
from collections import deque
from typing import Any

import httptools
import orjson
from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT, FlowControl
from uvicorn.protocols.http.httptools_impl import STATUS_LINE
from uvicorn.protocols.utils import get_local_addr, get_remote_addr, is_ssl
from uvicorn.server import ServerState

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
    """Raised from a parser callback: httptools stops, and the connection is refused with a 431."""


# Header bytes a response may not carry: in a name, separators and controls; in a value, controls but the tab.
INVALID_NAME = re.compile(b'[\x00-\x1f\x7f()<>@,;:\\[\\]={} \t\\\\"]')
INVALID_VALUE = re.compile(b"[\x00-\x08\x0a-\x1f\x7f]")
# The bytes each may carry: ``joined.translate(None, VALID_...)`` leaves only the invalid ones (a table lookup a
# byte, where the patterns' search took five times the instructions).
VALID_NAME_BYTES = bytes(byte for byte in range(256) if not INVALID_NAME.match(bytes([byte])))
VALID_VALUE_BYTES = bytes(byte for byte in range(256) if not INVALID_VALUE.match(bytes([byte])))
ASGI_INFO = {"version": "3.0", "spec_version": "2.3"}
error_log = logging.getLogger("uvicorn.error")


class MockHttpProtocol(asyncio.Protocol):
    """One HTTP/1.1 connection: requests parsed by httptools, each run as an ASGI task, pipelined ones in order."""

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        if not config.loaded:
            config.load()
        self.config = config
        self.app = config.loaded_app
        self.loop = _loop or asyncio.get_event_loop()
        self.server_state = server_state
        self.app_state = app_state
        self.root_path = config.root_path
        self.request_timeout: float = getattr(config, "mockserver_request_timeout", DEFAULT_REQUEST_TIMEOUT)
        self.parser = httptools.HttpRequestParser(self)
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self.transport: CoalescingTransport = None  # type: ignore[assignment]
        self.flow: FlowControl = None  # type: ignore[assignment]
        self.server: tuple[str, int | None] | None = None
        self.client: tuple[str, int] | None = None
        self.scheme = "http"
        self.pipeline: deque[RequestCycle] = deque()
        self.cycle: RequestCycle | None = None
        # The request being parsed.
        self.scope: dict[str, Any] = None  # type: ignore[assignment]
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.expect_100_continue = False
        self._in_head = False
        self._head_bytes = 0  # of the current request's head: its URL and headers as the parser reported them
        self._unparsed = 0  # bytes read since the parser last reported a piece of a head
        self._parsed_piece = False
        self._head_too_large = False
        self._refused = False
        # The connection's one timer, and what it watches: a request not received in time (a 408), an idle
        # kept-alive connection (closed). Moving a deadline is a store; the timer, when it fires early, re-arms.
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._request_deadline: float | None = None
        self._idle_deadline: float | None = None

    # ------------------------------------------------------------------ the connection

    def connection_made(self, transport: Any) -> None:  # an asyncio.Transport; uvloop's is not one by type
        self.server_state.connections.add(self)  # type: ignore[arg-type]
        self.transport = CoalescingTransport(transport, self.loop)
        self.flow = FlowControl(transport)
        self.server = get_local_addr(transport)
        self.client = get_remote_addr(transport)
        self.scheme = "https" if is_ssl(transport) else "http"
        self._expect_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server_state.connections.discard(self)
        self._request_deadline = self._idle_deadline = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        cycle = self.cycle
        if cycle is not None:
            if not cycle.response_complete:
                cycle.disconnected = True
            cycle.wake()
        self.flow.resume_writing()
        if exc is None:
            self.transport.close()
        self.parser = None  # type: ignore[assignment]

    def pause_writing(self) -> None:
        self.flow.pause_writing()

    def resume_writing(self) -> None:
        self.flow.resume_writing()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the rest of a refused request: read and dropped until the connection closes
        if self._idle_deadline is not None:
            self._idle_deadline = None
            if self._request_deadline is None:
                self._expect_request()
        self._parsed_piece = False
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._upgrades_to_websocket():
                self._hand_over_to_websocket()
            else:
                error_log.warning("Unsupported upgrade request.")
            return
        except httptools.HttpParserError:
            error_log.warning("Invalid HTTP request received.")
            if self._head_too_large:
                self._refuse_head()
            else:
                self._refuse(400, "Invalid HTTP request received. The request is not valid HTTP/1.1.",
                             "invalid_http_request")
            return
        # A head piece that never ends (one endless header) reports nothing to the parser callbacks: count
        # the reads that brought no piece of a head.
        self._unparsed = 0 if self._parsed_piece or not self._in_head else self._unparsed + len(data)
        if self._in_head and not self.transport.is_closing() and self._head_bytes + self._unparsed > MAX_HEAD_BYTES:
            self._refuse_head()

    def shutdown(self) -> None:
        """Server shutdown: an idle connection closes; a response in flight finishes and closes, but one a fault
        is holding back (stall, hang, pacing), or one that never ends by itself (the sandbox's live feed), is cut
        now: it would hold the whole graceful-shutdown timeout, then uvicorn would cancel it with an error."""
        cycle = self.cycle
        if (cycle is None or cycle.response_complete or cycle.scope.get(ENDLESS_KEY, False)
                or _faults_planned(cycle.scope)):
            self.transport.close()
        else:
            cycle.keep_alive = False

    # ------------------------------------------------------------------ the parser's callbacks

    def on_message_begin(self) -> None:
        self.url = b""
        self.expect_100_continue = False
        self.headers = []
        self._in_head = True
        self._head_bytes = 0
        self._parsed_piece = True
        self.scope = {
            "type": "http", "asgi": ASGI_INFO, "http_version": "1.1", "server": self.server, "client": self.client,
            "scheme": self.scheme, "root_path": self.root_path, "headers": self.headers,
            "state": self.app_state.copy(), TRANSPORT_KEY: self.transport,
        }

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._parsed_piece = True
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > MAX_HEAD_BYTES:  # :meth:`_count_head`, inline: it runs for every header
            self._head_too_large = True
            raise _HeadTooLarge
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._parsed_piece = True
        parser, scope = self.parser, self.scope
        scope["method"] = parser.get_method().decode("ascii")
        http_version = parser.get_http_version()
        if http_version != "1.1":
            scope["http_version"] = http_version
        if parser.should_upgrade() and self._upgrades_to_websocket():
            return
        url = httptools.parse_url(self.url)
        raw_path: bytes = url.path
        path = raw_path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        scope["path"] = self.root_path + path
        scope["raw_path"] = self.root_path.encode("ascii") + raw_path
        scope["query_string"] = url.query or b""
        waiting = self.cycle
        self.cycle = cycle = RequestCycle(self, scope, http_version != "1.0" and parser.should_keep_alive(),
                                          self.expect_100_continue)
        if waiting is None or waiting.response_complete:
            self._run(cycle)
        else:  # a pipelined request waits for the one before it
            self.flow.pause_reading()
            self.pipeline.appendleft(cycle)

    def on_body(self, body: bytes) -> None:
        cycle = self._receiving()
        if cycle is None:
            return
        cycle.body.append(body)
        cycle.body_size += len(body)
        if cycle.body_size > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        cycle.wake()

    def on_message_complete(self) -> None:
        self._request_deadline = None  # received whole: what follows is the app's time, not the client's
        cycle = self._receiving()
        if cycle is None:
            return
        cycle.more_body = False
        cycle.wake()

    def _receiving(self) -> RequestCycle | None:
        """The cycle the body being parsed belongs to; None when its answer is out or the connection upgrades."""
        cycle = self.cycle
        if cycle is None or cycle.response_complete or (self.parser.should_upgrade() and self._upgrades_to_websocket()):
            return None
        return cycle

    def _count_head(self, size: int) -> None:
        """Count one request's head as the parser reports it: per request, so pipelined ones never add up."""
        self._parsed_piece = True
        self._head_bytes += size
        if self._head_bytes > MAX_HEAD_BYTES:
            self._head_too_large = True
            raise _HeadTooLarge

    # ------------------------------------------------------------------ requests and responses

    def _run(self, cycle: RequestCycle) -> None:
        task = self.loop.create_task(cycle.run_asgi(self.app))
        task.add_done_callback(self.server_state.tasks.discard)
        self.server_state.tasks.add(task)

    def response_complete(self) -> None:
        """The cycle's response is out: the next pipelined request starts, or the connection waits for one."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            self._run(self.pipeline.pop())
        else:
            now = self.loop.time()
            self._idle_deadline = now + self.config.timeout_keep_alive
            self._request_deadline = now + self.request_timeout  # the next request's clock
            self._arm(min(self._idle_deadline, self._request_deadline))

    def _upgrades_to_websocket(self) -> bool:
        if self.config.ws_protocol_class is None:
            return False
        connection: list[bytes] = []
        upgrade = None
        for name, value in self.headers:
            if name == b"connection":
                connection = [token.lower().strip() for token in value.split(b",")]
            elif name == b"upgrade":
                upgrade = value.lower()
        return b"upgrade" in connection and upgrade == b"websocket"

    def _hand_over_to_websocket(self) -> None:
        """The connection becomes a WebSocket: uvicorn's protocol takes it, and the head, from here."""
        self.server_state.connections.discard(self)
        self._request_deadline = self._idle_deadline = None
        output = [self.scope["method"].encode(), b" ", self.url, b" HTTP/1.1\r\n"]
        for name, value in self.headers:
            output += [name, b": ", value, b"\r\n"]
        output.append(b"\r\n")
        protocol = self.config.ws_protocol_class(  # type: ignore[call-arg, misc]
            config=self.config, server_state=self.server_state, app_state=self.app_state)
        protocol.connection_made(self.transport)  # type: ignore[arg-type]
        protocol.data_received(b"".join(output))
        self.transport.set_protocol(protocol)

    # ------------------------------------------------------------------ time limits and refusals

    def _expect_request(self) -> None:
        self._request_deadline = self.loop.time() + self.request_timeout
        self._arm(self._request_deadline)

    def _arm(self, deadline: float) -> None:
        if self._timer is not None:
            if self._timer_at <= deadline:
                return  # it fires first, and re-arms for what is due then
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = self.loop.call_at(deadline, self._timer_fired)

    def _timer_fired(self) -> None:
        self._timer = None
        now = self.loop.time()
        if self._idle_deadline is not None and now >= self._idle_deadline:
            self._idle_deadline = self._request_deadline = None
            if not self.transport.is_closing():
                self.transport.close()  # the keep-alive timeout: an idle connection let go
            return
        if self._request_deadline is not None and now >= self._request_deadline:
            self._request_deadline = None
            self._request_timed_out()
            return
        due = [deadline for deadline in (self._idle_deadline, self._request_deadline) if deadline is not None]
        if due:
            self._arm(min(due))

    def _request_timed_out(self) -> None:
        """Slow or silent clients (a head or a body trickling in, a connection that sends nothing) let go."""
        if self.transport.is_closing() or self._refused:
            return
        cycle = self.cycle
        if cycle is not None and cycle.response_started and not cycle.response_complete:
            self.linger()  # answered early (a 413) while the body trickles: the answer stands, the rest is dropped
            return
        self._refuse(408, f"The request was not received within {self.request_timeout:g} s (--request-timeout).",
                     "request_timeout")

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


class RequestCycle:
    """One request and its response: the ASGI ``receive`` and ``send`` of its task."""

    __slots__ = ("body", "body_size", "chunked", "disconnected", "keep_alive", "left_to_send", "more_body",
                 "protocol", "ready", "response_complete", "response_started", "scope", "waiter",
                 "waiting_for_100_continue")

    def __init__(self, protocol: MockHttpProtocol, scope: dict[str, Any], keep_alive: bool,
                 expect_100_continue: bool) -> None:
        self.protocol = protocol
        self.scope = scope
        self.keep_alive = keep_alive
        self.waiting_for_100_continue = expect_100_continue
        self.body: list[bytes] = []
        self.body_size = 0
        self.more_body = True
        self.ready = False  # something arrived (body, its end, a disconnect) since the app last received
        self.waiter: asyncio.Future[None] | None = None
        self.disconnected = False
        self.response_started = False
        self.response_complete = False
        self.chunked: bool | None = None
        self.left_to_send = 0  # of the body's Content-Length

    def wake(self) -> None:
        self.ready = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def run_asgi(self, app: Any) -> None:
        try:
            result = await app(self.scope, self.receive, self.send)
        except BaseException as exc:
            error_log.error("Exception in ASGI application\n", exc_info=exc)
            if not self.response_started:
                await self._send_500()
            else:
                self.protocol.transport.close()
        else:
            if result is not None:
                error_log.error("ASGI callable should return None, but returned '%s'.", result)
                self.protocol.transport.close()
            elif not self.response_started and not self.disconnected:
                error_log.error("ASGI callable returned without starting response.")
                await self._send_500()
            elif not self.response_complete and not self.disconnected:
                error_log.error("ASGI callable returned without completing response.")
                self.protocol.transport.close()

    async def _send_500(self) -> None:
        await self.send({"type": "http.response.start", "status": 500, "headers": [
            (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"21"), (b"connection", b"close")]})
        await self.send({"type": "http.response.body", "body": b"Internal Server Error", "more_body": False})

    async def receive(self) -> dict[str, Any]:
        protocol = self.protocol
        if self.waiting_for_100_continue and not protocol.transport.is_closing():
            protocol.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.waiting_for_100_continue = False
        if not self.disconnected and not self.response_complete:
            protocol.flow.resume_reading()
            if not self.ready:
                self.waiter = protocol.loop.create_future()
                try:
                    await self.waiter
                finally:
                    self.waiter = None
            self.ready = False
        if self.disconnected or self.response_complete:
            return {"type": "http.disconnect"}
        body = b"".join(self.body)
        self.body.clear()
        self.body_size = 0
        return {"type": "http.request", "body": body, "more_body": self.more_body}

    async def send(self, message: Any) -> None:
        protocol = self.protocol
        if protocol.flow.write_paused and not self.disconnected:
            await protocol.flow.drain()
        if self.disconnected:
            return
        if not self.response_started:
            if message["type"] != "http.response.start":
                raise RuntimeError(f"Expected ASGI message 'http.response.start', but got '{message['type']}'.")
            self._start(message["status"], message.get("headers", ()))
            return
        if self.response_complete:
            raise RuntimeError(f"Unexpected ASGI message '{message['type']}' sent, after response already completed.")
        if message["type"] != "http.response.body":
            raise RuntimeError(f"Expected ASGI message 'http.response.body', but got '{message['type']}'.")
        body = message.get("body", b"")
        more_body = message.get("more_body", False)
        transport = protocol.transport
        if self.scope["method"] == "HEAD":
            self.left_to_send = 0
        elif self.chunked:
            if body:
                transport.write(b"%x\r\n%b\r\n" % (len(body), body))
            if not more_body:
                transport.write(b"0\r\n\r\n")
        else:
            if len(body) > self.left_to_send:
                raise RuntimeError("Response content longer than Content-Length")
            self.left_to_send -= len(body)
            transport.write(body)
        if not more_body:
            if self.left_to_send != 0:
                raise RuntimeError("Response content shorter than Content-Length")
            self.response_complete = True
            self.wake()
            if not self.keep_alive:
                if self.more_body and not transport.is_closing():
                    protocol.linger()  # the client is still sending a body the mock refused: a FIN, not a reset
                else:
                    transport.close()
            protocol.response_complete()

    def _start(self, status: int, headers: Any) -> None:
        self.response_started = True
        self.waiting_for_100_continue = False
        head = [STATUS_LINE[status]]
        for name, value in self.protocol.server_state.default_headers:
            head += (name, b": ", value, b"\r\n")
        names = []
        connection_close = False
        for name, value in headers:
            name = name.lower()
            names.append(name)
            if name == b"content-length" and self.chunked is None:
                self.left_to_send = int(value.decode())
                self.chunked = False
            elif name == b"transfer-encoding" and value.lower() == b"chunked":
                self.left_to_send = 0
                self.chunked = True
            elif name == b"connection" and b"close" in [token.lower().strip() for token in value.split(b",")]:
                self.keep_alive = False
                connection_close = True
            head += (name, b": ", value, b"\r\n")
        if b"".join(names).translate(None, VALID_NAME_BYTES):
            raise RuntimeError("Invalid HTTP header name.")
        if b"\t".join([value for _, value in headers]).translate(None, VALID_VALUE_BYTES):
            raise RuntimeError("Invalid HTTP header value.")
        if not self.keep_alive and not connection_close:
            head.append(b"connection: close\r\n")
        if self.chunked is None and self.scope["method"] != "HEAD" and status not in (204, 304):
            self.chunked = True  # neither Content-Length nor Transfer-Encoding: the body goes chunked
            head.append(b"transfer-encoding: chunked\r\n")
        head.append(b"\r\n")
        self.protocol.transport.write(b"".join(head))


def _faults_planned(scope: Any) -> bool:
    context = scope.get(CONTEXT_KEY)
    return context is not None and bool(context.faults)

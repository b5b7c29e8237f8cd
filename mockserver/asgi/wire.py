"""The wire layer: the outermost ASGI layer, which sees every message the app sends.

For every request it opens the request's context (``scope["mockserver"]``, see
:mod:`~mockserver.asgi.context`) and its journal entry, filled in by the
pipeline; it records status, time to first byte, duration,
chunks and how the response ended, and appends the entry to the journal. It
also carries out the stream and socket faults the control plane decided
(``context.faults``) as the response goes out: delays, pacing,
stalls, cuts, bad bytes. Raw ASGI on purpose: Starlette's
``BaseHTTPMiddleware`` buffers streams and hides disconnects.

A stream chunk is one SSE frame (or one line of an NDJSON stream, Ollama's). When faults are planned, ``FramesResponse``
sends each frame as its own ``http.response.body`` message; without faults it
sends them all in one message that says how many it holds (``FRAMES_KEY``),
and the journal counts them alike. A non-streamed body is a single chunk, so
chunk counts do not apply to it: ``stall`` waits before it, ``truncate`` ends
it cleanly halfway, ``disconnect`` cuts it halfway (or at ``after_bytes``),
``malformed`` replaces it; ``tokens_per_second`` and ``error_event`` leave it
alone.

Cuts and socket faults use the transport that
:class:`~mockserver.asgi.protocol.MockHttpProtocol` puts in the scope:
closed (a clean cut), written to and closed (garbage) or aborted with
``SO_LINGER 0`` (a TCP reset); the layer then waits until uvicorn has seen the
connection go, so uvicorn neither logs an error nor answers a 500. Without
the hook (another server, an in-process client) the layer just stops sending
and the server closes the connection when the app returns mid-response.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import socket
import struct
import time
from typing import TYPE_CHECKING, Any

import orjson
from starlette.datastructures import State
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver.asgi.context import (
    ADMIN_PREFIX,
    CONTEXT_KEY,
    FRAMES_KEY,
    METRICS_PATH,
    TEST_ID_HEADER,
    TRANSPORT_KEY,
    RequestContext,
)
from mockserver.control.faults import GARBAGE_BYTES, MALFORMED_BODY, MALFORMED_FRAME, MALFORMED_LINE, Fault
from mockserver.journal import Exchange, new_exchange, redact_query

if TYPE_CHECKING:
    from mockserver.control.plane import Control
    from mockserver.journal import Journal

LOSS_TIMEOUT = 1.0
# One line per request at info (``mockserver serve``'s default); ``--log-level warning`` silences it.
request_log = logging.getLogger("mockserver.requests")
SOCKET_FAULTS = ("reset", "empty", "garbage")


class WireLayer:
    """Wraps the Starlette app; ``state`` is the app's, so ``create_app(...).state.mock`` still works."""

    def __init__(self, app: ASGIApp, journal: Journal, control: Control, seed: int) -> None:
        self.app = app
        self.journal = journal
        self.control = control
        self._random = random.Random(f"wire:{seed}")

    @property
    def state(self) -> State:
        return self.app.state  # type: ignore[attr-defined]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        socket = scope["type"] == "websocket"  # a WebSocket session: one exchange, 101 once accepted
        if scope["type"] != "http" and not socket:
            await self.app(scope, receive, send)
            return
        test_id = self.control.default_test_id
        if test_id is not None and not scope["path"].startswith(ADMIN_PREFIX):
            scope["headers"] = _with_test_id(scope["headers"], test_id)
        context = RequestContext.from_scope(scope)
        exchange = self._open(scope, context)
        self.journal.begin(exchange)
        scope[CONTEXT_KEY] = context
        transmission = Transmission(scope, receive, send, context, exchange, self._random)
        try:
            await self.app(scope, receive, transmission.send_socket if socket else transmission.send)
        except BaseException:
            exchange.ended = exchange.ended or "error"
            raise
        finally:
            if socket:
                exchange.ended = exchange.ended or ("complete" if exchange.status == 101 else "refused")
            transmission.finish()
            if socket:
                exchange.stream = exchange.status == 101  # its messages are the parts of a stream
            self.control.finished(context)
            self.journal.append(exchange)
            if request_log.isEnabledFor(logging.INFO):
                request_log.info(exchange.log_line)

    def _open(self, scope: Scope, context: RequestContext) -> Exchange:
        return new_exchange(
            id=self.journal.next_id(),
            time=time.time(),
            method=scope.get("method", "GET"),  # a WebSocket upgrade's scope has none: it was a GET
            path=scope["path"],
            query=redact_query(scope["query_string"].decode("latin-1")),
            raw_headers=scope["headers"],
            attempt=context.attempt,
            test_id=context.test_id,
            admin=scope["path"].startswith(ADMIN_PREFIX) or scope["path"] == METRICS_PATH,
            node=self.journal.node,
            worker=self.journal.worker,
        )


class Transmission:
    """One response on its way out: what the journal records, and the faults applied as it goes."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, context: RequestContext, exchange: Exchange,
                 rng: random.Random) -> None:
        self.scope = scope
        self.context = context
        self.receive = receive
        self._send = send
        self.exchange = exchange
        self.rng = rng
        self.started = time.perf_counter()
        self.plan: dict[str, Fault] = {}
        self.stream = False
        self.lines = False  # an NDJSON stream: a malformed chunk is a broken line, not a broken SSE frame
        self.chunks = 0
        self.sent_bytes = 0
        self.stopped = False
        self.recorded = False
        self._gone: asyncio.Future[None] | None = None

    async def send(self, message: Message) -> None:
        if self.stopped:
            return
        if self.context.client_gone:
            self._stop("client_disconnect")
            return
        kind = message["type"]
        if kind == "http.response.body" and not self.plan:
            # The path of every response without faults: count its frames and pass it on as it is.
            if message.get("body"):
                self.chunks += message.get(FRAMES_KEY, 1)
                self.exchange.capture(self._now(), message["body"])
            if not message.get("more_body", False):
                self._ended()
            await self._send(message)
        elif kind == "http.response.body":
            body, more = message.get("body", b""), message.get("more_body", False)
            if self.stream:
                await self._stream_chunk(body, more)
            else:
                await self._whole_body(body, more)
        elif kind == "http.response.start":
            faults = self.context.faults
            if faults:
                self.plan = {fault.name: fault for fault in reversed(faults)}
                await self._start_with_faults(message)
            else:
                await self._start(message)
        else:
            await self._send(message)

    async def send_socket(self, message: Message) -> None:
        """A WebSocket session's message on its way out: accepted (101) or refused before it (403), and every
        message sent kept as a part of the response, with its time."""
        exchange, kind = self.exchange, message["type"]
        if kind == "websocket.accept":
            exchange.status, self.stream = 101, True
            exchange.first_byte_ms = round(self._now(), 3)
        elif kind == "websocket.send":
            text = message.get("text")
            data = text.encode() if text is not None else message.get("bytes") or b""
            exchange.capture(self._now(), data + b"\n")
            self.chunks += 1
        elif kind == "websocket.close" and exchange.status is None:
            exchange.status, exchange.ended = 403, "refused"
        await self._send(message)

    def finish(self) -> None:
        exchange = self.exchange
        self._record()
        exchange.duration_ms = round((time.perf_counter() - self.started) * 1000, 3)
        exchange.chunks_sent = self.chunks if self.stream else 0
        if exchange.ended is None and exchange.status is not None:
            exchange.ended = "incomplete"
        if self._gone is not None:
            self._gone.cancel()

    # ------------------------------------------------------------------ plain path

    def _record(self) -> None:
        """Complete the request's side of the journal entry from the context and the pipeline's outcome: as the
        answer starts (so a stream being read is journaled whole), or at the end when nothing was answered."""
        if self.recorded:
            return
        self.recorded = True
        exchange, context = self.exchange, self.context
        exchange.attempt, exchange.attempt_from = context.attempt, context.attempt_from
        outcome = context.outcome
        if outcome is None:  # the admin API, an unknown path: no endpoint took the request
            return
        exchange.dialect, exchange.endpoint, exchange.key_id = outcome.dialect, outcome.endpoint, outcome.key_id
        kept_raw = context.raw_body if outcome.body is context.parsed_body else None  # the body read, unchanged
        exchange.note_body(outcome.body, context.body_bytes, context.body_preview, kept_raw)
        exchange.decided_by, exchange.faults = outcome.decided_by, list(outcome.faults)
        exchange.error_code = outcome.error_code
        exchange.tokens_in, exchange.tokens_out = outcome.tokens_in, outcome.tokens_out

    async def _start(self, message: Message) -> None:
        self._record()
        self.exchange.status = message["status"]
        media_type = _media_type(message)
        self.lines = media_type.startswith(NDJSON_MEDIA_TYPE)
        self.stream = self.lines or media_type.startswith(SSE_MEDIA_TYPE)
        if self.stream:  # a stream the body did not ask for by name: Gemini's path, Ollama's default
            self.exchange.stream = True
        self.exchange.first_byte_ms = round((time.perf_counter() - self.started) * 1000, 3)
        await self._send(message)

    async def _body(self, body: bytes, more: bool) -> None:
        if not more:
            self._ended()
        await self._send({"type": "http.response.body", "body": body, "more_body": more})
        if body:
            self.exchange.capture(self._now(), body)
            self.chunks += 1
            self.sent_bytes += len(body)

    def _now(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    def _ended(self) -> None:
        """The app finished its response; the client may already have gone (uvicorn drops sends silently)."""
        transport = self.scope.get(TRANSPORT_KEY)
        self.exchange.ended = "client_disconnect" if transport is not None and transport.is_closing() else "complete"

    # ------------------------------------------------------------------ faults

    async def _start_with_faults(self, message: Message) -> None:
        plan = self.plan
        latency = plan.get("latency")
        if latency is not None and await self._paused(
            (latency.value("ms") + self.rng.uniform(0, latency.value("jitter"))) / 1000
        ):
            return
        for name in SOCKET_FAULTS:
            if name in plan:
                await self._socket_fault(name)
                return
        if "hang" in plan:
            self._stop("hang")
            await self._client_gone(None)
            return
        if not _media_type(message).startswith(STREAM_MEDIA_TYPES) and ("truncate" in plan or "malformed" in plan):
            # The body will not be the length the app declared: let uvicorn send it chunked instead.
            headers = [(name, value) for name, value in message.get("headers", ()) if name != b"content-length"]
            message = {**message, "headers": headers}
        await self._start(message)

    async def _stream_chunk(self, body: bytes, more: bool) -> None:
        plan = self.plan
        if body:
            index = self.chunks
            if index == 0 and "ttft" in plan:
                if await self._paused(plan["ttft"].value("ms") / 1000):
                    return
            elif (
                index > 0 and "tokens_per_second" in plan
                and await self._paused(1 / plan["tokens_per_second"].value("rate"))
            ):
                return
            if self._fires("stall", index):
                self.exchange.mark("stall", index, self._now())
                stall = plan["stall"]
                if await self._quiet(stall.value("seconds"), stall.value("keep_alive")):
                    self._stop("client_disconnect")
                    return
            if self._fires("truncate", index):
                await self._send({"type": "http.response.body", "body": b"", "more_body": False})
                self._stop("truncate")
                return
            if self._fires("error_event", index):
                await self._body(_error_frame(plan["error_event"], self.context, index), False)
                self._stop("error_event")
                return
            disconnect = plan.get("disconnect")
            if disconnect is not None:
                limit = disconnect.value("after_bytes")
                if limit is not None and self.sent_bytes + len(body) > limit:
                    await self._cut(body[: limit - self.sent_bytes])
                    return
                if limit is None and index == disconnect.value("after_chunks"):
                    await self._cut(b"")
                    return
            if self._fires("malformed", index):
                self.exchange.mark("malformed", index, self._now())
                body = MALFORMED_LINE if self.lines else MALFORMED_FRAME
        await self._body(body, more)

    async def _whole_body(self, body: bytes, more: bool) -> None:
        plan = self.plan
        if body and self.chunks == 0:
            if "ttft" in plan and await self._paused(plan["ttft"].value("ms") / 1000):
                return
            if "stall" in plan and await self._client_gone(plan["stall"].value("seconds")):
                self._stop("client_disconnect")
                return
            if "truncate" in plan:
                await self._send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": False})
                self._stop("truncate")
                return
            if "disconnect" in plan:
                limit = plan["disconnect"].value("after_bytes")
                await self._cut(body[: len(body) // 2 if limit is None else limit])
                return
            if "malformed" in plan:
                body = MALFORMED_BODY
        await self._body(body, more)

    def _fires(self, name: str, index: int) -> bool:
        fault = self.plan.get(name)
        return fault is not None and index == fault.value("after_chunks")

    def _stop(self, ended: str) -> None:
        """Send nothing more: whatever the app still sends is dropped."""
        self.stopped = True
        self.exchange.ended = ended
        self.exchange.mark(ended, self.chunks, self._now())

    async def _cut(self, last: bytes) -> None:
        """Send ``last`` (maybe part of a frame), then close the connection mid-response."""
        if last:
            await self._send({"type": "http.response.body", "body": last, "more_body": True})
            self.exchange.capture(self._now(), last)
            self.sent_bytes += len(last)
        self._stop("disconnect")
        transport = self.scope.get(TRANSPORT_KEY)
        if transport is not None:
            transport.close()
            await self._client_gone(LOSS_TIMEOUT)

    async def _socket_fault(self, name: str) -> None:
        self._stop(name)
        transport = self.scope.get(TRANSPORT_KEY)
        if transport is None:
            return
        if name == "garbage":
            transport.write(GARBAGE_BYTES)
        if name == "reset":
            transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()
        await self._client_gone(LOSS_TIMEOUT)

    async def _paused(self, seconds: float) -> bool:
        """Wait as a fault asks; True, and nothing more is sent, if the connection went meanwhile.

        The client may leave, or the server may be shutting down (the protocol
        cuts faulted responses then): either way the wait ends at once.
        """
        if await self._client_gone(seconds):
            self._stop("client_disconnect")
            return True
        return False

    async def _quiet(self, seconds: float, interval: float) -> bool:
        """A stream that sends nothing for ``seconds``; True if the connection went meanwhile. Where the family's
        wire has a keep-alive frame (Anthropic's ``ping``), it goes out every ``interval`` seconds of the wait,
        seen in the journal's frames but counted as no chunk, so later faults keep their places."""
        frame = self.context.outcome.keep_alive if self.context.outcome is not None else None
        if frame is None or interval >= seconds:
            return await self._client_gone(seconds)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (remaining := deadline - loop.time()) > 0:
            if await self._client_gone(min(interval, remaining)):
                return True
            if deadline - loop.time() > 0:
                await self._send({"type": "http.response.body", "body": frame, "more_body": True})
                self.exchange.capture(self._now(), frame)
                self.sent_bytes += len(frame)
        return False

    async def _client_gone(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds (None: for ever) for the connection to go; True if it went.

        One task per response listens for the disconnect (``receive`` returns it
        when the client leaves, the server cuts the response or the response is
        complete), and each wait only races it against a timer: a paced stream
        waits once per token, and a ``receive`` under ``asyncio.timeout`` for
        each cost twice as much CPU, which 1,000 paced streams on one core feel.
        """
        gone = self._gone
        if gone is None:
            gone = self._gone = asyncio.ensure_future(self._disconnect())
        if not gone.done():
            loop = asyncio.get_running_loop()
            waiter = loop.create_future()
            wake = functools.partial(_wake, waiter)
            timer = None if timeout is None else loop.call_later(timeout, wake)
            gone.add_done_callback(wake)
            try:
                await waiter
            finally:
                if timer is not None:
                    timer.cancel()
                gone.remove_done_callback(wake)
        return gone.done()

    async def _disconnect(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass


def _wake(waiter: asyncio.Future[None], *_: object) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _with_test_id(headers: list[tuple[bytes, bytes]], test_id: str) -> list[tuple[bytes, bytes]]:
    """The request's headers, labelled with ``test_id`` unless the client labelled them itself.

    Application code that builds its own client sends no ``X-Mock-Test-Id``;
    while a test is running (``Control.default_test_id``) its requests belong
    to that test, so they reach its scripts and its journal.
    """
    if any(name == TEST_ID_HEADER for name, _ in headers):
        return headers
    return [*headers, (TEST_ID_HEADER, test_id.encode("latin-1"))]


SSE_MEDIA_TYPE = b"text/event-stream"
NDJSON_MEDIA_TYPE = b"application/x-ndjson"
STREAM_MEDIA_TYPES = (SSE_MEDIA_TYPE, NDJSON_MEDIA_TYPE)
"""The media types of a stream, whose chunks the faults count: server-sent events and JSON lines."""


def _media_type(start: Message) -> bytes:
    for name, value in start.get("headers", ()):
        if name == b"content-type":
            return value
    return b""


def _error_frame(fault: Fault, context: RequestContext, index: int) -> bytes:
    failure_frames = context.outcome.failure_frames if context.outcome is not None else None
    if failure_frames is not None:
        return failure_frames(fault.value("message"), fault.value("type"), fault.value("code"), index)
    error: dict[str, Any] = {
        "message": fault.value("message"),
        "type": fault.value("type"),
        "param": None,
        "code": fault.value("code"),
    }
    return b"data: " + orjson.dumps({"error": error}) + b"\n\n"

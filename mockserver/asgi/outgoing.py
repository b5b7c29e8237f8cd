"""What goes out on the wire: JSON bodies, errors in the provider envelope, SSE frames (HTTP responses, named so
nobody takes them for the Responses API)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio.lowlevel
import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mockserver.asgi.context import CONTEXT_KEY, FRAMES_KEY
from mockserver.errors import ApiError
from mockserver.journal import json_safe

OPENAI_VERSION = "2020-10-01"
JSON_MEDIA_TYPE = "application/json"
SSE_MEDIA_TYPE = "text/event-stream"
DONE_FRAME = b"data: [DONE]\n\n"
"""The frame that ends an OpenAI stream."""
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
NDJSON_MEDIA_TYPE = "application/x-ndjson"
"""JSON lines, one object a line: Ollama's streams."""


def event_frame(event: dict[str, Any], *, named: bool = True) -> bytes:
    """One server-sent event: ``event:`` its ``type`` (where the API names its events) and ``data:`` its JSON."""
    data = b"data: " + orjson.dumps(event) + b"\n\n"
    return b"event: " + event["type"].encode() + b"\n" + data if named else data


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # Response(content, status_code, headers, media_type): positional, as a class called with keywords packs them
    # into a dict first (see mockserver.constructors)
    return Response(orjson.dumps(body), status, headers, JSON_MEDIA_TYPE)


def error_response(error: ApiError) -> Response:
    return json_response(error.envelope(), error.status, error.headers)


def openai_stamp(processing_ms: int) -> dict[str, str]:
    return {"openai-version": OPENAI_VERSION, "openai-processing-ms": str(processing_ms)}


@dataclass(frozen=True)
class Wire:
    """What a provider family's answers carry on the wire besides their bodies: its error envelope, the header
    that names each request, and the headers every answer has. The pipeline answers every endpoint through its
    family's wire, so a family on another provider's wire (its own envelope and headers) is data, not a branch."""

    name: str
    error: Callable[[ApiError], Response]  # an ApiError in the provider's envelope
    request_id_header: str  # lower case: x-request-id
    stamp: Callable[[int], dict[str, str]]  # the headers of every answer, given the processing time in ms
    # The control plane's headers (rate-limit state, in OpenAI's x-ratelimit-* names) as this provider names them.
    own_headers: Callable[[dict[str, str]], dict[str, str]] = lambda headers: headers
    # The frame that keeps a quiet stream alive (Anthropic's ``event: ping``), sent while a stream waits; None: none.
    keep_alive: bytes | None = None


OPENAI_WIRE = Wire("openai", error_response, "x-request-id", openai_stamp)
"""OpenAI's wire, which the OpenAI-compatible providers share."""


def add_headers(response: Response, headers: dict[str, str]) -> set[bytes]:
    """``response.headers.update(headers)``, and the header names the response then has.

    Appends to the raw list instead of going through ``MutableHeaders``, which
    scans every header for each one set; a name already present is replaced
    exactly as ``update`` replaces it.
    """
    raw = response.raw_headers
    present = {name for name, _ in raw}
    for name, value in headers.items():
        key = name.lower().encode("latin-1")
        if key in present:
            response.headers[name] = value
        else:
            raw.append((key, value.encode("latin-1")))
            present.add(key)
    return present


class JsonListResponse(Response):
    """A JSON object whose ``data`` list is encoded and sent piece by piece, never as one giant string.

    ``fields`` come first, then ``data`` holding ``encode(item)`` for each item; about
    :data:`LIST_CHUNK_BYTES` leave per ``send``, so a large list neither builds one big
    buffer nor holds the event loop while it is encoded.
    """

    def __init__(self, fields: dict[str, Any], items: Sequence[Any], encode: Callable[[Any], Any]) -> None:
        self.status_code = 200
        self.background = None
        self.fields, self.items, self.encode = fields, items, encode
        self.raw_headers = [(b"content-type", JSON_MEDIA_TYPE.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        buffer = bytearray(orjson.dumps({**self.fields, "data": []})[:-2])  # the object, open at its data list
        try:
            for index, item in enumerate(self.items):
                if index:
                    buffer += b","
                encoded = self.encode(item)
                try:
                    buffer += orjson.dumps(encoded)
                except TypeError:
                    buffer += orjson.dumps(json_safe(encoded))
                if len(buffer) >= LIST_CHUNK_BYTES:
                    await send({"type": "http.response.body", "body": bytes(buffer), "more_body": True})
                    buffer.clear()
                    # Writes leave at the end of the loop step (CoalescingTransport): yield so this piece is
                    # written, and the next send waits for the client when the socket is full.
                    await anyio.lowlevel.checkpoint()
            await send({"type": "http.response.body", "body": bytes(buffer + b"]}"), "more_body": False})
        except OSError:
            return  # the client went away


LIST_CHUNK_BYTES = 256 * 1024


class PiecesResponse(Response):
    """A JSON body already encoded in pieces (some of them megabytes), sent piece by piece without joining."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.status_code = 200
        self.background = None
        self.pieces = pieces
        length = str(sum(map(len, pieces))).encode()
        self.raw_headers = [(b"content-type", JSON_MEDIA_TYPE.encode()), (b"content-length", length)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        try:
            for piece in self.pieces:
                await send({"type": "http.response.body", "body": piece, "more_body": True})
                await anyio.lowlevel.checkpoint()  # let the piece be written (see JsonListResponse)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            return  # the client went away


JOIN_FRAMES_BYTES = 1024 * 1024
"""Unpaced frames up to this size in all leave in one write; larger streams (pictures) go frame by frame."""


class FramesResponse(Response):
    """A stream of pre-encoded frames: server-sent events, or lines of JSON with ``media_type`` NDJSON.

    Lighter than Starlette's ``StreamingResponse`` (no task group per
    response). When the control plane planned faults, every frame is its own
    ``send``, which is where the wire layer paces, stalls and cuts streams.
    Without faults nothing can come between two frames, so they leave in one
    ``send``: one socket write instead of one per token (a 30-token stream
    made 33 writes), the same bytes, and the wire layer still counts every
    frame (``FRAMES_KEY``).
    """

    def __init__(self, frames: list[bytes], headers: dict[str, str] | None = None,
                 media_type: str = SSE_MEDIA_TYPE) -> None:
        # No Content-Length: the body is chunked, frame by frame.
        self.status_code = 200
        self.background = None
        self.frames = frames
        extra = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in (headers or {}).items()]
        own = SSE_HEADERS if media_type == SSE_MEDIA_TYPE else [(b"content-type", media_type.encode("latin-1"))]
        self.raw_headers = own + extra

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        context = scope.get(CONTEXT_KEY)
        try:
            unpaced = context is None or not context.faults
            if unpaced and sum(map(len, self.frames)) <= JOIN_FRAMES_BYTES:
                body = b"".join(self.frames)
                last = {"type": "http.response.body", "body": body, "more_body": False, FRAMES_KEY: len(self.frames)}
                await send(last)
                return
            for frame in self.frames:
                await send({"type": "http.response.body", "body": frame, "more_body": True})
                if unpaced:
                    await anyio.lowlevel.checkpoint()  # megabytes of pictures: let each frame be written
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            return  # the client went away; uvicorn has already closed the connection

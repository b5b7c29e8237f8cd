"""The body policy shared by every endpoint that reads one: size limit, ``Content-Length``, content type.

JSON bodies (:func:`read_json`) and multipart uploads (``images/edits``) go
through the same checks: a declared ``Content-Length`` above ``--max-body`` is
refused before anything is read, and a body without one (chunked) is counted as
it arrives (:func:`limited`), so no upload is spooled past the limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio.lowlevel
import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message, Receive

from mockserver.asgi.context import context_of
from mockserver.asgi.outgoing import JSON_MEDIA_TYPE
from mockserver.config import whole_number
from mockserver.errors import invalid_request, request_too_large, unsupported_content_type
from mockserver.journal import JOURNAL_BODY_BYTES

MAX_JSON_DEPTH = 64
# '[' and '{' one body may hold, counted in the raw bytes (C speed, strings included) before anything is
# parsed: a body of ten million empty arrays is refused in milliseconds instead of parsed into gigabytes and
# walked for seconds. A chat of 5,000 messages with tool calls holds about 20,000.
MAX_JSON_CONTAINERS = 250_000
_JSON_EXPECTED = "the body as JSON with 'Content-Type: application/json'"


def check_head(headers: Mapping[bytes, bytes], limit: int, media_type: str, expected: str) -> None:
    """413 for a declared size above ``limit``; 415 unless the content type is ``media_type``."""
    check_declared_size(headers, limit)
    check_content_type(headers, media_type, expected)


def check_declared_size(headers: Mapping[bytes, bytes], limit: int) -> None:
    declared = headers.get(b"content-length")
    if declared is not None and (size := whole_number(declared)) is not None and size > limit:
        raise request_too_large(int(declared), limit)


def check_content_type(headers: Mapping[bytes, bytes], media_type: str, expected: str) -> None:
    content_type = headers.get(b"content-type", b"").decode("latin-1")
    if content_type.split(";", 1)[0].strip().lower() != media_type:
        raise unsupported_content_type(content_type, expected)


def limited(receive: Receive, limit: int) -> Receive:
    """``receive`` that refuses a body growing past ``limit`` bytes, counted as it arrives."""
    size = 0

    async def guarded() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise request_too_large(size, limit)
        return message

    return guarded


YIELD_AFTER_PARSE_BYTES = 256 * 1024
"""After parsing a body larger than this, let the event loop run before going on."""


async def read_json(request: Request, max_body: int, *, any_content_type: bool = False) -> Any:
    """The request body as JSON, or the 4xx a real provider would answer; ``any_content_type``: read it as JSON
    whatever its ``Content-Type`` says, or without one (Ollama's server does; litellm sends none)."""
    context = context_of(request.scope)
    headers = context.headers
    check_declared_size(headers, max_body)
    chunks = []
    size = containers = 0
    receive, more = request.receive, True
    while more:  # Starlette's request.stream(), without an async generator per request
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()
        chunk, more = message.get("body", b""), message.get("more_body", False)
        size += len(chunk)
        if size > max_body:
            raise request_too_large(size, max_body)
        # Counted as the body arrives, so a body of millions of arrays is refused before it is even joined.
        containers += chunk.count(b"[") + chunk.count(b"{")
        if containers > MAX_JSON_CONTAINERS:
            if not any_content_type:
                check_content_type(headers, JSON_MEDIA_TYPE, _JSON_EXPECTED)
            raise invalid_request(
                f"We could not use the JSON body of your request: it holds more than {MAX_JSON_CONTAINERS} "
                "'[' and '{' characters.",
                code="invalid_json",
            )
        chunks.append(chunk)
    raw = b"".join(chunks)
    context.body_bytes = len(raw)
    if len(raw) > JOURNAL_BODY_BYTES:
        context.body_preview = raw[:JOURNAL_BODY_BYTES]
    if not any_content_type:
        check_content_type(headers, JSON_MEDIA_TYPE, _JSON_EXPECTED)
    if not raw.strip():
        raise invalid_request(
            "We could not parse the JSON body of your request: the body is empty. "
            "The OpenAI API expects a JSON payload.",
            code="invalid_json",
        )
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise invalid_request(
            f"We could not parse the JSON body of your request ({error}). The OpenAI API expects a JSON payload; "
            "check for trailing commas, unquoted keys, NaN/Infinity or invalid UTF-8.",
            code="invalid_json",
        ) from None
    if context.body_preview is None:
        context.raw_body, context.parsed_body = raw, body
    if len(raw) > YIELD_AFTER_PARSE_BYTES:
        # orjson holds the GIL for the whole parse (8 ms a MB), so no thread helps; the loop answers others here,
        # between the parse and what the pipeline does next with the body.
        await anyio.lowlevel.checkpoint()
    if containers > MAX_JSON_DEPTH and _nested_deeper(body, MAX_JSON_DEPTH):
        raise invalid_request(
            f"We could not use the JSON body of your request: it nests arrays and objects more than "
            f"{MAX_JSON_DEPTH} levels deep.",
            code="invalid_json",
        )
    return body


def _nested_deeper(value: Any, limit: int) -> bool:
    """Whether ``value`` nests arrays and objects more than ``limit`` levels deep.

    Deeper bodies would break what handles them later (the recursive schema
    validator, orjson's 255-level encoder when the journal is read). Only bodies
    with more brackets than ``limit`` are walked, and the walk is bounded by
    :data:`MAX_JSON_CONTAINERS`, checked before parsing.
    """
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False

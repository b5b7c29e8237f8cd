"""The one request pipeline: parse → validate → decide → generate → encode.

Every endpoint of every dialect is an :class:`Endpoint` (a handler plus a few
facts about it) run by :func:`make_route_handler`. The handler only generates;
authentication, body parsing, schema validation, the control plane's decision
and the common response headers happen here, once, for all of them.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response

from mockserver.control.decision import Decision
from mockserver.dialects.dialect import Dialect
from mockserver.errors import ApiError, invalid_request
from mockserver.validation import require_object

if TYPE_CHECKING:
    from mockserver.app import AppState
    from mockserver.journal import Exchange

OPENAI_VERSION = "2020-10-01"
JSON_MEDIA_TYPE = "application/json"
MAX_JSON_DEPTH = 64


@dataclass
class Call:
    """One request as the pipeline sees it."""

    request: Request
    dialect: Dialect
    endpoint: "Endpoint"
    api_key: str
    attempt: int
    test_id: str | None
    exchange: "Exchange | None"
    started: float
    # The request's headers by (lower-case) name, the first of each name, as Starlette's ``headers.get`` has them:
    # one dict per request instead of a scan of the header list for every lookup.
    headers: dict[bytes, bytes]

    def header(self, name: str) -> str | None:
        value = self.headers.get(name.lower().encode("latin-1"))
        return None if value is None else value.decode("latin-1")


Handler = Callable[["AppState", Call, Any, Decision], Awaitable[Response]]


@dataclass(frozen=True)
class Endpoint:
    name: str
    handler: Handler
    schema: str | None = None
    generation: bool = False
    reads_body: bool = True


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type=JSON_MEDIA_TYPE)


def error_response(error: ApiError) -> Response:
    return json_response(error.envelope(), error.status, error.headers)


async def read_json(request: Request, max_body: int) -> Any:
    """The request body as JSON, or the 4xx a real provider would answer."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body:
        raise _too_large(int(declared), max_body)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body:
            raise _too_large(size, max_body)
        chunks.append(chunk)
    raw = b"".join(chunks)
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != JSON_MEDIA_TYPE:
        shown = content_type or "none"
        raise ApiError(
            415,
            f"Unsupported content type {shown!r}: send the body as JSON with 'Content-Type: application/json'.",
            param=None,
            code="unsupported_content_type",
        )
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
    if _nested_deeper(raw, body, MAX_JSON_DEPTH):
        raise invalid_request(
            f"We could not use the JSON body of your request: it nests arrays and objects more than "
            f"{MAX_JSON_DEPTH} levels deep.",
            code="invalid_json",
        )
    return body


def _nested_deeper(raw: bytes, value: Any, limit: int) -> bool:
    """Whether ``value`` nests arrays and objects more than ``limit`` levels deep.

    Deeper bodies would break what handles them later (the recursive schema
    validator, orjson's 255-level encoder when the journal is read). Counting
    brackets in ``raw`` (C speed) clears nearly every body; only bodies with
    more brackets than ``limit`` are walked.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _too_large(size: int, limit: int) -> ApiError:
    return ApiError(
        413,
        f"Request body of {size} bytes exceeds the limit of {limit} bytes (--max-body).",
        code="request_too_large",
    )


@lru_cache(maxsize=256)
def key_id(api_key: str) -> str | None:
    """A short, stable, non-reversible label for an API key (the journal never holds keys).

    Cached: a server sees a handful of keys, each on every request.
    """
    return "key_" + hashlib.sha256(api_key.encode()).hexdigest()[:12] if api_key else None


def bearer_key(authorization: str) -> str:
    """The key of an ``Authorization: Bearer <key>`` header value, or ""."""
    scheme, _, key = authorization.partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


def make_route_handler(state: "AppState", dialect: Dialect, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint that runs ``endpoint`` of ``dialect`` through the pipeline."""

    async def run(request: Request) -> Response:
        started = time.perf_counter()
        exchange = request.scope.get("mockserver.exchange")
        headers = dict(reversed(request.scope["headers"]))
        test_id = headers.get(b"x-mock-test-id")
        call = Call(
            request=request,
            dialect=dialect,
            endpoint=endpoint,
            api_key=bearer_key(headers.get(b"authorization", b"").decode("latin-1")),
            attempt=_attempt(headers.get(b"x-stainless-retry-count", b"0")),
            test_id=None if test_id is None else test_id.decode("latin-1"),
            exchange=exchange,
            started=started,
            headers=headers,
        )
        if exchange is not None:
            exchange.dialect = dialect.name
            exchange.endpoint = endpoint.name
            exchange.key_id = key_id(call.api_key)
        headers: dict[str, str] = {}
        try:
            state.authenticate(call)
            body = await read_json(request, state.config.max_body) if endpoint.reads_body else None
            if exchange is not None and isinstance(body, dict):
                exchange.body = body
                model = body.get("model")
                exchange.model = model if isinstance(model, str) else None
                exchange.stream = body.get("stream") is True
            if endpoint.schema is not None and state.config.validation != "off":
                state.validator(endpoint.schema, dialect.name).validate(body)
            elif endpoint.reads_body:
                require_object(body)
            decision = state.decide(call, body)
            headers = decision.headers
            if exchange is not None:
                exchange.decided_by = decision.source
            if decision.faults:
                request.scope["mockserver.faults"] = decision.faults
            if decision.error is not None:
                raise decision.error
            response = await endpoint.handler(state, call, body, decision)
        except ApiError as error:
            response = _failed(exchange, error)
        except UNCHECKED_BODY_FAILURES as failure:
            if state.config.validation != "off":
                raise
            response = _failed(exchange, _unusable(failure))
        processing_ms = str(int((time.perf_counter() - started) * 1000))
        common = {"openai-version": OPENAI_VERSION, "openai-processing-ms": processing_ms}
        present = add_headers(response, {**headers, **common})
        if b"x-request-id" not in present:
            request_id = state.identity.request_id(state.identity.salt(request.url.path.encode()))
            response.raw_headers.append((b"x-request-id", request_id.encode("latin-1")))
        return response

    return run


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


def _failed(exchange: "Exchange | None", error: ApiError) -> Response:
    if exchange is not None:
        exchange.error_code = error.code
    return error_response(error)


# What a handler raises when a body nobody checked (--validation off) has a shape it cannot use.
UNCHECKED_BODY_FAILURES = (AttributeError, IndexError, KeyError, TypeError, ValueError)


def _unusable(failure: Exception) -> ApiError:
    """With ``--validation off`` a body generation cannot use is the client's mistake: a 400, never a 500."""
    return invalid_request(
        f"The mock could not use this request with --validation off ({type(failure).__name__}: {failure}). "
        "Send the fields with the types the endpoint documents (GET /openapi.json).",
        code="unusable_request",
    )


def _attempt(raw: bytes) -> int:
    return int(raw) if raw.isdigit() else 0

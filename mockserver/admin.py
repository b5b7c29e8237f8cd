"""The admin API under ``/_mock/``: the journal, the scripted queue, reset, health and config, and the sandbox
page (``/_mock/ui``) with its live feed (``/_mock/events``), an exchange's detail and explanation, and the
rate-limit buckets. ``GET /metrics`` (Prometheus) sits beside them, off with ``--no-metrics``.

Admin requests go through the wire layer (so they are journaled, marked
``admin``) but never through the pipeline, so no fault, script or rate limit
touches them. ``--no-control`` turns the API off (404) except ``health``;
``--admin-token`` makes every route but ``health`` require
``X-Mock-Admin-Token``. With ``--api-key``, ``GET /_mock/requests`` is per key:
a caller without the admin token sees only the requests made with its own
Bearer key (exchanges carry ``key_id``, a hash label, never the key).
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from mockserver import sandbox
from mockserver.asgi.body import read_json
from mockserver.asgi.context import ADMIN_TOKEN_HEADER, ENDLESS_KEY, bearer_key, key_id
from mockserver.asgi.responses import JsonListResponse, error_response, json_response
from mockserver.control.faults import SpecError
from mockserver.errors import ApiError
from mockserver.journal import Exchange
from mockserver.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE

if TYPE_CHECKING:
    from mockserver.state import AppState

Endpoint = Callable[[Request], Awaitable[Response]]
DEFAULT_PAGE = 100
"""Entries per page of ``GET /_mock/requests?after=ID`` without a ``limit``."""
FEED_QUEUE = 256
"""Exchanges a slow page may fall behind by on ``/_mock/events`` before the oldest are dropped (it says so)."""
FEED_HEARTBEAT = 15.0


@dataclass(frozen=True)
class _Journaled:
    """A journaled request as matches read it, for explaining an answer after the fact."""

    dialect: str | None
    path: str
    test_id: str | None
    attempt: int
    headers: dict[str, str]

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def admin_routes(state: AppState) -> list[Route]:
    """The admin routes, at their full ``/_mock/...`` paths."""
    control = state.control

    def admin_token_given(request: Request) -> bool:
        expected = state.config.admin_token
        # The page's own loads and its EventSource cannot send a header: they pass the token as ?token=.
        given = request.headers.get(ADMIN_TOKEN_HEADER) or request.query_params.get("token", "")
        return expected is not None and hmac.compare_digest(given.encode(), expected.encode())

    def guarded(handler: Endpoint, *, per_key: bool = False) -> Endpoint:
        """``per_key``: with ``--api-key``, an API key (not the admin token) opens the caller's own view."""

        async def run(request: Request) -> Response:
            if not state.config.control:
                return error_response(ApiError(
                    404,
                    f"Invalid URL ({request.method} {request.url.path}): the admin API is off (--no-control).",
                    code="unknown_url",
                ))
            own_view = per_key and bool(state.config.api_key)
            if state.config.admin_token is not None and not own_view and not admin_token_given(request):
                return error_response(ApiError(
                    401,
                    "The admin API needs the token the mock was started with (--admin-token), "
                    "sent as the X-Mock-Admin-Token header.",
                    code="invalid_admin_token",
                ))
            try:
                return await handler(request)
            except ApiError as error:
                return error_response(error)

        return run

    async def requests(request: Request) -> Response:
        query = request.query_params
        after = _number(query, "after")
        limit = _number(query, "limit")
        page = state.journal.query(
            path=query.get("path"),
            model=query.get("model"),
            status=_number(query, "status"),
            test_id=query.get("test_id"),
            key_id=own_key(request),
            after=after,
            limit=DEFAULT_PAGE if limit is None and after is not None else limit,
        )
        fields = {
            "object": "list",
            "first_id": page.entries[0].id if page.entries else None,
            "last_id": page.entries[-1].id if page.entries else None,
            "has_more": page.has_more,
        }
        return JsonListResponse(fields, page.entries, Exchange.as_dict)

    def own_key(request: Request) -> str | None:
        """The key label the caller may see the journal of; None: everything.

        With ``--api-key`` the mock may serve several tenants, so a caller sees
        only the requests made with its own key unless it sends the admin token.
        """
        if not state.config.api_key or admin_token_given(request):
            return None
        label = key_id(bearer_key(request.headers.get("authorization", "")))
        if label is None:
            raise ApiError(
                401,
                "With --api-key the journal is per key: send your key as 'Authorization: Bearer ...' to see your "
                "own requests, or the admin token (--admin-token) to see all of them.",
                code="invalid_api_key",
            )
        return label

    async def get_script(request: Request) -> Response:
        pending = control.scripts.pending(request.headers.get("x-mock-test-id"))
        return json_response({"behaviors": [entry.as_dict() for entry in pending]})

    async def post_script(request: Request) -> Response:
        payload = await read_json(request, state.config.max_body)
        try:
            entries = control.scripts.parse(payload, request.headers.get("x-mock-test-id"))
            control.scripts.add(entries)
        except SpecError as error:
            raise ApiError(400, f"Invalid script: {error}", param=error.where or None, code="invalid_script") from None
        return json_response({"behaviors": [entry.as_dict() for entry in entries]})

    async def reset(request: Request) -> Response:
        test_id = request.headers.get("x-mock-test-id")
        state.reset(test_id)
        return json_response({"reset": "all" if test_id is None else {"test_id": test_id}})

    async def health(request: Request) -> Response:
        return json_response({"status": "ok"})

    async def config(request: Request) -> Response:
        return json_response(state.config.as_public_dict())

    async def page(request: Request) -> Response:
        return Response(sandbox.page(), media_type="text/html; charset=utf-8", headers={"cache-control": "no-store"})

    async def metrics(request: Request) -> Response:
        if state.metrics is None:
            return error_response(ApiError(404, "Invalid URL (GET /metrics): metrics are off (--no-metrics).",
                                           code="unknown_url"))
        return Response(state.metrics.text(), media_type=METRICS_CONTENT_TYPE)

    async def events(request: Request) -> Response:
        request.scope[ENDLESS_KEY] = True  # a shutdown cuts the feed instead of waiting for it to end
        queue: asyncio.Queue[Exchange | None] = asyncio.Queue(FEED_QUEUE)
        dropped = 0

        def offer(exchange: Exchange) -> None:
            nonlocal dropped
            if exchange.admin:
                return
            if queue.full():
                queue.get_nowait()
                dropped += 1
            queue.put_nowait(exchange)

        async def feed() -> AsyncIterator[bytes]:
            nonlocal dropped
            state.journal.listeners.append(offer)
            try:
                yield b": connected\n\n"
                while True:
                    try:
                        exchange = await asyncio.wait_for(queue.get(), FEED_HEARTBEAT)
                    except TimeoutError:
                        yield b": heartbeat\n\n"
                        continue
                    if exchange is None:
                        return
                    if dropped:
                        yield b"event: dropped\ndata: " + str(dropped).encode() + b"\n\n"
                        dropped = 0
                    yield b"data: " + orjson.dumps(exchange.as_dict()) + b"\n\n"
            finally:
                state.journal.listeners.remove(offer)

        return StreamingResponse(feed(), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache", "x-accel-buffering": "no"})

    def journaled(request: Request) -> Exchange:
        raw = request.path_params["exchange_id"]
        exchange = state.journal.get(int(raw)) if raw.isdigit() else None
        if exchange is None or (own_key(request) not in (None, exchange.key_id)):
            raise ApiError(404, f"No exchange {raw!r} in the journal (it keeps the last "
                           f"{state.config.journal_size}).", param="exchange_id", code="not_found")
        return exchange

    async def exchange_detail(request: Request) -> Response:
        return json_response(journaled(request).detail())

    async def explain(request: Request) -> Response:
        exchange = journaled(request)
        asked = _Journaled(exchange.dialect, exchange.path, exchange.test_id, exchange.attempt, exchange.headers)
        nearest = control.explain(asked, exchange.body)
        return json_response({"id": exchange.id, "decided_by": exchange.decided_by, "nearest": nearest})

    async def rate_limits(request: Request) -> Response:
        limiter = control.limiter
        buckets: list[dict[str, Any]] = [] if limiter is None else limiter.snapshot(key_id)
        return json_response({"rpm": state.config.rpm, "tpm": state.config.tpm, "buckets": buckets})

    return [
        Route("/_mock/requests", guarded(requests, per_key=True), methods=["GET"]),
        Route("/_mock/script", guarded(get_script), methods=["GET"]),
        Route("/_mock/script", guarded(post_script), methods=["POST"]),
        Route("/_mock/reset", guarded(reset), methods=["POST"]),
        Route("/_mock/health", health, methods=["GET"]),
        Route("/_mock/config", guarded(config), methods=["GET"]),
        Route("/_mock/ui", guarded(page), methods=["GET"]),
        Route("/_mock/events", guarded(events), methods=["GET"]),
        Route("/_mock/requests/{exchange_id}", guarded(exchange_detail, per_key=True), methods=["GET"]),
        Route("/_mock/requests/{exchange_id}/why", guarded(explain, per_key=True), methods=["GET"]),
        Route("/_mock/ratelimits", guarded(rate_limits), methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


def _number(query: QueryParams, name: str) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        message = f"Query parameter {name!r} must be a whole number, got {raw!r}."
        raise ApiError(400, message, param=name, code="invalid_value")
    return int(raw)

"""The admin API under ``/_mock/``, declared once in :data:`ADMIN_ROUTES`.

Each row says where a route is, which :class:`AdminApi` method answers it, who may call it and what it
answers; the app's routes and the OpenAPI document (:mod:`mockserver.app.openapi`) are both built from it,
so a new admin route is one row and one method.

Admin requests go through the wire layer (so they are journaled, marked ``admin``) but never through
the pipeline, so no fault, script or rate limit touches them. Who may call a route (:class:`Access`):

- ``public``: always on, never a token (``health``, image files, ``/openapi.json``);
- ``token``: always on, but with ``--admin-token`` it needs the token (``/metrics``: the header, the sandbox's
  cookie, or ``Authorization: Bearer`` as Prometheus sends it);
- ``control``: off (404) with ``--no-control``; with ``--admin-token`` it needs ``X-Mock-Admin-Token`` (or the
  sandbox's cookie);
- ``own_view``: as ``control``, but with ``--api-key`` a caller's own Bearer key opens the part of the
  journal its key made (exchanges carry ``key_id``, a hash label, never the key), in the list, the detail, the
  explanation and the live feed alike.

The sandbox page never keeps the token in its URL: ``/_mock/ui?token=T`` trades it for an HttpOnly, SameSite=Strict
cookie and sends the browser on to ``/_mock/ui``; the page is served with a content security policy that runs
only its own inlined script and style and forbids framing.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from mockserver import sandbox
from mockserver.app.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from mockserver.asgi.body import read_json
from mockserver.asgi.context import ADMIN_TOKEN_HEADER, ENDLESS_KEY, bearer_key, key_id
from mockserver.asgi.dispatch import Route
from mockserver.asgi.outgoing import JsonListResponse, error_response, json_response
from mockserver.clock import ClockError
from mockserver.config import whole_number
from mockserver.control.faults import SpecError
from mockserver.control.plane import parse_scripts
from mockserver.errors import ApiError
from mockserver.journal import Exchange, select
from mockserver.services.images import FILES_PATH

if TYPE_CHECKING:
    from mockserver.app.state import AppState
    from mockserver.fleet import FleetJournal

Endpoint = Callable[[Request], Awaitable[Response]]
Result = TypeVar("Result")
DEFAULT_PAGE = 100
"""Entries per page of ``GET /_mock/requests?after=ID`` without a ``limit``."""
FEED_QUEUE = 256
"""Exchanges a slow page may fall behind by on ``/_mock/events`` before the oldest are dropped (it says so)."""
FEED_HEARTBEAT = 15.0


class Access(Enum):
    PUBLIC = "public"
    TOKEN = "token"
    CONTROL = "control"
    OWN_VIEW = "own_view"


@dataclass(frozen=True)
class AdminRoute:
    """One route of the admin API (and the other routes at the root), as the app and the document see it."""

    method: str
    path: str
    handler: str  # the name of the :class:`AdminApi` method that answers
    summary: str
    answers: str  # a mock component (the JSON body's schema), or the media type of a body that is not JSON
    access: Access = Access.CONTROL
    body: str | None = None  # the mock component a JSON request body must match
    query: tuple[dict[str, Any], ...] = ()  # OpenAPI query parameters
    statuses: tuple[str, ...] = ()  # error statuses besides the ones its access implies


TOKEN_QUERY = ({"name": "token", "in": "query", "schema": {"type": "string"}},)
JOURNAL_QUERY = (
    {"name": "path", "in": "query", "schema": {"type": "string"}},
    {"name": "model", "in": "query", "schema": {"type": "string"}},
    {"name": "status", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    {"name": "test_id", "in": "query", "schema": {"type": "string"}},
    {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0},
     "description": "Only exchanges with a greater id: page on with the last page's last_id."},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0},
     "description": "At most this many: the first after `after` (default 100 with `after`), else the newest."},
)
IMAGE_MEDIA = "image/*"
OPENAPI_PATH = "/openapi.json"
ADMIN_COOKIE = "mockserver_admin"
"""The cookie the sandbox page holds the admin token in (HttpOnly, SameSite=Strict: no script, no other site)."""

ADMIN_ROUTES: tuple[AdminRoute, ...] = (
    AdminRoute("GET", "/_mock/requests", "requests",
               "The journal, oldest first (only the caller's key's requests when --api-key is set, unless the "
               "admin token is sent)", "ExchangeList", Access.OWN_VIEW, query=JOURNAL_QUERY),
    AdminRoute("GET", "/_mock/script", "get_script", "Pending scripted behaviours", "ScriptList"),
    AdminRoute("POST", "/_mock/script", "post_script", "Append scripted behaviours (all or none)", "ScriptList",
               body="Script"),
    AdminRoute("POST", "/_mock/reset", "reset",
               "Forget scripts, journal, rate-limit buckets, stored completions, jobs and deleted models; restart "
               "chaos", "Reset"),
    AdminRoute("GET", "/_mock/clock", "get_clock", "The mock's clock: what time it says, frozen or running",
               "Clock"),
    AdminRoute("POST", "/_mock/clock", "move_clock",
               "Move the mock's clock forward (by seconds, or to a unix time): schedules, rate-limit buckets and "
               "timestamps follow at once", "Clock", body="ClockMove"),
    AdminRoute("GET", "/_mock/health", "health", "Liveness; always on, never needs a token", "Health",
               Access.PUBLIC),
    AdminRoute("GET", "/_mock/config", "config", "The running configuration, secrets masked", "Config"),
    AdminRoute("GET", "/_mock/ui", "page",
               "The sandbox page (HTML; with --admin-token, open it once as ?token=T: the token becomes an HttpOnly "
               "cookie and the browser goes on to /_mock/ui)", "text/html", query=TOKEN_QUERY, statuses=("303",)),
    AdminRoute("GET", "/_mock/events", "events",
               "Each finished exchange as a server-sent event (the sandbox's live feed; only the caller's key's "
               "exchanges when --api-key is set, unless the admin token is sent)", "text/event-stream",
               Access.OWN_VIEW),
    AdminRoute("GET", "/_mock/requests/{exchange_id}", "exchange_detail",
               "One exchange: the list fields, the first 64 KiB of its response, its SSE frames with their times, "
               "the fault marks", "ExchangeDetail", Access.OWN_VIEW),
    AdminRoute("GET", "/_mock/requests/{exchange_id}/why", "explain",
               "What decided an exchange, and the nearest scripts and rules with the match keys they failed",
               "Explanation", Access.OWN_VIEW),
    AdminRoute("GET", "/_mock/ratelimits", "rate_limits", "The --rpm/--tpm buckets of every key seen",
               "RateLimits"),
    AdminRoute("GET", "/metrics", "metrics",
               "Prometheus metrics (off with --no-metrics; with --admin-token it needs the token)", "text/plain",
               Access.TOKEN, statuses=("401", "404")),
    AdminRoute("GET", FILES_PATH + "{name}", "image_file", "An image a URL in an images response points to",
               IMAGE_MEDIA, Access.PUBLIC, statuses=("404",)),
    AdminRoute("GET", OPENAPI_PATH, "openapi", "This document", "object", Access.PUBLIC),
)
"""Every route at the root of the app (the admin API, metrics, image files, the document), declared once."""


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


class AdminApi:
    """The handlers of :data:`ADMIN_ROUTES` for one app."""

    def __init__(self, state: AppState, openapi: Endpoint) -> None:
        self.state = state
        self.control = state.control
        self._openapi = openapi
        # Each finished exchange as the live feed sends it, encoded once for every open feed (the newest few).
        self._encoded: OrderedDict[int, bytes] = OrderedDict()

    def routes(self) -> list[Route]:
        """The routes of :data:`ADMIN_ROUTES`, each behind its access check."""
        return [Route(row.method, row.path, self._guarded(row), row.handler) for row in ADMIN_ROUTES]

    def _guarded(self, row: AdminRoute) -> Endpoint:
        handler: Endpoint = getattr(self, row.handler)
        state = self.state

        async def run(request: Request) -> Response:
            if row.access is Access.TOKEN and state.config.admin_token is not None and not (
                    self._token_given(request) or self._bearer_token_given(request)):
                return error_response(ApiError(
                    401, "This route needs the token the mock was started with (--admin-token), sent as the "
                    "X-Mock-Admin-Token header or as 'Authorization: Bearer TOKEN'.", code="invalid_admin_token"))
            if row.access in (Access.CONTROL, Access.OWN_VIEW):
                if not state.config.control:
                    return error_response(ApiError(
                        404,
                        f"Invalid URL ({request.method} {request.url.path}): the admin API is off (--no-control).",
                        code="unknown_url",
                    ))
                own_view = row.access is Access.OWN_VIEW and bool(state.config.api_key)
                # The page's first load may carry the token in its URL, once: it is traded for the cookie.
                offered = row.handler == "page" and self._matches(request.query_params.get("token", ""))
                if state.config.admin_token is not None and not (own_view or offered or self._token_given(request)):
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

    def _token_given(self, request: Request) -> bool:
        # The sandbox page's loads and its EventSource cannot send a header: its cookie carries the token.
        return self._matches(request.headers.get(ADMIN_TOKEN_HEADER) or request.cookies.get(ADMIN_COOKIE, ""))

    def _bearer_token_given(self, request: Request) -> bool:
        return self._matches(bearer_key(request.headers.get("authorization", "")))

    def _matches(self, given: str) -> bool:
        expected = self.state.config.admin_token
        return expected is not None and bool(given) and hmac.compare_digest(given.encode(), expected.encode())

    def _own_key(self, request: Request) -> str | None:
        """The key label the caller may see the journal of; None: everything.

        With ``--api-key`` the mock may serve several tenants, so a caller sees
        only the requests made with its own key unless it sends the admin token.
        """
        if not self.state.config.api_key or self._token_given(request):
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

    async def _journaled(self, request: Request) -> Exchange:
        raw = request.path_params["exchange_id"]
        number = whole_number(raw)
        exchange = await self._control_action(self.state.journal_view.get, number) if number is not None else None
        if exchange is None or (self._own_key(request) not in (None, exchange.key_id)):
            raise ApiError(404, f"No exchange {raw!r} in the journal (it keeps the last "
                           f"{self.state.config.journal_size}).", param="exchange_id", code="not_found")
        return exchange

    async def requests(self, request: Request) -> Response:
        query = request.query_params
        after = _number(query, "after")
        limit = _number(query, "limit")
        page = select(
            await self._control_action(self.state.journal_view.entries),
            path=query.get("path"),
            model=query.get("model"),
            status=_number(query, "status"),
            test_id=query.get("test_id"),
            key_id=self._own_key(request),
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

    async def get_script(self, request: Request) -> Response:
        pending = await self._control_action(self.control.scripts.pending, request.headers.get("x-mock-test-id"))
        return json_response({"behaviors": [entry.as_dict() for entry in pending]})

    async def post_script(self, request: Request) -> Response:
        payload = await read_json(request, self.state.config.max_body)
        try:
            entries = parse_scripts(payload, request.headers.get("x-mock-test-id"))
            await self._control_action(self.control.scripts.add, entries)
        except SpecError as error:
            raise ApiError(400, f"Invalid script: {error}", param=error.where or None, code="invalid_script") from None
        return json_response({"behaviors": [entry.as_dict() for entry in entries]})

    async def reset(self, request: Request) -> Response:
        test_id = request.headers.get("x-mock-test-id")
        await self._control_action(self.state.reset, test_id)
        return json_response({"reset": "all" if test_id is None else {"test_id": test_id}})

    async def _control_action(self, action: Callable[..., Result], *arguments: Any) -> Result:
        """``action(*arguments)``: here, or with a fleet's state (whose control actions wait on Redis) on a worker
        thread, as a test's thread runs them through ``MockServer``, so the event loop never waits on Redis."""
        if self.state.shared is None:
            return action(*arguments)
        return await anyio.to_thread.run_sync(functools.partial(action, *arguments))

    async def get_clock(self, request: Request) -> Response:
        return json_response((await self._control_action(self.state.read_clock)).as_dict())

    async def move_clock(self, request: Request) -> Response:
        payload = await read_json(request, self.state.config.max_body)
        if not isinstance(payload, dict) or len(payload) != 1 or not {"advance", "set"} & set(payload):
            raise ApiError(400, "Send one of {'advance': SECONDS} (move the clock forward) or {'set': UNIX_TIME} "
                           "(move it to that time).", param="advance", code="invalid_clock_move")
        (field, value), = payload.items()
        try:
            await self._control_action(self.state.advance_clock if field == "advance" else self.state.set_clock,
                                       value)
        except ClockError as error:
            raise ApiError(400, f"Invalid '{field}': {error}.", param=field, code="invalid_clock_move") from None
        return json_response(self.state.clock.as_dict())

    async def health(self, request: Request) -> Response:
        if self.state.shared is None:
            return json_response({"status": "ok"})
        shared = await self.state.shared.health()  # a fleet node without its state cannot serve: not ready
        if self.state.fleet_journal is not None:
            shared["journal"] = {"unwritten": self.state.fleet_journal.pending(),
                                 "dropped": self.state.fleet_journal.dropped}
        return json_response({"status": "ok" if shared["reachable"] else "unavailable", "state": shared},
                             status=200 if shared["reachable"] else 503)

    async def config(self, request: Request) -> Response:
        return json_response(self.state.config.as_public_dict())

    async def page(self, request: Request) -> Response:
        offered = request.query_params.get("token")
        if offered is not None:  # trade the URL's token for a cookie, and leave no token in the page's URL
            if not self._matches(offered):
                raise ApiError(401, "The token in the URL is not the one the mock was started with "
                               "(--admin-token).", param="token", code="invalid_admin_token")
            moved = Response(status_code=303, headers={"location": "/_mock/ui", "cache-control": "no-store",
                                                       "referrer-policy": "no-referrer"})
            moved.set_cookie(ADMIN_COOKIE, offered, path="/", httponly=True, samesite="strict")
            return moved
        return Response(sandbox.page(), media_type="text/html; charset=utf-8", headers=sandbox.headers())

    async def metrics(self, request: Request) -> Response:
        if self.state.metrics is None:
            return error_response(ApiError(404, "Invalid URL (GET /metrics): metrics are off (--no-metrics).",
                                           code="unknown_url"))
        return Response(self.state.metrics.text(), media_type=METRICS_CONTENT_TYPE)

    async def image_file(self, request: Request) -> Response:
        return await self.state.images.file(request.path_params["name"])

    async def openapi(self, request: Request) -> Response:
        return await self._openapi(request)

    async def events(self, request: Request) -> Response:
        request.scope[ENDLESS_KEY] = True  # a shutdown cuts the feed instead of waiting for it to end
        own_key = self._own_key(request)
        queue: asyncio.Queue[Exchange | None] = asyncio.Queue(FEED_QUEUE)
        dropped = 0
        listeners = self.state.journal.listeners

        def offer(exchange: Exchange) -> None:
            nonlocal dropped
            if exchange.admin or own_key not in (None, exchange.key_id):
                return
            if queue.full():
                queue.get_nowait()
                dropped += 1
            queue.put_nowait(exchange)

        async def follow_fleet(fleet: FleetJournal) -> None:
            async for exchange in fleet.follow():
                offer(exchange)

        async def feed() -> AsyncIterator[bytes]:
            nonlocal dropped
            fleet = self.state.fleet_journal
            follower = asyncio.create_task(follow_fleet(fleet)) if fleet is not None else None
            if follower is None:
                listeners.append(offer)
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
                    yield self._event(exchange)
            finally:
                if follower is not None:
                    follower.cancel()
                else:
                    listeners.remove(offer)

        return StreamingResponse(feed(), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache", "x-accel-buffering": "no"})

    def _event(self, exchange: Exchange) -> bytes:
        """The feed's frame for ``exchange``, encoded once however many feeds are open."""
        frame = self._encoded.get(exchange.id)
        if frame is None:
            frame = self._encoded[exchange.id] = b"data: " + orjson.dumps(exchange.as_dict()) + b"\n\n"
            if len(self._encoded) > FEED_QUEUE:
                self._encoded.popitem(last=False)
        return frame

    async def exchange_detail(self, request: Request) -> Response:
        return json_response((await self._journaled(request)).detail())

    async def explain(self, request: Request) -> Response:
        exchange = await self._journaled(request)
        asked = _Journaled(exchange.dialect, exchange.path, exchange.test_id, exchange.attempt, exchange.headers)
        nearest = await self._control_action(self.control.explain, asked, exchange.body)
        return json_response({"id": exchange.id, "decided_by": exchange.decided_by, "nearest": nearest})

    async def rate_limits(self, request: Request) -> Response:
        limiter = self.control.limiter
        buckets: list[dict[str, Any]] = [] if limiter is None else await limiter.buckets(key_id)
        return json_response({"rpm": self.state.config.rpm, "tpm": self.state.config.tpm, "buckets": buckets})


def _number(query: QueryParams, name: str) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    number = whole_number(raw)
    if number is None:
        message = f"Query parameter {name!r} must be a whole number, got {raw[:40]!r}."
        raise ApiError(400, message, param=name, code="invalid_value")
    return number


__all__ = ["ADMIN_ROUTES", "OPENAPI_PATH", "Access", "AdminApi", "AdminRoute"]

"""The admin API under ``/_mock/``: the journal, the scripted queue, reset, health and config.

Admin requests go through the wire layer (so they are journaled, marked
``admin``) but never through the pipeline, so no fault, script or rate limit
touches them. ``--no-control`` turns the API off (404) except ``health``;
``--admin-token`` makes every route but ``health`` require
``X-Mock-Admin-Token``. With ``--api-key``, ``GET /_mock/requests`` is per key:
a caller without the admin token sees only the requests made with its own
Bearer key (exchanges carry ``key_id``, a hash label, never the key).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockserver.asgi.body import read_json
from mockserver.asgi.context import ADMIN_TOKEN_HEADER, bearer_key, key_id
from mockserver.asgi.responses import JsonListResponse, error_response, json_response
from mockserver.control.faults import SpecError
from mockserver.errors import ApiError
from mockserver.journal import Exchange

if TYPE_CHECKING:
    from mockserver.state import AppState

Endpoint = Callable[[Request], Awaitable[Response]]
DEFAULT_PAGE = 100
"""Entries per page of ``GET /_mock/requests?after=ID`` without a ``limit``."""


def admin_routes(state: AppState) -> list[Route]:
    """The admin routes, at their full ``/_mock/...`` paths."""
    control = state.control

    def admin_token_given(request: Request) -> bool:
        expected = state.config.admin_token
        given = request.headers.get(ADMIN_TOKEN_HEADER, "")
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

    return [
        Route("/_mock/requests", guarded(requests, per_key=True), methods=["GET"]),
        Route("/_mock/script", guarded(get_script), methods=["GET"]),
        Route("/_mock/script", guarded(post_script), methods=["POST"]),
        Route("/_mock/reset", guarded(reset), methods=["POST"]),
        Route("/_mock/health", health, methods=["GET"]),
        Route("/_mock/config", guarded(config), methods=["GET"]),
    ]


def _number(query: QueryParams, name: str) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        message = f"Query parameter {name!r} must be a whole number, got {raw!r}."
        raise ApiError(400, message, param=name, code="invalid_value")
    return int(raw)

"""The application factory: ``create_app(config)`` builds the whole mock.

The layers, outside in: the wire layer (journal, faults on the wire), the
dispatcher (fixed paths without Starlette's router), Starlette's routes (one per
endpoint of each mounted dialect, the admin API, image files, the OpenAPI
document), and the pipeline each route runs. See ``docs/architecture.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from mockserver.app import openapi
from mockserver.app.admin import AdminApi
from mockserver.app.pipeline import make_route_handler
from mockserver.app.state import AppState
from mockserver.asgi.dispatch import Dispatcher
from mockserver.asgi.outgoing import OPENAI_VERSION, add_headers, error_response
from mockserver.asgi.wire import WireLayer
from mockserver.config import Config, ConfigError
from mockserver.dialects.dialect import Dialect
from mockserver.endpoints import GROUPS, endpoints_for, install
from mockserver.endpoints.engine import SpecTable
from mockserver.errors import ApiError

log = logging.getLogger("mockserver")


def dialect_routes(state: AppState, dialect: Dialect) -> list[BaseRoute]:
    unknown = sorted(dialect.endpoints - GROUPS)
    if unknown:
        raise ConfigError(f"dialect {dialect.name!r} lists unknown endpoint groups {unknown}; known: {sorted(GROUPS)}")
    endpoints = endpoints_for(dialect.endpoints)
    routes: list[BaseRoute] = [
        Route(endpoint.path, make_route_handler(state, dialect, endpoint), methods=[endpoint.method],
              name=endpoint.name)
        for endpoint in endpoints if endpoint.operation is None
    ]
    spec = [endpoint for endpoint in endpoints if endpoint.operation is not None]
    if spec:
        declared = [endpoint for endpoint in endpoints if endpoint.operation is None]
        routes.append(_spec_route(state, dialect, SpecTable(spec, declared)))
    return routes


def _spec_route(state: AppState, dialect: Dialect, table: SpecTable) -> SpecRoute:
    """The last route of a mount: the spec engine's operations, matched by :class:`SpecTable`."""
    handlers: dict[str, Callable[[Request], Awaitable[Response]]] = {}

    async def run(request: Request) -> Response:
        path = "/" + request.path_params["spec_path"]
        endpoint, params, allowed = table.match(request.method, path)
        if endpoint is None:
            headers = {"Allow": ", ".join(sorted(set(allowed)))} if allowed else None
            raise HTTPException(405 if allowed else 404, headers=headers)
        handler = handlers.get(endpoint.name)
        if handler is None:
            handler = handlers[endpoint.name] = make_route_handler(state, dialect, endpoint)
        request.scope["path_params"] = params
        return await handler(request)

    return SpecRoute(table, run)


class SpecRoute(Route):
    """The catch-all route of a mount's spec endpoints; ``table`` says which operations it answers."""

    def __init__(self, table: SpecTable, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        super().__init__("/{spec_path:path}", endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"], name="spec")
        self.table = table


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        error = ApiError(404, f"Invalid URL ({request.method} {request.url.path})", code="unknown_url")
    elif exc.status_code == 405:
        error = ApiError(
            405,
            f"Method {request.method} is not allowed for {request.url.path}.",
            code="method_not_allowed",
            headers=dict(exc.headers or {}),
        )
    else:
        error = ApiError(exc.status_code, str(exc.detail))
    return _with_provider_headers(request, error_response(error))


def _with_provider_headers(request: Request, response: Response) -> Response:
    """The headers every answer of the real API carries; the pipeline adds them to the endpoints' own answers,
    this to the router's (an unknown URL, a wrong method), so no answer of a dialect path lacks them."""
    identity = request.app.state.mock.identity
    request_id = identity.request_id(identity.salt(request.url.path.encode()))
    add_headers(response, {"openai-version": OPENAI_VERSION, "openai-processing-ms": "0", "x-request-id": request_id})
    return response


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(
        ApiError(500, f"The mock server had an internal error: {type(exc).__name__}. This is a mockserver bug; "
                 "please report it with the request.", type="server_error", code="internal_error")
    )


def create_app(config: Config | None = None) -> WireLayer:
    """Build the mock for ``config`` (defaults if None). ``app.state.mock`` is its :class:`AppState`,
    ``app.state.openapi.document`` the document it serves at ``/openapi.json``.

    The Starlette app is wrapped in the wire layer, which journals every
    request and carries out stream and socket faults.
    """
    state = AppState(config or Config())
    install(state)
    routes: list[BaseRoute] = [
        Mount(prefix, routes=dialect_routes(state, dialect)) for prefix, dialect in state.mounts()
    ]
    # The self-description is built from the same tables (on first use), so it cannot drift from the routes.
    described = openapi.OpenApiDocument(state)
    # Image URLs point to the root: public like a provider's signed CDN link, so no key is needed.
    routes[:0] = AdminApi(state, described.serve).routes()
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.state.mock = state
    app.state.openapi = described
    return WireLayer(Dispatcher(app), state.journal, state.control, state.config.seed)

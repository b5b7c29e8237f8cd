"""The application factory: ``create_app(config)`` builds the whole mock.

The layers, outside in: the wire layer (journal, faults on the wire), the dispatcher with the app's one route
table (every endpoint of each mounted dialect, the spec engine's operations, the admin API and the document),
and the pipeline each endpoint runs. See ``docs/architecture.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from mockserver.app import openapi
from mockserver.app.admin import AdminApi
from mockserver.app.pipeline import make_route_handler
from mockserver.app.sockets import make_socket_handler
from mockserver.app.state import AppState
from mockserver.asgi.dispatch import WEBSOCKET, Dispatcher, RouteTable
from mockserver.asgi.origin import OriginPolicy
from mockserver.asgi.outgoing import OPENAI_VERSION, OPENAI_WIRE, add_headers, error_response
from mockserver.asgi.wire import WireLayer
from mockserver.config import Config, ConfigError
from mockserver.dialects.dialect import Dialect
from mockserver.endpoints import GROUPS, endpoints_for, install, sockets_for
from mockserver.errors import ApiError

log = logging.getLogger("mockserver")


def add_dialect_routes(table: RouteTable, state: AppState, prefix: str, dialect: Dialect) -> None:
    """Every endpoint ``dialect`` serves, under ``prefix``, each running the pipeline."""
    unknown = sorted(dialect.endpoints - GROUPS)
    if unknown:
        raise ConfigError(f"dialect {dialect.name!r} lists unknown endpoint groups {unknown}; known: {sorted(GROUPS)}")
    for endpoint in endpoints_for(dialect.endpoints):
        table.add(endpoint.method, prefix + endpoint.path, make_route_handler(state, dialect, endpoint),
                  endpoint.name)
    for socket in sockets_for(dialect.endpoints):
        table.add(WEBSOCKET, prefix + socket.path, make_socket_handler(state, dialect, socket), socket.name)


def share_default_mount(table: RouteTable, state: AppState, dialect: Dialect) -> None:
    """The groups ``dialect`` also serves on the default mount (``/v1``), beside the default dialect's, as the
    provider's SDK expects with the base URL left at the mock's root; where the default dialect has the same
    route, the requests carrying ``dialect.divert_header`` are this dialect's."""
    for endpoint in endpoints_for(dialect.on_default_mount):
        handler = make_route_handler(state, dialect, endpoint)
        path = "/v1" + endpoint.path
        if dialect.divert_header is None:
            table.add(endpoint.method, path, handler, endpoint.name)
        else:
            table.divert(endpoint.method, path, dialect.divert_header, handler, endpoint.name)


def unrouted(state: AppState) -> Callable[[Request, tuple[str, ...]], Response]:
    """The answer to a path no route takes (404) or a method its path does not allow (405, with ``Allow``), in the
    provider's envelope with the headers every answer carries (a mount on another provider's wire, such as
    ``/anthropic/v1``, answers in that provider's)."""
    own_wires = [(prefix + "/", wire) for prefix, dialect in state.mounts() if dialect.name != state.config.dialect
                 for wire in {endpoint.wire for endpoint in endpoints_for(dialect.endpoints)}
                 if wire is not OPENAI_WIRE]

    def answer(request: Request, allowed: tuple[str, ...]) -> Response:
        if allowed == (WEBSOCKET,):  # a WebSocket endpoint asked over plain HTTP
            error = ApiError(426, f"{request.url.path} takes a WebSocket upgrade (the Realtime API): connect with "
                             "ws:// and Upgrade: websocket.", code="upgrade_required", headers={"Upgrade": "websocket"})
        elif allowed:
            error = ApiError(405, f"Method {request.method} is not allowed for {request.url.path}.",
                             code="method_not_allowed", headers={"Allow": ", ".join(allowed)})
        else:
            error = ApiError(404, f"Invalid URL ({request.method} {request.url.path})", code="unknown_url")
        wire = next((wire for prefix, wire in own_wires if request.url.path.startswith(prefix)), None)
        if wire is None:
            return _with_provider_headers(state, request, error_response(error))
        response = wire.error(error)
        request_id = state.identity.request_id(state.identity.salt(request.url.path.encode()))
        add_headers(response, {wire.request_id_header: request_id})
        return response

    return answer


def screen(state: AppState) -> Callable[[Request], Response | None]:
    """A 403 in the provider's envelope for a request a web page may have sent (see :mod:`mockserver.asgi.origin`):
    every plane, admin and data, answers its own origin only."""
    policy = OriginPolicy(state.config.host, state.config.allowed_host)

    def answer(request: Request) -> Response | None:
        refused = policy.refusal(request.scope)
        if refused is None:
            return None
        code, message = refused
        error = ApiError(403, message, type="invalid_request_error", code=code)
        return _with_provider_headers(state, request, error_response(error))

    return answer


def _with_provider_headers(state: AppState, request: Request, response: Response) -> Response:
    """The headers every answer of the real API carries; the pipeline adds them to the endpoints' own answers,
    this to the router's (an unknown URL, a wrong method), so no answer of a dialect path lacks them."""
    identity = state.identity
    request_id = identity.request_id(identity.salt(request.url.path.encode()))
    add_headers(response, {"openai-version": OPENAI_VERSION, "openai-processing-ms": "0", "x-request-id": request_id})
    return response


def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(
        ApiError(500, f"The mock server had an internal error: {type(exc).__name__}. This is a mockserver bug; "
                 "please report it with the request.", type="server_error", code="internal_error")
    )


def create_app(config: Config | None = None) -> WireLayer:
    """Build the mock for ``config`` (defaults if None). ``app.state.mock`` is its :class:`AppState`,
    ``app.state.openapi.document`` the document it serves at ``/openapi.json``.

    The dispatcher is wrapped in the wire layer, which journals every
    request and carries out stream and socket faults.
    """
    state = AppState(config or Config())
    install(state)
    table = RouteTable()
    # The self-description is built from the same tables (on first use), so it cannot drift from the routes.
    described = openapi.OpenApiDocument(state)
    # The admin API and the other root routes (image files: public like a provider's signed CDN link).
    for route in AdminApi(state, described.serve).routes():
        table.add(route.method, route.path, route.handler, route.name)
    for prefix, dialect in state.mounts():
        add_dialect_routes(table, state, prefix, dialect)
    for dialect in state.dialects.values():
        if dialect.on_default_mount and dialect.name != state.config.dialect:
            share_default_mount(table, state, dialect)
    origins = OriginPolicy(state.config.host, state.config.allowed_host)
    dispatcher = Dispatcher(table, unrouted(state), _server_error, screen(state),
                            origins.refuses_socket)
    dispatcher.state.mock = state
    dispatcher.state.openapi = described
    return WireLayer(dispatcher, state.journal, state.control, state.config.seed)

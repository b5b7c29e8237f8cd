"""The app's one route table, and the dispatcher that runs a request's handler straight from it.

Every route the mock answers (each endpoint of each mounted dialect, the spec engine's operations, the admin
API, the document) is one entry of :class:`RouteTable`, keyed by method and full path template
(``/v1/files/{file_id}``). A path without parameters is one dict lookup; the others are matched segment by
segment in a tree, where a literal segment wins over a parameter in its place (``GET /agents/sessions`` lists
sessions, it is not an agent called ``sessions``) and ``{name:path}`` takes the rest of the path. So every
request, chat or a spec operation, reaches its handler in the same few frames, and nothing else walks a list of
routes.

A path that matches nothing is the table's 404, a path that matches with another method its 405 (with
``Allow``); the dispatcher asks the app how to answer those (in the provider's envelope) and turns any
exception a handler lets out into the app's 500, then re-raises it so the server logs it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from mockserver.asgi.context import context_of

Handler = Callable[[Request], Awaitable[Response]]
SocketHandler = Callable[[WebSocket], Awaitable[None]]
WEBSOCKET = "WEBSOCKET"
"""The route table's method for a WebSocket upgrade (``GET`` with ``Upgrade: websocket``)."""
Screen = Callable[[Request], Response | None]
"""The answer to a request refused before routing (a foreign Host or Origin), or None to go on."""
Unrouted = Callable[[Request, tuple[str, ...]], Response]
"""The answer to a request no route takes: given the methods its path allows (none: an unknown path)."""
Failed = Callable[[Request, Exception], Response]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # the full path template: /v1/files/{file_id}, /v1/models/{model:path}
    handler: Any  # a Handler; for the WEBSOCKET method a SocketHandler
    name: str


@dataclass
class _Node:
    """The routes below one segment of a path template."""

    literal: dict[str, _Node] = field(default_factory=dict)
    parameter: _Node | None = None
    parameter_name: str = ""
    # ``{name}:suffix`` segments: the node below each suffix and the parameter's name there
    suffixed: dict[str, tuple[_Node, str]] = field(default_factory=dict)
    rest: dict[str, Route] = field(default_factory=dict)  # {name:path}: this segment and every one after it
    rest_name: str = ""
    routes: dict[str, Route] = field(default_factory=dict)  # by method, for paths that end here


class RouteTable:
    """Every route of the app by (method, path template)."""

    def __init__(self) -> None:
        self._exact: dict[str, dict[str, Route]] = {}
        self._tree = _Node()
        self._routes: list[Route] = []

    @property
    def routes(self) -> list[Route]:
        """Every route, in the order they were added."""
        return list(self._routes)

    def add(self, method: str, path: str, handler: Handler | SocketHandler, name: str) -> None:
        """Add a route; a second route for the same method and template is refused (the first would hide it)."""
        taken = self._slot(path)
        if method in taken:
            raise ValueError(f"{method} {path} is declared twice: {taken[method].name} and {name}")
        route = taken[method] = Route(method, path, handler, name)
        self._routes.append(route)

    def divert(self, method: str, path: str, header: str, handler: Handler, name: str) -> None:
        """Send the requests for ``method`` and ``path`` that carry ``header`` to ``handler``; the others keep
        the route already there (with none there, this one takes them all). Two APIs on one path, told apart
        as their SDKs tell them: ``GET /v1/models`` with ``anthropic-version`` is Anthropic's."""
        taken = self._slot(path)
        kept = taken.get(method)
        if kept is None:
            self.add(method, path, handler, name)
            return
        wanted = header.lower().encode("latin-1")
        otherwise = kept.handler

        async def either(request: Request) -> Response:
            carried = wanted in context_of(request.scope).headers
            return await (handler(request) if carried else otherwise(request))

        route = taken[method] = Route(method, path, either, f"{kept.name} | {name} (with {header})")
        self._routes[self._routes.index(kept)] = route

    def _slot(self, path: str) -> dict[str, Route]:
        """The routes by method of the path template ``path``, made on first use."""
        segments = path.strip("/").split("/")
        if not any(segment.startswith("{") for segment in segments):
            return self._exact.setdefault(path, {})
        node = self._tree
        for position, segment in enumerate(segments):
            if segment.endswith(":path}"):
                if position != len(segments) - 1:
                    raise ValueError(f"{path}: a {{name:path}} parameter must be the last segment")
                node.rest_name = segment[1:].split(":")[0]
                return node.rest
            if segment.startswith("{") and not segment.endswith("}"):
                name_of, suffix = segment[1:].split("}", 1)
                below = node.suffixed.get(suffix)
                if below is None:
                    below = node.suffixed[suffix] = (_Node(), name_of)
                node = below[0]
            elif segment.startswith("{"):
                name_of = segment[1:-1].split(":")[0]
                if node.parameter is None:
                    node.parameter, node.parameter_name = _Node(), name_of
                elif node.parameter_name != name_of:
                    raise ValueError(f"{path}: parameter {name_of!r} where another route names it "
                                     f"{node.parameter_name!r}")
                node = node.parameter
            else:
                child = node.literal.get(segment)
                if child is None:
                    child = node.literal[segment] = _Node()
                node = child
        return node.routes

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], tuple[str, ...]]:
        """The route for ``method`` and ``path`` and its path parameters; else None and the methods the path
        allows (empty: no route has this path). ``HEAD`` is answered by a ``GET`` route."""
        exact = self._exact.get(path)
        if exact is not None:
            route = exact.get(method) or (exact.get("GET") if method == "HEAD" else None)
            if route is not None:
                return route, {}, ()
        allowed: list[str] = list(exact or ())
        segments = path.strip("/").split("/")
        params: dict[str, str] = {}
        route = _find(self._tree, segments, 0, method, params, allowed)
        if route is not None:
            return route, params, ()
        return None, {}, tuple(sorted(set(allowed)))


def _find(node: _Node, segments: list[str], position: int, method: str, params: dict[str, str],
          allowed: list[str]) -> Route | None:
    """Depth first, a literal segment before a parameter before the rest of the path; ``allowed`` collects the
    methods of every route whose template the path matches."""
    if position == len(segments):
        return _pick(node.routes, method, allowed)
    segment = segments[position]
    child = node.literal.get(segment)
    if child is not None:
        found = _find(child, segments, position + 1, method, params, allowed)
        if found is not None:
            return found
    for suffix, (below, name) in node.suffixed.items():
        if len(segment) > len(suffix) and segment.endswith(suffix):
            found = _find(below, segments, position + 1, method, params, allowed)
            if found is not None:
                params[name] = segment[: -len(suffix)]
                return found
    if node.parameter is not None and segment:
        found = _find(node.parameter, segments, position + 1, method, params, allowed)
        if found is not None:
            params[node.parameter_name] = segment
            return found
    if node.rest:
        rest = "/".join(segments[position:])
        if rest:
            route = _pick(node.rest, method, allowed)
            if route is not None:
                params[node.rest_name] = rest
                return route
    return None


def _pick(routes: dict[str, Route], method: str, allowed: list[str]) -> Route | None:
    route = routes.get(method) or (routes.get("GET") if method == "HEAD" else None)
    if route is None:
        allowed.extend(routes)
    return route


class Dispatcher:
    """The ASGI app under the wire layer: the route table's handler for each request, nothing in between.

    ``state`` holds what the app exposes to its users (``state.mock``: the ``AppState``; ``state.openapi``).
    """

    def __init__(self, table: RouteTable, unrouted: Unrouted, failed: Failed, screen: Screen,
                 refuses_socket: Callable[[Scope], bool] = lambda scope: False) -> None:
        self.table = table
        self.state = State()
        self._unrouted = unrouted
        self._failed = failed
        self._screen = screen
        self._refuses_socket = refuses_socket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._socket(scope, receive, send)
            return
        if scope["type"] != "http":  # no lifespan
            return
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):  # behind a proxy that mounts the mock under a prefix
            path = path[len(root):] or "/"
        route, params, allowed = self.table.match(scope["method"], path)
        scope["path_params"] = params
        scope["app"] = self  # request.app: what in-process requests are sent to (and what Starlette's form
        # parser needs to answer a malformed multipart body with a 400)
        request = Request(scope, receive, send)
        refused = self._screen(request)
        if refused is not None:
            response = refused
        elif route is None:
            response = self._unrouted(request, allowed)
        else:
            try:
                response = await route.handler(request)
            except Exception as error:
                # Nothing is sent before the handler returns its response, so the 500 can always go out.
                await self._failed(request, error)(scope, receive, send)
                raise
        await response(scope, receive, send)


    async def _socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A WebSocket upgrade: its route's session, or (no route, or a foreign page's origin) the handshake
        refused with a 403."""
        route, params, _ = self.table.match(WEBSOCKET, scope["path"])
        scope["path_params"] = params
        scope["app"] = self
        websocket = WebSocket(scope, receive, send)
        if route is None or self._refuses_socket(scope):
            await websocket.close(1008)
            return
        await route.handler(websocket)


__all__ = ["WEBSOCKET", "Dispatcher", "Handler", "Route", "RouteTable", "SocketHandler"]

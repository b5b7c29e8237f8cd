"""Requests for a fixed path go straight to their endpoint; the rest through Starlette.

Starlette's stack costs about 25 µs a request before the endpoint runs
(two exception middlewares, the router trying every Mount's regex, the
route's own exception wrapper, a closure per layer around every ``send``):
as much as generating a whole chat completion. Nearly all traffic is
``POST …/chat/completions``, a path without parameters, so a dict from
(path, method) to endpoint, built once from the app's own routes, serves it
directly.

Only the pairs for which Starlette's own matching picks that very route are
indexed, so routing cannot differ. Everything else (paths with parameters,
unknown paths, 405s) goes through Starlette unchanged. Exceptions are
answered as Starlette's middleware would: ``HTTPException`` by the app's
handler for it, anything else by the ``Exception`` handler (a 500), then
re-raised so the server logs it.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


class Dispatcher:
    """The Starlette app, with its parameter-free routes looked up in a dict instead of walked."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.endpoints = index_routes(app.routes)
        self._http_error = app.exception_handlers[HTTPException]
        self._server_error = app.exception_handlers[Exception]

    @property
    def state(self) -> State:
        return self.app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = None
        if scope["type"] == "http" and not scope.get("root_path"):  # the index is of paths under no root path
            endpoint = self.endpoints.get((scope["path"], scope["method"]))
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        # What Starlette and its router would have put in the scope (request.app, request.url_for).
        scope["app"] = self.app
        scope["router"] = self.app.router
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except HTTPException as error:
            response = await self._http_error(request, error)
        except Exception as error:
            # Nothing is sent before the endpoint returns its response, so the 500 can always go out.
            await (await self._server_error(request, error))(scope, receive, send)
            raise
        await response(scope, receive, send)


def index_routes(routes: list[BaseRoute]) -> dict[tuple[str, str], Endpoint]:
    """(path, method) → endpoint for every parameter-free route Starlette itself would pick for them."""
    index: dict[tuple[str, str], Endpoint] = {}
    for path, route in _flatten(routes, ""):
        if route.param_convertors or not inspect.iscoroutinefunction(route.endpoint):
            continue
        for method in route.methods or ():
            if _starlette_route(routes, {"type": "http", "path": path, "root_path": "", "method": method}) is route:
                index.setdefault((path, method), route.endpoint)
    return index


def _flatten(routes: list[BaseRoute], prefix: str) -> list[tuple[str, Route]]:
    found: list[tuple[str, Route]] = []
    for route in routes:
        if isinstance(route, Mount):
            found += _flatten(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            found.append((prefix + route.path, route))
    return found


def _starlette_route(routes: list[BaseRoute], scope: dict[str, Any]) -> BaseRoute | None:
    """The route Starlette's router hands a request to (first full match, into mounts), or None."""
    for route in routes:
        match, child_scope = route.matches(scope)
        if match is Match.FULL:
            if isinstance(route, Mount):
                return _starlette_route(route.routes, {**scope, **child_scope})
            return route
    return None

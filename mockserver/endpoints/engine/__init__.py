"""The spec engine: OpenAI's spec as a library every family may answer its operations with, and the fallback
that answers the operations no family declares.

The library (:mod:`.operations`: the vendored index of operations; :mod:`.schemas`: their validators and shapes;
:mod:`.request`: one read, checked, seeded :class:`~.request.SpecRequest`; :mod:`.handler`: what each kind of
operation does; :mod:`.lifecycle`: long-running resources) is driven by one :class:`Engine`, built from the
families' lifecycles. A family that knows what an operation means declares it with :meth:`Engine.declare` and a
*responder*; every other operation of the spec is a fallback endpoint (:meth:`Engine.fallback`) for a dialect
that lists the ``spec`` group (``fixtures/dialects.yaml``). All of them run through the same pipeline as every
other endpoint (keys, control plane, faults, journal, rate limits).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from mockserver.control.decision import Decision
from mockserver.endpoints.base import Call, Endpoint
from mockserver.endpoints.engine import handler
from mockserver.endpoints.engine.lifecycle import Lifecycle, Lifecycles
from mockserver.endpoints.engine.operations import JSON, MULTIPART, Operation, load_operations
from mockserver.endpoints.engine.request import Responder

if TYPE_CHECKING:
    from mockserver.app.state import AppState

SPEC_GROUP = "spec"
_CONVERTER = re.compile(r"\{(\w+):\w+\}")


class Engine:
    """The engine of one set of families: their lifecycles, and the endpoints it answers for them."""

    def __init__(self, lifecycles: Iterable[Lifecycle]) -> None:
        self.lifecycles = Lifecycles(list(lifecycles))
        self._fallbacks: dict[frozenset[tuple[str, str]], tuple[Endpoint, ...]] = {}

    async def handle(self, state: AppState, call: Call, body: Any, decision: Decision) -> Response:
        return await handler.handle(self.lifecycles, state, call, body, decision)

    def declare(self, family: str, responders: Mapping[str, Responder]) -> tuple[Endpoint, ...]:
        """The endpoints of the operations (by operation id) a family answers with its own ``responders``."""
        operations = {operation.id: operation for operation in load_operations()}
        return tuple(self._endpoint(operations[operation_id], f"{family}.{operation_id}", responder)
                     for operation_id, responder in responders.items())

    def fallback(self, declared: Iterable[Endpoint]) -> tuple[Endpoint, ...]:
        """An endpoint for every operation of the spec that no endpoint of ``declared`` serves."""
        taken = frozenset((endpoint.method, _CONVERTER.sub(r"{\1}", endpoint.path)) for endpoint in declared)
        found = self._fallbacks.get(taken)
        if found is None:
            found = self._fallbacks[taken] = tuple(
                self._endpoint(operation, f"{SPEC_GROUP}.{operation.id}") for operation in load_operations()
                if (operation.method, operation.path) not in taken
            )
        return found

    def _endpoint(self, operation: Operation, name: str, responder: Responder | None = None) -> Endpoint:
        # A JSON-only body goes through the pipeline's parser; one that may be multipart is read by the engine.
        json_only = operation.json_request is not None and MULTIPART not in operation.request
        return Endpoint(
            name=name,
            group=SPEC_GROUP,
            method=operation.method,
            path=operation.path,
            handler=self.handle,
            response="",
            generation=operation.method == "POST",
            reads_body=json_only,
            operation=operation,
            responder=responder,
        )


class SpecTable:
    """Which spec endpoint a method and path name, without a Starlette route per operation.

    Hundreds of routes per mount would double an app's start-up; the spec's endpoints are matched here,
    behind one catch-all route per mount, by their paths' own patterns (compiled once per process).
    """

    def __init__(self, endpoints: Iterable[Endpoint], others: Iterable[Endpoint] = ()) -> None:
        """``others``: the mount's own routes, whose methods a wrong-method request to their path is told."""
        self.endpoints = list(endpoints)
        self._by_depth: dict[int, list[Endpoint]] = {}
        # A literal segment wins over a parameter in its place: GET /agents/sessions lists sessions, and is
        # not GET /agents/{agent_id} for an agent called "sessions".
        for endpoint in sorted(self.endpoints, key=_specificity):
            assert endpoint.operation is not None
            self._by_depth.setdefault(endpoint.path.count("/"), []).append(endpoint)
        self._others = [(_route_pattern(other.path), other.method) for other in others]

    def match(self, method: str, path: str) -> tuple[Endpoint | None, dict[str, str], list[str]]:
        """The endpoint for ``method`` and ``path`` with its path parameters; else None, and the methods
        the path allows (empty: no operation has this path)."""
        allowed = []
        for endpoint in self._by_depth.get(path.count("/"), ()):
            assert endpoint.operation is not None
            found = endpoint.operation.pattern.match(path)
            if found is None:
                continue
            if endpoint.method == method or (method == "HEAD" and endpoint.method == "GET"):
                return endpoint, found.groupdict(), []
            allowed.append(endpoint.method)
        allowed += [method for pattern, method in self._others if pattern.match(path)]
        return None, {}, allowed


def _specificity(endpoint: Endpoint) -> tuple[bool, ...]:
    return tuple(segment.startswith("{") for segment in endpoint.path.strip("/").split("/"))


def _route_pattern(path: str) -> re.Pattern[str]:
    """A Starlette route path (``/models/{model:path}``) as a pattern of the paths it takes."""
    pattern = re.sub(r"\{\w+:path\}", ".+", path)
    return re.compile("^" + re.sub(r"\{\w+\}", "[^/]+", pattern) + "$")


__all__ = ["JSON", "SPEC_GROUP", "Engine", "SpecTable"]

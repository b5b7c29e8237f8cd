"""The spec engine's endpoints: one per operation of OpenAI's spec that no hand-written endpoint declares.

A dialect serves them by listing the ``spec`` group (``fixtures/dialects.yaml``); they
run through the same pipeline as every other endpoint (keys, control plane, faults,
journal, rate limits). See :mod:`mockserver.endpoints.spec.engine` for what each kind
of operation does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING

from mockserver.endpoints.base import Endpoint
from mockserver.endpoints.spec import engine
from mockserver.endpoints.spec.lifecycles.fine_tuning import fine_tuned_models
from mockserver.endpoints.spec.operations import JSON, MULTIPART, Operation, load_operations

if TYPE_CHECKING:
    from mockserver.app.state import AppState

SPEC_GROUP = "spec"
_CONVERTER = re.compile(r"\{(\w+):\w+\}")


@cache
def _endpoints(hand_written: frozenset[tuple[str, str]]) -> tuple[Endpoint, ...]:
    return tuple(
        _endpoint(operation) for operation in load_operations()
        if (operation.method, operation.path) not in hand_written
    )


def install(state: AppState) -> None:
    """What the spec engine's families give the shared services: the models fine-tuning jobs make."""
    state.models.add_source(SPEC_GROUP, lambda: fine_tuned_models(state))


def spec_endpoints(hand_written: Iterable[Endpoint]) -> tuple[Endpoint, ...]:
    """An endpoint for every operation of the spec but those ``hand_written`` already serve."""
    return _endpoints(frozenset((endpoint.method, _CONVERTER.sub(r"{\1}", endpoint.path)) for endpoint in hand_written))


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


def _endpoint(operation: Operation) -> Endpoint:
    # A JSON-only body goes through the pipeline's parser; one that may be multipart is read by the engine.
    json_only = operation.json_request is not None and MULTIPART not in operation.request
    return Endpoint(
        name=f"spec.{operation.id}",
        group=SPEC_GROUP,
        method=operation.method,
        path=operation.path,
        handler=engine.handle,
        response="",
        generation=operation.method == "POST",
        reads_body=json_only,
        operation=operation,
    )


__all__ = ["JSON", "SPEC_GROUP", "SpecTable", "install", "spec_endpoints"]

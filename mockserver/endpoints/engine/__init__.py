"""The spec engine: the vendored API documents (OpenAI's spec; Anthropic's operations from its SDK) as a library
every family may answer its operations with, and the fallback that answers the operations no family declares.

The library (:mod:`.operations`: the vendored index of operations; :mod:`.schemas`: their validators and shapes;
:mod:`.request`: one read, checked, seeded :class:`~.request.SpecRequest`; :mod:`.handler`: what each kind of
operation does; :mod:`.lifecycle`: long-running resources) is driven by one :class:`Engine`, built from the
families' lifecycles. A family that knows what an operation means declares it with :meth:`Engine.declare` and a
*responder*; every other operation of an API's document is a fallback endpoint (:meth:`Engine.fallback`) for a
dialect that lists that API's group (``spec`` for OpenAI's, ``anthropic_api`` for Anthropic's, in
``fixtures/dialects.yaml``), answered on the wire the family of that API gives the engine. All of them run
through the same pipeline as every other endpoint (keys, control plane, faults, journal, rate limits).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import partial

from mockserver.asgi.outgoing import OPENAI_WIRE, Wire
from mockserver.endpoints.base import Endpoint
from mockserver.endpoints.engine import handler
from mockserver.endpoints.engine.lifecycle import Lifecycle, Lifecycles
from mockserver.endpoints.engine.operations import ANTHROPIC, JSON, MULTIPART, OPENAI, Operation, load_operations
from mockserver.endpoints.engine.request import Responder

SPEC_GROUP = "spec"
ANTHROPIC_GROUP = "anthropic_api"
API_GROUPS = {SPEC_GROUP: OPENAI, ANTHROPIC_GROUP: ANTHROPIC}
"""The group whose dialects the fallback serves each API's operations to."""

_CONVERTER = re.compile(r"\{(\w+):\w+\}")


class Engine:
    """The engine of one set of families: their lifecycles, and the endpoints it answers for them."""

    def __init__(self, lifecycles: Iterable[Lifecycle], wires: Mapping[str, Wire]) -> None:
        self.lifecycles = Lifecycles(list(lifecycles))
        self.wires = {OPENAI: OPENAI_WIRE, **wires}  # the wire each API answers on
        self._fallbacks: dict[tuple[str, frozenset[tuple[str, str]]], tuple[Endpoint, ...]] = {}

    def declare(self, family: str, responders: Mapping[str, Responder]) -> tuple[Endpoint, ...]:
        """The endpoints of the operations (by operation id) a family answers with its own ``responders``."""
        operations = {operation.id: operation for operation in load_operations()}
        return tuple(self._endpoint(operations[operation_id], f"{family}.{operation_id}", responder)
                     for operation_id, responder in responders.items())

    def fallback(self, group: str, declared: Iterable[Endpoint]) -> tuple[Endpoint, ...]:
        """An endpoint for every operation of the API of ``group`` that no endpoint of ``declared`` serves."""
        taken = frozenset((endpoint.method, _CONVERTER.sub(r"{\1}", endpoint.path)) for endpoint in declared)
        found = self._fallbacks.get((group, taken))
        if found is None:
            found = self._fallbacks[group, taken] = tuple(
                self._endpoint(operation, f"{group}.{operation.id}") for operation in load_operations(API_GROUPS[group])
                if (operation.method, operation.path) not in taken
            )
        return found

    def _endpoint(self, operation: Operation, name: str, responder: Responder | None = None) -> Endpoint:
        # A JSON-only body goes through the pipeline's parser; one that may be multipart is read by the engine.
        json_only = operation.json_request is not None and MULTIPART not in operation.request
        return Endpoint(
            name=name,
            group=next(group for group, api in API_GROUPS.items() if api == operation.api),
            method=operation.method,
            path=operation.path,
            handler=partial(handler.handle, self.lifecycles),
            response="",
            generation=operation.method == "POST",
            reads_body=json_only,
            operation=operation,
            responder=responder,
            # A JSON body is checked by the pipeline before decide, so a refused request uses up no script.
            validate=partial(handler.validate_body, operation) if json_only else None,
            wire=self.wires[operation.api],
        )


__all__ = ["ANTHROPIC_GROUP", "API_GROUPS", "JSON", "SPEC_GROUP", "Engine"]

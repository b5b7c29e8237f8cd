"""One request to a spec operation, read and checked: what the engine and its responders work from."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from starlette.responses import Response

from mockserver.control.decision import Decision
from mockserver.endpoints.base import Call
from mockserver.endpoints.engine.operations import Operation
from mockserver.endpoints.forms import Upload

if TYPE_CHECKING:
    from mockserver.app.state import AppState


class Lives(Protocol):
    """What a responder may ask of the engine's lifecycles (:class:`~.lifecycle.Lifecycles`)."""

    async def begin(self, request: SpecRequest, template: str, collection: str, answer: dict[str, Any]) -> None: ...

    async def current(self, request: SpecRequest, template: str, collection: str,
                      resource: dict[str, Any]) -> dict[str, Any]: ...


@dataclass
class SpecRequest:
    state: AppState
    call: Call
    decision: Decision
    operation: Operation
    body: dict[str, Any]  # the JSON body or the form's fields (a file field holds its filename)
    uploads: dict[str, list[Upload]]
    params: dict[str, str]  # the path parameters
    seed: bytes  # the request's digest: the operation, its path parameters, its body and the server's seed
    lifecycles: Lives  # the long-running resources' lifecycles, by collection

    @property
    def strict(self) -> bool:
        return self.state.checks.provider_rules

    def upload(self, name: str) -> Upload | None:
        found = self.uploads.get(name)
        return found[0] if found else None


Responder = Callable[[SpecRequest], Awaitable[Response | None]]
"""An operation whose whole answer is made by code that knows what it means (speech, transcriptions,
legacy completions), rather than generated from its schema and shaped; None leaves this request to the
engine (``GET /responses/{id}`` answers a stream itself, and its JSON through the engine)."""

"""An endpoint, declared once, and one call to it.

An :class:`Endpoint` says everything the app needs to know about an operation:
where it is mounted (``path``, ``method``), which dialects serve it (``group``,
named in ``fixtures/dialects.yaml``), how its body is checked (``schema``), what
it answers (``response``, ``stream``: component names of the OpenAPI document)
and the handler that generates the answer. The route table, the OpenAPI document
and what each dialect documents are all derived from these declarations
(:data:`mockserver.endpoints.ENDPOINTS`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from mockserver.asgi.context import FailureFrames, RequestContext
from mockserver.asgi.outgoing import OPENAI_WIRE, SSE_MEDIA_TYPE, Wire
from mockserver.control.decision import Decision
from mockserver.dialects.dialect import Dialect

if TYPE_CHECKING:
    from mockserver.app.state import AppState
    from mockserver.endpoints.engine.operations import Operation


@dataclass
class Call:
    """One request to one endpoint of one dialect, as the handler sees it."""

    request: Request
    dialect: Dialect
    endpoint: Endpoint
    context: RequestContext
    started: float  # time.perf_counter() when the pipeline took the request
    # What the handler tells the journal, through the pipeline's outcome: a body it read itself (a form), the
    # tokens its answer cost, how its stream fails on an error_event fault.
    read_body: Any = None
    tokens: tuple[int, int] | None = None
    failure_frames: FailureFrames | None = None

    @property
    def api_key(self) -> str:
        return self.context.api_key

    @property
    def attempt(self) -> int:
        return self.context.attempt

    @property
    def test_id(self) -> str | None:
        return self.context.test_id

    @property
    def origin(self) -> str:
        """Where the request came to (scheme, host, root path): URLs the answer gives point back there."""
        return str(self.request.base_url).rstrip("/")

    def report_usage(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.tokens = (prompt_tokens, completion_tokens)

    def header(self, name: str) -> str | None:
        return self.context.header(name)


Handler = Callable[["AppState", Call, Any, Decision], Awaitable[Response]]


@dataclass(frozen=True)
class Stream:
    """What a streamed answer's events carry, for the OpenAPI document."""

    data: tuple[str, ...]  # component names the ``data:`` JSON is one of (each line's, for JSON lines)
    events: tuple[str, ...] | None = None  # the ``event:`` names, for APIs that send them
    media_type: str = SSE_MEDIA_TYPE  # or JSON lines (Ollama's application/x-ndjson)


@dataclass(frozen=True)
class Endpoint:
    """One operation: its place, its contract and its handler."""

    name: str
    group: str
    method: str
    path: str
    handler: Handler
    response: str  # the component of the 200 JSON body (of each line, for a ``media_type`` of JSON lines); "": none
    stream: Stream | None = None
    schema: str | None = None  # the request schema kind the body is validated with (schemas/requests)
    form: str | None = None  # a multipart body: the form schema kind
    request_component: str | None = None  # a JSON body described by a mock component (schemas/mock)
    # A body documented as another request schema (``derived_from``), rewritten by ``derive_body`` in place.
    derived_from: str | None = None
    derive_body: Callable[[dict[str, Any]], None] | None = None
    query: tuple[dict[str, Any], ...] = ()
    generation: bool = False
    reads_body: bool = True
    # A check of the parsed JSON body beyond ``schema`` (the spec engine's official schemas), run before decide.
    validate: Callable[[Any], None] | None = None
    wire: Wire = OPENAI_WIRE  # the provider's error envelope and common headers, which the pipeline answers in
    # With --validation off, the least the handler needs of a body nobody checked (the pipeline applies it).
    lenient: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    operation: Operation | None = None  # the spec's operation, for the endpoints the spec engine answers
    # For an operation a family answers through the engine: the code that knows what it means (a SpecRequest in,
    # the response out, or None to leave the request to the engine's generic answer).
    responder: Callable[[Any], Awaitable[Response | None]] | None = None
    media_type: str | None = None  # the 200's media type when it is not JSON (JSON lines: application/x-jsonl)
    # The chat completions request a body of another API stands for (Anthropic's messages as chat's), where what
    # reads bodies as chat needs it (a replayed answer's recounted usage); None: the body is chat's already.
    chat_view: Callable[[dict[str, Any]], dict[str, Any]] | None = None

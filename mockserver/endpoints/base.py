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
from starlette.websockets import WebSocket

from mockserver.asgi.context import FailureFrames, RequestContext
from mockserver.asgi.outgoing import OPENAI_WIRE, SSE_MEDIA_TYPE, Wire
from mockserver.constructors import fast_constructor
from mockserver.control.decision import Decision
from mockserver.dialects.dialect import Dialect
from mockserver.errors import ApiError

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


new_call = fast_constructor(Call)
"""``Call(...)`` for the pipeline's every request (see :mod:`mockserver.constructors`)."""

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


MAX_JOURNALED_EVENTS = 256
MAX_JOURNALED_EVENT_BYTES = 1024 * 1024
"""A socket session's client events the journal keeps: the first 256 while they come to 1 MiB (past that, only
each one's ``type``); the count is kept past them."""


@dataclass
class SocketCall:
    """One WebSocket session with one socket endpoint of one dialect, as its handler sees it: the socket is accepted
    (or refused) by the app, which also asks the control plane for each turn (:attr:`decide`)."""

    websocket: WebSocket
    dialect: Dialect
    socket: Socket
    context: RequestContext
    # Asks the control plane about one turn (its chat body): scripts, fixture rules, chaos, the rate limiter.
    decide: Callable[[dict[str, Any]], Awaitable[Decision]]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    client_events: list[Any] | None = None  # what the client sent, for the journal (see MAX_JOURNALED_EVENTS)
    events_received: int = 0
    journaled_bytes: int = 0
    decided_by: str | None = None  # what decided the last turn, for the journal
    model: str | None = None  # the session's model, for the journal
    granted: dict[str, Any] | None = None  # what the session's key carries (an ephemeral secret's settings)

    def report_usage(self, prompt_tokens: int, completion_tokens: int) -> None:
        """Add one turn's tokens to the session's."""
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens

    def received(self, event: Any, size: int) -> None:
        """Count a client event (``size`` bytes of JSON) and keep it for the journal while there is room."""
        self.events_received += 1
        if self.client_events is None:
            self.client_events = []
        if len(self.client_events) >= MAX_JOURNALED_EVENTS:
            return
        self.journaled_bytes += size
        if self.journaled_bytes <= MAX_JOURNALED_EVENT_BYTES:
            self.client_events.append(event)
        else:
            self.client_events.append({"type": event.get("type") if isinstance(event, dict) else None,
                                       "journaled": f"{size} bytes, past the journal's {MAX_JOURNALED_EVENT_BYTES}"})

    def header(self, name: str) -> str | None:
        return self.context.header(name)


SocketHandler = Callable[["AppState", SocketCall], Awaitable[None]]
Refusal = Callable[[ApiError], tuple[int, str]]
"""A refused session's WebSocket close code and reason, for an error in the family's terms."""


@dataclass(frozen=True)
class Socket:
    """One WebSocket operation (the Realtime API's ``/realtime``): its place and the handler that runs a session.
    The route table serves it to upgrade requests on each mount of a dialect that lists its group."""

    name: str
    group: str
    path: str
    handler: SocketHandler
    # A key of the family's own making the session takes whatever --api-key says (an ephemeral secret), and the
    # settings it carries; None for any other key.
    accepts_key: Callable[[AppState, str], dict[str, Any] | None] | None = None

"""What travels in the ASGI scope, and the header names the mock reads.

The wire layer (the outermost layer) opens one :class:`RequestContext` per
request and puts it under ``scope[CONTEXT_KEY]``; the pipeline fills in what it
learns (dialect, endpoint, the faults the control plane chose), the control
plane decides on it, and the wire layer carries the faults out. Nothing else is
put in the scope, except the connection's transport, which the uvicorn hook
sets for the whole connection (``TRANSPORT_KEY``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from mockserver.config import whole_number
from mockserver.constructors import fast_constructor

if TYPE_CHECKING:
    from mockserver.control.faults import Fault

CONTEXT_KEY = "mockserver"
TRANSPORT_KEY = "mockserver.transport"
ENDLESS_KEY = "mockserver.endless"  # in the scope of a response that never ends by itself (the sandbox's live feed)
# In an http.response.body message: how many stream chunks (SSE frames) the body holds, when more than one.
FRAMES_KEY = "mockserver.frames"

AUTHORIZATION_HEADER = b"authorization"
TEST_ID_HEADER = b"x-mock-test-id"
RETRY_COUNT_HEADER = b"x-stainless-retry-count"
ADMIN_TOKEN_HEADER = "x-mock-admin-token"
ADMIN_PREFIX = "/_mock/"
METRICS_PATH = "/metrics"  # journaled as admin too: a scrape is not a request the mock answered for a client


class Outcome(NamedTuple):
    """What the pipeline made of a request, as one value: which endpoint took it, the body as it read it, what
    decided the answer, how it failed, what it cost. The wire layer completes the journal entry from it. (A named
    tuple: as immutable as a frozen dataclass, made in a third of the time, once a request.)"""

    dialect: str
    endpoint: str
    key_id: str | None
    body: Any = None  # the parsed JSON body, or the fields of a form
    decided_by: str | None = None
    faults: tuple[str, ...] = ()
    error_code: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    # How this stream fails when an ``error_event`` fault fires: the frames for (message, type, code) at event
    # number N. None: a chat stream's ``data: {"error": ...}``. The Responses API sets its own.
    failure_frames: FailureFrames | None = None
    keep_alive: bytes | None = None  # the frame the wire layer sends while a stream waits (the family's wire's)


FailureFrames = Callable[[str, str, str | None, int], bytes]
new_outcome = fast_constructor(Outcome)
"""``Outcome(...)`` for the pipeline's outcome of every request (see :mod:`mockserver.constructors`)."""


@dataclass(slots=True)
class RequestContext:
    """One request as every layer sees it; created by the wire layer, completed by the control plane's decision
    (the attempt, the faults) and read-only after it; the pipeline's :class:`Outcome` goes beside it."""

    path: str
    raw_headers: list[tuple[bytes, bytes]]
    api_key: str  # the Bearer key of the Authorization header, "" without one
    # The request's headers by (lower-case) name, the first of each name (as Starlette's ``headers.get`` has
    # them): one dict per request instead of a scan of the header list for every lookup.
    headers: dict[bytes, bytes]
    test_id: str | None = None
    # The SDK's retry count (``x-stainless-retry-count``), parsed once; 0 for a first attempt. Without the header
    # the control plane counts repeats of the same request instead (``retry_header`` False).
    attempt: int = 0
    retry_header: bool = False
    # How the attempt was known: "header" (x-stainless-retry-count), "repeat" (the same request again within
    # --retry-window), None when neither applied (nothing that could fault on a retry was in play).
    attempt_from: str | None = None
    repeat: bytes | None = None  # the digest repeats are counted by, when they were (see control/repeats.py)
    dialect: str | None = None
    endpoint: str | None = None
    generation: bool = False
    faults: list[Fault] = field(default_factory=list)
    # The JSON body as it arrived: its size, and its start when it is too large to journal whole.
    body_bytes: int = 0
    body_preview: bytes | None = None
    # The JSON body as read (below the journal's size for whole bodies) and what it parsed to: the journal keeps
    # the bytes when the pipeline journals that very body.
    raw_body: bytes | None = None
    parsed_body: Any = None
    # The client left before the request was read whole: nothing is sent, the journal says so.
    client_gone: bool = False
    # Made by the mock itself (a batch line): not counted by the rate limiter, as the real API's batches are not.
    internal: bool = False
    outcome: Outcome | None = None  # set once by the pipeline when its answer is ready

    @classmethod
    def from_scope(cls, scope: Any) -> RequestContext:
        headers = dict(reversed(scope["headers"]))
        test_id = headers.get(TEST_ID_HEADER)
        retries = headers.get(RETRY_COUNT_HEADER)
        return _new_context(
            path=scope["path"],
            raw_headers=scope["headers"],
            api_key=bearer_key(headers.get(AUTHORIZATION_HEADER, b"").decode("latin-1")),
            headers=headers,
            test_id=None if test_id is None else test_id.decode("latin-1"),
            attempt=0 if retries is None else retry_count(retries),
            retry_header=retries is not None,
        )

    def header(self, name: str) -> str | None:
        value = self.headers.get(name.lower().encode("latin-1"))
        return None if value is None else value.decode("latin-1")


_new_context = fast_constructor(RequestContext)


def context_of(scope: Any) -> RequestContext:
    """The request's context; one made on the spot when the app runs without the wire layer around it."""
    context: RequestContext | None = scope.get(CONTEXT_KEY)
    if context is None:
        context = scope[CONTEXT_KEY] = RequestContext.from_scope(scope)
    return context


def retry_count(raw: bytes | str) -> int:
    return whole_number(raw) or 0


def bearer_key(authorization: str) -> str:
    """The key of an ``Authorization: Bearer <key>`` header value, or ""."""
    scheme, _, key = authorization.partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


@lru_cache(maxsize=256)
def key_id(api_key: str) -> str | None:
    """A short, stable, non-reversible label for an API key (the journal never holds keys).

    Cached: a server sees a handful of keys, each on every request.
    """
    return "key_" + hashlib.sha256(api_key.encode()).hexdigest()[:12] if api_key else None

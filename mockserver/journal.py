"""The request journal: what every request was, what decided it, how it ended.

An :class:`Exchange` is created by the outermost ASGI layer when a request
arrives, filled in by the pipeline as it parses and decides, and appended to
the bounded :class:`Journal` when the response is finished (or cut). Tests and
the admin API read the journal to assert on what the client really did.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple, Protocol
from urllib.parse import unquote_plus

import orjson

from mockserver.config import INT64
from mockserver.constructors import fast_constructor
from mockserver.messages import model_in_path

# A body above this many bytes is journaled as its first JOURNAL_BODY_BYTES, with its full size (as aimock does).
JOURNAL_BODY_BYTES = 64 * 1024
# What an entry costs besides its body and its headers (fields, the objects around them), for the byte bound.
ENTRY_OVERHEAD_BYTES = 2048
MAX_LABEL_CHARS = 256
"""The longest model name an entry keeps (a client may send megabytes of one); the body keeps the rest."""
CAPTURE_BYTES = 64 * 1024
"""The start of each response the journal keeps (its bytes, and when each part left), for the sandbox page."""
CAPTURE_PARTS = 4096
CAPTURED = ("response_parts", "marks", "captured_bytes", "counted_bytes")

REDACTED_HEADERS = frozenset({
    "authorization", "proxy-authorization", "api-key", "x-api-key", "x-goog-api-key", "x-mock-admin-token", "cookie",
})
# Query parameters that carry credentials (some SDKs and gateways put the key there).
REDACTED_QUERY = frozenset({"api_key", "api-key", "key", "access_token", "token"})
REDACTED = "[redacted]"


def redact_headers(raw_headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The headers by lower-case name (the last of a repeated name), credentials redacted."""
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in raw_headers}
    for key in REDACTED_HEADERS.intersection(headers):
        headers[key] = REDACTED
    referer = headers.get("referer")  # the page a request came from, with any credential in its query redacted
    if referer is not None and "?" in referer:
        page, mark, query = referer.partition("?")
        headers["referer"] = page + mark + redact_query(query)
    return headers


def redact_query(query: str) -> str:
    """The query string with the values of credential parameters replaced, the rest as it came."""
    if "=" not in query:
        return query
    parts = []
    for part in query.split("&"):
        name, equals, _ = part.partition("=")
        parts.append(f"{name}={REDACTED}" if equals and unquote_plus(name).lower() in REDACTED_QUERY else part)
    return "&".join(parts)


def json_safe(value: Any) -> Any:
    """``value`` with every integer past 64 bits as the float a JSON parser makes of it: orjson refuses them, and
    a body a handler converted (a form field, a protobuf int64 string) may hold one. For the rare encode that
    failed, never on the way to it."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value) if not -INT64 <= value < INT64 else value
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


@dataclass(slots=True)
class Exchange:
    """One request and its answer. What the request carried is kept as it arrived (its header list, its JSON
    body's bytes) and becomes ``headers`` (credentials redacted) and ``body`` when first read: most entries are
    never read, and bytes cost the serving loop neither the conversion nor the garbage collector's walks over
    parsed bodies that outlive a thousand requests."""

    id: int
    time: float
    method: str
    path: str
    query: str
    raw_headers: Sequence[tuple[bytes, bytes]] = field(default=(), repr=False)
    attempt: int = 0
    # How the attempt was known: "header" (x-stainless-retry-count), "repeat" (the same request again within
    # --retry-window), None when neither applied (nothing that could fault on a retry was in play).
    attempt_from: str | None = None
    test_id: str | None = None
    key_id: str | None = None
    dialect: str | None = None
    endpoint: str | None = None
    model: str | None = None
    stream: bool = False
    _body: Any = field(default=None, repr=False)
    body_bytes: int = 0
    status: int | None = None
    error_code: str | None = None
    decided_by: str | None = None
    faults: list[str] = field(default_factory=list)
    ended: str | None = None
    chunks_sent: int = 0
    first_byte_ms: float | None = None
    duration_ms: float | None = None
    admin: bool = False
    tokens_in: int | None = None
    tokens_out: int | None = None
    response_bytes: int = 0
    # Which node (host) and worker (process id) served it: set in a fleet (--state redis://), None otherwise.
    node: str | None = None
    worker: int | None = None
    # What left, when (ms from the request) and where a fault acted: not in the list view, only in detail().
    response_parts: list[tuple[float, bytes]] = field(default_factory=list, repr=False)
    marks: list[dict[str, Any]] = field(default_factory=list, repr=False)
    captured_bytes: int = field(default=0, repr=False)
    counted_bytes: int = field(default=0, repr=False)  # its journal_bytes, as the journal counted it when appended
    raw_body: bytes | None = field(default=None, repr=False)  # the JSON body as it arrived, until ``body`` is read
    _headers: dict[str, str] | None = field(default=None, repr=False)

    @classmethod
    def from_listed(cls, listed: dict[str, Any], **captured: Any) -> Exchange:
        """An exchange from its list view (:meth:`as_dict`, ``headers`` and ``body`` as read) and, for its detail,
        its captured response."""
        fields_of = dict(listed)
        headers, body = fields_of.pop("headers"), fields_of.pop("body", None)
        return cls(**fields_of, **captured, _headers=headers, _body=body)

    @property
    def headers(self) -> dict[str, str]:
        """The request's headers by lower-case name (the last of a repeated name), credentials redacted."""
        headers = self._headers
        if headers is None:  # two threads reading at once both make the same dict: the list stays as it came
            headers = self._headers = redact_headers(self.raw_headers)
        return headers

    @property
    def body(self) -> Any:
        """The request's body as the journal keeps it: its JSON parsed, a form's fields, a large body's start."""
        raw = self.raw_body
        if raw is not None:
            self._body, self.raw_body = orjson.loads(raw), None
        return self._body

    @body.setter
    def body(self, value: Any) -> None:
        self._body, self.raw_body = value, None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _LISTED}

    def capture(self, at_ms: float, body: bytes) -> None:
        """Keep this part of the response, while the capture has room."""
        self.response_bytes += len(body)
        if self.captured_bytes < CAPTURE_BYTES and len(self.response_parts) < CAPTURE_PARTS:
            kept = body[: CAPTURE_BYTES - self.captured_bytes]
            self.response_parts.append((at_ms, kept))
            self.captured_bytes += len(kept)

    def mark(self, fault: str, chunk: int, at_ms: float) -> None:
        """Note where a fault acted on the response (the chunk it acted before)."""
        if len(self.marks) < CAPTURE_PARTS:
            self.marks.append({"fault": fault, "chunk": chunk, "ms": round(at_ms, 3)})

    def detail(self) -> dict[str, Any]:
        """Everything the journal knows of this exchange: the list view's fields, the response as it left (the
        first 64 KiB: its text, each SSE frame or JSON line of a stream with its time) and the fault marks."""
        text = b"".join(part for _, part in self.response_parts).decode("utf-8", "replace")
        frames: list[dict[str, Any]] = []
        # An SSE stream's frames end at a blank line (\n\n, or \r\n\r\n as Gemini's do); JSON lines at each \n.
        separator = _LINE if self.stream and text.startswith("{") else _BLANK_LINE
        for at_ms, part in self.response_parts:
            for piece in separator.split(part):
                if piece.strip():
                    frames.append({"ms": round(at_ms, 3), "data": piece.decode("utf-8", "replace")})
        return {**self.as_dict(), "response": text, "response_cut": self.response_bytes > len(text.encode()),
                "frames": frames if self.stream or _is_sse(text) else [], "marks": self.marks}

    def note_body(self, body: Any, size: int, preview: bytes | None, raw: bytes | None = None) -> None:
        """Journal a request's parsed body and what it says of itself (``model``, ``stream``); ``raw``: the bytes
        it was parsed from, kept instead of it."""
        if not isinstance(body, dict):
            return
        if raw is None:
            self.keep_body(body, size, preview)
        else:
            self.body_bytes, self.raw_body = size, raw
        model = body.get("model")
        model = model if isinstance(model, str) else model_in_path(self.path)
        self.model = model[:MAX_LABEL_CHARS] if isinstance(model, str) else None
        self.stream = body.get("stream") is True

    def keep_body(self, body: Any, size: int, preview: bytes | None) -> None:
        """Journal the parsed body; one above :data:`JOURNAL_BODY_BYTES` is kept as the start of its text."""
        self.body_bytes = size
        if preview is None:
            self.body = body
        else:
            self.body = {"truncated": True, "bytes": size, "preview": preview.decode("utf-8", "replace")}

    @property
    def journal_bytes(self) -> int:
        """What the entry costs the journal, as its byte bound counts it."""
        if self._headers is None:
            headers = sum(map(len, itertools.chain.from_iterable(self.raw_headers)))
        else:
            headers = sum(map(len, self._headers)) + sum(map(len, self._headers.values()))
        return ENTRY_OVERHEAD_BYTES + headers + min(self.body_bytes, JOURNAL_BODY_BYTES) + min(self.response_bytes,
                                                                                               CAPTURE_BYTES)

    @property
    def summary(self) -> str:
        """One line a person can read in a failure message: what was asked, what was answered, and why."""
        parts = [f"#{self.id} {self.method} {self.path}"]
        if self.model is not None:
            parts.append(f"model={self.model!r}")
        if self.stream:
            parts.append("stream")
        if self.attempt:
            parts.append(f"attempt={self.attempt}" + (" (repeat)" if self.attempt_from == "repeat" else ""))
        if self.status is not None:
            parts.append(f"-> {self.status}")
        else:
            parts.append("-> (in flight)" if self.ended is None else "-> no response")
        if self.error_code:
            parts.append(self.error_code)
        if self.decided_by is None:
            parts.append("[unscripted]")
        else:
            parts.append(f"[{self.decided_by}: {', '.join(self.faults)}]" if self.faults else f"[{self.decided_by}]")
        if self.ended not in (None, "complete"):
            parts.append(f"ended={self.ended}")
        return " ".join(parts)

    @property
    def log_line(self) -> str:
        """The terminal's line for this request: the summary, how long it took, and a stream's chunks."""
        line = self.summary
        if self.duration_ms is not None:
            line += f" {self.duration_ms:.1f} ms"
        if self.stream and self.status == 200:
            line += f" ({self.chunks_sent} chunks)"
        return line

    def __repr__(self) -> str:
        # The dataclass repr would print every header and the whole body; the summary is what tests need to see.
        return f"<Exchange {self.summary}>"


# The list view's fields and their types in the entry's order, the request's as read (``headers``, ``body``), not
# as kept; what the response left as (CAPTURED) is in the detail only.
new_exchange = fast_constructor(Exchange)
"""``Exchange(...)`` for the wire layer's entry of every request (see :mod:`mockserver.constructors`)."""

_READ_AS = {"raw_headers": ("headers", "dict[str, str]"), "_body": ("body", "Any")}
LISTED_FIELDS: tuple[tuple[str, str], ...] = tuple(
    _READ_AS.get(item.name, (item.name, str(item.type))) for item in fields(Exchange)
    if item.name not in CAPTURED and item.name not in ("raw_body", "_headers"))
_LISTED = tuple(name for name, _ in LISTED_FIELDS)


_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_LINE = re.compile(rb"\n")


def _is_sse(text: str) -> bool:
    return text.startswith(("data: ", "event: "))


class JournalReader(Protocol):
    """What reads a journal: this process's (:class:`Journal`) or a fleet's (``mockserver.fleet.FleetJournal``)."""

    def entries(self) -> list[Exchange]: ...

    def get(self, exchange_id: int) -> Exchange | None: ...

    def wait_until(self, predicate: Callable[[list[Exchange]], bool], timeout: float) -> list[Exchange]: ...


class Journal:
    """A bounded, in-memory list of finished exchanges: at most ``size`` of them and ``max_bytes`` in all
    (each entry counted as :attr:`Exchange.journal_bytes`), oldest dropped first."""

    def __init__(self, size: int, max_bytes: int = 64 * 1024 * 1024, first_id: int = 1,
                 node: str | None = None, worker: int | None = None) -> None:
        self.max_bytes = max_bytes
        # Who serves the exchanges (a fleet's node and worker), as each entry says; None outside a fleet.
        self.node, self.worker = node, worker
        self.bytes = 0
        self._entries: deque[Exchange] = deque(maxlen=size)
        self._live: dict[int, Exchange] = {}
        self._ids = itertools.count(first_id)
        # The server's loop appends while a test's thread may discard (MockServer.reset); a deque iterated in
        # Python while another thread appends raises. Waiters (wait_until) are woken on every append.
        self._lock = threading.Lock()
        self._appended = threading.Condition(self._lock)
        self._waiting = 0  # threads in wait_until: an append notifies only when someone waits
        # Called with each finished exchange on the server's loop: the sandbox's live feed, the metrics.
        self.listeners: list[Callable[[Exchange], None]] = []

    def next_id(self) -> int:
        return next(self._ids)

    def begin(self, exchange: Exchange) -> None:
        """Note a request that has arrived and is not finished yet (see :meth:`live`)."""
        self._live[exchange.id] = exchange

    def append(self, exchange: Exchange) -> None:
        self._live.pop(exchange.id, None)
        for listener in self.listeners:
            listener(exchange)
        if self._entries.maxlen:
            with self._lock:
                entries = self._entries
                if len(entries) == entries.maxlen:
                    self.bytes -= entries.popleft().counted_bytes
                entries.append(exchange)
                exchange.counted_bytes = exchange.journal_bytes
                self.bytes += exchange.counted_bytes
                while self.bytes > self.max_bytes and len(entries) > 1:
                    self.bytes -= entries.popleft().counted_bytes
                if self._waiting:
                    self._appended.notify_all()

    def wait_until(self, predicate: Callable[[list[Exchange]], bool], timeout: float) -> list[Exchange]:
        """The entries once ``predicate(entries)`` holds, or when ``timeout`` seconds have passed."""
        deadline = time.monotonic() + timeout
        with self._appended:
            self._waiting += 1
            try:
                while True:
                    entries = list(self._entries)
                    left = deadline - time.monotonic()
                    if predicate(entries) or left <= 0:
                        return entries
                    self._appended.wait(left)
            finally:
                self._waiting -= 1

    def live(self) -> list[Exchange]:
        """Requests still in flight, oldest first.

        A client can hold a complete response a moment before the server has
        appended its exchange; assertions made right after a call read these
        too, so they never miss the request that just ended.
        """
        return sorted(self._live.values(), key=lambda exchange: exchange.id)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0

    def discard(self, test_id: str) -> None:
        """Forget one test's exchanges (``POST /_mock/reset`` with its ``X-Mock-Test-Id``)."""
        with self._lock:
            kept = [exchange for exchange in self._entries if exchange.test_id != test_id]
            self._entries.clear()
            self._entries.extend(kept)
            self.bytes = sum(exchange.counted_bytes for exchange in kept)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, exchange_id: int) -> Exchange | None:
        """The exchange with this id, finished or in flight; None once the journal has let it go."""
        live = self._live.get(exchange_id)
        if live is not None:
            return live
        with self._lock:
            return next((exchange for exchange in self._entries if exchange.id == exchange_id), None)

    def entries(self) -> list[Exchange]:
        with self._lock:
            return list(self._entries)


def select(
    entries: list[Exchange],
    *,
    path: str | None = None,
    model: str | None = None,
    status: int | None = None,
    test_id: str | None = None,
    key_id: str | None = None,
    include_admin: bool = False,
    after: int | None = None,
    limit: int | None = None,
) -> JournalPage:
    """The ``entries`` (oldest first) that match. With ``after`` (an exchange id), the first ``limit`` of those
    after it (after its place, when it is still there: a fleet's ids rise per node, not across nodes); without,
    the newest ``limit``. ``has_more`` says whether matching entries were left out."""
    place = next((index for index, exchange in enumerate(entries) if exchange.id == after), None) \
        if after is not None else None
    if place is not None:
        entries = entries[place + 1:]
    found = [
        exchange
        for exchange in entries
        if (after is None or place is not None or exchange.id > after)
        and (include_admin or not exchange.admin)
        and (path is None or exchange.path == path or exchange.path.endswith(path))
        and (model is None or exchange.model == model)
        and (status is None or exchange.status == status)
        and (test_id is None or exchange.test_id == test_id)
        and (key_id is None or exchange.key_id == key_id)
    ]
    if limit is None or len(found) <= limit:
        return JournalPage(found, False)
    return JournalPage(found[:limit] if after is not None else found[len(found) - limit :], True)


class JournalPage(NamedTuple):
    """One answer of :meth:`Journal.query`."""

    entries: list[Exchange]
    has_more: bool

"""The one fault vocabulary: every misbehaviour the mock can be told to show.

Control headers, scripts, fixture rules and ``--fault`` chaos all name faults
with these words and parse them here, so a fault means the same thing
whichever surface asked for it. A :class:`Behavior` is what one surface
answers for one request: faults plus scripted content (an exact reply, tool
calls); it becomes the pipeline's :class:`~mockserver.decision.Decision`.

Faults come in four kinds, by where they act:

- ``error``: the request is answered with an HTTP error (``http_error``,
  ``rate_limit``, ``context_overflow``);
- ``content``: the reply is generated wrong on purpose (``broken_tool_call``);
- ``stream``: the wire layer changes how the response travels (``latency``,
  ``ttft``, ``tokens_per_second``, ``stall``, ``hang``, ``truncate``,
  ``disconnect``, ``malformed``, ``error_event``);
- ``socket``: the connection misbehaves instead of answering (``reset``,
  ``empty``, ``garbage``).

Header syntax, shared by every surface that takes a string:
``name;key=value;key=value, name2`` (values are percent-decoded, so ``%2C``
and ``%3B`` carry commas and semicolons).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import orjson

from mockserver.control.decision import Decision, new_decision, new_script
from mockserver.control.ratelimit import format_duration, rate_limit_headers
from mockserver.errors import ApiError, MockserverError

# An injected error needs a body to carry its envelope: these statuses have none.
BODILESS_STATUSES = frozenset({204, 205, 304})
MAX_BODY_DEPTH = 64
TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SERVER_ERROR_MESSAGE = "The server had an error while processing your request. Sorry about that!"
MALFORMED_FRAME = b'data: {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "choices": [{"delta": \n\n'
MALFORMED_LINE = b'{"model": "mock", "created_at": "2025-01-01T00:00:00Z", "message": {"role": \n'
MALFORMED_BODY = b'{"id": "chatcmpl-mock", "object": "chat.completion", "choices": [{"message": '
GARBAGE_BYTES = b"\x15\x03\x03\x00\x02\x02\x50 this is not HTTP \xff\xfe\r\n\r\n"


@dataclass(frozen=True)
class Param:
    """One parameter of a fault: its type, default and, for words, the allowed values."""

    kind: type
    default: Any = None
    choices: tuple[str, ...] = ()
    minimum: float | None = 0


@dataclass(frozen=True)
class FaultSpec:
    kind: str
    params: Mapping[str, Param]


FAULTS: dict[str, FaultSpec] = {
    # An HTTP error with any status, the OpenAI envelope (or a verbatim JSON body) and retry headers.
    "http_error": FaultSpec("error", {
        "status": Param(int, 500, minimum=200),
        "message": Param(str),
        "type": Param(str),
        "code": Param(str),
        "body": Param(str),
        "retry_after": Param(float),
        "retry_after_ms": Param(int),
        "should_retry": Param(bool),
    }),
    # 429 rate_limit_exceeded with Retry-After, retry-after-ms and x-ratelimit-* headers.
    "rate_limit": FaultSpec("error", {
        "retry_after": Param(float),
        "retry_after_ms": Param(int),
        "type": Param(str, "requests", choices=("requests", "tokens")),
        "limit": Param(int),
    }),
    # 400 context_length_exceeded.
    "context_overflow": FaultSpec("error", {}),
    # A tool call with truncated JSON arguments, or to a tool that was not offered.
    "broken_tool_call": FaultSpec("content", {
        "kind": Param(str, "malformed_arguments", choices=("malformed_arguments", "unknown_tool")),
    }),
    # Wait ms (+ up to jitter ms) before the response starts.
    "latency": FaultSpec("stream", {"ms": Param(float, 500.0), "jitter": Param(float, 0.0)}),
    # Wait ms between the headers and the first chunk.
    "ttft": FaultSpec("stream", {"ms": Param(float, 1000.0)}),
    # One stream chunk every 1/rate seconds.
    "tokens_per_second": FaultSpec("stream", {"rate": Param(float, 20.0, minimum=0.001)}),
    # Stop sending after N chunks for S seconds, socket open, then go on; a provider that keeps quiet streams
    # alive (Anthropic) sends its keep-alive frame every keep_alive seconds of the stall.
    "stall": FaultSpec("stream", {"after_chunks": Param(int, 1), "seconds": Param(float, 30.0),
                                  "keep_alive": Param(float, 10.0, minimum=0.05)}),
    # Never answer; hold the connection until the client leaves.
    "hang": FaultSpec("stream", {}),
    # End cleanly after N chunks: no finish_reason, no [DONE].
    "truncate": FaultSpec("stream", {"after_chunks": Param(int, 2)}),
    # Close the connection after N chunks, or after N body bytes (possibly mid-frame); a WebSocket session (the
    # Realtime API's) closes with close_code after N events of a response.
    "disconnect": FaultSpec("stream", {"after_chunks": Param(int, 2), "after_bytes": Param(int),
                                       "close_code": Param(int, 1011, minimum=1000)}),
    # Chunk N+1 is not valid JSON.
    "malformed": FaultSpec("stream", {"after_chunks": Param(int, 1)}),
    # After N chunks of a 200 stream, data: {"error": ...} and a clean end.
    "error_event": FaultSpec("stream", {
        "after_chunks": Param(int, 1),
        "message": Param(str, SERVER_ERROR_MESSAGE),
        "type": Param(str, "server_error"),
        "code": Param(str),
    }),
    # A TCP reset, a close without a response, bytes that are not HTTP: instead of answering.
    "reset": FaultSpec("socket", {}),
    "empty": FaultSpec("socket", {}),
    "garbage": FaultSpec("socket", {}),
}


class SpecError(MockserverError, ValueError):
    """A mistake in a behaviour's spec; ``path`` says where it is, from the top of the document."""

    def __init__(self, message: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def within(self, *prefix: str | int) -> SpecError:
        return SpecError(self.message, prefix + self.path)

    @property
    def where(self) -> str:
        """The path as ``behaviors[0].match.model``."""
        text = ""
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        return text

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.path else self.message


@dataclass(frozen=True)
class Fault:
    """One fault with the parameters it was given; ``value`` fills in the defaults."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    attempts: tuple[int, int | None] | None = None

    @property
    def kind(self) -> str:
        return FAULTS[self.name].kind

    def value(self, key: str) -> Any:
        if key in self.params:
            return self.params[key]
        return FAULTS[self.name].params[key].default

    def applies_to(self, attempt: int) -> bool:
        if self.attempts is None:
            return True
        low, high = self.attempts
        return attempt >= low and (high is None or attempt <= high)

    @property
    def label(self) -> str:
        """The fault in header syntax, as the journal shows it."""
        parts = [self.name] + [f"{key}={_show(value)}" for key, value in self.params.items()]
        if self.attempts is not None:
            low, high = self.attempts
            parts.append(f"attempts={low}" if low == high else f"attempts={low}-{'' if high is None else high}")
        return ";".join(parts)

    def error(self) -> ApiError:
        """The HTTP error an ``error`` fault answers with."""
        if self.name == "rate_limit":
            return _rate_limit_error(self)
        if self.name == "context_overflow":
            return ApiError(
                400,
                "Your input exceeds the context window of this model. Please adjust your input and try again.",
                param="messages",
                code="context_length_exceeded",
            )
        return _http_error(self)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return format(value, "g") if isinstance(value, float) else str(value)


class InjectedError(ApiError):
    """An ``http_error`` whose body was given verbatim (``body=<JSON>``) instead of the usual envelope."""

    def __init__(self, status: int, body: Any, headers: dict[str, str]) -> None:
        super().__init__(status, "injected error body", headers=headers)
        self.body = body

    def envelope(self) -> Any:
        return self.body


def _retry_headers(fault: Fault, default_ms: int | None) -> dict[str, str]:
    seconds, millis = fault.value("retry_after"), fault.value("retry_after_ms")
    if millis is None and seconds is not None:
        millis = math.ceil(seconds * 1000)
    if millis is None:
        millis = default_ms
    if millis is None:
        return {}
    if seconds is None:
        seconds = math.ceil(millis / 1000)
    return {"retry-after": _show(seconds if seconds % 1 else int(seconds)), "retry-after-ms": str(millis)}


def _http_error(fault: Fault) -> ApiError:
    status = fault.value("status")
    headers = _retry_headers(fault, None)
    if fault.value("should_retry") is not None:
        headers["x-should-retry"] = "true" if fault.value("should_retry") else "false"
    if fault.value("body") is not None:
        return InjectedError(status, orjson.loads(fault.value("body")), headers)
    server_side = status >= 500
    message = fault.value("message") or (SERVER_ERROR_MESSAGE if server_side else f"Injected HTTP {status} error.")
    kind = fault.value("type") or ("server_error" if server_side else "invalid_request_error")
    return ApiError(status, message, type=kind, code=fault.value("code"), headers=headers)


def _rate_limit_error(fault: Fault) -> ApiError:
    headers = _retry_headers(fault, 1000)
    wait = int(headers["retry-after-ms"]) / 1000
    scope = fault.value("type")
    limit = fault.value("limit") or (500 if scope == "requests" else 30000)
    headers.update(rate_limit_headers(scope, limit, 0, wait))
    unit = "requests per min (RPM)" if scope == "requests" else "tokens per min (TPM)"
    message = (
        f"Rate limit reached in organization org-mock on {unit}: Limit {limit}, Used {limit}, "
        f"Requested 1. Please try again in {format_duration(wait)}. "
        "Visit https://platform.openai.com/account/rate-limits to learn more."
    )
    return ApiError(429, message, type=scope, code="rate_limit_exceeded", headers=headers)


# ---------------------------------------------------------------------- parsing


def parse_faults(text: str) -> list[Fault]:
    """Faults in header syntax: ``name;key=value, name2;key=value``."""
    faults = [parse_fault(part) for part in text.split(",") if part.strip()]
    if not faults:
        raise SpecError("no fault named")
    return faults


def parse_fault(text: str) -> Fault:
    """One fault in header syntax: ``name;key=value;key=value``."""
    name, *pairs = [part.strip() for part in text.split(";")]
    params: dict[str, Any] = {}
    for pair in pairs:
        if not pair:
            continue
        key, equals, value = pair.partition("=")
        if not equals:
            raise SpecError(f"parameter {key!r} of fault {name!r} needs a value (key=value)")
        params[key.strip()] = unquote(value.strip())
    return make_fault(name, params)


def make_fault(name: str, params: Mapping[str, Any]) -> Fault:
    """A checked fault from its name and raw parameters (strings from headers or native YAML/JSON values)."""
    spec = FAULTS.get(name)
    if spec is None:
        raise SpecError(f"unknown fault {name!r}; known faults: {', '.join(FAULTS)}")
    attempts = None
    checked: dict[str, Any] = {}
    for key, raw in params.items():
        if key == "attempts":
            attempts = parse_attempts(raw)
            continue
        param = spec.params.get(key)
        if param is None:
            known = ", ".join([*spec.params, "attempts"])
            raise SpecError(f"fault {name!r} has no parameter {key!r}; its parameters: {known}")
        checked[key] = _coerce(name, key, param, raw)
    status = checked.get("status", 500)
    if name == "http_error" and (status in BODILESS_STATUSES or status > 599):
        raise SpecError(
            f"parameter 'status' of fault 'http_error' must be 200-599 and carry a body (not "
            f"{', '.join(map(str, sorted(BODILESS_STATUSES)))}), got {status}"
        )
    if name == "http_error" and "body" in checked:
        try:
            body = orjson.loads(checked["body"])
        except orjson.JSONDecodeError:
            raise SpecError("parameter 'body' of fault 'http_error' must be JSON text") from None
        if _depth(body) > MAX_BODY_DEPTH:
            raise SpecError(f"parameter 'body' of fault 'http_error' nests deeper than {MAX_BODY_DEPTH} levels")
    return Fault(name, checked, attempts)


def _depth(value: Any) -> int:
    """How deep arrays and objects nest in ``value`` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _coerce(name: str, key: str, param: Param, raw: Any) -> Any:
    problem = f"parameter {key!r} of fault {name!r}"
    if param.kind is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false", "1", "0"):
            return raw.lower() in ("true", "1")
        raise SpecError(f"{problem} must be true or false, got {raw!r}")
    if param.kind is str:
        if isinstance(raw, (dict, list)) or raw is None:
            raise SpecError(f"{problem} must be text, got {raw!r}")
        value = str(raw)
        if param.choices and value not in param.choices:
            raise SpecError(f"{problem} must be one of {', '.join(param.choices)}, got {value!r}")
        return value
    noun = "a whole number" if param.kind is int else "a number"
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise SpecError(f"{problem} must be {noun}, got {raw!r}")
    try:
        number = param.kind(raw.strip() if isinstance(raw, str) else raw)
    except ValueError:
        raise SpecError(f"{problem} must be {noun}, got {raw!r}") from None
    if (isinstance(raw, float) and param.kind is int and not raw.is_integer()) or not math.isfinite(number):
        raise SpecError(f"{problem} must be {noun}, got {raw!r}")
    if param.minimum is not None and number < param.minimum:
        raise SpecError(f"{problem} must be at least {_show(param.minimum)}, got {raw!r}")
    if name == "http_error" and key == "status" and number > 599:
        raise SpecError(f"{problem} must be an HTTP status from 200 to 599, got {raw!r}")
    return number


_ATTEMPTS = re.compile(r"^\s*(\d+)\s*(?:(-)\s*(\d*)\s*)?$")


def parse_attempts(raw: Any) -> tuple[int, int | None]:
    """``2`` → attempt 2 only; ``0-1`` → attempts 0 and 1; ``3-`` → attempt 3 and later."""
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw, raw
    found = _ATTEMPTS.match(str(raw)) if isinstance(raw, str) else None
    if found is None:
        raise SpecError(f"attempts must look like 2, 0-1 or 3- (SDK attempt numbers from 0), got {raw!r}")
    low = int(found.group(1))
    if not found.group(2):
        return low, low
    high = int(found.group(3)) if found.group(3) else None
    if high is not None and high < low:
        raise SpecError(f"attempts range {raw!r} is empty")
    return low, high


# ---------------------------------------------------------------------- behaviours


@dataclass(frozen=True)
class Behavior:
    """What one surface answers: faults and scripted content, applied together."""

    faults: tuple[Fault, ...] = ()
    reply: str | None = None
    tool_calls: tuple[dict[str, Any], ...] | None = None

    def decision(self, attempt: int, source: str) -> Decision | None:
        """The decision for SDK attempt ``attempt``; None when nothing applies to that attempt."""
        faults = [fault for fault in self.faults if fault.applies_to(attempt)] if self.faults else ()
        if not faults and self.reply is None and self.tool_calls is None:
            return None
        error = broken = None
        wire = []
        for fault in faults:  # one pass (a fixture rule's reply alone, the common case, has none to sort)
            if fault.kind == "error":
                error = fault.error() if error is None else error
            elif fault.kind == "content":
                broken = fault.value("kind") if broken is None else broken
            elif fault.kind in ("stream", "socket"):
                wire.append(fault)
        script = None
        if self.reply is not None or self.tool_calls is not None or broken is not None:
            calls = None if self.tool_calls is None else [dict(call) for call in self.tool_calls]
            script = new_script(reply=self.reply, tool_calls=calls, broken_tool_call=broken)
        return new_decision(source=source, error=error, script=script, faults=wire)

    @property
    def labels(self) -> list[str]:
        return [fault.label for fault in self.faults]

    @property
    def reads_attempt(self) -> bool:
        """Whether what it answers depends on which attempt a request is (a fault with ``attempts``)."""
        return any(fault.attempts is not None for fault in self.faults)


ANSWER_KEYS = ("reply", "tool_call", "tool_calls", "error", "fault")


def behavior_from_mapping(data: Mapping[str, Any], extra: Iterable[str] = (), fault_params: bool = False) -> Behavior:
    """A behaviour from a script entry or a fixture rule.

    Answer keys: ``reply``, ``tool_call`` (one), ``tool_calls`` (a list),
    ``error`` (``http_error`` parameters), ``fault`` (header syntax). With
    ``fault_params``, the other keys are parameters of the one named fault
    (``{"fault": "rate_limit", "retry_after_ms": 10}``). ``extra`` keys belong
    to the caller (``match``, ``times``) and are skipped here.
    """
    allowed = set(ANSWER_KEYS) | set(extra)
    loose = {key: value for key, value in data.items() if key not in allowed}
    if loose and not (fault_params and "fault" in data):
        key = next(iter(loose))
        raise SpecError(f"unknown field {key!r}; known fields: {', '.join(sorted(allowed))}", (key,))
    faults = _faults_field(data["fault"], loose) if "fault" in data else []
    if "error" in data:
        if not isinstance(data["error"], Mapping):
            raise SpecError("error must be a mapping of http_error parameters, e.g. {status: 503}", ("error",))
        try:
            faults.insert(0, make_fault("http_error", data["error"]))
        except SpecError as error:
            raise error.within("error") from None
    reply = data.get("reply")
    if reply is not None and not isinstance(reply, str):
        raise SpecError("reply must be text", ("reply",))
    tool_calls: tuple[dict[str, Any], ...] | None = None
    if "tool_call" in data and "tool_calls" in data:
        raise SpecError("give tool_call or tool_calls, not both", ("tool_calls",))
    if "tool_call" in data:
        tool_calls = (tool_call(data["tool_call"], ("tool_call",)),)
    elif "tool_calls" in data:
        calls = data["tool_calls"]
        if not isinstance(calls, list) or not calls:
            raise SpecError("tool_calls must be a non-empty list of {name, arguments}", ("tool_calls",))
        tool_calls = tuple(tool_call(call, ("tool_calls", index)) for index, call in enumerate(calls))
    if reply is not None and tool_calls is not None:
        raise SpecError("give reply or tool calls, not both", ("reply",))
    behavior = Behavior(tuple(faults), reply, tool_calls)
    if not behavior.faults and reply is None and tool_calls is None:
        raise SpecError(f"nothing to do: give one of {', '.join(ANSWER_KEYS)}")
    return behavior


def _faults_field(value: Any, params: Mapping[str, Any]) -> list[Fault]:
    """The ``fault`` field; ``params`` are sibling keys that parameterise the one fault it names."""
    if not isinstance(value, str):
        raise SpecError("fault must be text in header syntax, e.g. 'disconnect;after_chunks=2'", ("fault",))
    try:
        faults = parse_faults(value)
        if params:
            if len(faults) != 1:
                raise SpecError(f"parameters {', '.join(params)} given beside several faults; put them in the text")
            named, extra = faults[0], make_fault(faults[0].name, params)
            faults = [Fault(named.name, {**named.params, **extra.params}, extra.attempts or named.attempts)]
    except SpecError as error:
        raise error.within("fault") from None
    return faults


def tool_call(value: Any, path: tuple[str | int, ...]) -> dict[str, Any]:
    """A scripted call ``{name, arguments}``; arguments None means "generate them from the tool's schema"."""
    if not isinstance(value, Mapping):
        raise SpecError("a tool call must be a mapping {name, arguments}", path)
    for key in value:
        if key not in ("name", "arguments"):
            raise SpecError(f"unknown field {key!r}; a tool call has name and arguments", (*path, key))
    name = value.get("name")
    if not isinstance(name, str) or not TOOL_NAME.match(name):
        raise SpecError("name must be a function name (letters, digits, _ or -, up to 64)", (*path, "name"))
    arguments = value.get("arguments")
    if arguments is not None and not isinstance(arguments, (dict, str)):
        raise SpecError("arguments must be a mapping, JSON text or null", (*path, "arguments"))
    return {"name": name, "arguments": arguments}

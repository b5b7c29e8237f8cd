"""Anthropic's wire: its error envelope, ``request-id`` on every answer, its rate-limit headers.

Every error, the mock's own and injected ones alike, leaves as ``{"type": "error", "error": {"type", "message"},
"request_id"}`` with the status's error type (400 ``invalid_request_error`` … 529 ``overloaded_error``); a fault
that names an Anthropic error type keeps it. The ``x-ratelimit-*`` headers of ``--rpm``/``--tpm`` and of a
``rate_limit`` fault become ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,
reset}``, the resets as RFC 3339 times.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from starlette.responses import Response

from mockserver.asgi.outgoing import JSON_MEDIA_TYPE, Wire, event_frame
from mockserver.control.faults import SERVER_ERROR_MESSAGE, InjectedError
from mockserver.errors import ApiError

STATUS_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
                403: "permission_error", 404: "not_found_error", 408: "timeout_error", 413: "request_too_large",
                429: "rate_limit_error", 504: "timeout_error", 529: "overloaded_error"}
ERROR_TYPES = frozenset(STATUS_TYPES.values()) | {"api_error"}
_UNRECOGNIZED = re.compile(r"Unrecognized request arguments? supplied: (.+)$")
_OPENAI_PREFIX = re.compile(r"^Invalid (type for )?'[^']*': ")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def error_type(error: ApiError) -> str:
    """The Anthropic error type of ``error``: its own where it names one (``invalid_request_error``, every
    ApiError's default, only on a 400), else its status's."""
    if error.type in ERROR_TYPES and (error.type != "invalid_request_error" or error.status == 400):
        return error.type
    return STATUS_TYPES.get(error.status, "api_error" if error.status >= 500 else "invalid_request_error")


def envelope(message: str, kind: str, request_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
    if request_id is not None:
        body["request_id"] = request_id
    return body


def error_response(error: ApiError) -> Response:
    headers = translated(error.headers)
    if isinstance(error, InjectedError):  # a verbatim body, as the test gave it
        return Response(orjson.dumps(error.body), status_code=error.status, headers=headers, media_type=JSON_MEDIA_TYPE)
    body = orjson.dumps(envelope(worded(error), error_type(error)))
    return Response(body, status_code=error.status, headers=headers, media_type=JSON_MEDIA_TYPE)


def worded(error: ApiError) -> str:
    """The message as Anthropic words a body's problem: the field's dotted path, a colon, what is wrong
    (``messages.0.content: Field required``)."""
    if error.code == "missing_required_parameter" and error.param:
        return f"{_dotted(error.param)}: Field required"
    if error.code == "unknown_parameter" and error.param:
        return f"{_dotted(error.param)}: Extra inputs are not permitted"
    unrecognized = _UNRECOGNIZED.match(error.message)
    if unrecognized and error.param is None:
        return f"{unrecognized.group(1)}: Extra inputs are not permitted"
    if error.code == "rate_limit_exceeded":
        limit = error.headers.get("x-ratelimit-limit-requests") or error.headers.get("x-ratelimit-limit-tokens")
        unit = "requests" if "x-ratelimit-limit-requests" in error.headers else "tokens"
        return (f"This request would exceed your organization's rate limit of {limit} {unit} per minute. For "
                "details, refer to: https://docs.claude.com/en/api/rate-limits.")
    if error.code == "context_length_exceeded":
        return "prompt is too long: the prompt and max_tokens exceed this model's context window"
    if error.message == SERVER_ERROR_MESSAGE:  # a fault's default words, as Anthropic says them
        return "Overloaded" if error.status == 529 else "Internal server error"
    if error.param:
        detail = _OPENAI_PREFIX.sub("", error.message)
        return f"{_dotted(error.param)}: {detail[:1].upper()}{detail[1:]}"
    return error.message


def _dotted(param: str) -> str:
    return param.replace("][", ".").replace("[", ".").replace("]", "")


def error_frame(message: str, kind: str, code: str | None, index: int) -> bytes:
    """The in-band failure of a stream (an ``error_event`` fault): ``event: error`` with the error envelope."""
    named = kind if kind in ERROR_TYPES else "overloaded_error" if code == "overloaded" else "api_error"
    return event_frame(envelope("Internal server error" if message == SERVER_ERROR_MESSAGE else message, named))


def translated(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` with OpenAI's ``x-ratelimit-*`` rewritten as Anthropic's ``anthropic-ratelimit-*``."""
    if not any(name.startswith("x-ratelimit-") for name in headers):
        return headers
    out = {name: value for name, value in headers.items() if not name.startswith("x-ratelimit-")}
    now = datetime.now(UTC)
    for scope in ("requests", "tokens"):
        limit = headers.get(f"x-ratelimit-limit-{scope}")
        if limit is None:
            continue
        remaining = headers.get(f"x-ratelimit-remaining-{scope}", limit)
        reset = (now + timedelta(seconds=_seconds(headers.get(f"x-ratelimit-reset-{scope}", "0s"))))
        stamp = reset.replace(microsecond=0).isoformat().replace("+00:00", "Z")
        names = ("requests",) if scope == "requests" else ("tokens", "input-tokens", "output-tokens")
        for name in names:
            out[f"anthropic-ratelimit-{name}-limit"] = limit
            out[f"anthropic-ratelimit-{name}-remaining"] = remaining
            out[f"anthropic-ratelimit-{name}-reset"] = stamp
    return out


def _seconds(duration: str) -> float:
    return sum(float(amount) * _UNIT_SECONDS[unit] for amount, unit in _DURATION.findall(duration))


def stamp(processing_ms: int) -> dict[str, str]:
    return {}


PING = b"event: ping\ndata: {\"type\": \"ping\"}\n\n"
"""The API's keep-alive frame: once after the first block starts, and while a stream is quiet."""

ANTHROPIC_WIRE = Wire("anthropic", error_response, "request-id", stamp, translated, keep_alive=PING)


__all__ = ["ANTHROPIC_WIRE", "PING", "envelope", "error_frame", "error_type", "translated"]

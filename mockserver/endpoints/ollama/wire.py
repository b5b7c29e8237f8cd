"""Ollama's wire: its error envelope ``{"error": "<message>"}`` and nothing else (no request id, no rate-limit
headers: a local server has neither).

A body problem is a 400 naming the field; an unknown or deleted model a 404 ``model "x" not found, try pulling it
first``; injected faults keep their status with the same envelope. A mid-stream failure is one line
``{"error": "..."}``, which the client raises as a ``ResponseError``.
"""

from __future__ import annotations

import re

import orjson
from starlette.responses import Response

from mockserver.asgi.outgoing import JSON_MEDIA_TYPE, Wire
from mockserver.control.faults import SERVER_ERROR_MESSAGE, InjectedError
from mockserver.errors import ApiError

_OPENAI_PREFIX = re.compile(r"^Invalid (type for )?'[^']*': ")
_UNRECOGNIZED = re.compile(r"Unrecognized request arguments? supplied: (.+)$")


def worded(error: ApiError) -> str:
    """The message as Ollama words it: short, lower case, the field named first."""
    if error.message == SERVER_ERROR_MESSAGE:
        return "an error was encountered while running the model: unexpected EOF" if error.status >= 500 \
            else error.message
    if error.code == "rate_limit_exceeded":
        return "too many requests: the server is at its --rpm limit, retry after a while"
    if error.code == "missing_required_parameter" and error.param:
        return f"{error.param} is required"
    if error.param and _OPENAI_PREFIX.match(error.message):
        return f"invalid {error.param}: {_OPENAI_PREFIX.sub('', error.message)}"
    return error.message


def error_response(error: ApiError) -> Response:
    body = orjson.dumps(error.body if isinstance(error, InjectedError) else {"error": worded(error)})
    return Response(body, status_code=error.status, headers=translated(error.headers), media_type=JSON_MEDIA_TYPE)


def error_line(message: str, kind: str, code: str | None, index: int) -> bytes:
    """The in-band failure of a stream (an ``error_event`` fault): one JSON line with ``error``."""
    return orjson.dumps({"error": worded(ApiError(500, message))}) + b"\n"


def translated(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` without OpenAI's ``x-ratelimit-*``."""
    if not any(name.startswith("x-ratelimit-") for name in headers):
        return headers
    return {name: value for name, value in headers.items() if not name.startswith("x-ratelimit-")}


def stamp(processing_ms: int) -> dict[str, str]:
    return {}


OLLAMA_WIRE = Wire("ollama", error_response, "x-request-id", stamp, translated)


__all__ = ["OLLAMA_WIRE", "error_line", "translated", "worded"]

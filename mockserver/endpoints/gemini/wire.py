"""Gemini's wire: Google's error envelope, and no rate-limit headers (the API sends none).

Every error, the mock's own and injected ones alike, leaves as ``{"error": {"code", "message", "status",
"details"}}`` (``google.rpc.Status`` as JSON), its ``status`` the canonical code of its HTTP status (400
``INVALID_ARGUMENT``, 403 ``PERMISSION_DENIED``, 404 ``NOT_FOUND``, 429 ``RESOURCE_EXHAUSTED``, 500 ``INTERNAL``,
503 ``UNAVAILABLE``, 504 ``DEADLINE_EXCEEDED``…). A body problem carries a ``BadRequest`` detail naming the field;
a 429 a ``QuotaFailure`` and a ``RetryInfo`` with the delay (``retryDelay: "7s"``); a key the mock was not started
with is the API's 400 ``API_KEY_INVALID`` and a missing one its 403. A mid-stream failure is one SSE frame of the
same envelope, which the SDK raises as an ``APIError``.
"""

from __future__ import annotations

import math
import re
from typing import Any

import orjson
from starlette.responses import Response

from mockserver.asgi.outgoing import JSON_MEDIA_TYPE, Wire
from mockserver.control.faults import SERVER_ERROR_MESSAGE, InjectedError
from mockserver.errors import ApiError

STATUSES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
            408: "DEADLINE_EXCEEDED", 409: "ABORTED", 412: "FAILED_PRECONDITION", 413: "INVALID_ARGUMENT",
            415: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL",
            501: "UNIMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
TYPE_PREFIX = "type.googleapis.com/google.rpc."
DOMAIN = "googleapis.com"
SERVICE = "generativelanguage.googleapis.com"
DEFAULT_RETRY_SECONDS = 7
_UNRECOGNIZED = re.compile(r"Unrecognized request arguments? supplied: (.+)$")
_OPENAI_PREFIX = re.compile(r"^Invalid (type for )?'[^']*': ")
_NUMBERS = re.compile(r"\d+")


def status_of(code: int) -> str:
    return STATUSES.get(code, "INTERNAL" if code >= 500 else "FAILED_PRECONDITION")


def envelope(code: int, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": status_of(code)}
    if details:
        error["details"] = details
    return {"error": error}


def error_body(error: ApiError) -> tuple[int, dict[str, Any]]:
    """The status and body Gemini answers ``error`` with."""
    if error.code == "missing_api_key":
        return 403, envelope(403, "Method doesn't allow unregistered callers (callers without established "
                             "identity). Please use API Key or other form of API consumer identity to call this API.")
    if error.code == "invalid_api_key":
        return 400, envelope(400, "API key not valid. Please pass a valid API key.", [
            {"@type": TYPE_PREFIX + "ErrorInfo", "reason": "API_KEY_INVALID", "domain": DOMAIN,
             "metadata": {"service": SERVICE}}])
    if error.status == 429:
        delay = _retry_seconds(error.headers)
        message = "You exceeded your current quota, please check your plan and billing details."
        if error.message and error.code != "rate_limit_exceeded" and error.message != SERVER_ERROR_MESSAGE:
            message = error.message
        return 429, envelope(429, f"{message} Please retry in {delay}s.", [
            {"@type": TYPE_PREFIX + "QuotaFailure", "violations": [{
                "quotaMetric": f"{SERVICE}/generate_content_free_tier_requests",
                "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
            {"@type": TYPE_PREFIX + "RetryInfo", "retryDelay": f"{delay}s"}])
    message = worded(error)
    details = None
    if error.status == 400 and error.param and error.code != "context_length_exceeded":
        details = [{"@type": TYPE_PREFIX + "BadRequest",
                    "fieldViolations": [{"field": error.param, "description": message.strip()}]}]
    return error.status, envelope(error.status, message, details)


def worded(error: ApiError) -> str:
    """The message as the API words it."""
    if error.message == SERVER_ERROR_MESSAGE:
        return {503: "The model is overloaded. Please try again later.",
                500: "An internal error has occurred. Please retry or report in "
                     "https://developers.generativeai.google/guide/troubleshooting"}.get(
            error.status, "Internal error encountered.")
    if error.code == "context_length_exceeded":
        window, asked = _NUMBERS.findall(error.message)[:2]
        return f"The input token count ({asked}) exceeds the maximum number of tokens allowed ({window})."
    if error.code == "unknown_parameter" and error.param:
        name = error.param.rsplit(".", 1)[-1].split("[")[0]
        return f'Invalid JSON payload received. Unknown name "{name}" at \'{_parent(error.param)}\': Cannot find field.'
    unrecognized = _UNRECOGNIZED.match(error.message)
    if unrecognized:
        names = [name.strip().strip("'\"") for name in unrecognized.group(1).split(",")]
        return " ".join(f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.' for name in names)
    if error.code == "missing_required_parameter" and error.param:
        return f"* GenerateContentRequest.{error.param}: {error.param.rsplit('.', 1)[-1]} is not specified\n"
    if error.code == "model_not_found" or (error.status == 404 and error.param == "model"):
        model = error.message.split("`")[1] if error.message.count("`") >= 2 else "the model"
        return (f"models/{model} is not found for API version v1beta, or is not supported for generateContent. "
                "Call ListModels to see the list of available models and their supported methods.")
    if error.param and _OPENAI_PREFIX.match(error.message):
        return f"Invalid value at '{error.param}' ({_OPENAI_PREFIX.sub('', error.message)})"
    return error.message


def _parent(param: str) -> str:
    parent = param.rsplit(".", 1)[0] if "." in param else ""
    return parent


def _retry_seconds(headers: dict[str, str]) -> int:
    millis = headers.get("retry-after-ms")
    if millis is not None:
        return max(1, math.ceil(float(millis) / 1000))
    seconds = headers.get("retry-after")
    return max(1, math.ceil(float(seconds))) if seconds else DEFAULT_RETRY_SECONDS


def error_response(error: ApiError) -> Response:
    headers = translated(error.headers)
    if isinstance(error, InjectedError):  # a verbatim body, as the test gave it
        return Response(orjson.dumps(error.body), status_code=error.status, headers=headers, media_type=JSON_MEDIA_TYPE)
    status, body = error_body(error)
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type=JSON_MEDIA_TYPE)


def error_frame(message: str, kind: str, code: str | None, index: int) -> bytes:
    """The in-band failure of a stream (an ``error_event`` fault): a ``data:`` frame of the error envelope, which
    the SDK raises (a 500 ``INTERNAL`` unless the fault says overloaded: 503 ``UNAVAILABLE``)."""
    status = 503 if code == "overloaded" or kind == "overloaded_error" else 500
    said = worded(ApiError(status, message))
    return b"data: " + orjson.dumps(envelope(status, said)) + b"\r\n\r\n"


def translated(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` without OpenAI's ``x-ratelimit-*`` (Gemini sends no rate-limit headers)."""
    if not any(name.startswith("x-ratelimit-") for name in headers):
        return headers
    return {name: value for name, value in headers.items() if not name.startswith("x-ratelimit-")}


def stamp(processing_ms: int) -> dict[str, str]:
    return {"server-timing": f"gfet4t7; dur={processing_ms}"}


GEMINI_WIRE = Wire("gemini", error_response, "x-request-id", stamp, translated)


__all__ = ["GEMINI_WIRE", "envelope", "error_body", "error_frame", "status_of", "translated", "worded"]

"""The provider error envelope.

Every failure the mock reports, whether a bad request, an unknown model or an
injected fault, is an :class:`ApiError`. Its body is the envelope real
providers use, ``{"error": {"message", "type", "param", "code"}}``, because the
official SDKs pick their exception class from the status and read ``code`` and
``type`` from that envelope.
"""

from __future__ import annotations

from typing import Any


class MockserverError(Exception):
    """The base of every exception mockserver raises on purpose (``except MockserverError`` catches them all)."""


class ApiError(MockserverError):
    """An HTTP error answered in the OpenAI envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def envelope(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.message!r}, param={self.param!r}, code={self.code!r})"


def invalid_request(message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    """A 400 ``invalid_request_error``: the shape OpenAI uses for every body problem."""
    return ApiError(400, message, param=param, code=code)


def model_not_found(model_id: str) -> ApiError:
    shown = model_id if len(model_id) <= 256 else model_id[:256] + f"… ({len(model_id)} characters)"
    return ApiError(
        404,
        f"The model `{shown}` does not exist or you do not have access to it.",
        param="model",
        code="model_not_found",
    )


def request_too_large(size: int, limit: int) -> ApiError:
    return ApiError(
        413, f"Request body of {size} bytes exceeds the limit of {limit} bytes (--max-body).", code="request_too_large"
    )


def unsupported_content_type(content_type: str, expected: str) -> ApiError:
    """A 415 saying what to send instead (``expected`` is a sentence fragment: ``the body as JSON ...``)."""
    return ApiError(
        415,
        f"Unsupported content type {content_type or 'none'!r}: send {expected}.",
        code="unsupported_content_type",
    )

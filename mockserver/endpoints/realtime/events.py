"""The Realtime API's server events and items, as the GA protocol shapes them (``RealtimeServerEvent*`` of the
OpenAI spec): every event has its own ``event_id``; items are ``realtime.item`` objects with ids ``item_…``."""

from __future__ import annotations

from typing import Any

from mockserver.determinism import Identity

DEFAULT_VOICE = "alloy"
AUDIO_RATE = 24_000
TURN_DETECTION = {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 200,
                  "idle_timeout_ms": None, "create_response": True, "interrupt_response": True}
SESSION_SECONDS = 30 * 60
"""How long a session lives, as ``expires_at`` says (the API's 30 minutes)."""


class EventIds:
    """The session's ids: events, items, responses and calls, each numbered in the session and made from its id, so
    the same session (same seed, same client events) sends the same ids."""

    def __init__(self, session_id: str) -> None:
        self.session = session_id
        self._count = 0

    def make(self, prefix: str, length: int = 21) -> str:
        self._count += 1
        return Identity.make_id(prefix, f"{self.session}:{self._count}".encode(), length)

    def event(self) -> str:
        return self.make("event_")


def session_object(session_id: str, model: str, expires_at: int) -> dict[str, Any]:
    """A new session's settings, as ``session.created`` announces them (the API's defaults; no input transcription,
    noise reduction or ``include`` until a ``session.update`` sets them)."""
    return {
        "type": "realtime", "object": "realtime.session", "id": session_id, "model": model,
        "output_modalities": ["audio"], "instructions": "", "tools": [], "tool_choice": "auto",
        "max_output_tokens": "inf", "tracing": None, "truncation": "auto", "prompt": None, "expires_at": expires_at,
        "audio": {
            "input": {"format": {"type": "audio/pcm", "rate": AUDIO_RATE}, "turn_detection": dict(TURN_DETECTION)},
            "output": {"format": {"type": "audio/pcm", "rate": AUDIO_RATE}, "voice": DEFAULT_VOICE, "speed": 1.0},
        },
    }


def item(item_id: str, kind: str, status: str = "completed", **fields: Any) -> dict[str, Any]:
    return {"id": item_id, "object": "realtime.item", "type": kind, "status": status, **fields}


def response_object(response_id: str, status: str, output: list[dict[str, Any]], modalities: list[str],
                    conversation_id: str | None, usage: dict[str, Any] | None = None,
                    status_details: dict[str, Any] | None = None, metadata: Any = None,
                    max_output_tokens: Any = "inf", audio_output: dict[str, Any] | None = None) -> dict[str, Any]:
    """A response as ``response.created`` and ``response.done`` carry it; what it does not have yet (the usage, the
    details of how it ended, the conversation of an out-of-band one) is left out, as the spec types them.
    ``audio_output``: the session's output ``format`` and ``voice``."""
    body: dict[str, Any] = {"object": "realtime.response", "id": response_id, "status": status, "output": output,
                            "output_modalities": modalities, "max_output_tokens": max_output_tokens,
                            "audio": {"output": audio_output or {"format": {"type": "audio/pcm", "rate": AUDIO_RATE},
                                                                 "voice": DEFAULT_VOICE}}, "metadata": metadata}
    for name, value in (("status_details", status_details), ("conversation_id", conversation_id), ("usage", usage)):
        if value is not None:
            body[name] = value
    return body


def usage(input_tokens: int, text_tokens: int, audio_tokens: int) -> dict[str, Any]:
    output = text_tokens + audio_tokens
    return {"total_tokens": input_tokens + output, "input_tokens": input_tokens, "output_tokens": output,
            "input_token_details": {"text_tokens": input_tokens, "audio_tokens": 0, "image_tokens": 0,
                                    "cached_tokens": 0, "cached_tokens_details": {
                                        "text_tokens": 0, "audio_tokens": 0, "image_tokens": 0}},
            "output_token_details": {"text_tokens": text_tokens, "audio_tokens": audio_tokens}}


def error(event_id: str, message: str, *, kind: str = "invalid_request_error", code: str | None = None,
          param: str | None = None, client_event_id: str | None = None) -> dict[str, Any]:
    """An ``error`` event: the session goes on. ``client_event_id`` names the client event it answers."""
    return {"type": "error", "event_id": event_id, "error": {
        "type": kind, "code": code, "message": message, "param": param, "event_id": client_event_id}}


__all__ = ["AUDIO_RATE", "DEFAULT_VOICE", "SESSION_SECONDS", "TURN_DETECTION", "EventIds", "error", "item",
           "response_object", "session_object", "usage"]

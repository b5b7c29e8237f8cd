"""Helpers shared by the tests: SSE parsing and stream conformance checks."""

from __future__ import annotations

import orjson

from mockserver.conformance import validate_official


def parse_sse(raw: bytes) -> list[dict | str]:
    """Split a raw SSE body into decoded JSON payloads (and the literal ``[DONE]``), checking framing."""
    assert raw.endswith(b"\n\n"), "an SSE stream must end with a blank line"
    assert b"\r" not in raw, "frames use LF only"
    events: list[dict | str] = []
    for frame in raw.decode().split("\n\n")[:-1]:
        assert frame.startswith("data: "), f"unexpected frame {frame[:60]!r}"
        assert "\n" not in frame, "each event is a single data line"
        payload = frame[len("data: "):]
        events.append(payload if payload == "[DONE]" else orjson.loads(payload))
    return events


def assert_stream_conforms(events: list[dict | str]) -> list[dict]:
    assert events[-1] == "[DONE]"
    chunks = [event for event in events[:-1]]
    for chunk in chunks:
        assert isinstance(chunk, dict)
        validate_official("CreateChatCompletionStreamResponse", chunk)
    first = chunks[0]
    for chunk in chunks:
        for key in ("id", "created", "model", "system_fingerprint"):
            assert chunk[key] == first[key]
    return chunks  # type: ignore[return-value]

"""Sending a request the cassette cannot answer to the real provider, and keeping what came back.

The upstream's key comes from an environment variable (``--upstream-key-env``, ``OPENAI_API_KEY`` unless
set) and is never written down; without it the client's own ``Authorization`` (or ``x-api-key``,
``x-goog-api-key``) is passed on. A stream is read event by event (or line by line, for JSON lines), each stamped
with its time since the request was sent, so a replay can keep the pacing and the exact frames.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from mockserver.asgi.outgoing import NDJSON_MEDIA_TYPE, SSE_MEDIA_TYPE
from mockserver.cassettes.format import KEPT_RESPONSE_HEADERS, Frame
from mockserver.errors import ApiError

if TYPE_CHECKING:
    import httpx  # imported where a recording first needs it: a mock that records nothing never loads it

FORWARDED_HEADERS = ("content-type", "accept", "openai-beta", "x-stainless-helper-method", "anthropic-version",
                     "anthropic-beta")
STREAM_MEDIA_TYPES = (SSE_MEDIA_TYPE, NDJSON_MEDIA_TYPE)
"""Answers recorded frame by frame: server-sent events, and JSON lines (Ollama's streams)."""
PROVIDER_KEY_HEADERS = ("x-api-key", "x-goog-api-key")
"""Headers a provider takes its key in besides ``Authorization`` (Anthropic's, Gemini's)."""
UPSTREAM_SECONDS = 120.0
UPSTREAM_CONNECT_SECONDS = 10.0


@dataclass
class Upstreams:
    """Where each dialect's unanswered requests go: ``{dialect: base URL}``, ``"*"`` for every dialect."""

    urls: dict[str, str]
    key_env: str = "OPENAI_API_KEY"

    @classmethod
    def parse(cls, entries: list[str], key_env: str) -> Upstreams:
        urls = {}
        for entry in entries:
            dialect, _, url = entry.rpartition("=") if "=" in entry.split("://", 1)[0] else ("", "", entry)
            urls[dialect or "*"] = url.rstrip("/")
        return cls(urls, key_env)

    def url_for(self, dialect: str) -> str | None:
        return self.urls.get(dialect) or self.urls.get("*")


@dataclass
class Recorded:
    status: int
    headers: dict[str, str]
    body: Any = None
    frames: list[Frame] | None = None


async def fetch(client: httpx.AsyncClient, upstreams: Upstreams, dialect: str, method: str, path: str,
                query: str, headers: Any, body: Any) -> Recorded:
    """The upstream's answer to this request, read to its end."""
    import httpx
    base = upstreams.url_for(dialect)
    if base is None:
        raise ApiError(502, f"Nothing to record from: no upstream for the {dialect!r} dialect. Start the mock with "
                       f"--upstream URL (or --upstream {dialect}=URL).", type="server_error",
                       code="no_upstream")
    sent = {name: headers[name] for name in FORWARDED_HEADERS if name in headers}
    key = os.environ.get(upstreams.key_env)
    own = next((name for name in PROVIDER_KEY_HEADERS if name in headers), None)
    if own is not None:  # Anthropic's or Gemini's key header: the key goes upstream the way the client sent it
        sent[own] = key or headers[own]
    elif key:
        sent["authorization"] = f"Bearer {key}"
    elif "authorization" in headers:
        sent["authorization"] = headers["authorization"]
    url = base + path + (f"?{query}" if query else "")
    content = None if body is None else orjson.dumps(body)
    started = time.perf_counter()
    timeout = httpx.Timeout(UPSTREAM_SECONDS, connect=UPSTREAM_CONNECT_SECONDS)
    try:
        async with client.stream(method, url, headers=sent, content=content, timeout=timeout) as answer:
            kept = {name: answer.headers[name] for name in KEPT_RESPONSE_HEADERS if name in answer.headers}
            media_type = answer.headers.get("content-type", "")
            if media_type.startswith(STREAM_MEDIA_TYPES):
                frames = []
                pending = b""
                end = b"\n" if media_type.startswith(NDJSON_MEDIA_TYPE) else b"\n\n"  # a line, or an SSE frame
                async for chunk in answer.aiter_bytes():
                    pending += chunk.replace(b"\r\n", b"\n")
                    *events, pending = pending.split(end)
                    now = (time.perf_counter() - started) * 1000
                    frames += [Frame(now, event.decode()) for event in events if event.strip()]
                if pending.strip():
                    frames.append(Frame((time.perf_counter() - started) * 1000, pending.decode()))
                return Recorded(answer.status_code, kept, frames=frames)
            raw = await answer.aread()
    except httpx.HTTPError as error:
        raise ApiError(502, f"The upstream {base} did not answer: {type(error).__name__}: {error}",
                       type="server_error", code="upstream_unreachable") from None
    try:
        parsed = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        parsed = raw.decode("utf-8", "replace")
    return Recorded(answer.status_code, kept, body=parsed)

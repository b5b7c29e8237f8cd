"""Where a chat request's time goes: ``python bench/stages.py [--requests 5000] [--stream] [STAGE ...]``.

Runs chat requests through the ASGI app in this process (no socket, no server: what the mock itself costs) and
times the stages of the pipeline with wall-clock accumulators wrapped around them, then prints each stage's
microseconds a request next to the whole request's. A stage is ``module:Class:method`` or ``module::function``
(the name the caller looks up: a function imported by name is wrapped in the importing module). Stages nest, so
their times overlap; each wrapper adds about 0.3 µs. The default stages are the pipeline's steps.

Use it to find what to remove before a change and to see what the change removed; ``bench/run.py`` measures the
served throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import gc
import importlib
import inspect
import sys
import time
from collections.abc import Callable
from typing import Any

STAGES = (
    "mockserver.app.pipeline::read_json",
    "mockserver.control.plane:Control:decide",
    "mockserver.services.chat:ChatService:complete",
    "mockserver.generation.chat:ChatGenerator:complete",
    "mockserver.generation.chat:ChatGenerator:_content",
    "mockserver.generation.chat::prescribed_answer",
    "mockserver.generation.chat::described_json",
    "mockserver.generation.prose:Phrasebook:paragraph",
    "mockserver.generation.tokens:Tokenizer:count_prompt",
    "mockserver.endpoints.chat.completions::completion_body",
    "mockserver.endpoints.chat.completions::sse_frames",
    "mockserver.endpoints.chat.completions::json_response",
    "mockserver.journal:Journal:append",
    "mockserver.app.pipeline::add_headers",
)
WARM_UP = 300


def timed(stage: str, totals: collections.Counter[str]) -> None:
    """Wrap ``stage`` so each call adds its nanoseconds to ``totals[stage]``."""
    module_name, owner_name, attribute = stage.split(":")
    owner: Any = importlib.import_module(module_name)
    if owner_name:
        owner = getattr(owner, owner_name)
    original: Callable[..., Any] = getattr(owner, attribute)

    if inspect.iscoroutinefunction(original):
        @functools.wraps(original)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter_ns()
            try:
                return await original(*args, **kwargs)
            finally:
                totals[stage] += time.perf_counter_ns() - started
    else:
        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter_ns()
            try:
                return original(*args, **kwargs)
            finally:
                totals[stage] += time.perf_counter_ns() - started
    setattr(owner, attribute, wrapper)


async def one(app: Any, number: int, stream: bool) -> None:
    extra = b',"stream":true,"max_tokens":30' if stream else b""
    body = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"What is the capital of France? #%d"}]%s}' % (
        number, extra)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions", "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
             "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
                         (b"authorization", b"Bearer sk-bench"), (b"content-length", str(len(body)).encode())]}
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:  # the client stays: nothing more until the answer is over
            await asyncio.get_running_loop().create_future()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    await app(scope, receive, send)


async def measure(requests: int, stream: bool, stages: list[str]) -> None:
    from mockserver.app.assembly import create_app

    totals: collections.Counter[str] = collections.Counter()
    for stage in stages:
        timed(stage, totals)
    app = create_app()
    for number in range(WARM_UP):
        await one(app, number, stream)
    gc.freeze()  # as a serving process does
    totals.clear()
    started = time.perf_counter_ns()
    for number in range(requests):
        await one(app, WARM_UP + number, stream)
    print(f"{'whole request':<58} {(time.perf_counter_ns() - started) / requests / 1000:7.1f} µs")
    for stage in stages:
        print(f"  {stage:<56} {totals[stage] / requests / 1000:7.1f} µs")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--stream", action="store_true", help="streamed requests (30 tokens)")
    parser.add_argument("stages", nargs="*", help="module:Class:method or module::function (default: the pipeline's)")
    arguments = parser.parse_args()
    asyncio.run(measure(arguments.requests, arguments.stream, arguments.stages or list(STAGES)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

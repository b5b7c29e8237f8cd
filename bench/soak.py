"""Soak: ``python bench/soak.py [--requests 100000] [--concurrency 32] [--fault-share 0.1]``.

Drives one ``mockserver serve`` process over loopback with an asyncio httpx2
client (bounded concurrency): chat (JSON and SSE), models and embeddings, with
``--fault-share`` of the requests carrying an ``X-Mock-Fault`` of every kind in
turn. Every outcome is checked against what that fault (or no fault) must give:
a status, a complete or deliberately broken stream, a timeout, a connection
error. Anything else is an unexpected error. The server's RSS is sampled along
the way (flat once warm) and the journal must stay within ``--journal-size``.

The numbers of the last full run are in the README ("Reliability"); the test
suite runs a short one (``tests/test_soak.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
import load

API_KEY = "sk-soak"
JOURNAL_SIZE = 1000
# A hung response is given up after this long; connecting may take longer on a loaded machine (not a failure).
HANG_TIMEOUT = httpx2.Timeout(10, read=0.3)
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Tell me about the weather in Paris."}]}
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


@dataclass(frozen=True)
class Outcome:
    """What one request ended as: a status and a body, or the name of the exception the client raised."""

    status: int | None = None
    body: bytes = b""
    error: str | None = None

    @property
    def stream_done(self) -> bool:
        return self.body.endswith(b"data: [DONE]\n\n")


def ok_json(outcome: Outcome) -> bool:
    return outcome.status == 200 and outcome.body.startswith(b"{")


def ok_stream(outcome: Outcome) -> bool:
    return outcome.status == 200 and outcome.stream_done


def status(code: int) -> Callable[[Outcome], bool]:
    return lambda outcome: outcome.status == code and b'"error"' in outcome.body


def cut(outcome: Outcome) -> bool:
    return outcome.error in ("RemoteProtocolError", "ReadError", "ConnectError", "WriteError")


# Every fault of the vocabulary: (X-Mock-Fault, stream, extra body, what the client must see).
FAULTS: list[tuple[str, bool, dict[str, Any], Callable[[Outcome], bool]]] = [
    ("http_error;status=500", False, {}, status(500)),
    ("http_error;status=503;retry_after_ms=1", True, {}, status(503)),
    ("rate_limit;retry_after_ms=1", False, {}, status(429)),
    ("context_overflow", False, {}, status(400)),
    ("broken_tool_call;kind=malformed_arguments", False, {"tools": [TOOL]}, ok_json),
    ("broken_tool_call;kind=unknown_tool", True, {"tools": [TOOL]}, ok_stream),
    ("latency;ms=5", False, {}, ok_json),
    ("ttft;ms=5", True, {}, ok_stream),
    ("tokens_per_second;rate=5000", True, {}, ok_stream),
    ("stall;after_chunks=1;seconds=0.02", True, {}, ok_stream),
    ("hang", False, {}, lambda outcome: outcome.error == "ReadTimeout"),
    ("truncate;after_chunks=2", True, {}, lambda outcome: outcome.status == 200 and not outcome.stream_done),
    ("disconnect;after_chunks=2", True, {}, cut),
    ("disconnect;after_bytes=40", False, {}, cut),
    ("malformed;after_chunks=1", True, {}, lambda outcome: outcome.status == 200 and b"data: {" in outcome.body
     and outcome.stream_done),
    ("error_event;after_chunks=1", True, {},
     lambda outcome: outcome.status == 200 and b'data: {"error"' in outcome.body),
    ("reset", False, {}, cut),
    ("empty", False, {}, cut),
    ("garbage", False, {}, cut),
]


@dataclass
class Tally:
    """Counts by what was sent and how it ended; the first few unexpected outcomes, for the report."""

    outcomes: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    unexpected_count: int = 0

    def record(self, label: str, outcome: Outcome, expected: bool) -> None:
        self.outcomes[label] += 1
        if not expected:
            self.unexpected_count += 1
            if len(self.unexpected) < 20:
                shown = outcome.error or f"{outcome.status} {outcome.body[:200]!r}"
                self.unexpected.append(f"{label}: {shown}")


async def send(http: httpx2.AsyncClient, method: str, path: str, body: Any, headers: dict[str, str],
               timeout: httpx2.Timeout | None = None) -> Outcome:
    try:
        request = http.build_request(method, path, json=body, headers=headers,
                                     timeout=timeout if timeout is not None else http.timeout)
        response = await http.send(request, stream=True)
        try:
            received = b"".join([chunk async for chunk in response.aiter_raw()])
        finally:
            await response.aclose()
        return Outcome(response.status_code, received)
    except httpx2.HTTPError as error:
        return Outcome(error=type(error).__name__)


async def one(http: httpx2.AsyncClient, rng: random.Random, fault_share: float, tally: Tally) -> None:
    if rng.random() < fault_share:
        fault, stream, extra, expected = FAULTS[rng.randrange(len(FAULTS))]
        timeout = HANG_TIMEOUT if fault == "hang" else None
        outcome = await send(http, "POST", "/v1/chat/completions", {**CHAT, **extra, "stream": stream},
                             {"X-Mock-Fault": fault}, timeout)
        tally.record(fault.split(";")[0], outcome, expected(outcome))
        return
    kind = rng.randrange(4)
    if kind == 0:
        outcome = await send(http, "POST", "/v1/chat/completions", CHAT, {})
        tally.record("chat", outcome, ok_json(outcome))
    elif kind == 1:
        outcome = await send(http, "POST", "/v1/chat/completions", {**CHAT, "stream": True}, {})
        tally.record("chat stream", outcome, ok_stream(outcome))
    elif kind == 2:
        outcome = await send(http, "GET", "/v1/models", None, {})
        tally.record("models", outcome, ok_json(outcome))
    else:
        outcome = await send(http, "POST", "/v1/embeddings", {"model": "text-embedding-3-small", "input": "soak"}, {})
        tally.record("embeddings", outcome, ok_json(outcome))


async def drive(origin: str, requests: int, concurrency: int, fault_share: float, seed: int,
                sample: Callable[[int], None]) -> Tally:
    """``requests`` requests from ``concurrency`` workers; ``sample(done)`` about every 1% of the run."""
    tally = Tally()
    rng = random.Random(seed)
    done = 0
    every = max(requests // 100, 1)
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx2.AsyncClient(base_url=origin, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10,
                                  limits=limits) as http:

        async def worker() -> None:
            nonlocal done
            while done < requests:
                done += 1
                await one(http, rng, fault_share, tally)
                if done % every == 0:
                    sample(done)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tally


def soak(requests: int, concurrency: int = 32, fault_share: float = 0.1, seed: int = 0) -> dict[str, Any]:
    """Run a soak against a fresh ``mockserver serve`` process; the numbers as a dict."""
    samples: list[tuple[int, int]] = []
    started = time.monotonic()
    with load.Server.mockserver("--journal-size", str(JOURNAL_SIZE), "--seed", str(seed)) as server:
        samples.append((0, server.rss_kib()))
        tally = asyncio.run(drive(server.origin, requests, concurrency, fault_share, seed,
                                  lambda done: samples.append((done, server.rss_kib()))))
        elapsed = time.monotonic() - started
        journal = httpx2.get(server.origin + "/_mock/requests").json()["data"]
        health = httpx2.get(server.origin + "/_mock/health").status_code
    warm = samples[len(samples) // 10] if len(samples) > 10 else samples[0]
    return {
        "requests": requests,
        "concurrency": concurrency,
        "fault_share": fault_share,
        "seconds": round(elapsed, 1),
        "requests_per_second": round(requests / elapsed),
        "unexpected": tally.unexpected_count,
        "unexpected_examples": tally.unexpected,
        "outcomes": dict(sorted(tally.outcomes.items())),
        "faulted": sum(count for label, count in tally.outcomes.items() if label not in
                       ("chat", "chat stream", "models", "embeddings")),
        "rss_start_kib": samples[0][1],
        "rss_warm_kib": warm[1],
        "rss_end_kib": samples[-1][1],
        "rss_growth_after_warm_kib": samples[-1][1] - warm[1],
        "journal_entries": len(journal),
        "journal_size": JOURNAL_SIZE,
        "healthy_after": health == 200,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--fault-share", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    result = soak(args.requests, args.concurrency, args.fault_share, args.seed)
    result["machine"] = load.machine()
    path = load.save("soak", result)
    print(f"{result['requests']:,} requests in {result['seconds']} s ({result['requests_per_second']:,}/s), "
          f"{result['faulted']:,} with faults; unexpected: {result['unexpected']}")
    print(f"RSS {result['rss_start_kib'] / 1024:.1f} MiB at start, {result['rss_warm_kib'] / 1024:.1f} MiB warm, "
          f"{result['rss_end_kib'] / 1024:.1f} MiB at the end; journal {result['journal_entries']} / "
          f"{result['journal_size']}")
    for example in result["unexpected_examples"]:
        print("  unexpected:", example)
    print(f"saved {path}")
    sys.exit(1 if result["unexpected"] or not result["healthy_after"] else 0)


if __name__ == "__main__":
    main()

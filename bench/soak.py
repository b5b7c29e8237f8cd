"""Soak: ``python bench/soak.py [--requests 100000] [--concurrency 32] [--fault-share 0.1] [--hostile-share 0.05]``.

Drives one ``mockserver serve`` process (default settings) over loopback with an
asyncio httpx2 client (bounded concurrency): chat (JSON and SSE), models and
embeddings, with ``--fault-share`` of the requests carrying an ``X-Mock-Fault`` of
every kind in turn, and ``--hostile-share`` of them hostile: large bodies, bracket
bombs, deep nesting, catastrophic and unsupported patterns, oversized generation,
oversized heads and bodies, image URLs issued and forged, scripts with a
catastrophic ``message_regex``. Every outcome is checked against what that fault,
hostile request (or nothing) must give: a status, a complete or deliberately
broken stream, a timeout, a connection error. Anything else is an unexpected
error. The server's RSS is sampled along the way: it must stay flat once warm and
under ``RSS_BOUND_MIB``, and the journal within its entry bound.

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
import orjson

API_KEY = "sk-soak"
JOURNAL_SIZE = 1000  # the default
RSS_BOUND_MIB = 512
"""What the server may hold at the default settings under this mix: ~250 MiB warm, a 64 MiB journal,
and the bodies of the requests in flight."""
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


def schema_format(property_schema: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "object", "properties": {"value": property_schema}, "required": ["value"],
              "additionalProperties": False}
    return {"response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": schema, "strict": True}}}


def error_code(status_code: int, code: str) -> Callable[[Outcome], bool]:
    return lambda outcome: outcome.status == status_code and code.encode() in outcome.body


def chat_body(**extra: Any) -> bytes:
    return orjson.dumps({**CHAT, **extra})


LONG_MESSAGE = chat_body(messages=[{"role": "user", "content": "word " * (80 * 1024)}])  # 400 KiB, 80k tokens
OVER_CONTEXT = chat_body(messages=[{"role": "user", "content": "word " * (800 * 1024)}])  # 4 MiB
BRACKET_BOMB = b'{"model": "gpt-4o-mini", "messages": [' + b"[]," * 300_000 + b'[]]}'
DEEP = b'{"model": "gpt-4o-mini", "messages": ' + b"[" * 100 + b"]" * 100 + b"}"
OVER_MAX_BODY = b" " * (32 * 1024 * 1024 + 1)

# Hostile requests: (label, weight, method, path, body bytes, headers, what the client must see).
HOSTILE: list[tuple[str, int, str, str, bytes | None, dict[str, str], Callable[[Outcome], bool]]] = [
    ("long body", 8, "POST", "/v1/chat/completions", LONG_MESSAGE, {}, ok_json),
    ("over context", 4, "POST", "/v1/chat/completions", OVER_CONTEXT, {}, error_code(400, "context_length_exceeded")),
    ("bracket bomb", 8, "POST", "/v1/chat/completions", BRACKET_BOMB, {}, error_code(400, "invalid_json")),
    ("deep nesting", 8, "POST", "/v1/chat/completions", DEEP, {}, error_code(400, "invalid_json")),
    ("catastrophic pattern", 8, "POST", "/v1/chat/completions", chat_body(**schema_format(
        {"type": "string", "pattern": "^(a+)+$"})), {}, ok_json),
    ("lookahead pattern", 8, "POST", "/v1/chat/completions", chat_body(**schema_format(
        {"type": "string", "pattern": "^(?=.)(.|.)*#$"})), {}, error_code(400, "invalid_json_schema")),
    ("huge minLength", 8, "POST", "/v1/chat/completions", chat_body(**schema_format(
        {"type": "string", "minLength": 1_000_000})), {}, error_code(400, "invalid_json_schema")),
    ("bad control header", 8, "POST", "/v1/chat/completions", chat_body(), {"X-Mock-Fault": "no_such_fault"},
     error_code(400, "invalid_control_header")),
    ("key in query", 8, "GET", "/v1/models?api_key=sk-secret", None, {}, ok_json),
    ("large head", 4, "GET", "/v1/models", None, {"X-Padding": "p" * 70_000},
     error_code(431, "request_header_fields_too_large")),
    ("forged image url", 4, "GET", "/_mock/files/images/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.png", None, {},
     error_code(404, "file_not_found")),
    ("oversized image", 4, "POST", "/v1/images/generations", orjson.dumps(
        {"model": "dall-e-2", "prompt": "a hill", "n": 10, "size": "4096x4096"}), {},
     lambda outcome: outcome.status == 400 and b'"size"' in outcome.body),
    ("over max body", 1, "POST", "/v1/chat/completions", OVER_MAX_BODY, {}, error_code(413, "request_too_large")),
    # Issue 25's kinds: a rebound name, another site's state change, a megabyte model name, digits int() refuses.
    ("rebound host", 4, "GET", "/_mock/requests", None, {"Host": "attacker.example"},
     error_code(403, "host_not_allowed")),
    ("cross-site reset", 4, "POST", "/_mock/reset", b"", {"Origin": "https://attacker.example"},
     error_code(403, "cross_origin_request")),
    ("huge model name", 4, "POST", "/v1/chat/completions", orjson.dumps(
        {"model": "m" * 1_000_000, "messages": [{"role": "user", "content": "hi"}]}), {},
     error_code(400, "string_above_max_length")),
    ("superscript digit", 4, "GET", "/v1/files?limit=%C2%B2", None, {}, error_code(400, "invalid_value")),
    ("endless digits", 4, "GET", "/_mock/requests?after=" + "9" * 5000, None, {}, error_code(400, "invalid_value")),
]
HOSTILE_WEIGHTS = [weight for _, weight, *_ in HOSTILE]
HOSTILE_LABELS = {label for label, *_ in HOSTILE} | {"issued image url", "catastrophic message_regex"}


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
               timeout: httpx2.Timeout | None = None, content: bytes | None = None) -> Outcome:
    try:
        if content is not None:
            headers = {"Content-Type": "application/json", **headers}
        request = http.build_request(method, path, json=body, content=content, headers=headers,
                                     timeout=timeout if timeout is not None else http.timeout)
        response = await http.send(request, stream=True)
        try:
            received = b"".join([chunk async for chunk in response.aiter_raw()])
        finally:
            await response.aclose()
        return Outcome(response.status_code, received)
    except httpx2.HTTPError as error:
        return Outcome(error=type(error).__name__)


async def hostile(http: httpx2.AsyncClient, rng: random.Random, tally: Tally) -> None:
    draw = rng.random()
    if draw < 0.08:  # an image URL the mock issued, then fetched as a client would
        issued = await send(http, "POST", "/v1/images/generations", {"model": "dall-e-3", "prompt": "a hill",
                                                                    "size": "1792x1024"}, {})
        url = orjson.loads(issued.body)["data"][0]["url"] if ok_json(issued) else "/missing"
        outcome = await send(http, "GET", url, None, {})
        tally.record("issued image url", outcome, outcome.status == 200 and outcome.body.startswith(b"\x89PNG"))
        return
    if draw < 0.16:  # a script whose message_regex backtracks exponentially elsewhere, for one test id
        test_id = {"X-Mock-Test-Id": f"soak-{rng.randrange(1 << 30)}"}
        script = {"behaviors": [{"reply": "matched", "match": {"message_regex": "(a+)+$"}}]}
        posted = await send(http, "POST", "/_mock/script", script, test_id)
        body = {**CHAT, "messages": [{"role": "user", "content": "a" * 40 + "!"}]}
        outcome = await send(http, "POST", "/v1/chat/completions", body, test_id)
        expected = posted.status == 200 and ok_json(outcome) and b"matched" not in outcome.body
        await send(http, "POST", "/_mock/reset", None, test_id)
        tally.record("catastrophic message_regex", outcome, expected)
        return
    label, _, method, path, content, headers, expected = rng.choices(HOSTILE, HOSTILE_WEIGHTS)[0]
    outcome = await send(http, method, path, None, headers, content=content)
    tally.record(label, outcome, expected(outcome))


async def one(http: httpx2.AsyncClient, rng: random.Random, fault_share: float, hostile_share: float,
              tally: Tally) -> None:
    draw = rng.random()
    if draw < hostile_share:
        await hostile(http, rng, tally)
        return
    if draw < hostile_share + fault_share:
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


async def drive(origin: str, requests: int, concurrency: int, fault_share: float, hostile_share: float, seed: int,
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
                await one(http, rng, fault_share, hostile_share, tally)
                if done % every == 0:
                    sample(done)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tally


def soak(requests: int, concurrency: int = 32, fault_share: float = 0.1, hostile_share: float = 0.05,
         seed: int = 0) -> dict[str, Any]:
    """Run a soak against a fresh ``mockserver serve`` process; the numbers as a dict."""
    samples: list[tuple[int, int]] = []
    started = time.monotonic()
    with load.Server.mockserver("--journal-size", str(JOURNAL_SIZE), "--seed", str(seed)) as server:
        samples.append((0, server.rss_kib()))
        tally = asyncio.run(drive(server.origin, requests, concurrency, fault_share, hostile_share, seed,
                                  lambda done: samples.append((done, server.rss_kib()))))
        elapsed = time.monotonic() - started
        journal = httpx2.get(server.origin + "/_mock/requests").json()["data"]
        health = httpx2.get(server.origin + "/_mock/health").status_code
        logged = server.stderr()
    # Warm: past the first tenth, and once the journal is full (it keeps the last JOURNAL_SIZE exchanges with the
    # start of each response: it grows until then by design, within --journal-bytes).
    warm_at = max(requests // 10, min(JOURNAL_SIZE, requests // 2))
    warm = next((sample for sample in samples if sample[0] >= warm_at), samples[-1])
    return {
        "requests": requests,
        "concurrency": concurrency,
        "fault_share": fault_share,
        "hostile_share": hostile_share,
        "seconds": round(elapsed, 1),
        "requests_per_second": round(requests / elapsed),
        "unexpected": tally.unexpected_count,
        "unexpected_examples": tally.unexpected,
        "outcomes": dict(sorted(tally.outcomes.items())),
        "faulted": sum(tally.outcomes[label] for label in {fault.split(";")[0] for fault, *_ in FAULTS}),
        "hostile": sum(count for label, count in tally.outcomes.items() if label in HOSTILE_LABELS),
        "rss_max_kib": max(rss for _, rss in samples),
        "rss_bound_kib": RSS_BOUND_MIB * 1024,
        "rss_start_kib": samples[0][1],
        "rss_warm_kib": warm[1],
        "rss_end_kib": samples[-1][1],
        "rss_growth_after_warm_kib": samples[-1][1] - warm[1],
        "journal_entries": len(journal),
        "journal_size": JOURNAL_SIZE,
        "healthy_after": health == 200,
        "server_errors": [line for line in logged.splitlines() if "ERROR" in line or "Traceback" in line][:20],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--fault-share", type=float, default=0.1)
    parser.add_argument("--hostile-share", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    result = soak(args.requests, args.concurrency, args.fault_share, args.hostile_share, args.seed)
    result["machine"] = load.machine()
    path = load.save("soak", result)
    print(f"{result['requests']:,} requests in {result['seconds']} s ({result['requests_per_second']:,}/s), "
          f"{result['faulted']:,} with faults, {result['hostile']:,} hostile; unexpected: {result['unexpected']}")
    print(f"RSS {result['rss_start_kib'] / 1024:.1f} MiB at start, {result['rss_warm_kib'] / 1024:.1f} MiB warm, "
          f"{result['rss_end_kib'] / 1024:.1f} MiB at the end, {result['rss_max_kib'] / 1024:.1f} MiB at most "
          f"(bound {RSS_BOUND_MIB} MiB); journal {result['journal_entries']} / "
          f"{result['journal_size']}")
    for example in result["unexpected_examples"]:
        print("  unexpected:", example)
    print(f"saved {path}")
    bounded = result["rss_max_kib"] <= result["rss_bound_kib"]
    for line in result["server_errors"]:
        print("  server logged:", line)
    failed = result["unexpected"] or result["server_errors"] or not result["healthy_after"] or not bounded
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

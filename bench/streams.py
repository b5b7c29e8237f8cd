"""Streaming capacity: ``python bench/streams.py [--streams 1000] [--rate 20] [--tokens 200]``.

Holds ``--streams`` concurrent chat streams on one mockserver worker, each
paced by the fault vocabulary (``X-Mock-Fault: tokens_per_second;rate=20``:
one frame every 1/rate s), and measures how far each gap between two frames
of a stream lands from 1/rate. The client is raw asyncio (one protocol object
per connection, uvloop when installed) on the other core: an HTTP library
would spend more time than the server and measure itself.

The streams start spread over ``--ramp`` seconds, as independent clients
arrive; ``--ramp 0`` starts them all at once, which puts every stream's frames
on the same instants (a worst case no real traffic has).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import sys
import time
from dataclasses import dataclass

import load

CHAT_PATH = "/v1/chat/completions"
CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Settings:
    streams: int = 1000
    rate: float = 20.0
    tokens: int = 200
    ramp: float = 1.0


DEFAULTS = Settings()


def request_bytes(port: int, settings: Settings) -> bytes:
    # A scripted reply of exactly `tokens` one-token words, so every stream is as long as asked.
    reply = " ".join(["token"] * settings.tokens)
    body = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Count."}],"stream":true}'
    head = (
        f"POST {CHAT_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {load.API_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
        f"X-Mock-Fault: tokens_per_second;rate={settings.rate:g}\r\nX-Mock-Reply: {reply}\r\n\r\n"
    )
    return head.encode() + body


class PacedStream(asyncio.Protocol):
    """One stream: the arrival time of every SSE frame (a frame ends with a blank line)."""

    def __init__(self, request: bytes, done: asyncio.Future) -> None:
        self.request = request
        self.done = done
        self.arrivals: list[float] = []
        self.status = b""
        self._last = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if not self.status:
            self.status = data[9:12]
        # A terminator split across two reads is counted once: carry the previous read's last byte.
        frames = (self._last + data).count(b"\n\n")
        self._last = data[-1:]
        self.arrivals.extend([now] * frames)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(exc)


async def one_stream(port: int, request: bytes, delay: float) -> PacedStream | Exception:
    await asyncio.sleep(delay)
    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            _, protocol = await loop.create_connection(lambda: PacedStream(request, done), "127.0.0.1", port)
    except (OSError, TimeoutError) as error:
        return error
    error = await done
    return error if error is not None else protocol


async def drive(port: int, settings: Settings) -> list[PacedStream | Exception]:
    request = request_bytes(port, settings)
    spread = random.Random(0)
    return await asyncio.gather(
        *(one_stream(port, request, spread.uniform(0, settings.ramp)) for _ in range(settings.streams))
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(settings: Settings) -> dict:
    """Start a mockserver, hold the streams, and report the gap errors in milliseconds."""
    load.pinned(load.CLIENT_CPU)()
    # The client is the measuring instrument: its own collector's pauses would read as the server's lateness.
    gc.disable()
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    with load.Server.mockserver() as server:
        cpu_before, started = server.cpu_seconds(), time.perf_counter()
        outcomes = runner(drive(server.port, settings))
        wall = time.perf_counter() - started
        server_cpu = (server.cpu_seconds() - cpu_before) / wall
    gc.enable()
    failed = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    held = [outcome for outcome in outcomes if isinstance(outcome, PacedStream)]
    expected_frames = settings.tokens + 3  # the role delta, one frame per token, the finish delta, [DONE]
    complete = [stream for stream in held if stream.status == b"200" and len(stream.arrivals) == expected_frames]
    interval = 1000 / settings.rate
    errors = [
        abs((later - earlier) * 1000 - interval)
        for stream in complete
        for earlier, later in zip(stream.arrivals, stream.arrivals[1:], strict=False)
    ]
    return {
        "settings": settings.__dict__,
        "streams_complete": len(complete),
        "streams_failed": len(failed) + len(held) - len(complete),
        "first_failure": repr(failed[0]) if failed else None,
        "gaps": len(errors),
        "interval_ms": interval,
        "error_p50_ms": round(statistics.median(errors), 3) if errors else None,
        "error_p99_ms": round(percentile(errors, 0.99), 3) if errors else None,
        "error_max_ms": round(max(errors), 3) if errors else None,
        "wall_s": round(wall, 2),
        "server_cpu_share": round(server_cpu, 3),
    }


def summary(result: dict) -> str:
    settings = result["settings"]
    return (
        f"{result['streams_complete']}/{settings['streams']} streams of {settings['tokens']} tokens at "
        f"{settings['rate']:g} tokens/s complete ({result['streams_failed']} failed); inter-chunk error over "
        f"{result['gaps']} gaps: p50 {result['error_p50_ms']} ms, p99 {result['error_p99_ms']} ms, "
        f"max {result['error_max_ms']} ms; server CPU {result['server_cpu_share']:.0%} of a core"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=DEFAULTS.streams)
    parser.add_argument("--rate", type=float, default=DEFAULTS.rate, help="tokens (frames) per second per stream")
    parser.add_argument("--tokens", type=int, default=DEFAULTS.tokens, help="tokens per stream")
    parser.add_argument("--ramp", type=float, default=DEFAULTS.ramp, help="seconds over which the streams start")
    args = parser.parse_args()
    result = run(Settings(args.streams, args.rate, args.tokens, args.ramp))
    print(summary(result))
    print(f"results: {load.save('streams', result)}")


if __name__ == "__main__":
    sys.exit(main())

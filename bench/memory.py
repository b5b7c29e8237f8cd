"""Memory: ``python bench/memory.py [--requests 1000000] [--budget 300]``.

Drives one mockserver worker (journal at its default bound, 1,000 entries)
with wrk, alternating non-stream and stream chat, and samples the process's
resident memory between runs, until ``--requests`` have been served or
``--budget`` seconds have passed. Bounded state must keep the RSS flat:
the figure that matters is the growth from the 100,000th request to the last.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import load

CHAT_PATH = "/v1/chat/completions"
SCRIPTS = ("chat.lua", "stream.lua")
CHUNK_SECONDS = 5.0
WARM = 100_000


@dataclass(frozen=True)
class Settings:
    requests: int = 1_000_000
    budget: float = 300.0


DEFAULTS = Settings()


def run(settings: Settings) -> dict:
    samples: list[tuple[int, int]] = []
    started = time.monotonic()
    total = 0
    with load.Server.mockserver() as server:
        samples.append((0, server.rss_kib()))
        while total < settings.requests and time.monotonic() - started < settings.budget:
            script = SCRIPTS[len(samples) % len(SCRIPTS)]
            total += load.wrk(server.origin + CHAT_PATH, script, CHUNK_SECONDS)["requests"]
            samples.append((total, server.rss_kib()))
            print(f"  {total:>9,} requests  RSS {samples[-1][1] / 1024:7.1f} MiB", flush=True)
    warm = next(((count, rss) for count, rss in samples if count >= WARM), samples[-1])
    last = samples[-1]
    return {
        "settings": settings.__dict__,
        "requests": total,
        "seconds": round(time.monotonic() - started, 1),
        "rss_start_kib": samples[0][1],
        "rss_warm_kib": warm[1],
        "warm_at_requests": warm[0],
        "rss_end_kib": last[1],
        "growth_after_warm": round(last[1] / warm[1] - 1, 4),
        "samples": samples,
    }


def summary(result: dict) -> str:
    return (
        f"{result['requests']:,} requests in {result['seconds']} s: "
        f"RSS {result['rss_start_kib'] / 1024:.1f} MiB at start, "
        f"{result['rss_warm_kib'] / 1024:.1f} MiB after {result['warm_at_requests']:,}, "
        f"{result['rss_end_kib'] / 1024:.1f} MiB at the end ({result['growth_after_warm']:+.1%})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=DEFAULTS.requests)
    parser.add_argument("--budget", type=float, default=DEFAULTS.budget, help="seconds at most")
    args = parser.parse_args()
    result = run(Settings(args.requests, args.budget))
    print(summary(result))
    print(f"results: {load.save('memory', result)}")


if __name__ == "__main__":
    sys.exit(main())

"""What the pytest plugin costs: starting the session's server, and serving each test (reset + scope).

    python bench/plugin_cost.py [--starts 30] [--resets 5000]

Targets: session start <= 50 ms (the first server of a fresh process, which
is what every pytest-xdist worker pays once), reset <= 1 ms (what every test
using the ``mockserver`` fixture pays). On a shared machine read the minimum:
other processes only ever add time. Importing mockserver is reported apart:
it is paid once per process by anything that uses the server, and not at all
by pytest runs that never ask for the fixture (the plugin imports lazily).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

COLD = """
import json, time
started = time.perf_counter()
from mockserver.app.server import MockServer
imported = time.perf_counter()
server = MockServer().start()
running = time.perf_counter()
server.stop()
stopped = time.perf_counter()
print(json.dumps({"import": imported - started, "start": running - imported, "stop": stopped - running}))
"""


def cold(runs: int) -> dict[str, list[float]]:
    """Import and first start in fresh interpreters, as a pytest worker does."""
    found: dict[str, list[float]] = {"import": [], "start": [], "stop": []}
    for _ in range(runs):
        output = subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True, check=True).stdout
        for key, value in json.loads(output).items():
            found[key].append(value)
    return found


def warm(starts: int) -> tuple[list[float], list[float]]:
    """Start and stop more servers in this process (shared compiled validators and imports)."""
    from mockserver.app.server import MockServer

    MockServer().start().stop()
    start_times, stop_times = [], []
    for _ in range(starts):
        began = time.perf_counter()
        server = MockServer().start()
        running = time.perf_counter()
        server.stop()
        start_times.append(running - began)
        stop_times.append(time.perf_counter() - running)
    return start_times, stop_times


def resets(count: int) -> tuple[list[float], list[float]]:
    """What the ``mockserver`` fixture does per test: ``scope()`` (a full reset) and leaving it.

    Each round first leaves what a test leaves behind: three scripts and 50
    journal entries, so the reset has something to clear.
    """
    from mockserver.app.server import MockServer
    from mockserver.journal import Exchange

    server = MockServer()
    journal = server.state.journal
    idle, busy = [], []
    for index in range(count):
        began = time.perf_counter()
        with server.scope(f"test-{index}"):
            pass
        idle.append(time.perf_counter() - began)
        with server.scope(f"busy-{index}"):
            server.reply("a", times=2)
            server.fail(503)
            server.tool_call("get_weather", {"city": "Paris"})
            for _ in range(50):
                journal.append(Exchange(journal.next_id(), 0.0, "POST", "/v1/chat/completions", "", {}))
        began = time.perf_counter()
        with server.scope(f"next-{index}"):
            pass
        busy.append(time.perf_counter() - began)
    return idle, busy


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (
        f"min {ordered[0] * 1000:8.3f} ms   median {statistics.median(values) * 1000:8.3f} ms   "
        f"p95 {p95 * 1000:8.3f} ms   (n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=5, help="fresh interpreters to start a first server in")
    parser.add_argument("--starts", type=int, default=30, help="servers to start and stop in one process")
    parser.add_argument("--resets", type=int, default=5000, help="per-test resets to time")
    args = parser.parse_args()
    first = cold(args.cold)
    start_times, stop_times = warm(args.starts)
    idle, busy = resets(args.resets)
    print(f"import mockserver.app.server       {ms(first['import'])}")
    print(f"session start (first server)   {ms(first['start'])}   target <= 50 ms")
    print(f"start, later servers           {ms(start_times)}")
    print(f"stop                           {ms(stop_times + first['stop'])}")
    print(f"reset per test, idle           {ms(idle)}   target <= 1 ms")
    print(f"reset per test, after a test   {ms(busy)}   target <= 1 ms")


if __name__ == "__main__":
    main()

"""The benchmark: ``python bench/run.py [--duration 10] [--quick] [--compare DIR]``.

Starts a raw-ASGI hello app and mockserver on loopback (one uvicorn worker
each, uvloop + httptools, each pinned to its own core with wrk on the other)
and drives both with wrk in the same run, so every mockserver number is read
as a fraction of what the bare server manages on this machine right now.
Then, unless ``--quick``, the paced-streams check (``streams.py``) and the
memory check (``memory.py``). ``--compare DIR`` also runs another checkout of
mockserver (``git worktree add DIR REV``) through the same scenarios, each of
its rounds next to the current one's: a before/after from one run. Prints a table and writes ``bench/results/*.json``.

The fleet rows run the chat and stream scenarios with ``--state redis://`` (a
``redis-server`` on loopback, started here; ``--no-fleet`` leaves them out),
without and with fleet-wide rate limits: what a fleet's state costs a request.

The peer rows run aimock (``@copilotkit/aimock``, pinned, installed from
npm into ``build/bench/aimock``) next to a mockserver that answers the chat
and stream prompts with the same fixed text from a fixture rule, in the same
rounds: ``x aimock`` is the mock's throughput over aimock's (``--no-peer``
leaves them out, e.g. without Node.js; ``--peer-only`` runs nothing else, and
with ``--compare`` the other checkout answers the same text in those rounds).

Load never goes through the openai SDK: it tops out near 400 req/s per core
and would measure itself.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import statistics
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import load
import memory
import streams

CHAT_PATH = "/v1/chat/completions"
# name, wrk script, expected status, what it is
SCENARIOS = [
    ("chat", "chat.lua", 200, "non-stream chat, short prompt"),
    ("stream", "stream.lua", 200, "stream chat, 30 tokens"),
    ("tools", "tools.lua", 200, "tool call from a schema"),
    ("invalid", "invalid.lua", 400, "validation failure (400)"),
    ("responses", "responses.lua", 200, "Responses API, short input"),
]
OFF_SCENARIOS = ("chat", "stream")
# The peer rows: both servers answer these scenarios' prompts with the same text, each from its own fixtures, so
# the rows compare the servers, not their generators. aimock streams a text in frames of a number of characters;
# four is about a token a frame, as the mock streams.
SAME_TEXT = {
    "capital of France": "The capital of France is Paris, a city on the Seine known for its museums, its cafes "
                         "and the Eiffel Tower.",
    "short story": "A lighthouse keeper found a bottle on the shore. Inside was a map of the island, drawn by "
                   "his own hand, dated next year.",
}
PEER_SCENARIOS = [("chat", "chat.lua", 200, "non-stream chat, same text"),
                  ("stream", "stream.lua", 200, "stream chat, same text")]
AIMOCK_CHUNK_CHARACTERS = 4
# Seconds of each peer scenario before its rounds: aimock's throughput rose by half over its first eight seconds of
# load (Node's compilers at work), so one second of warm-up let the first rounds read it slow.
PEER_WARM_UP_SECONDS = 5
# What a feature costs on the hot path: the same scenarios with it turned off.
OFF_VARIANTS = (("journal off", ("--journal-size", "0")), ("metrics off", ("--no-metrics",)))
# What a fleet's state costs (docs/fleet.md): the same scenarios with the state in a Redis on loopback, without
# and with fleet-wide rate limits (a limit no run reaches, so every request takes its buckets and none is refused).
FLEET_VARIANTS = (("redis state", ()), ("redis state + rpm", ("--rpm", "1000000000", "--tpm", "1000000000000")))
# Two workers on the mock's one core: what the supervisor and a second process cost where no core is free (on a
# machine with more cores each worker takes its own; see scaling_model).
WORKER_VARIANTS = (("workers 2, one core", ("--workers", "2")),)
MODEL_CORES = (1, 2, 4, 8, 16)


def lua_request(script: str) -> tuple[str, bytes, dict[str, str]]:
    """The path, body and headers a wrk script sends, read from the script itself (one source of truth)."""
    text = (load.BENCH / "wrk" / script).read_text()
    path = re.search(r'^wrk\.path = "([^"]+)"$', text, re.M)
    body = re.search(r"^wrk\.body = '(.*)'$", text, re.M).group(1).encode()  # type: ignore[union-attr]
    headers = dict(re.findall(r'^wrk\.headers\["([^"]+)"\] = "([^"]*)"$', text, re.M))
    return path.group(1) if path else CHAT_PATH, body, headers


def check(server: load.Server, script: str, status: int) -> int:
    """Send the scenario's request once; its size in bytes, after checking the status is the expected one."""
    path, body, headers = lua_request(script)
    request = urllib.request.Request(server.origin + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            got, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        got, payload = error.code, error.read()
    if got != status:
        raise SystemExit(f"{script}: expected HTTP {status}, got {got}: {payload[:300]!r}")
    return len(payload)


def drive(server: load.Server, path: str, script: str | None, seconds: float,
          beside: load.Server | None = None) -> dict:
    """One wrk run, plus the server's CPU time per request: steadier than req/s on a shared machine; and with
    ``beside`` (the fleet's Redis) that server's CPU time per request too."""
    cpu = server.cpu_seconds()
    beside_cpu = beside.cpu_seconds() if beside is not None else 0.0
    result = load.wrk(server.origin + path, script, seconds)
    result["cpu_us"] = round((server.cpu_seconds() - cpu) / max(1, result["requests"]) * 1e6, 1)
    if beside is not None:
        result["redis_cpu_us"] = round((beside.cpu_seconds() - beside_cpu) / max(1, result["requests"]) * 1e6, 1)
    return result


def measure(server: load.Server, name: str, script: str, status: int, seconds: float,
            beside: load.Server | None = None) -> dict:
    """One round of a scenario, with a warning if any answer was not the expected status."""
    result = drive(server, lua_request(script)[0], script, seconds, beside)
    wrong = result["non_2xx"] if status < 300 else result["requests"] - result["non_2xx"]
    if wrong or result["socket_errors"]:
        print(f"  warning: {name}: {wrong} unexpected statuses, {result['socket_errors']} socket errors", flush=True)
    return result


def table(rows: list[dict]) -> str:
    lines = [f"{'scenario':<36} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'x hello':>8} {'CPU us/req':>11} "
             f"{'x aimock':>9}"]
    for row in rows:
        peer = f"{row['x_aimock']:>9.2f}" if "x_aimock" in row else ""
        lines.append(
            f"{row['name']:<36} {row['rps']:>9.0f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} "
            f"{row['x_hello']:>8.2f} {row['cpu_us']:>11.1f} {peer}".rstrip()
        )
    return "\n".join(lines)


def same_text_fixtures(directory: Path) -> tuple[Path, Path]:
    """The :data:`SAME_TEXT` answers as a mockserver fixture rule file and as an aimock fixture file, each in a
    directory of its own: (mockserver's, aimock's)."""
    ours, theirs = directory / "mockserver", directory / "aimock"
    ours.mkdir()
    theirs.mkdir()
    rules = [{"match": {"message_contains": prompt}, "reply": text} for prompt, text in SAME_TEXT.items()]
    (ours / "same-text.json").write_text(json.dumps({"rules": rules}))
    fixtures = [{"match": {"userMessage": prompt}, "response": {"content": text}} for prompt, text in SAME_TEXT.items()]
    (theirs / "same-text.json").write_text(json.dumps({"fixtures": fixtures}))
    return ours, theirs


def peer_ratio(ours: dict, theirs: dict) -> float:
    """The median over the rounds of the mock's throughput over the peer's in the same round."""
    return round(statistics.median(run["rps"] / peer["rps"]
                                   for run, peer in zip(ours["rounds"], theirs["rounds"], strict=True)), 3)


def scenario_row(label: str, runs: list[dict], hellos: list[dict], size: int) -> dict:
    """One table row from a scenario's rounds: each round's ratio is to the hello runs just before and after it."""
    ratios = [
        run["rps"] / ((before["rps"] + after["rps"]) / 2)
        for run, before, after in zip(runs, hellos, hellos[1:], strict=False)
    ]
    requests = sum(run["requests"] for run in runs)
    return {
        "name": label,
        "requests": requests,
        "rps": round(statistics.mean(run["rps"] for run in runs), 1),
        "p50_ms": statistics.median(run["p50_ms"] for run in runs),
        "p99_ms": max(run["p99_ms"] for run in runs),
        "non_2xx": sum(run["non_2xx"] for run in runs),
        "socket_errors": sum(run["socket_errors"] for run in runs),
        "cpu_us": round(sum(run["cpu_us"] * run["requests"] for run in runs) / max(1, requests), 1),
        **({"redis_cpu_us": round(sum(run["redis_cpu_us"] * run["requests"] for run in runs) / max(1, requests), 1)}
           if all("redis_cpu_us" in run for run in runs) else {}),
        "response_bytes": size,
        "x_hello": round(statistics.median(ratios), 3),
        "x_hello_rounds": [round(ratio, 3) for ratio in ratios],
        "rounds": runs,
        "hello_runs": hellos,
    }


def scaling_model(rows: list[dict]) -> str:
    """Requests a second on N cores, from the CPU each request cost: with the state in memory, workers share
    nothing (N cores, N times one core's); a fleet's Redis is one thread, so it caps the fleet at what its own CPU
    per request allows, however many cores the mock has."""
    by_name = {row["name"]: row for row in rows}
    lines = [f"{'model: req/s on N cores':<36}" + "".join(f"{cores:>10}" for cores in MODEL_CORES)]
    for name in ("chat", "stream"):
        plain = by_name.get(name)
        if plain is not None:
            lines.append(f"{name + ', memory':<36}" + "".join(f"{cores * 1e6 / plain['cpu_us']:>10.0f}"
                                                              for cores in MODEL_CORES))
        for label, _ in FLEET_VARIANTS:
            fleet = by_name.get(f"{name}, {label}")
            if fleet is None or not fleet.get("redis_cpu_us"):
                continue
            cap = 1e6 / fleet["redis_cpu_us"]
            lines.append(f"{name + ', ' + label:<36}" + "".join(
                f"{min(cores * 1e6 / fleet['cpu_us'], cap):>10.0f}" for cores in MODEL_CORES)
                + f"   (Redis {fleet['redis_cpu_us']:.1f} us/req: at most {cap:.0f})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, help="seconds of wrk per scenario (default 12; 3 with --quick)")
    parser.add_argument("--rounds", type=int, default=3, help="hello/scenario alternations per scenario (default 3)")
    parser.add_argument("--quick", action="store_true", help="3 s per scenario, and no paced-streams or memory check")
    parser.add_argument("--compare", type=Path, metavar="DIR",
                        help="another mockserver checkout to run through the same scenarios, e.g. a git worktree")
    parser.add_argument("--no-peer", action="store_true", help="leave out the aimock rows")
    parser.add_argument("--peer-only", action="store_true",
                        help="only the aimock rows (with --compare, that checkout's too): longer rounds for the ratio")
    parser.add_argument("--no-fleet", action="store_true", help="leave out the Redis-state rows")
    args = parser.parse_args()
    if args.peer_only and args.no_peer:
        parser.error("--peer-only and --no-peer leave nothing to run")
    duration = args.duration if args.duration is not None else 3.0 if args.quick else 12.0
    seconds = max(1, round(duration / args.rounds))  # wrk takes whole seconds
    load.ensure_wrk()
    results: dict = {
        "machine": load.machine(), "connections": load.CONNECTIONS, "seconds": seconds, "rounds": args.rounds
    }

    print(f"wrk -t1 -c{load.CONNECTIONS}, {args.rounds} rounds of {seconds} s per scenario, each between two "
          f"hello runs; {results['machine']['cpus']} cpus", flush=True)
    # All three servers stay up (idle ones cost nothing). On a machine whose speed drifts (shared, throttled),
    # only numbers taken seconds apart compare: each round of a scenario is read against the hello runs around
    # it, and the row's ratio is the median of its rounds.
    with contextlib.ExitStack() as servers:
        hello = servers.enter_context(load.Server.hello())
        compare_label = args.compare.resolve().name if args.compare is not None else ""
        # The peer rows' servers and their labels' endings: the mock, the --compare checkout's, aimock last.
        peers: list[tuple[load.Server, str]] = []
        if not args.no_peer:
            ours, theirs = same_text_fixtures(Path(servers.enter_context(tempfile.TemporaryDirectory())))
            peers.append((servers.enter_context(load.Server.mockserver("--fixtures", str(ours),
                                                                       name="mockserver, same text")), ""))
            if args.compare is not None:
                peers.append((servers.enter_context(load.Server.mockserver(
                    "--fixtures", str(ours), name=f"{compare_label}, same text", source=args.compare.resolve())),
                    f" @{compare_label}"))
            peers.append((servers.enter_context(load.Server.aimock(theirs, AIMOCK_CHUNK_CHARACTERS)), " @aimock"))
            results["peer"] = f"{load.AIMOCK_PACKAGE} on Node.js {load.node_version()}"
            print(f"peer: {results['peer']}", flush=True)
        plain = not args.peer_only  # --peer-only: just the peer rows
        journal_on = servers.enter_context(load.Server.mockserver()) if plain else None
        variants = [(servers.enter_context(load.Server.mockserver(*flags, name=f"mockserver, {label}")), label)
                    for label, flags in (*OFF_VARIANTS, *WORKER_VARIANTS) if plain]
        beside: dict[int, load.Server] = {}  # the fleet rows' Redis, whose CPU is measured with them
        if not args.no_fleet and plain:
            redis = servers.enter_context(load.Server.redis())
            for index, (label, flags) in enumerate(FLEET_VARIANTS):
                fleet = servers.enter_context(load.Server.mockserver(
                    "--state", redis.redis_url, "--state-prefix", f"bench-{index}", *flags,
                    name=f"mockserver, {label}"))
                variants.append((fleet, label))
                beside[id(fleet)] = redis
        compared = []
        if args.compare is not None and plain:
            compared.append(servers.enter_context(load.Server.mockserver(name=compare_label,
                                                                         source=args.compare.resolve())))
        load.wrk(hello.origin + "/", None, 1)  # warm-up
        for server in (*([journal_on] if journal_on else []), *(variant for variant, _ in variants), *compared,
                       *(server for server, _ in peers)):
            check(server, "chat.lua", 200)
            load.wrk(server.origin + CHAT_PATH, "chat.lua", 1)  # warm-up
        for server, _ in peers:
            for _, script, _, _ in PEER_SCENARIOS:  # steady state for all: V8 still speeds aimock up for seconds
                load.wrk(server.origin + CHAT_PATH, script, PEER_WARM_UP_SECONDS)
        # A scenario's servers: the current mockserver and any --compare checkout, measured in the same
        # rounds (each round runs every server once, between two hello runs), so both see the same drift.
        plan = [([(journal_on, name), *((other, f"{name} @{other.name}") for other in compared)], *rest)
                for name, *rest in SCENARIOS] if journal_on else []
        plan += [([(variant, f"{name}, {label}")], *rest)
                 for variant, label in variants for name, *rest in SCENARIOS if name in OFF_SCENARIOS]
        if peers:
            plan += [([(server, f"{name}, same text{ending}") for server, ending in peers], *rest)
                     for name, *rest in PEER_SCENARIOS]
        rows, every_hello = [], []
        for contenders, script, status, what in plan:
            print(f"  {' / '.join(label for _, label in contenders)}: {what} ...", flush=True)
            sizes = [check(server, script, status) for server, _ in contenders]
            hellos = [drive(hello, "/", None, seconds)]
            runs: list[list[dict]] = [[] for _ in contenders]
            for _ in range(args.rounds):
                for (server, label), own in zip(contenders, runs, strict=True):
                    own.append(measure(server, label, script, status, seconds, beside.get(id(server))))
                hellos.append(drive(hello, "/", None, seconds))
            made = [scenario_row(label, own, hellos, size)
                    for (_, label), own, size in zip(contenders, runs, sizes, strict=True)]
            if contenders[-1][0].name == "aimock":
                for row in made[:-1]:
                    row["x_aimock"] = peer_ratio(row, made[-1])
            rows += made
            every_hello += hellos
    baseline = {
        "name": "hello (raw ASGI)",
        **{key: round(statistics.mean(run[key] for run in every_hello), 2) for key in ("rps", "p50_ms", "p99_ms")},
        "cpu_us": round(statistics.mean(run["cpu_us"] for run in every_hello), 1),
        "rps_range": [min(run["rps"] for run in every_hello), max(run["rps"] for run in every_hello)],
        "x_hello": 1.0,
    }
    results["rows"] = [baseline, *rows]
    print()
    print(table(results["rows"]))
    low, high = baseline["rps_range"]
    print(f"hello: mean of {len(every_hello)} runs, {low:.0f}-{high:.0f} req/s; "
          "x hello: median over the rounds of each scenario's ratio to the hello runs around it")
    results["model"] = scaling_model(results["rows"])
    if "\n" in results["model"]:  # not with --peer-only: no plain rows to model
        print()
        print(results["model"])

    if not args.quick:
        print("\npaced streams:", flush=True)
        results["streams"] = streams.run(streams.DEFAULTS)
        print(streams.summary(results["streams"]))
        print("\nmemory:", flush=True)
        results["memory"] = memory.run(memory.DEFAULTS)
        print(memory.summary(results["memory"]))
    print(f"\nresults: {load.save('run', results)}")


if __name__ == "__main__":
    sys.exit(main())

"""What Python a served request runs, traced: ``python bench/python_work.py [--scenario chat] [--requests 200]
[--generated] [--top 25]``.

Runs a mockserver in this process (its server thread traced with ``threading.settrace``; the client, on the main
thread, is not), sends the scenario's requests over one kept-alive connection as ``bench/instructions.py`` does,
and reports, per request: the bytecodes executed and Python calls made, by module and by function; the objects
made through a class call (a Python ``__init__`` or ``__new__`` run by ``type.__call__``, which on Python 3.11
packs keyword arguments into a dict first; named tuples, whose ``__new__`` is a lambda, are not seen); and the
exceptions raised (``StopIteration`` left out: every finished ``await`` raises one), each a cost no profile of
time points at. Tracing makes the run about twenty times slower; the
counts do not depend on the machine.

Bytecodes are not time: a C call inside one can cost more than many Python lines (``bench/instructions.py``
counts instructions). This finds where the Python is and what it does on every request.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import load
from instructions import SAME_TEXT_SCENARIOS, Connection, request_bytes, scenario_of
from run import SCENARIOS, same_text_fixtures

from mockserver import MockServer

CONSTRUCTORS = ("__init__", "__new__")
WARM_UP = 100


class Tracer:
    """Counts, on the threads started after :meth:`install`, while :attr:`on` is set."""

    def __init__(self) -> None:
        self.on = False
        self.bytecodes: collections.Counter[Any] = collections.Counter()
        self.calls: collections.Counter[Any] = collections.Counter()
        self.made: collections.Counter[tuple[str, str]] = collections.Counter()
        self.raised: collections.Counter[tuple[str, str]] = collections.Counter()

    def install(self) -> Any:
        """Trace the threads started from now on; what traced them before (a coverage run's tracer), to restore."""
        before = threading.gettrace()
        threading.settrace(self._trace)
        return before

    def _trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        if not self.on:
            return None
        code = frame.f_code
        if event == "call":
            frame.f_trace_opcodes = True
            self.calls[code] += 1
            caller = frame.f_back
            if code.co_name in CONSTRUCTORS and caller is not None and caller.f_code.co_name not in CONSTRUCTORS:
                made = frame.f_locals.get("self", frame.f_locals.get("cls", frame.f_locals.get("_cls")))
                kind = made.__name__ if isinstance(made, type) else type(made).__name__
                self.made[(kind, _where(caller))] += 1  # (a constructor calling its base's, super(), is one)
        elif event == "opcode":
            self.bytecodes[code] += 1
        elif event == "exception" and arg[0] is not StopIteration:
            self.raised[(arg[0].__name__, _where(frame))] += 1
        return self._trace


def _where(frame: FrameType) -> str:
    return f"{frame.f_code.co_name} ({_module(frame.f_code.co_filename)}:{frame.f_lineno})"


def _module(filename: str) -> str:
    """A code object's file as the report names it: from the checkout's root, a package's or the standard library's."""
    root = f"{load.ROOT}/"
    if filename.startswith(root):
        return filename[len(root):]
    return filename.split("site-packages/")[-1].split("/lib/python3.11/")[-1]


def traced(scenario: str, requests: int, *, generated: bool = False) -> dict[str, Any]:
    """Per-request counts of ``requests`` requests of ``scenario`` (after :data:`WARM_UP` untraced ones)."""
    _, script, status, _ = scenario_of(scenario)
    tracer = Tracer()
    before = tracer.install()
    try:
        with tempfile.TemporaryDirectory() as fixtures:
            same_text = not generated and scenario in SAME_TEXT_SCENARIOS
            rules = [str(same_text_fixtures(Path(fixtures))[0])] if same_text else []
            # The default `mockserver serve`, in memory (a fleet's state adds its Redis client's own work).
            with MockServer(fixtures=rules, log_level="warning", state="memory") as server:
                assert server.port is not None
                connection = Connection(server.port)
                try:
                    for number in range(1, WARM_UP + requests + 1):
                        tracer.on = number > WARM_UP
                        got = connection.exchange(request_bytes(script, number))
                        if got != status:
                            raise RuntimeError(f"{script}: expected HTTP {status}, got {got}")
                    tracer.on = False
                finally:
                    connection.close()
    finally:
        threading.settrace(before)
    modules: collections.Counter[str] = collections.Counter()
    for code, count in tracer.bytecodes.items():
        modules[_module(code.co_filename)] += count
    return {
        "bytecodes": sum(tracer.bytecodes.values()) / requests,
        "calls": sum(tracer.calls.values()) / requests,
        "modules": {name: count / requests for name, count in modules.most_common()},
        "functions": [(f"{code.co_name} ({_module(code.co_filename)}:{code.co_firstlineno})", count / requests,
                       tracer.calls[code] / requests) for code, count in tracer.bytecodes.most_common()],
        "made": {f"{kind} in {where}": count / requests for (kind, where), count in tracer.made.most_common()},
        "raised": {f"{kind} in {where}": count / requests for (kind, where), count in tracer.raised.most_common()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="chat", choices=[name for name, *_ in SCENARIOS])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--generated", action="store_true", help="chat and stream: generated replies, no fixture rule")
    parser.add_argument("--top", type=int, default=25, help="modules and functions listed (default 25)")
    args = parser.parse_args()
    report = traced(args.scenario, args.requests, generated=args.generated)
    print(f"{args.scenario}: {report['bytecodes']:.0f} bytecodes and {report['calls']:.0f} Python calls a request")
    print("\nbytecodes a request, by module:")
    for name, count in list(report["modules"].items())[: args.top]:
        print(f"  {count:7.0f}  {100 * count / report['bytecodes']:5.1f} %  {name}")
    print("\nby function (bytecodes, calls a request):")
    for name, count, calls in report["functions"][: args.top]:
        print(f"  {count:7.0f}  {calls:5.1f}  {name}")
    print("\nobjects made through a class call, a request:")
    for name, count in report["made"].items():
        print(f"  {count:5.1f}  {name}")
    print("\nexceptions raised a request (StopIteration left out):")
    for name, count in report["raised"].items():
        print(f"  {count:5.1f}  {name}")
    if not report["raised"]:
        print("  none")


if __name__ == "__main__":
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    main()

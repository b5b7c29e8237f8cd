"""Instructions a request costs, counted by callgrind: ``python bench/instructions.py [--scenario chat]
[--requests 400] [--generated] [--compare DIR]``.

Wall-clock numbers on a shared machine drift by a tenth between rounds, so a change worth a few percent cannot be
read from ``bench/run.py`` alone. The instructions the CPU executes do not drift: this runs ``mockserver serve``
under valgrind's callgrind (Debian's ``valgrind``, installed when missing) with ``PYTHONHASHSEED=0``, sends its
requests over one kept-alive connection from this process, and counts only the measured requests (instrumentation
is switched on after the warm-up and off before shutdown, with ``callgrind_control``). The count covers the whole
server process: uvloop, the HTTP protocol, the app, the journal. It is about 50 times slower than the real thing;
the default run takes about a minute a checkout.

Scenarios are ``bench/run.py``'s, their bodies read from the same ``wrk/*.lua`` scripts, each request numbered
(``#1``, ``#2``, ...) so none repeats; ``chat`` and ``stream`` answer the same text from a fixture rule, as the
peer rows do, unless ``--generated``. ``--compare DIR`` counts another checkout the same way (``git worktree add
DIR REV``) and prints the change. Instructions are not time (a cache miss costs hundreds of them, a C call that
formats bytes more than the Python loop it replaces): confirm a gain with ``bench/run.py --compare``.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import load
from run import PEER_SCENARIOS, SCENARIOS, lua_request, same_text_fixtures

START_TIMEOUT = 300.0  # callgrind's start-up: the interpreter and every import, fifty times slower
RECEIVE_TIMEOUT = 30.0
SAME_TEXT_SCENARIOS = tuple(name for name, *_ in PEER_SCENARIOS)
"""The scenarios answered with the peer rows' fixed text, unless ``--generated``."""


def scenario_of(name: str) -> tuple[str, str, int, str]:
    """``run.SCENARIOS``' row of ``name``: (name, wrk script, expected status, what it is)."""
    return next(scenario for scenario in SCENARIOS if scenario[0] == name)


_TOTALS = re.compile(rb"^totals: (\d+)", re.M)  # a dump's events in all (its ``summary:`` line says the same)


def request_bytes(script: str, number: int) -> bytes:
    """The scenario's HTTP/1.1 request, its prompt numbered ``number``."""
    path, body, headers = lua_request(script)
    body = body.replace(b"#0", b"#%d" % number)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}Content-Length: {len(body)}\r\n\r\n").encode() + body


class Connection:
    """One kept-alive connection that sends a request and reads its whole response (sized or chunked)."""

    def __init__(self, port: int) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=RECEIVE_TIMEOUT)
        self.buffer = b""

    def exchange(self, request: bytes) -> int:
        """The response's status, after reading all of it."""
        self.socket.sendall(request)
        head = self._until(b"\r\n\r\n")
        length = re.search(rb"^content-length: *(\d+)", head, re.M | re.I)
        if length is not None:
            self._take(int(length.group(1)))
        else:  # chunked: up to the last chunk and the empty trailer
            self._until(b"0\r\n\r\n")
        return int(head.split(b" ", 2)[1])

    def _until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            self._read()
        taken, _, self.buffer = self.buffer.partition(marker)
        return taken

    def _take(self, size: int) -> None:
        while len(self.buffer) < size:
            self._read()
        self.buffer = self.buffer[size:]

    def _read(self) -> None:
        data = self.socket.recv(65536)
        if not data:
            raise RuntimeError("the server closed the connection")
        self.buffer += data

    def close(self) -> None:
        self.socket.close()


def count(source: Path, script: str, status: int, flags: list[str], requests: int, warm_up: int) -> float:
    """Instructions a request of ``script`` costs the server run from ``source``."""
    valgrind = load.ensure_debian_tool("valgrind", "valgrind")
    control = load.ensure_debian_tool("callgrind_control", "valgrind")
    port = load.free_port()
    with tempfile.TemporaryDirectory() as output:
        argv = [valgrind, "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={output}/out.%p",
                sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--log-level", "warning", *flags]
        env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(source)}
        server = subprocess.Popen(argv, cwd=source, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            connection = _connect(server, port)
            for number in range(1, warm_up + 1):
                _expect(connection.exchange(request_bytes(script, number)), status, script)
            _tell(control, "--instr=on", server.pid)
            for number in range(warm_up + 1, warm_up + requests + 1):
                _expect(connection.exchange(request_bytes(script, number)), status, script)
            _tell(control, "--dump", server.pid)
            _tell(control, "--instr=off", server.pid)
            connection.close()
            dumped = sorted(Path(output).glob(f"out.{server.pid}.*"))
            if not dumped:
                raise RuntimeError("callgrind wrote no dump")
            total = sum(_dumped_instructions(path) for path in dumped)
        finally:
            server.kill()
            server.wait(30)
    return total / requests


def _tell(control: str, command: str, pid: int) -> None:
    """Send callgrind in process ``pid`` a command (``--instr=on``, ``--dump``, ...)."""
    subprocess.run([control, command, str(pid)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _dumped_instructions(path: Path) -> int:
    found = _TOTALS.search(path.read_bytes())
    if found is None:
        raise RuntimeError(f"no totals in the callgrind dump {path}")
    return int(found.group(1))


def _connect(server: subprocess.Popen[bytes], port: int) -> Connection:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if server.poll() is not None:
            raise RuntimeError("mockserver exited at start-up under valgrind")
        try:
            return Connection(port)
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"mockserver did not answer within {START_TIMEOUT:.0f} s under valgrind") from None
            time.sleep(0.2)


def _expect(got: int, status: int, script: str) -> None:
    if got != status:
        raise SystemExit(f"{script}: expected HTTP {status}, got {got}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="chat", choices=[name for name, *_ in SCENARIOS])
    parser.add_argument("--requests", type=int, default=400, help="requests counted (default 400)")
    parser.add_argument("--warm-up", type=int, default=1200,
                        help="requests before counting (default 1200: past the journal's 1,000 entries)")
    parser.add_argument("--generated", action="store_true", help="chat and stream: generated replies, no fixture rule")
    parser.add_argument("--compare", type=Path, metavar="DIR", help="another mockserver checkout, counted the same way")
    args = parser.parse_args()
    _, script, status, label = scenario_of(args.scenario)
    with tempfile.TemporaryDirectory() as fixtures:
        flags: list[str] = []
        if args.scenario in SAME_TEXT_SCENARIOS and not args.generated:
            ours, _ = same_text_fixtures(Path(fixtures))
            flags = ["--fixtures", str(ours)]
            label += ", same text"
        sources = [("this checkout", load.ROOT)]
        if args.compare:
            sources.append((str(args.compare), args.compare.resolve()))
        counted = {}
        for name, source in sources:
            counted[name] = count(source, script, status, flags, args.requests, args.warm_up)
            print(f"{label} @ {name}: {counted[name] / 1000:.1f} k instructions a request", flush=True)
    if args.compare:
        here, there = counted["this checkout"], counted[str(args.compare)]
        print(f"change: {there / 1000:.1f} k -> {here / 1000:.1f} k ({(here - there) / there:+.1%})")
    load.save("instructions", {"machine": load.machine(), "scenario": args.scenario, "label": label,
                               "requests": args.requests, "warm_up": args.warm_up, "instructions": counted})


if __name__ == "__main__":
    main()

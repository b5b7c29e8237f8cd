"""What every bench script needs: servers in subprocesses on loopback, wrk, and its parsed output.

Servers run as real processes (never in the bench's own process), one
uvicorn worker each with uvloop and httptools, so the numbers are what
``mockserver serve`` gives. Everything is bounded: start-up waits at most
START_TIMEOUT, wrk runs for a fixed duration, and servers are stopped with
SIGINT, then SIGKILL.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
START_TIMEOUT = 30.0
CONNECTIONS = 64
API_KEY = "sk-bench"
# wrk on one core and the server on the other: without pinning the two swap cores and the numbers wander.
SERVER_CPU = 1
CLIENT_CPU = 0
# The peer the benchmark measures the mock against, pinned: aimock (Node), from the npm registry.
AIMOCK_PACKAGE = "@copilotkit/aimock@1.43.0"
AIMOCK_HOME = ROOT / "build" / "bench" / "aimock"
AIMOCK_CLI = AIMOCK_HOME / "node_modules" / "@copilotkit" / "aimock" / "dist" / "cli.js"


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _cpu_ticks(pid: int) -> int:
    try:
        fields = _stat(pid)
    except OSError:  # gone meanwhile
        return 0
    return int(fields[11]) + int(fields[12])


def _descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (a server's workers), read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(_stat(int(entry.name))[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, of in parents.items() if of == parent]
        found += children
        frontier += children
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(cpu: int):  # type: ignore[no-untyped-def]
    """A ``preexec_fn`` that pins the child to ``cpu`` when the machine has it."""

    def pin() -> None:
        if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
            os.sched_setaffinity(0, {cpu})

    return pin


class Server:
    """A server subprocess on a free loopback port: ``with Server.mockserver(...) as server:``."""

    def __init__(self, name: str, argv: list[str], port: int, ready_path: str | None, source: Path = ROOT) -> None:
        self.name = name
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"
        self._ready_path = ready_path
        # Another checkout (bench/run.py --compare) runs from its own tree: first on the path, its own cwd.
        env = None if source == ROOT else {**os.environ, "PYTHONPATH": str(source)}
        # A file, not a pipe: a pipe nobody reads fills up and blocks the server on its next log line.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        self.process = subprocess.Popen(
            argv, cwd=source, env=env, stdout=subprocess.DEVNULL, stderr=self.log, preexec_fn=pinned(SERVER_CPU),
        )

    @classmethod
    def hello(cls) -> Server:
        port = free_port()
        argv = [sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH), "hello:app", "--port", str(port),
                "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
                "--lifespan", "off"]
        return cls("hello", argv, port, "/")

    @classmethod
    def redis(cls) -> Server:
        """A ``redis-server`` (Debian's) for the fleet rows, pinned beside the mock, persisting nothing."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        port = free_port()
        argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        return cls("redis", argv, port, None, ROOT)

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @classmethod
    def mockserver(cls, *flags: str, name: str = "mockserver", source: Path = ROOT) -> Server:
        port = free_port()
        argv = [sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--log-level", "warning", *flags]
        return cls(name, argv, port, "/_mock/health", source)

    @classmethod
    def aimock(cls, fixtures: Path, chunk_characters: int) -> Server:
        """aimock serving ``fixtures``, streaming ``chunk_characters`` characters a frame."""
        port = free_port()
        argv = [ensure_aimock(), str(AIMOCK_CLI), "--port", str(port), "--fixtures", str(fixtures),
                "--log-level", "silent", "--chunk-size", str(chunk_characters)]
        return cls("aimock", argv, port, "/health")

    def __enter__(self) -> Server:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start-up: {self.stderr()[-2000:]}")
            try:
                if self._ready_path is None:  # not HTTP: a Redis, which answers PING
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                        probe.sendall(b"PING\r\n")
                        if not probe.recv(16).startswith(b"+PONG"):
                            raise OSError("not ready")
                else:
                    with urllib.request.urlopen(self.origin + self._ready_path, timeout=1) as response:
                        response.read()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{self.name} did not answer within {START_TIMEOUT} s") from None
                time.sleep(0.05)

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()

    def stderr(self) -> str:
        """What the server has written to its standard error so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def rss_kib(self) -> int:
        """Resident memory of the server process (all its workers' would need their pids)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc status")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far, its workers' (``--workers``) included."""
        return sum(_cpu_ticks(pid) for pid in (self.process.pid, *_descendants(self.process.pid))) / os.sysconf(
            "SC_CLK_TCK")


def ensure_wrk() -> str:
    """The wrk binary; installed from Debian's archive when it is missing (needs root)."""
    return ensure_debian_tool("wrk", "wrk")


def ensure_debian_tool(command: str, package: str) -> str:
    """The path of ``command``, after ``apt-get install -y package`` when it is missing (needs root)."""
    found = shutil.which(command)
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit(f"{command} is missing: install it (Debian/Ubuntu: apt-get install -y {package}) and run again")
    print(f"installing {command} from Debian (apt-get install -y {package}) ...", flush=True)
    quiet = {"stdout": subprocess.DEVNULL, "check": True}
    subprocess.run(["apt-get", "update", "-qq"], **quiet)  # type: ignore[arg-type]
    subprocess.run(["apt-get", "install", "-y", "-qq", package],
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, **quiet)  # type: ignore[arg-type]
    found = shutil.which(command)
    if not found:
        sys.exit(f"apt-get did not install {command}")
    return found


def ensure_aimock() -> str:
    """The node binary that runs aimock, after installing :data:`AIMOCK_PACKAGE` into :data:`AIMOCK_HOME` when it
    is missing."""
    node = shutil.which("node")
    if node is None:
        sys.exit("node is missing: the aimock row needs Node.js 20 or newer (or run with --no-peer)")
    if not AIMOCK_CLI.is_file():
        print(f"installing {AIMOCK_PACKAGE} from npm into {AIMOCK_HOME} ...", flush=True)
        AIMOCK_HOME.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(AIMOCK_HOME),
                        AIMOCK_PACKAGE], stdout=subprocess.DEVNULL, check=True)
    return node


def node_version() -> str:
    """The version of the Node.js that runs aimock: its speed is half of every ``x aimock``."""
    return subprocess.run([ensure_aimock(), "--version"], capture_output=True, text=True, check=True).stdout.strip()


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    """wrk's latency (``812.00us``, ``1.20ms``, ``2.01s``) in milliseconds; NaN when it printed none."""
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(found.group(1)) * _UNITS[found.group(2)] if found else float("nan")


def wrk(url: str, script: str | None, seconds: float, connections: int = CONNECTIONS) -> dict:
    """One wrk run (one thread, ``connections`` connections); req/s, p50, p99 and the status mix."""
    whole = max(1, round(seconds))  # wrk refuses fractions of a second
    argv = [ensure_wrk(), "-t1", f"-c{connections}", f"-d{whole}s", "--latency", "--timeout", "5s"]
    if script:
        argv += ["-s", str(BENCH / "wrk" / script)]
    output = subprocess.run([*argv, url], capture_output=True, text=True, check=True, preexec_fn=pinned(CLIENT_CPU),
                            timeout=seconds + 30).stdout
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "requests": requests,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        # Anchored: the "+/- Stdev" column (e.g. "95.50%") must not pass for a percentile.
        "p50_ms": _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1)),  # type: ignore[union-attr]
        "p99_ms": _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)),  # type: ignore[union-attr]
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(int(value) for value in errors.groups()) if errors else 0,
    }


def save(name: str, results: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path


def machine() -> dict:
    """What the numbers were measured on."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "python": sys.version.split()[0],
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "load_average": os.getloadavg(),
    }

"""``mockserver serve --workers N``: one socket, N worker processes, each with its own state.

Runs the real command in a subprocess on a free loopback port; every wait is
bounded and the whole process group is killed at the end, whatever happens.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import orjson
import pytest

from helpers import assert_stream_conforms, parse_sse

START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts worker processes in /proc")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid``, read from /proc (no psutil needed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def post(origin: str, body: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(
        origin + "/v1/chat/completions",
        data=orjson.dumps(body),
        headers={"Authorization": "Bearer sk-test", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


def test_serve_with_two_workers() -> None:
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--workers", "2", "--port", str(port), "--log-level", "warning",
         "--seed", "5", "--freeze-time"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, process.stderr.read().decode()  # type: ignore[union-attr]
            try:
                with urllib.request.urlopen(origin + "/_mock/health", timeout=1) as response:
                    assert response.status == 200
                break
            except OSError:
                assert time.monotonic() < deadline, "mockserver --workers 2 did not answer in time"
                time.sleep(0.1)
        # The supervisor's children: the workers, and multiprocessing's resource tracker.
        workers = [pid for pid in children(process.pid) if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(workers) == 2

        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello from a worker test."}]}
        replies = {post(origin, body)[1] for _ in range(12)}
        # Each worker builds its app from the same merged configuration: with --seed and --freeze-time every
        # worker gives the same bytes, so one reply, whichever worker answered.
        assert len(replies) == 1
        assert orjson.loads(replies.pop())["choices"][0]["finish_reason"] == "stop"

        status, raw = post(origin, {**body, "stream": True})
        assert status == 200
        assert_stream_conforms(parse_sse(raw))

        process.send_signal(signal.SIGINT)
        assert process.wait(STOP_TIMEOUT) == 0
        assert not any(Path(f"/proc/{pid}").exists() for pid in workers), "a worker outlived the supervisor"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT)

"""Start-up and footprint: ``python bench/startup.py [--runs 5]``.

Starts ``mockserver serve`` (one worker) again and again and reports, from the process's own accounting
(``/proc/PID/stat`` and ``/proc/PID/status``), the CPU it spent and the memory it held when its port first
answered ``/_mock/health``, then again after its first chat answer (the tokenizer loaded). Targets (issue #31):
0.5 s of CPU and 100 MiB when the port answers; 1.0 s of CPU from exec to the first chat answer; 200 MiB after.
The health check is polled every 5 ms, for at most 30 s a run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from load import free_port

TICKS = os.sysconf("SC_CLK_TCK")
POLL_SECONDS = 0.005
START_BUDGET = 30.0
CHAT = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}).encode()


@dataclass(frozen=True)
class Sample:
    cpu: float  # seconds of user + system time
    rss: float  # MiB


def sample(pid: int) -> Sample:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    with open(f"/proc/{pid}/status") as status:
        rss_kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return Sample((int(fields[11]) + int(fields[12])) / TICKS, rss_kib / 1024)


def answers(url: str, body: bytes | None = None) -> bool:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json",
                                                              "Authorization": "Bearer sk-bench"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()
            return response.status == 200
    except (urllib.error.URLError, ConnectionError):
        return False


def one_run() -> tuple[Sample, Sample]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--port", str(port),
                                "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    origin = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_BUDGET
        while not answers(origin + "/_mock/health"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mockserver did not answer: {process.stderr.read().decode()[-2000:]}")
            time.sleep(POLL_SECONDS)
        ready = sample(process.pid)
        if not answers(origin + "/v1/chat/completions", CHAT):
            raise RuntimeError("the first chat request failed")
        return ready, sample(process.pid)
    finally:
        process.terminate()
        process.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()
    runs = [one_run() for _ in range(arguments.runs)]
    rows = (("port answers: CPU", [ready.cpu for ready, _ in runs], "s", 0.5),
            ("port answers: RSS", [ready.rss for ready, _ in runs], "MiB", 100),
            ("first chat answer: CPU", [chat.cpu for _, chat in runs], "s", 1.0),
            ("first chat answer: RSS", [chat.rss for _, chat in runs], "MiB", 200))
    for name, values, unit, target in rows:
        print(f"{name:<24} min {min(values):7.2f} {unit:<3}  median {statistics.median(values):7.2f} {unit:<3}  "
              f"max {max(values):7.2f} {unit:<3}  target <= {target} {unit}  (n={len(values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

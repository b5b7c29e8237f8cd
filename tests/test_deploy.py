"""``deploy/``: the Compose and Kubernetes recipes for a fleet parse, their mock command lines are ones
``mockserver serve`` takes, each names the Redis its own manifest declares and the health check the fleet keeps,
and the same topology (one Redis, two mocks of two workers each, started with the manifests' flags) runs as
processes on loopback and answers as one mock."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
import yaml

from mockserver.cli import build_parser
from mockserver.config import Config

from helpers import RedisProcess, free_port

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
START_TIMEOUT = 60.0


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def kubernetes() -> list[dict[str, Any]]:
    return list(yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text()))


def served(arguments: list[str]) -> Config:
    """The settings ``mockserver serve`` would run with these arguments (argparse and the config's checks)."""
    parsed = vars(build_parser().parse_args(["serve", *arguments]))
    config = Config(**{name: value for name, value in parsed.items() if name in Config.__dataclass_fields__
                       and value is not None})
    config.check()
    return config


def test_the_compose_fleet_is_one_mock_behind_a_balancer() -> None:
    services = compose()["services"]
    config = served(services["mock"]["command"])
    state = urlsplit(config.state)
    assert state.scheme == "redis" and state.hostname == "redis" and state.port == 6379 and "redis" in services
    assert config.host == "0.0.0.0" and config.port == 8000 and config.allowed_host == ["*"]
    assert "/_mock/health" in " ".join(services["mock"]["healthcheck"]["test"])
    assert services["balancer"]["ports"] == ["8000:8000"]
    balancer = (DEPLOY / "nginx.conf").read_text()
    assert re.search(r"set \$fleet mock;", balancer) and "proxy_pass http://$fleet:8000;" in balancer
    assert "proxy_buffering off;" in balancer  # streams pass through as they are sent
    assert services["mock"]["build"]["dockerfile"] == "deploy/Dockerfile"
    assert "'/src[redis]'" in (DEPLOY / "Dockerfile").read_text()


def test_the_kubernetes_fleet_is_ready_only_with_its_state() -> None:
    documents = {(document["kind"], document["metadata"]["name"]): document for document in kubernetes()}
    mock = documents["Deployment", "mockserver"]["spec"]["template"]["spec"]["containers"][0]
    config = served(mock["args"])
    state = urlsplit(config.state)
    redis_service = documents["Service", state.hostname]
    assert redis_service["spec"]["ports"][0]["port"] == state.port
    assert documents["Deployment", state.hostname]["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"containerPort": state.port}]
    assert mock["readinessProbe"]["httpGet"] == {"path": "/_mock/health", "port": config.port}
    assert documents["Service", "mockserver"]["spec"]["ports"][0]["targetPort"] == config.port
    assert documents["Deployment", "mockserver"]["spec"]["replicas"] >= 2


@pytest.mark.slow
def test_the_manifests_topology_runs_on_loopback_as_one_mock(tmp_path: Path) -> None:
    """One Redis and two ``mockserver serve`` of two workers each, with the Kubernetes manifest's flags (host,
    port and Redis moved to loopback, the limit lowered to 5 a minute so four requests count exactly): a script posted to one answers on the other, the rate limit counts the
    fleet's requests, and either journal lists both nodes' requests."""
    documents = {(document["kind"], document["metadata"]["name"]): document for document in kubernetes()}
    arguments = documents["Deployment", "mockserver"]["spec"]["template"]["spec"]["containers"][0]["args"]
    backend = RedisProcess(tmp_path)
    backend.start()
    ports = [free_port(), free_port()]
    processes = []
    try:
        for port in ports:
            local = list(arguments)
            local[local.index("--host") + 1] = "127.0.0.1"
            local[local.index("--port") + 1] = str(port)
            local[local.index("--state") + 1] = backend.url
            local[local.index("--rpm") + 1] = "5"  # a limit slow to refill: the count of four requests is exact
            processes.append(subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--log-level", "warning",
                                               *local], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                              start_new_session=True))
        origins = [f"http://127.0.0.1:{port}" for port in ports]
        for origin, process in zip(origins, processes, strict=True):
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                assert process.poll() is None, process.stderr.read().decode()  # type: ignore[union-attr]
                try:
                    if httpx2.get(origin + "/_mock/health", timeout=1).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                assert time.monotonic() < deadline, "mockserver serve did not answer in time"
                time.sleep(0.1)
        httpx2.post(origins[0] + "/_mock/script", json={"behaviors": [{"reply": "from the fleet", "times": 2}]})
        answers = [httpx2.post(origins[index % 2] + "/v1/chat/completions", timeout=10, headers={
            "Authorization": "Bearer sk-deploy"}, json={"model": "gpt-4o-mini", "messages": [
                {"role": "user", "content": "Hi"}]}) for index in range(4)]
        said = [answer.json()["choices"][0]["message"]["content"] for answer in answers]
        assert said[:2] == ["from the fleet"] * 2 and "from the fleet" not in said[2:]
        assert [answer.headers["x-ratelimit-remaining-requests"] for answer in answers] == ["4", "3", "2", "1"]
        deadline = time.monotonic() + 5
        while len(listed := httpx2.get(origins[1] + "/_mock/requests").json()["data"]) < 4:
            assert time.monotonic() < deadline, listed
            time.sleep(0.05)
        assert len({entry["worker"] for entry in listed}) >= 2
    finally:
        for process in processes:  # the supervisor and its workers: the session's whole group
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        backend.stop()

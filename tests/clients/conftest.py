"""The client matrix: each client's documented default path against a real mockserver on loopback.

One :class:`~mockserver.MockServer` serves the whole session. Every cell sends ``X-Mock-Test-Id`` so the
journal can count the attempts a client made; each result is written to ``build/clients/results/`` for
``tests/clients/table.py``, which builds the README's "works with" table from them.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

from mockserver import MockServer

RESULTS = Path(__file__).resolve().parents[2] / "build" / "clients" / "results"


@pytest.fixture(scope="session")
def server() -> Iterator[MockServer]:
    with MockServer(seed=11) as running:
        yield running


@pytest.fixture(autouse=True)
def client_version(request: pytest.FixtureRequest, record_property) -> None:  # type: ignore[no-untyped-def]
    """Records the version of the package a module drives (its ``PACKAGE``) with each of its cells."""
    package = getattr(request.module, "PACKAGE", None)
    if package == "curl":
        record_property("version", curl_version())
    elif package:
        record_property("version", version(package))


def curl_version() -> str:
    return subprocess.run(["curl", "--version"], capture_output=True, text=True, check=True).stdout.split()[1]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """One line per cell: the ``client`` and ``cell`` a test records as properties, else ``test_<client>.py`` and
    ``test_<cell>``."""
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    module, _, name = report.nodeid.partition("::")
    properties = dict(report.user_properties)
    client = properties.get("client") or Path(module).stem.removeprefix("test_").replace("_", "-")
    cell = properties.get("cell") or name.removeprefix("test_").split("[")[0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    line = {"client": client, "cell": cell, "outcome": report.outcome, "version": properties.get("version", ""),
            "seconds": round(report.duration, 2),
            "detail": "" if report.passed else str(report.longrepr).splitlines()[-1][:200]}
    with (RESULTS / f"{os.getpid()}.jsonl").open("a") as out:
        out.write(json.dumps(line) + "\n")

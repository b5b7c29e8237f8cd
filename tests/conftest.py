"""Shared fixtures for mockserver's own tests: real servers on loopback sockets."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest

from mockserver import MockServer
from mockserver.config import Config

from helpers import API_KEY, sdk_client

# The client matrix (tests/clients/run, partly in another virtual environment) and the browser tests
# (tests/browser/run, which installs Chromium) run on their own, after the suite.
collect_ignore = ["clients", "browser"]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Under coverage, a ``server_thread_coverage`` test's own thread runs untraced.

    Python 3.11's tracer turns the interpreter's specialisation off in the thread it traces, which doubles the
    cost of a generator (hypothesis, schemathesis) or a validator walking a large document in the test's own
    thread; none of that is the mock's code. The servers those tests call keep their threads traced, so every
    line of the mock they run is still measured.
    """
    tracer = sys.gettrace()
    if not _is_coverage(tracer) or item.get_closest_marker("server_thread_coverage") is None:
        return (yield)  # (a debugger's tracer is left alone)
    sys.settrace(None)
    try:
        return (yield)
    finally:
        sys.settrace(tracer)


def _is_coverage(tracer: object) -> bool:
    """Whether ``tracer`` is coverage.py's: its C tracer, or the bound method of its Python one."""
    return type(getattr(tracer, "__self__", tracer)).__module__.partition(".")[0] == "coverage"


@pytest.fixture(scope="session")
def server() -> Iterator[MockServer]:
    with MockServer(seed=7) as running:
        yield running


@pytest.fixture
def client(server: MockServer) -> openai.OpenAI:
    return sdk_client(server.url)


@pytest.fixture
def http(server: MockServer) -> Iterator[httpx2.Client]:
    """A plain HTTP client for checks below the SDK (raw bytes, headers)."""
    with httpx2.Client(base_url=server.origin, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10) as raw:
        yield raw


# MOCKSERVER_TEST_STATE=redis://HOST:PORT/DB runs the suite's in-process servers (the plugin's among them) on a
# fleet's state: each server a fleet of its own (a prefix of its own), so no behaviour is tested only in memory.
FLEET_STATE = os.environ.get("MOCKSERVER_TEST_STATE")
if FLEET_STATE:
    import redis  # noqa: F401  (loaded once here, not again by every pytester inline run: test_plugin.py)
    _init = MockServer.__init__

    def _on_fleet_state(self: MockServer, config: Config | None = None, **settings: Any) -> None:
        if config is None and not {"state", "state_dir"} & set(settings):  # (--state-dir is SQLite's, on one node)
            settings = {**settings, "state": FLEET_STATE, "state_prefix": f"suite-{uuid.uuid4().hex[:12]}"}
        _init(self, config, **settings)

    MockServer.__init__ = _on_fleet_state  # type: ignore[method-assign]

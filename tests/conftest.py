"""Shared fixtures for mockserver's own tests: real servers on loopback sockets."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import openai
import pytest

from mockserver import MockServer

from helpers import API_KEY, sdk_client

# The client matrix (tests/clients/run, partly in another virtual environment) and the browser tests
# (tests/browser/run, which installs Chromium) run on their own, after the suite.
collect_ignore = ["clients", "browser"]


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

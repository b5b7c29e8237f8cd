"""The pytest plugin: installing mockserver gives every test suite its fixtures.

``mockserver_session`` is one real server per test session (per xdist
worker); ``mockserver`` is the same server, reset before each test.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from .server import MockServer


@pytest.fixture(scope="session")
def mockserver_session() -> Iterator[MockServer]:
    """One real mock server on a free loopback port for the whole session."""
    with MockServer() as server:
        yield server


@pytest.fixture
def mockserver(mockserver_session: MockServer) -> MockServer:
    """The session's server, with its journal cleared for this test."""
    mockserver_session.state.journal.clear()
    return mockserver_session

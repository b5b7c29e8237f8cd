"""The pytest plugin: installing mockserver gives every test suite its fixtures (entry point ``pytest11``).

``mockserver_session`` is one real server per test session, so one per
pytest-xdist worker: workers are processes and never share a server.
``mockserver`` is the same server served to one test (``MockServer.scope``):
reset first, then scripts, unlabelled requests and the journal belong to the
test. ``openai_client`` and ``async_openai_client`` are official SDK clients
pointed at it that label their requests with the test's id; ``anthropic_client``
and ``async_anthropic_client`` are the same for Anthropic's SDK (the Messages API),
``gemini_client`` for google-genai's ``genai.Client`` (sync as ``.models``, async as
``.aio.models``) and ``ollama_client`` / ``async_ollama_client`` for the ``ollama`` client.

After a passing test the teardown runs :meth:`MockServer.verify
<mockserver.app.expectations.Expectations.verify>`: scripted behaviours left
unused, and in strict mode requests nothing scripted, fail the test. A test
that already failed is not checked again: its own failure tells the story.

Options, from the ``mockserver_*`` ini settings overridden by the nearest
``@pytest.mark.mockserver(...)``: ``dialect``, ``strict``, ``check_unused``,
``export_env``, ``cassette``.

Cassettes: ``@pytest.mark.mockserver(cassette="name")`` answers the test from
``cassettes/name.yaml`` beside the test file; ``--mockserver-record=once|new|all``
records (from ``--mockserver-upstream URL``) into that cassette, or into one per
test node id for tests without the marker. The default, ``none``, only replays,
and a miss fails the test with the message that names what differs.

Override the ``mockserver_config`` fixture to configure the server itself, or
``mockserver_options`` to set options in code.

This module imports the server only when a fixture is first used: pytest
loads the plugin in every run where mockserver is installed, and the server's
imports take seconds.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Generator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import anthropic
    import ollama
    import openai
    from google import genai

    from mockserver.app.server import MockServer

API_KEY = "sk-mock"
# The SDK's default is 600 s; a test that hits an unexpected stall or hang should fail well before that.
CLIENT_TIMEOUT = 10.0
# The header that ties a request to its test (mockserver.asgi.context.TEST_ID_HEADER, as clients spell it).
TEST_ID_HEADER = "X-Mock-Test-Id"
MARKER = "mockserver"
RECORD_MODES = ("none", "once", "new", "all")
CASSETTE_DIR = "cassettes"


@dataclass(frozen=True)
class MockServerOptions:
    """How the ``mockserver`` fixture serves one test."""

    dialect: str | None = None  # the dialect mockserver.url, the clients and OPENAI_BASE_URL point at
    strict: bool = False  # fail the test when a request was answered by nothing it scripted
    check_unused: bool = True  # fail the test when a scripted behaviour with a finite times was not used up
    export_env: bool = False  # set OPENAI_BASE_URL and OPENAI_API_KEY for the test
    cassette: str | None = None  # replay (and record) this test from cassettes/<cassette>.yaml beside the test


_OPTION_NAMES = tuple(field.name for field in fields(MockServerOptions))
_INI = {"strict": "mockserver_strict", "check_unused": "mockserver_check_unused", "export_env": "mockserver_export_env"}
_CALL_REPORT = pytest.StashKey[pytest.TestReport]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockserver")
    group.addoption("--mockserver-record", choices=RECORD_MODES, default=None, dest="mockserver_record",
                    help="cassette mode: none (replay only, the default), once, new (record what is missing) "
                    "or all (record again); a mode other than none gives every mockserver test a cassette")
    group.addoption("--mockserver-upstream", action="append", default=None, dest="mockserver_upstream",
                    metavar="[DIALECT=]URL", help="the real provider cassettes record from")
    parser.addini(_INI["strict"], "fail a test whose requests were not all scripted (default: false)", type="bool",
                  default=False)
    parser.addini(_INI["check_unused"], "fail a test that left scripted behaviours unused (default: true)",
                  type="bool", default=True)
    parser.addini(_INI["export_env"], "export OPENAI_BASE_URL and OPENAI_API_KEY to each test using mockserver "
                  "(default: false)", type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(dialect=None, strict=False, check_unused=True, export_env=False, cassette=None): "
        "how the mockserver fixture serves this test",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report: pytest.TestReport = yield
    if report.when == "call":
        item.stash[_CALL_REPORT] = report
    return report


def _test_id(nodeid: str) -> str:
    """The test's ``X-Mock-Test-Id``: header-safe whatever the node id holds, and the same on every run."""
    return hashlib.sha256(nodeid.encode()).hexdigest()[:16]


@pytest.fixture(scope="session")
def mockserver_config() -> dict[str, Any]:
    """Settings of the session's server, as ``mockserver serve`` takes them (``seed``, ``fixtures``,
    ``fault``, ``validation``, ``rpm``, ...). Override this fixture in a conftest.py to change them."""
    return {}


@pytest.fixture(scope="session")
def mockserver_session(mockserver_config: dict[str, Any], pytestconfig: pytest.Config) -> Iterator[MockServer]:
    """One real mock server on a free loopback port for the whole session (one per xdist worker)."""
    from mockserver.app.server import MockServer

    settings = dict(mockserver_config)
    upstream = pytestconfig.getoption("mockserver_upstream")
    if upstream:
        settings["upstream"] = upstream
    with MockServer(**settings) as server:
        yield server


@pytest.fixture
def mockserver_options(request: pytest.FixtureRequest) -> MockServerOptions:
    """The ini settings, overridden by ``@pytest.mark.mockserver(...)`` (the nearest marker wins)."""
    options = MockServerOptions(**{name: request.config.getini(ini) for name, ini in _INI.items()})
    for marker in reversed(list(request.node.iter_markers(MARKER))):
        unknown = [key for key in marker.kwargs if key not in _OPTION_NAMES]
        if marker.args or unknown:
            wrong = repr(marker.args[0]) if marker.args else f"{unknown[0]}="
            pytest.fail(
                f"@pytest.mark.mockserver takes keyword options {', '.join(_OPTION_NAMES)}; got {wrong}",
                pytrace=False,
            )
        options = replace(options, **marker.kwargs)
    return options


@pytest.fixture
def mockserver(
    mockserver_session: MockServer,
    mockserver_options: MockServerOptions,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[MockServer]:
    """The session's server, reset and scoped to this test; checked when the test passes."""
    options = mockserver_options
    with ExitStack() as stack:
        server = stack.enter_context(mockserver_session.scope(_test_id(request.node.nodeid), dialect=options.dialect))
        cassette = _cassette(request, options)
        if cassette is not None:
            stack.enter_context(server.use_cassette(cassette[0], mode=cassette[1]))
        if options.export_env:
            monkeypatch.setenv("OPENAI_BASE_URL", server.url)
            monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
        yield server
        report = request.node.stash.get(_CALL_REPORT, None)
        failure = _check(server, options) if report is not None and report.passed else None
    if failure is None and cassette is not None and report is not None and report.passed:
        failure = "\n".join(server.cassette_misses()) or None
    if failure is not None:
        pytest.fail(failure, pytrace=False)


def _cassette(request: pytest.FixtureRequest, options: MockServerOptions) -> tuple[Path, str] | None:
    """The test's cassette and its mode: the marker's name, else (when recording) one named after the node id."""
    mode = request.config.getoption("mockserver_record")
    if options.cassette is None and mode in (None, "none"):
        return None
    name = options.cassette or "".join(
        char if char.isalnum() or char in "-_." else "_" for char in request.node.nodeid.split("::", 1)[-1])
    path = Path(request.node.path).parent / CASSETTE_DIR / name
    return path.with_name(path.name + ".yaml") if path.suffix not in (".yaml", ".yml") else path, mode or "none"


def _check(server: MockServer, options: MockServerOptions) -> str | None:
    """The teardown checks' failure message, None if they pass (raised outside ``except``: no chained trace)."""
    try:
        server.verify(unused=options.check_unused, strict=options.strict)
    except AssertionError as problem:
        return str(problem)
    return None


@pytest.fixture
def openai_client(mockserver: MockServer) -> Iterator[openai.OpenAI]:
    """``openai.OpenAI`` pointed at the test's server: dummy key, test id header, 10 s timeout."""
    with _sdk("openai").OpenAI(**_client_settings(mockserver)) as client:
        yield client


@pytest.fixture
def async_openai_client(mockserver: MockServer) -> openai.AsyncOpenAI:
    """``openai.AsyncOpenAI`` pointed at the test's server, as ``openai_client``.

    It cannot be closed at teardown: its connections belong to the test's
    event loop, which is gone by then. So it keeps none open between
    requests (``Connection: close``), and nothing is left to leak.
    """
    return _sdk("openai").AsyncOpenAI(**_client_settings(mockserver, Connection="close"))


@pytest.fixture
def anthropic_client(mockserver: MockServer) -> Iterator[anthropic.Anthropic]:
    """``anthropic.Anthropic`` pointed at the test's server (the host root: the SDK adds ``/v1/messages``), as
    ``openai_client``: dummy key, test id header, 10 s timeout."""
    with _sdk("anthropic").Anthropic(**_client_settings(mockserver, base_url=mockserver.origin)) as client:
        yield client


@pytest.fixture
def async_anthropic_client(mockserver: MockServer) -> anthropic.AsyncAnthropic:
    """``anthropic.AsyncAnthropic`` pointed at the test's server; like ``async_openai_client``, it keeps no
    connection open between requests."""
    return _sdk("anthropic").AsyncAnthropic(**_client_settings(mockserver, base_url=mockserver.origin,
                                                                Connection="close"))


@pytest.fixture
def gemini_client(mockserver: MockServer) -> Iterator[genai.Client]:
    """google-genai's ``genai.Client`` pointed at the test's server (the host root: the SDK adds
    ``/v1/models/...``): dummy key, test id header, 10 s timeout. ``.aio`` is its async side."""
    genai = _sdk("google.genai", "google-genai")
    options = genai.types.HttpOptions(base_url=mockserver.origin, timeout=int(CLIENT_TIMEOUT * 1000),
                                      headers={TEST_ID_HEADER: mockserver.test_id})
    with genai.Client(api_key=API_KEY, http_options=options) as client:
        yield client


@pytest.fixture
def ollama_client(mockserver: MockServer) -> Iterator[ollama.Client]:
    """``ollama.Client`` pointed at the test's server (its root: the client adds ``/api/...``), with the test id
    header and a 10 s timeout."""
    client = _sdk("ollama").Client(host=mockserver.origin, timeout=CLIENT_TIMEOUT,
                                   headers={TEST_ID_HEADER: mockserver.test_id})
    yield client
    client._client.close()


@pytest.fixture
def async_ollama_client(mockserver: MockServer) -> ollama.AsyncClient:
    """``ollama.AsyncClient`` pointed at the test's server; like ``async_openai_client``, it keeps no connection
    open between requests."""
    return _sdk("ollama").AsyncClient(host=mockserver.origin, timeout=CLIENT_TIMEOUT,
                                      headers={TEST_ID_HEADER: mockserver.test_id, "Connection": "close"})


def _client_settings(server: MockServer, base_url: str | None = None, **headers: str) -> dict[str, Any]:
    return {
        "base_url": base_url or server.url,
        "api_key": API_KEY,
        "timeout": CLIENT_TIMEOUT,
        "default_headers": {TEST_ID_HEADER: server.test_id, **headers},
    }


def _sdk(name: str, package: str | None = None) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        package = package or name
        pytest.fail(f"this fixture needs the {package} SDK: pip install {package}", pytrace=False)

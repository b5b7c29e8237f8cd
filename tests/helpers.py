"""Helpers shared by the tests: SSE parsing, stream conformance checks, ``mockserver serve`` subprocesses."""

from __future__ import annotations

import contextlib
import functools
import importlib
import ipaddress
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import openai
import orjson
import pytest
from jsonschema import Draft202012Validator

from mockserver import MockServer
from mockserver.conformance import validate_official

API_KEY = "sk-test-key"


def without_plugins(*names: str) -> tuple[str, ...]:
    """pytest's options that keep these installed plugins out of a run (``-p no:NAME`` each): the test extra
    installs plugins (langsmith's, the snapshot ones, schemathesis', hypothesis') that a nested or separate suite
    never uses and would otherwise load in every one of its processes."""
    return tuple(option for name in names for option in ("-p", f"no:{name}"))


BENCH = Path(__file__).resolve().parent.parent / "bench"


def bench_module(name: str) -> ModuleType:
    """A bench script as a module (bench/ holds scripts, not a package; they import their sibling ``load``)."""
    if str(BENCH) not in sys.path:
        sys.path.append(str(BENCH))
    return importlib.import_module(name)


def sdk_client(
    base_url: str, *, key: str = API_KEY, retries: int = 0, timeout: float = 10, **headers: str
) -> openai.OpenAI:
    """The openai SDK pointed at the mock: no retries unless asked, a short timeout, extra default headers."""
    return openai.OpenAI(base_url=base_url, api_key=key, max_retries=retries, timeout=timeout,
                         default_headers=headers or None)


def module_server(**settings: object) -> object:
    """A module-scoped ``server`` fixture: one real server on loopback with ``settings``, for the module."""

    @pytest.fixture(scope="module")
    def server() -> Iterator[MockServer]:
        with MockServer(**settings) as running:
            yield running

    return server


@pytest.fixture()
def reset_server(server: MockServer) -> Iterator[MockServer]:
    """The module's ``server``, reset after the test once what it still serves has ended (a WebSocket session the
    test left is journaled a moment after), so the next test's journal starts empty; import it as ``mock``."""
    yield server
    deadline = time.monotonic() + 5
    while server.state.journal.live() and time.monotonic() < deadline:
        time.sleep(0.01)
    server.reset()


def vendored_conformance(provider: str) -> Callable[[str, Any], None]:
    """``conforms(name, body)``: asserts ``body`` is valid against ``schemas/<provider>/<name>.json``, a schema
    vendored from that provider's SDK, naming the first five problems."""
    folder = Path(__file__).resolve().parents[1] / "schemas" / provider

    @functools.cache
    def official(name: str) -> Draft202012Validator:
        return Draft202012Validator(orjson.loads((folder / f"{name}.json").read_bytes()))

    def conforms(name: str, body: Any) -> None:
        problems = [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
                    for error in official(name).iter_errors(body)]
        assert not problems, f"not an official {provider} {name}: {problems[:5]}"

    return conforms


@pytest.fixture(scope="module")
def module_client(server: MockServer) -> openai.OpenAI:
    """The SDK pointed at the module's ``server``; import it as ``client``."""
    return sdk_client(server.url)


def parse_sse(raw: bytes) -> list[dict | str]:
    """Split a raw SSE body into decoded JSON payloads (and the literal ``[DONE]``), checking framing."""
    assert raw.endswith(b"\n\n"), "an SSE stream must end with a blank line"
    assert b"\r" not in raw, "frames use LF only"
    events: list[dict | str] = []
    for frame in raw.decode().split("\n\n")[:-1]:
        assert frame.startswith("data: "), f"unexpected frame {frame[:60]!r}"
        assert "\n" not in frame, "each event is a single data line"
        payload = frame[len("data: "):]
        events.append(payload if payload == "[DONE]" else orjson.loads(payload))
    return events


def assert_stream_conforms(events: list[dict | str]) -> list[dict]:
    assert events[-1] == "[DONE]"
    chunks = [event for event in events[:-1]]
    for chunk in chunks:
        assert isinstance(chunk, dict)
        validate_official("CreateChatCompletionStreamResponse", chunk)
    first = chunks[0]
    for chunk in chunks:
        for key in ("id", "created", "model", "system_fingerprint"):
            assert chunk[key] == first[key]
    return chunks  # type: ignore[return-value]


BANNER = re.compile(r"^mockserver \S+ on (http://127\.0\.0\.1:(\d+)) ")
SERVE_START_SECONDS = 20


@dataclass
class ServeProcess:
    """A ``mockserver serve`` subprocess; its output is read as it comes (``stdout``, ``stderr``)."""

    process: subprocess.Popen[str]
    origin: str
    port: int
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    def wait_for_line(self, text: str, timeout: float = 5, *, stdout: bool = False) -> str:
        """The first stderr line (the request log is there; ``stdout``: stdout line) holding ``text``, waiting
        up to ``timeout``: both are read by threads, so a line printed may not have been read yet."""
        lines = self.stdout if stdout else self.stderr
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(lines):
                if text in line:
                    return line
            time.sleep(0.01)
        raise AssertionError(f"no line with {text!r} in {lines}")


def _limit_descriptors(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


@contextmanager
def serve_process(
    *flags: str,
    cwd: Path | None = None,
    new_session: bool = False,
    measured: bool = True,
    descriptor_limit: int | None = None,
) -> Iterator[ServeProcess]:
    """Start ``mockserver serve --port 0 FLAGS`` and yield once its banner names the port; stop it after.

    ``measured=False`` keeps coverage out of the process (tests that time the server's event loop);
    ``descriptor_limit`` sets its open-file limit.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if not measured:
        env.pop("COVERAGE_PROCESS_CONFIG", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", *flags],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=new_session,
        env=env, preexec_fn=None if descriptor_limit is None else lambda: _limit_descriptors(descriptor_limit),
    )
    assert process.stdout is not None and process.stderr is not None
    stderr: list[str] = []
    threading.Thread(target=lambda: stderr.extend(process.stderr), daemon=True).start()  # type: ignore[arg-type]
    deadline = time.monotonic() + SERVE_START_SECONDS
    found = None
    stdout: list[str] = []
    while found is None:
        line = process.stdout.readline()
        if not line:
            process.wait(5)
            raise AssertionError(f"mockserver serve exited {process.returncode}: {''.join(stderr)}")
        stdout.append(line)
        found = BANNER.match(line)
        assert time.monotonic() < deadline, "mockserver serve printed no banner in time"
    threading.Thread(target=lambda: stdout.extend(process.stdout), daemon=True).start()  # type: ignore[arg-type]
    running = ServeProcess(process, found.group(1), int(found.group(2)), stdout, stderr)
    try:
        yield running
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@contextmanager
def uvicorn_thread(config: Any) -> Iterator[int]:
    """uvicorn's own ``Server`` with ``config`` (a ``uvicorn.Config``) in a thread on a loopback port: the port,
    once it serves; stopped after. For tests of the protocol under settings ``MockServer`` does not take."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.005)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


def raw_exchange(port: int, data: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes on one connection to the mock on ``port``, then read until it closes (within ``timeout``).

    Sending may fail halfway: the server may answer and close before the whole request is sent.
    """
    received = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(data)
        deadline = time.monotonic() + timeout
        with contextlib.suppress(OSError):
            while time.monotonic() < deadline and (chunk := sock.recv(1 << 20)):
                received += chunk
    return bytes(received)


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, signed by its own key (PEM files in ``directory``), for the mock's
    --tls-cert and --tls-key; a client trusts it as its own CA."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "mock.pem", directory / "mock.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisProcess:
    """A real ``redis-server`` on a loopback port, which a test may stop and start again on the same port."""

    def __init__(self, directory: Path) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            assert not os.environ.get("CI"), ".ci/run installs redis-server (Debian): it must be there in CI"
            pytest.skip("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis  # here: most test modules never start a Redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                assert self.process.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not answer within 10 s"
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

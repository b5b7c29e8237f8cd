"""Stopping: SIGTERM and Ctrl-C with open, stalled and hung responses end ``mockserver serve`` within a second.

uvicorn lets in-flight responses finish within its graceful timeout; a stalled
or hung one never does, so the protocol cuts faulted responses at shutdown
(``MockHttpProtocol.shutdown``) and the wire layer's waits end with the
connection. The same holds for ``MockServer.stop()`` and the pytest plugin.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

# See test_plugin.py: pytester's inline runs drop modules first imported during the run.
import httpcore2  # noqa: F401
import httpx2
import pytest

from mockserver import MockServer

from helpers import serve_process

ROOT = Path(__file__).resolve().parent.parent
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Tell me a long story."}]}
HELD = [
    ("stall;after_chunks=1;seconds=60", True),
    ("stall;after_chunks=1;seconds=60", True),
    ("stall;seconds=60", False),
    ("hang", False),
    ("hang", True),
    ("tokens_per_second;rate=0.5", True),
    ("latency;ms=60000", False),
]
STOP_WITHIN = 1.0


def hold_open(base_url: str, fault: str, stream: bool) -> threading.Thread:
    """A client whose response the server holds back (or paces) with ``fault``; it waits up to 30 s."""

    def run() -> None:
        headers = {"Authorization": "Bearer sk-shutdown", "X-Mock-Fault": fault}
        try:
            with httpx2.stream("POST", base_url + "/chat/completions", json={**BODY, "stream": stream},
                               headers=headers, timeout=30) as response:
                for _ in response.iter_bytes():
                    pass
        except httpx2.HTTPError:
            pass  # the server cut it: expected

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def wait_until_held(count: int, pending: callable) -> None:  # type: ignore[valid-type]
    deadline = time.monotonic() + 10
    while pending() < count:
        assert time.monotonic() < deadline, "the held requests never reached the server"
        time.sleep(0.01)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_within_a_second_with_held_responses(sig: signal.Signals) -> None:
    with serve_process(cwd=ROOT) as served:
        process, port = served.process, served.port
        base = f"http://127.0.0.1:{port}/v1"
        clients = [hold_open(base, fault, stream) for fault, stream in HELD]

        def held() -> int:
            journal = httpx2.get(f"http://127.0.0.1:{port}/_mock/requests").json()["data"]
            return len(HELD) - len(journal)  # finished requests are journaled; held ones are not yet

        time.sleep(0.3)
        wait_until_held(len(HELD), held)
        started = time.monotonic()
        process.send_signal(sig)
        returncode = process.wait(10)
        elapsed = time.monotonic() - started
        served.wait_for_line("Finished server process")
        errors = "".join(served.stderr)
    assert elapsed < STOP_WITHIN, f"{sig.name}: stopped after {elapsed:.2f} s"
    # SIGTERM: uvicorn re-raises it after its clean shutdown; Ctrl-C: exit status 130, no traceback.
    assert returncode == (-signal.SIGTERM if sig == signal.SIGTERM else 130)
    assert "Traceback" not in errors and "ERROR" not in errors
    for client in clients:
        client.join(5)
        assert not client.is_alive()


def test_mockserver_stop_with_held_responses() -> None:
    server = MockServer().start()
    clients = [hold_open(server.url, fault, stream) for fault, stream in HELD]
    wait_until_held(len(HELD), lambda: len(server.state.journal.live()))
    time.sleep(0.1)  # past the pipeline: every fault is in its wait
    started = time.monotonic()
    server.stop()
    elapsed = time.monotonic() - started
    assert elapsed < STOP_WITHIN, f"stop() took {elapsed:.2f} s"
    for client in clients:
        client.join(5)
        assert not client.is_alive()
    ended = sorted(exchange.ended or "" for exchange in server.state.journal.entries())
    assert ended == sorted(["client_disconnect"] * 5 + ["hang"] * 2)


def test_stop_wakes_the_server_instead_of_waiting_for_its_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    """``stop()`` wakes the server's main loop; it does not wait for the loop's next tick to notice (uvicorn's
    loop looks every 0.1 s: 200 test servers waited 35 s for it). With a 30 s tick, the old stop took 30 s."""
    import mockserver.app.server as server_module

    monkeypatch.setattr(server_module, "TICK_SECONDS", 30.0)
    server = MockServer().start()
    with httpx2.Client() as client:  # a kept-alive connection, which the shutdown closes and waits for
        assert client.get(server.origin + "/_mock/health").status_code == 200
        started = time.monotonic()
        server.stop()
        elapsed = time.monotonic() - started
    assert elapsed < STOP_WITHIN, f"stop() took {elapsed:.2f} s"
    assert server.port is not None
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"http://127.0.0.1:{server.port}/_mock/health", timeout=1)


pytest_plugins = ["pytester"]


def test_plugin_session_stops_cleanly_with_a_stalled_stream(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user='''
        import threading, time, pathlib
        import httpx2, pytest

        STOPPING = {}

        @pytest.fixture(scope="session", autouse=True)
        def measure_stop():
            yield  # torn down last, after mockserver_session
            pathlib.Path("stop_seconds.txt").write_text(str(time.monotonic() - STOPPING["at"]))

        @pytest.fixture(scope="session")
        def stop_clock(mockserver_session):
            yield  # torn down just before mockserver_session
            STOPPING["at"] = time.monotonic()

        def test_leaves_a_stalled_stream(mockserver, stop_clock):
            def hold():
                try:
                    with httpx2.stream("POST", mockserver.url + "/chat/completions", timeout=30,
                                       json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}],
                                             "stream": True},
                                       headers={"Authorization": "Bearer k",
                                                "X-Mock-Fault": "stall;after_chunks=1;seconds=60"}) as response:
                        for _ in response.iter_bytes():
                            pass
                except httpx2.HTTPError:
                    pass
            threading.Thread(target=hold, daemon=True).start()
            deadline = time.monotonic() + 5
            while not mockserver.state.journal.live() and time.monotonic() < deadline:
                time.sleep(0.01)
            assert mockserver.state.journal.live()
    ''')
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert float((pytester.path / "stop_seconds.txt").read_text()) < STOP_WITHIN
    assert "Traceback" not in result.stdout.str() + result.stderr.str()

"""The pytest plugin, run the way users run it: pytester suites with no conftest, only the installed entry point."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

# The SDKs the inner suites use (anthropic, google-genai, ollama), loaded once here, not by every run (anthropic:
# 1.5 s a run).
import anthropic  # noqa: F401
import google.genai  # noqa: F401

# pytester's inline runs drop every module first imported during the run. httpx2 imports httpcore2 lazily and
# keeps its exception classes: dropped, a fresh httpcore2 would make httpx2 leak raw errors to every later test
# in this worker (openai.APIConnectionError becomes httpcore2.RemoteProtocolError). Import it here, first.
import httpcore2  # noqa: F401
import httpx
import httpx2
import ollama  # noqa: F401
import openai
import pytest

from mockserver import MockServer
from mockserver.app.inprocess import SyncTransport, async_transport

from helpers import without_plugins

pytest_plugins = ["pytester"]
# What a user's project with pytest-asyncio sets (without it, pytest-asyncio warns in every inner run).
USER_INI = "asyncio_default_fixture_loop_scope = function"

HELLO = [{"role": "user", "content": "Hello"}]
# Installed plugins the inner suites never use: an inline run drops every module it imported first, so each run
# would import them again (langsmith's alone, 200 modules).
UNUSED_PLUGINS = without_plugins("schemathesis", "hypothesispytest", "langsmith_plugin", "http_snapshot",
                                 "inline_snapshot")


def run(pytester: pytest.Pytester, source: str, *args: str, ini: str = "") -> pytest.RunResult:
    """Run ``source`` as the only test module of a fresh project (no conftest.py: fixtures come from the plugin)."""
    pytester.makepyfile(test_user=source)
    pytester.makeini(f"[pytest]\n{USER_INI}\n{ini}\n")
    return pytester.runpytest(*without_plugins("cacheprovider", "faker"), *UNUSED_PLUGINS, *args)


def test_fixtures_come_from_the_entry_point_alone(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
        def test_reply(mockserver, openai_client):
            mockserver.reply("Bonjour")
            answer = openai_client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}]
            )
            assert answer.choices[0].message.content == "Bonjour"
            assert mockserver.last_request.headers["x-mock-test-id"] == mockserver.test_id

        def test_reset_between_tests(mockserver, openai_client):
            assert mockserver.requests == [] and mockserver.scripts == []
            answer = openai_client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}]
            )
            assert answer.choices[0].message.content != "Bonjour"
    """)
    assert not list(pytester.path.glob("conftest.py"))
    result.assert_outcomes(passed=2)


def test_anthropic_clients_talk_to_the_tests_server(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
        import asyncio

        def test_sync(mockserver, anthropic_client):
            mockserver.reply("Bonjour")
            answer = anthropic_client.messages.create(
                model="claude-sonnet-4-6", max_tokens=50, messages=[{"role": "user", "content": "Hello"}])
            assert answer.content[0].text == "Bonjour"
            assert mockserver.last_request.headers["x-mock-test-id"] == mockserver.test_id
            assert mockserver.last_request.path == "/v1/messages"

        def test_async(mockserver, async_anthropic_client):
            mockserver.reply("Hallo")
            answer = asyncio.run(async_anthropic_client.messages.create(
                model="claude-sonnet-4-6", max_tokens=50, messages=[{"role": "user", "content": "Hello"}]))
            assert answer.content[0].text == "Hallo"
    """)
    result.assert_outcomes(passed=2)


def test_gemini_and_ollama_clients_talk_to_the_tests_server(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
        import asyncio

        def test_gemini(mockserver, gemini_client):
            mockserver.reply("Ciao")
            assert gemini_client.models.generate_content(model="gemini-2.5-flash", contents="Hello").text == "Ciao"
            assert mockserver.last_request.headers["x-mock-test-id"] == mockserver.test_id
            assert mockserver.last_request.path == "/v1/models/gemini-2.5-flash:generateContent"
            mockserver.reply("Salut")
            answer = asyncio.run(gemini_client.aio.models.generate_content(model="gemini-2.5-flash", contents="Hi"))
            assert answer.text == "Salut"

        def test_ollama(mockserver, ollama_client):
            mockserver.reply("Hej")
            answer = ollama_client.chat(model="llama3.2", messages=[{"role": "user", "content": "Hello"}])
            assert answer.message.content == "Hej"
            assert mockserver.last_request.path == "/api/chat"

        def test_async_ollama(mockserver, async_ollama_client):
            mockserver.reply("Hei")
            answer = asyncio.run(async_ollama_client.generate(model="llama3.2", prompt="Hello"))
            assert answer.response == "Hei"
    """)
    result.assert_outcomes(passed=3)


def test_unused_script_errors_at_teardown_with_the_fix_in_the_message(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
        import pytest

        HELLO = [{"role": "user", "content": "Hello"}]

        def test_unused(mockserver, openai_client):
            mockserver.fail(503, times=2)
            with pytest.raises(Exception):
                openai_client.with_options(max_retries=0).chat.completions.create(model="gpt-4o-mini", messages=HELLO)

        def test_already_failing_is_not_checked_again(mockserver):
            mockserver.reply("never asked", times=3)
            assert False, "the test's own failure"

        @pytest.mark.mockserver(check_unused=False)
        def test_opted_out(mockserver):
            mockserver.reply("optional")

        def test_unlimited_is_optional(mockserver):
            mockserver.reply("optional", times="unlimited")
    """)
    result.assert_outcomes(passed=3, failed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_unused*",
        "mockserver: 1 scripted behaviour of this test was not used up:",
        "  script #* (fault='http_error', status=503, retry_after_ms=1): 1 of times=2 left",
        "*Lower times=, use times=\"unlimited\"*@pytest.mark.mockserver(check_unused=False).",
        "Requests of this test (1):",
        "  #* POST /v1/chat/completions model='gpt-4o-mini' -> 503 [[]script #*: http_error;status=503;retry_after_ms=1[]]",
    ])
    assert "ERROR at teardown of test_already_failing_is_not_checked_again" not in result.stdout.str()


def test_check_unused_can_be_turned_off_for_the_suite(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
        def test_unused(mockserver):
            mockserver.fail(503, times=2)
    """, ini="mockserver_check_unused = false")
    result.assert_outcomes(passed=1)


def test_strict_mode_fails_on_unscripted_requests(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
        import pytest

        HELLO = [{"role": "user", "content": "Hello"}]

        @pytest.mark.mockserver(strict=True)
        def test_strict(mockserver, openai_client):
            mockserver.reply("scripted", match={"model": "gpt-4o"})
            openai_client.chat.completions.create(model="gpt-4o", messages=HELLO)
            openai_client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)

        @pytest.mark.mockserver(strict=True)
        def test_all_scripted(mockserver, openai_client):
            mockserver.reply("scripted", times="unlimited")
            openai_client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
            openai_client.chat.completions.create(model="gpt-4o", messages=HELLO)

        def test_not_strict_by_default(mockserver, openai_client):
            openai_client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    """)
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_strict*",
        "mockserver: strict mode: 1 request was not matched by any script, fixture rule or control header:",
        "  #* POST /v1/chat/completions model='gpt-4o-mini' -> 200 [[]unscripted[]]",
        "Script an answer for each*",
    ])


def test_strict_for_the_whole_suite_from_ini(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
        def test_unscripted(mockserver, openai_client):
            openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
    """, ini="mockserver_strict = true")
    result.assert_outcomes(passed=1, errors=1)


def test_options_fixture_can_be_overridden_in_code(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
        import dataclasses
        import pytest

        @pytest.fixture
        def mockserver_options(mockserver_options):
            return dataclasses.replace(mockserver_options, strict=True, check_unused=False)

        def test_one_unscripted(mockserver, openai_client):
            mockserver.reply("scripted", times=2, match={"model": "gpt-4o"})  # one use left: not checked
            hello = [{"role": "user", "content": "Hi"}]
            openai_client.chat.completions.create(model="gpt-4o-mini", messages=hello, extra_headers={"X-Mock-Reply": "ok"})
            openai_client.chat.completions.create(model="gpt-4o", messages=hello)
            openai_client.chat.completions.create(model="gpt-4o-mini", messages=hello)
    """)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*strict mode: 1 request was not matched*", "  #* model='gpt-4o-mini' -> 200 [[]unscripted[]]", "Script an*"
    ])


def test_xdist_workers_have_their_own_server_and_tests_their_own_scripts(pytester: pytest.Pytester) -> None:
    """Two tests on two workers at the same time (a file barrier), each scripting its own reply."""
    barrier = pytester.path / "barrier"
    barrier.mkdir()
    result = run(pytester, f"""
        import pathlib, time
        import openai
        import pytest

        BARRIER = pathlib.Path({str(barrier)!r})

        def meet(name):
            (BARRIER / name).write_text("")
            deadline = time.monotonic() + 20
            while len(list(BARRIER.glob("*"))) < 2:
                assert time.monotonic() < deadline, "the other test never ran concurrently"
                time.sleep(0.01)

        @pytest.mark.parametrize("name", ["alpha", "beta"])
        def test_own_reply(mockserver, openai_client, name, worker_id):
            mockserver.reply(f"only for {{name}}", times="unlimited")
            (BARRIER.parent / f"port-{{name}}").write_text(f"{{worker_id}} {{mockserver.port}}")
            meet(name)
            app_client = openai.OpenAI(base_url=mockserver.url, api_key="sk-app")  # no test id header
            for client in [openai_client, app_client] * 5:
                answer = client.chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": "Hi"}}])
                assert answer.choices[0].message.content == f"only for {{name}}"
            mockserver.assert_called(times=10)
    """, "-n", "2")
    result.assert_outcomes(passed=2)
    ports = {(pytester.path / f"port-{name}").read_text() for name in ("alpha", "beta")}
    assert len({entry.split()[0] for entry in ports}) == 2 and len({entry.split()[1] for entry in ports}) == 2


def test_export_env_redirects_code_that_builds_its_own_client(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = run(pytester, """
        import os
        import openai
        import pytest

        def summarize(text):  # application code: builds its own client from the environment
            client = openai.OpenAI()
            answer = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": text}])
            return answer.choices[0].message.content

        @pytest.mark.mockserver(export_env=True)
        def test_exported(mockserver):
            assert os.environ["OPENAI_BASE_URL"] == mockserver.url
            mockserver.reply("A short summary.")
            assert summarize("A long text") == "A short summary."
            assert mockserver.last_request.headers["authorization"] == "[redacted]"
            mockserver.assert_called(times=1, message_contains="long text")

        def test_not_exported_by_default(mockserver):
            assert "OPENAI_BASE_URL" not in os.environ
    """)
    result.assert_outcomes(passed=2)


def test_dialect_marker_points_url_and_clients_at_the_dialect(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
        import openai
        import pytest

        pytestmark = pytest.mark.mockserver(dialect="serika")

        def test_serika(mockserver, openai_client):
            assert mockserver.url == mockserver.url_for("serika")
            assert mockserver.url.endswith("/serika/api/openai/v1")
            with pytest.raises(openai.NotFoundError):  # not in Serika's catalog
                openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
            openai_client.chat.completions.create(
                model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
            )
            mockserver.assert_called(times=2, dialect="serika")

        @pytest.mark.mockserver(dialect="openai")
        def test_nearest_marker_wins(mockserver):
            assert mockserver.url.endswith("/openai/v1")

        @pytest.mark.mockserver(dialect="klingon")
        def test_unknown_dialect(mockserver):
            pass

        @pytest.mark.mockserver(stritc=True)
        def test_misspelt_option(mockserver):
            pass
    """)
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines([
        "*unknown dialect 'klingon'; known: openai, gateway, serika, openserv, samurai*",
        "*@pytest.mark.mockserver takes keyword options dialect, strict, check_unused, export_env, cassette; got stritc=*",
    ])


def test_async_client_and_streaming(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
        import pytest

        @pytest.mark.asyncio
        async def test_async_stream(mockserver, async_openai_client):
            mockserver.reply("streamed reply")
            stream = await async_openai_client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True
            )
            text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])
            assert text == "streamed reply"
            request = mockserver.assert_called(times=1, stream=True)[0]
            assert request.headers["x-mock-test-id"] == mockserver.test_id

        @pytest.mark.asyncio
        async def test_async_retry(mockserver, async_openai_client):
            mockserver.rate_limit(times=2)
            response = await async_openai_client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
            )
            assert response.retries_taken == 2
    """, "-W", "error::ResourceWarning")
    result.assert_outcomes(passed=2)


def test_session_server_stops_promptly_with_a_stream_left_open(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
        import openai

        LEFT_OPEN = []

        def test_leaves_a_stalled_stream_open(mockserver):
            mockserver.stall(after_chunks=1, seconds=60)
            client = openai.OpenAI(base_url=mockserver.url, api_key="sk-app", max_retries=0)
            stream = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True
            )
            next(iter(stream))  # the server now holds the stream open for a minute; nobody closes the client
            LEFT_OPEN.append(stream)
    """, "--durations=0", "--durations-min=0")
    result.assert_outcomes(passed=1)
    (teardown,) = [line for line in result.outlines if "teardown" in line and "test_leaves_a_stalled_stream_open" in line]
    assert float(teardown.split("s ")[0]) < 3  # the session fixture's stop: a second of grace, then force


# ---------------------------------------------------------------------- in-process transports


@pytest.fixture(scope="module")
def unstarted() -> MockServer:
    """A server that never opens a port: only its ASGI app is used."""
    return MockServer(seed=5)


@pytest.mark.parametrize("http", [httpx2, httpx], ids=["httpx2", "httpx"])
def test_sync_transport(unstarted: MockServer, http: object) -> None:
    with unstarted.scope("inprocess-sync"):
        entry = unstarted.reply("in process", times=2)
        with http.Client(transport=SyncTransport(unstarted.app, http=http)) as raw:  # type: ignore[attr-defined]
            for stream in (False, True):
                response = raw.post(
                    "http://mockserver/v1/chat/completions",
                    headers={"Authorization": "Bearer sk-mock"},
                    json={"model": "gpt-4o-mini", "messages": HELLO, "stream": stream},
                )
                assert response.status_code == 200
                assert ("data: [DONE]" in response.text) if stream else response.json()["choices"][0]["message"]
        answered = unstarted.assert_called(times=2, decided_by=f"script #{entry.id}")
        assert [request.stream for request in answered] == [False, True]


def test_sync_transport_under_the_sdk(unstarted: MockServer) -> None:
    with unstarted.scope("inprocess-sdk"):
        unstarted.tool_call("get_weather", {"city": "Paris"})
        unstarted.fail(500)
        http_client = httpx2.Client(transport=SyncTransport(unstarted.app))
        with openai.OpenAI(base_url="http://mockserver/v1", api_key="sk-mock", http_client=http_client) as client:
            (call,) = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO).choices[0].message.tool_calls
            assert call.function.name == "get_weather" and call.function.arguments == '{"city":"Paris"}'
            response = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO)
            assert response.retries_taken == 1


@pytest.mark.parametrize("http", [httpx2, httpx], ids=["httpx2", "httpx"])
def test_async_transport(unstarted: MockServer, http: object) -> None:
    async def exchange() -> list[str]:
        async with http.AsyncClient(transport=async_transport(unstarted.app, http=http)) as raw:  # type: ignore[attr-defined]
            response = await raw.post(
                "http://mockserver/v1/chat/completions",
                headers={"Authorization": "Bearer sk-mock"},
                json={"model": "gpt-4o-mini", "messages": HELLO, "stream": True},
            )
            return [line for line in response.text.split("\n\n") if line]

    with unstarted.scope("inprocess-async"):
        entry = unstarted.reply("async in process")
        frames = asyncio.run(exchange())
        assert frames[-1] == "data: [DONE]" and unstarted.last_request.decided_by == f"script #{entry.id}"


def test_inprocess_limits_are_as_documented(unstarted: MockServer) -> None:
    """The README's "In-process mode" limits: content faults act, transport faults surface as AssertionError."""
    http_client = httpx2.Client(transport=SyncTransport(unstarted.app))
    with unstarted.scope("inprocess-limits"), openai.OpenAI(
        base_url="http://mockserver/v1", api_key="sk-mock", max_retries=0, http_client=http_client
    ) as client:
        unstarted.truncate(after_chunks=3)
        chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))
        assert len(chunks) == 3 and chunks[-1].choices[0].finish_reason is None
        unstarted.disconnect(after_chunks=3)
        with pytest.raises(AssertionError):
            list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))


def test_the_readme_pytest_example_passes(pytester: pytest.Pytester) -> None:
    """The README's 'In pytest' example, run as a user would paste it."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    example = re.search(r"```python\n(def test_answer.*?)```", readme, re.S)
    assert example is not None, "the README lost its pytest example"
    run(pytester, example.group(1)).assert_outcomes(passed=3)


CASSETTE_TEST = """
    import pytest

    @pytest.mark.mockserver(cassette="greeting")
    def test_greeting(openai_client):
        answer = openai_client.chat.completions.create(model="gpt-4o-mini", messages=[
            {"role": "user", "content": "QUESTION"}])
        assert answer.choices[0].message.content

    def test_unmarked(openai_client):
        assert openai_client.chat.completions.create(model="gpt-4o-mini", messages=[
            {"role": "user", "content": "Unmarked"}]).choices[0].message.content
"""


def test_cassettes_record_once_then_replay_and_a_changed_request_fails_the_test(pytester: pytest.Pytester) -> None:
    from mockserver import MockServer

    with MockServer(seed=31) as upstream:
        recorded = run(pytester, CASSETTE_TEST.replace("QUESTION", "Hello"), "--mockserver-record=new",
                       f"--mockserver-upstream={upstream.url}")
        recorded.assert_outcomes(passed=2)
    cassettes = pytester.path / "cassettes"
    assert sorted(path.name for path in cassettes.iterdir()) == ["greeting.yaml", "test_unmarked.yaml"]
    assert "sk-mock" not in (cassettes / "greeting.yaml").read_text()
    replayed = run(pytester, CASSETTE_TEST.replace("QUESTION", "Hello"))  # upstream gone, mode none
    replayed.assert_outcomes(passed=2)  # the unmarked test is answered by the generator when not recording
    changed = run(pytester, CASSETTE_TEST.replace("QUESTION", "Hello again"))
    changed.assert_outcomes(passed=1, failed=1)
    changed.stdout.fnmatch_lines([
        "*NotFoundError: Error code: 404 - No recording in cassette *greeting.yaml answers this POST "
        "/chat/completions (record mode none)*last_user: recorded 'Hello', got 'Hello again'*"])


def test_a_swallowed_cassette_miss_still_fails_the_test(pytester: pytest.Pytester) -> None:
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "empty.yaml").write_text("version: 1\ninteractions: []\n")
    result = run(pytester, """
        import openai
        import pytest

        @pytest.mark.mockserver(cassette="empty")
        def test_swallows(openai_client):
            with pytest.raises(openai.NotFoundError):
                openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    """)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*It holds 0 recordings, none of POST /chat/completions*"])


def test_a_user_suite_passes_under_warnings_as_errors(pytester: pytest.Pytester) -> None:
    """In a fresh process (an inline run would reuse this one's imports): the plugin, the server, a chat answer
    (the tokenizer loaded) and a stream raise no warning. bpe-openai's package raised a DeprecationWarning at
    import (importlib.resources.open_binary), which failed every fixture of a suite run with ``-W error``."""
    pytester.makepyfile(test_user="""
        def test_chat(mockserver, openai_client):
            answer = openai_client.chat.completions.create(model="gpt-4o-mini",
                                                           messages=[{"role": "user", "content": "Hello"}])
            assert answer.usage.prompt_tokens == 8
            with openai_client.chat.completions.stream(model="gpt-4o-mini",
                                                       messages=[{"role": "user", "content": "Hi"}]) as stream:
                assert stream.get_final_completion().choices[0].message.content
    """)
    pytester.makeini(f"[pytest]\n{USER_INI}\n")
    result = pytester.runpytest_subprocess(*without_plugins("cacheprovider"), "-W", "error", *UNUSED_PLUGINS)
    result.assert_outcomes(passed=1)

"""The Python control API (``MockServer.fail``, ``.reply``, ``.requests``, ``.assert_called``...) through the
plugin's fixtures: the same vocabulary and the same parser as the admin API, acting in-process."""

from __future__ import annotations

import time
from pathlib import Path

import httpx2
import openai
import pytest

from mockserver import MockServer
from mockserver.control.faults import SpecError
from mockserver.control.fixtures import FixtureError

HELLO = [{"role": "user", "content": "What is the weather in Paris?"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def ask(client: openai.OpenAI, model: str = "gpt-4o-mini", **extra: object) -> str | None:
    return client.chat.completions.create(model=model, messages=HELLO, **extra).choices[0].message.content


def test_fail_twice_then_succeed_retries_at_once(mockserver: MockServer, openai_client: openai.OpenAI) -> None:
    ask(openai_client)  # the server's first request loads what it loads lazily; the retries are timed after it
    mockserver.fail(503, times=2)
    started = time.perf_counter()
    response = openai_client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO)
    assert response.retries_taken == 2 and time.perf_counter() - started < 0.5
    failed = mockserver.assert_called(times=2, status=503, fault="http_error")
    assert failed[0].faults == ["http_error;status=503;retry_after_ms=1"]
    assert [request.attempt for request in mockserver.requests] == [0, 0, 1, 2]


def test_errors_the_sdk_does_not_retry_carry_no_retry_headers(
    mockserver: MockServer, openai_client: openai.OpenAI
) -> None:
    mockserver.fail(400, message="Nope.", code="bad_thing")
    with pytest.raises(openai.BadRequestError) as raised:
        ask(openai_client)
    assert raised.value.code == "bad_thing" and "retry-after-ms" not in raised.value.response.headers


def test_rate_limit_with_retry_after_seconds(mockserver: MockServer, openai_client: openai.OpenAI) -> None:
    mockserver.rate_limit(times=1, retry_after=0.01)
    with pytest.raises(openai.RateLimitError) as raised:
        openai_client.with_options(max_retries=0).chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert raised.value.response.headers["retry-after-ms"] == "10"


def test_stream_faults(mockserver: MockServer, openai_client: openai.OpenAI) -> None:
    client = openai_client.with_options(max_retries=0)
    mockserver.disconnect(after_chunks=3)
    with pytest.raises(openai.APIConnectionError):
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True):
            pass
    assert mockserver.last_request.ended == "disconnect"
    mockserver.truncate(after_chunks=3)
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))
    assert len(chunks) == 3 and chunks[-1].choices[0].finish_reason is None
    mockserver.fault("error_event", after_chunks=2, code="overloaded")
    with pytest.raises(openai.APIError) as raised:
        list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))
    assert raised.value.code == "overloaded"
    mockserver.assert_called(times=3, stream=True)


def test_stall_trips_the_client_read_timeout(mockserver: MockServer, openai_client: openai.OpenAI) -> None:
    mockserver.stall(after_chunks=1, seconds=2)
    client = openai_client.with_options(max_retries=0, timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))


def test_reply_and_tool_call_with_match(mockserver: MockServer, openai_client: openai.OpenAI) -> None:
    mockserver.reply("Only for gpt-4o.", match={"model": "gpt-4o"})
    mockserver.tool_call("get_weather", {"city": "Paris"}, match={"tools_include": "get_weather"})
    (call,) = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=HELLO, tools=[WEATHER_TOOL]
    ).choices[0].message.tool_calls
    assert call.function.name == "get_weather" and call.function.arguments == '{"city":"Paris"}'
    assert ask(openai_client, model="gpt-4o") == "Only for gpt-4o."


def test_script_takes_behaviours_as_data(mockserver: MockServer, openai_client: openai.OpenAI) -> None:
    _, second = mockserver.script(
        {"tool_call": {"name": "get_weather"}, "fault": "disconnect;after_chunks=2"},
        {"reply": "Sunny.", "times": "unlimited"},
    )
    assert [entry.remaining for entry in mockserver.scripts] == [1, None]
    with pytest.raises(openai.APIConnectionError):
        list(openai_client.with_options(max_retries=0).chat.completions.create(
            model="gpt-4o-mini", messages=HELLO, tools=[WEATHER_TOOL], stream=True
        ))
    assert ask(openai_client) == "Sunny." and mockserver.scripts == [second]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda server: server.fault("disconnect", after_chunk=2), "fault: fault 'disconnect' has no parameter"),
        (lambda server: server.fail(700), "must be an HTTP status from 200 to 599"),
        (lambda server: server.reply("x", times=0), "times: times must be a whole number from 1"),
        (lambda server: server.reply("x", match={"modle": "gpt-4o"}), "match.modle: unknown match key 'modle'"),
        (lambda server: server.tool_call("not a name"), "tool_call.name: name must be a function name"),
    ],
)
def test_mistakes_raise_at_once(mockserver: MockServer, call: object, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        call(mockserver)  # type: ignore[operator]
    assert mockserver.scripts == []


def test_mistakes_read_like_the_admin_api(mockserver: MockServer) -> None:
    behavior = {"fault": "rate_limit", "retry_afterr": 1}
    with pytest.raises(SpecError) as raised:
        mockserver.script(behavior)
    answer = httpx2.post(mockserver.origin + "/_mock/script", json={"behaviors": [behavior]}).json()["error"]
    assert answer["message"] == f"Invalid script: {raised.value}"


def test_add_fixture_from_files_and_data(mockserver: MockServer, openai_client: openai.OpenAI, tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text('rules:\n  - match: {message_contains: paris}\n    reply: "From the file."\n')
    mockserver.add_fixture(tmp_path / "rules.yaml")
    assert ask(openai_client) == "From the file."
    mockserver.add_fixture({"rules": [{"match": {"model": "gpt-4o"}, "reply": "From data."}]})
    assert ask(openai_client, model="gpt-4o") == "From the file."  # rules match in the order added
    answer = openai_client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    assert answer.choices[0].message.content == "From data."
    assert ask(openai_client) == "From the file."  # rules are not used up
    mockserver.reply("Scripts come first.")
    assert ask(openai_client) == "Scripts come first."
    assert mockserver.requests[0].decided_by == f"fixture {tmp_path / 'rules.yaml'}:2"
    mockserver.reset()
    assert ask(openai_client) not in ("From the file.", "Scripts come first.") and mockserver.scripts == []
    (tmp_path / "bad.yaml").write_text("rules:\n  - match: {model: gpt-4o}\n    repyl: x\n")
    with pytest.raises(FixtureError, match=r"bad.yaml:3: rules\[0\].repyl: unknown field"):
        mockserver.add_fixture(tmp_path / "bad.yaml")
    with pytest.raises(SpecError, match=r"rules\[1\].match.turn"):
        mockserver.add_fixture({"rules": [{"reply": "ok"}, {"match": {"turn": 0}, "reply": "no"}]})


def test_requests_leave_admin_calls_out_and_show_streams_in_flight(
    mockserver: MockServer, openai_client: openai.OpenAI
) -> None:
    httpx2.get(mockserver.origin + "/_mock/requests")
    with pytest.raises(AssertionError, match="no request has reached the mock in this test"):
        _ = mockserver.last_request
    mockserver.stall(after_chunks=2, seconds=5)
    stream = openai_client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True)
    next(iter(stream))
    in_flight = mockserver.last_request
    assert in_flight.status == 200 and in_flight.ended is None and "(in flight)" not in repr(in_flight)
    stream.close()


def test_assert_called_shows_near_misses(mockserver: MockServer, openai_client: openai.OpenAI) -> None:
    list(openai_client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))
    entry = mockserver.fail(404, code="model_not_found")
    with pytest.raises(openai.NotFoundError):
        ask(openai_client, model="gpt-4o")
    with pytest.raises(AssertionError) as raised:
        mockserver.assert_called(times=1, model="gpt-4o", status=200, stream=False, message_contains="paris")
    lines = str(raised.value).splitlines()
    assert lines[0] == (
        "expected 1 request with model='gpt-4o', status=200, stream=False, message_contains='paris' in this test, "
        "got 0."
    )
    assert lines[1] == "Near misses, closest first:"
    assert lines[2].endswith(f"-> 404 model_not_found [script #{entry.id}: http_error;status=404;code=model_not_found]")
    assert lines[3].strip() == "differs: status=404"
    assert lines[4].endswith("model='gpt-4o-mini' stream -> 200 [unscripted]")
    assert lines[5].strip() == "differs: model='gpt-4o-mini', stream=True"
    with pytest.raises(TypeError, match="no criterion 'modle'"):
        mockserver.assert_called(modle="gpt-4o")
    assert len(mockserver.assert_called(times=2, path="/chat/completions", message_contains="PARIS")) == 2


def test_exchange_repr_is_one_readable_line(mockserver: MockServer, openai_client: openai.OpenAI) -> None:
    mockserver.rate_limit()
    ask(openai_client)
    first, second = mockserver.requests
    assert repr(first) == (
        f"<Exchange #{first.id} POST /v1/chat/completions model='gpt-4o-mini' -> 429 rate_limit_exceeded "
        f"[{first.decided_by}: rate_limit;retry_after_ms=1]>"
    )
    assert repr(second) == f"<Exchange #{second.id} POST /v1/chat/completions model='gpt-4o-mini' attempt=1 -> 200 " \
        "[unscripted]>"

"""Tests of weather_assistant.py, written from the README's "Use in pytest": no conftest.py, only the plugin."""

import openai
import pytest
from weather_assistant import answer, answer_async, stream_answer


def test_plain_answer(mockserver, openai_client):
    mockserver.reply("Paris is the capital of France.")
    assert answer("What is the capital of France?", openai_client) == "Paris is the capital of France."
    mockserver.assert_called(times=1, model="gpt-4o-mini", message_contains="capital of France")


def test_tool_call_round_trip(mockserver, openai_client):
    mockserver.tool_call("get_weather", {"city": "Oslo"})
    mockserver.reply("It is 22 °C and sunny in Oslo.", match={"has_tool_result": True})
    assert answer("What's the weather in Oslo?", openai_client) == "It is 22 °C and sunny in Oslo."
    second = mockserver.requests[1]
    assistant, tool = second.body["messages"][-2:]  # what the app sent back: the call, then the tool's result
    call_id = assistant["tool_calls"][0]["id"]
    assert tool == {"role": "tool", "tool_call_id": call_id, "content": "22 °C and sunny in Oslo"}


def test_streaming(mockserver, openai_client):
    mockserver.reply("Sunny all day.")
    pieces = list(stream_answer("Weather?", openai_client))
    assert "".join(pieces) == "Sunny all day." and len(pieces) > 1


def test_retries_a_flaky_provider(mockserver, openai_client):
    mockserver.fail(503, times=2)  # the SDK retries twice (max_retries=2), at once: retry-after-ms is 1
    assert answer("Hello?", openai_client)
    mockserver.assert_called(times=2, status=503)
    mockserver.assert_called(times=1, status=200, attempt=2)


def test_gives_up_when_rate_limited(mockserver, openai_client):
    mockserver.rate_limit(times=3)
    with pytest.raises(openai.RateLimitError):
        answer("Hello?", openai_client)


def test_connection_cut_mid_stream(mockserver, openai_client):
    mockserver.disconnect(after_chunks=3)
    with pytest.raises(openai.APIConnectionError):
        list(stream_answer("Weather?", openai_client.with_options(max_retries=0)))


@pytest.mark.mockserver(export_env=True)
def test_code_that_builds_its_own_client(mockserver):
    mockserver.reply("Configured from the environment.")
    assert answer("Hello?") == "Configured from the environment."


@pytest.mark.mockserver(strict=True)
def test_every_request_is_scripted(mockserver, openai_client):
    mockserver.tool_call("get_weather", {"city": "Lima"}, match={"turn": 1, "has_tool_result": False})
    mockserver.reply("Mild in Lima.", match={"has_tool_result": True})
    assert answer("Weather in Lima?", openai_client) == "Mild in Lima."


@pytest.mark.mockserver(dialect="serika")
def test_another_provider(mockserver, openai_client):
    assert str(openai_client.base_url).startswith(mockserver.url_for("serika"))
    with pytest.raises(openai.NotFoundError):  # gpt-4o-mini is not in Serika's catalog
        answer("Hello?", openai_client)


@pytest.mark.asyncio
async def test_async(mockserver, async_openai_client):
    mockserver.reply("Async hello.")
    assert await answer_async("Hello?", async_openai_client) == "Async hello."

"""The anthropic SDK (Python): Anthropic's own client on the mock's Messages API, at the host root as the SDK
expects (``ANTHROPIC_BASE_URL``). Anthropic has no JSON mode: structured output is ``output_config``'s JSON
schema, which ``messages.parse`` sends."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

from mockserver import MockServer

from cells import (
    API_KEY,
    CUT,
    JOKE_PROMPT,
    QUESTION,
    WEATHER_PARAMETERS,
    WEATHER_QUESTION,
    Joke,
    control,
    limited_every_time,
    limited_once,
    weather,
)

PACKAGE = "anthropic"
MODEL = "claude-sonnet-4-6"
TOOLS = [{"name": "get_weather", "description": "The weather in a city", "input_schema": WEATHER_PARAMETERS}]
USER = [{"role": "user", "content": QUESTION}]


@pytest.fixture
def client(server: MockServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=server.origin, api_key=API_KEY, max_retries=2) as sdk:
        yield sdk


def test_plain(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model=MODEL, max_tokens=500, messages=USER)  # type: ignore[arg-type]
    assert message.content[0].type == "text" and message.content[0].text and message.stop_reason == "end_turn"


def test_stream(client: anthropic.Anthropic) -> None:
    whole = client.messages.create(model=MODEL, max_tokens=500, messages=USER)  # type: ignore[arg-type]
    with client.messages.stream(model=MODEL, max_tokens=500, messages=USER) as stream:  # type: ignore[arg-type]
        text = "".join(stream.text_stream)
    assert text == whole.content[0].text  # type: ignore[union-attr]


def test_tool_loop(client: anthropic.Anthropic) -> None:
    messages: list = [{"role": "user", "content": WEATHER_QUESTION}]
    for _ in range(4):
        message = client.messages.create(model=MODEL, max_tokens=500, messages=messages, tools=TOOLS)  # type: ignore[arg-type]
        calls = [block for block in message.content if block.type == "tool_use"]
        if not calls:
            assert message.content[-1].text and len(messages) == 3  # type: ignore[union-attr]
            return
        messages.append({"role": "assistant", "content": message.content})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call.id, "content": weather(**call.input)} for call in calls]})
    pytest.fail("the tool loop did not end")


def test_stream_tool(client: anthropic.Anthropic) -> None:
    with client.messages.stream(model=MODEL, max_tokens=500, messages=[{"role": "user", "content": WEATHER_QUESTION}],
                                tools=TOOLS, tool_choice={"type": "any"}) as stream:  # type: ignore[arg-type]
        final = stream.get_final_message()
    call = final.content[-1]
    assert call.type == "tool_use" and call.name == "get_weather" and call.input["city"]  # type: ignore[index]


def test_structured(client: anthropic.Anthropic) -> None:
    parsed = client.messages.parse(model=MODEL, max_tokens=500, messages=[{"role": "user", "content": JOKE_PROMPT}],
                                   output_format=Joke).parsed_output
    assert isinstance(parsed, Joke)


def test_rate_limit(server: MockServer, client: anthropic.Anthropic) -> None:
    limited_every_time(server, lambda headers: client.messages.create(  # type: ignore[call-overload]
        model=MODEL, max_tokens=500, messages=USER, extra_headers=headers), anthropic.RateLimitError)


def test_retry(server: MockServer, client: anthropic.Anthropic) -> None:
    assert limited_once(server, lambda headers: client.messages.create(  # type: ignore[call-overload]
        model=MODEL, max_tokens=500, messages=USER, extra_headers=headers)).content


def test_cut_stream(client: anthropic.Anthropic) -> None:
    _, headers = control(CUT)
    with pytest.raises(anthropic.APIConnectionError), client.messages.stream(
            model=MODEL, max_tokens=500, messages=USER, extra_headers=headers) as stream:  # type: ignore[arg-type]
        stream.get_final_message()

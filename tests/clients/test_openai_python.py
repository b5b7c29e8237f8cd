"""openai-python 3 (httpx2): the official SDK, the reference every other client is compared with."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest

from mockserver import MockServer

from cells import (
    API_KEY,
    CUT,
    JOKE_PROMPT,
    JSON_MODE_PROMPT,
    MODEL,
    QUESTION,
    WEATHER_PARAMETERS,
    WEATHER_QUESTION,
    Joke,
    control,
    limited_every_time,
    limited_once,
    weather,
)

PACKAGE = "openai"

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
                                            "parameters": WEATHER_PARAMETERS}}]
USER = [{"role": "user", "content": QUESTION}]


@pytest.fixture
def client(server: MockServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.url, api_key=API_KEY, max_retries=2) as sdk:
        yield sdk


def test_plain(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=USER)  # type: ignore[arg-type]
    assert completion.choices[0].message.content and completion.choices[0].finish_reason == "stop"


def test_stream(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model=MODEL, messages=USER)  # type: ignore[arg-type]
    chunks = client.chat.completions.create(model=MODEL, messages=USER, stream=True)  # type: ignore[arg-type]
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == (
        whole.choices[0].message.content)


def test_tool_loop(client: openai.OpenAI) -> None:
    messages: list = [{"role": "user", "content": WEATHER_QUESTION}]
    for _ in range(4):
        message = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS).choices[0].message  # type: ignore[arg-type]
        if not message.tool_calls:
            assert message.content
            assert len(messages) == 3  # one call, one result, then the answer
            return
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            messages.append({"role": "tool", "tool_call_id": call.id,
                             "content": weather(**json.loads(call.function.arguments))})  # type: ignore[union-attr]
    pytest.fail("the tool loop did not end")


def test_stream_tool(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(model=MODEL, messages=[{"role": "user", "content": WEATHER_QUESTION}],
                                        tools=TOOLS, tool_choice="required") as stream:  # type: ignore[arg-type]
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments)["city"]  # type: ignore[union-attr]


def test_structured(client: openai.OpenAI) -> None:
    parsed = client.chat.completions.parse(model=MODEL, messages=[{"role": "user", "content": JOKE_PROMPT}],
                                           response_format=Joke).choices[0].message.parsed
    assert isinstance(parsed, Joke)


def test_json_mode(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": JSON_MODE_PROMPT}],
                                                response_format={"type": "json_object"})
    Joke.model_validate_json(completion.choices[0].message.content or "")


def test_rate_limit(server: MockServer, client: openai.OpenAI) -> None:
    limited_every_time(server, lambda headers: client.chat.completions.create(  # type: ignore[call-overload]
        model=MODEL, messages=USER, extra_headers=headers), openai.RateLimitError)


def test_retry(server: MockServer, client: openai.OpenAI) -> None:
    answer = limited_once(server, lambda headers: client.chat.completions.create(  # type: ignore[call-overload]
        model=MODEL, messages=USER, extra_headers=headers))
    assert answer.choices[0].message.content  # type: ignore[attr-defined]


def test_cut_stream(client: openai.OpenAI) -> None:
    _, headers = control(CUT)
    with pytest.raises(openai.APIConnectionError):
        for _ in client.chat.completions.create(model=MODEL, messages=USER, stream=True, extra_headers=headers):  # type: ignore[arg-type]
            pass

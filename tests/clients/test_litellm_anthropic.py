"""litellm 1.110 on Anthropic: ``litellm.completion`` with an ``anthropic/`` model at the mock's host root (its own
Messages API client, not the SDK); OpenAI-shaped answers rebuilt from Anthropic's."""

from __future__ import annotations

import json

import litellm
import pytest

from mockserver import MockServer

from cells import (
    API_KEY,
    CUT,
    FIRST_ATTEMPT_LIMITED,
    JOKE_PROMPT,
    JSON_MODE_PROMPT,
    QUESTION,
    RATE_LIMIT,
    WEATHER_PARAMETERS,
    WEATHER_QUESTION,
    Joke,
    attempts,
    control,
    weather,
)

PACKAGE = "litellm"

MODEL = "anthropic/claude-sonnet-4-6"
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
                                            "parameters": WEATHER_PARAMETERS}}]
USER = [{"role": "user", "content": QUESTION}]


def complete(server: MockServer, messages: list, **options):  # type: ignore[no-untyped-def]
    return litellm.completion(model=MODEL, api_base=server.origin, api_key=API_KEY, messages=messages,
                              max_tokens=500, **options)


def test_plain(server: MockServer) -> None:
    assert complete(server, USER).choices[0].message.content


def test_stream(server: MockServer) -> None:
    chunks = complete(server, USER, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == complete(server, USER).choices[0].message.content


def test_tool_loop(server: MockServer) -> None:
    messages: list = [{"role": "user", "content": WEATHER_QUESTION}]
    for _ in range(4):
        message = complete(server, messages, tools=TOOLS).choices[0].message
        if not message.tool_calls:
            assert message.content and len(messages) == 3
            return
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            messages.append({"role": "tool", "tool_call_id": call.id,
                             "content": weather(**json.loads(call.function.arguments))})
    pytest.fail("the tool loop did not end")


def test_stream_tool(server: MockServer) -> None:
    chunks = list(complete(server, [{"role": "user", "content": WEATHER_QUESTION}], tools=TOOLS,
                           tool_choice="required", stream=True))
    rebuilt = litellm.stream_chunk_builder(chunks)
    call = rebuilt.choices[0].message.tool_calls[0]  # type: ignore[union-attr]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments)["city"]


def test_structured(server: MockServer) -> None:
    content = complete(server, [{"role": "user", "content": JOKE_PROMPT}], response_format=Joke)
    Joke.model_validate_json(content.choices[0].message.content)


def test_json_mode(server: MockServer) -> None:
    content = complete(server, [{"role": "user", "content": JSON_MODE_PROMPT}], response_format={"type": "json_object"})
    Joke.model_validate_json(content.choices[0].message.content)


def test_rate_limit(server: MockServer) -> None:
    test_id, headers = control(RATE_LIMIT)
    with pytest.raises(litellm.RateLimitError):
        complete(server, USER, extra_headers=headers, num_retries=2)
    assert attempts(server, test_id) == 3


def test_retry(server: MockServer) -> None:
    test_id, headers = control(FIRST_ATTEMPT_LIMITED)
    assert complete(server, USER, extra_headers=headers, num_retries=2).choices[0].message.content
    assert attempts(server, test_id) == 2


def test_cut_stream(server: MockServer) -> None:
    _, headers = control(CUT)
    with pytest.raises(litellm.exceptions.MidStreamFallbackError, match="incomplete chunked read"):
        for _ in complete(server, USER, stream=True, extra_headers=headers):
            pass

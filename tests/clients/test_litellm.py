"""litellm 1.110: ``litellm.completion`` with an ``openai/`` model at the mock (it drives openai-python 2), with an
``anthropic/`` model at the mock's host root (its own Messages API client, answers made OpenAI-shaped), with a
``gemini/`` model at the mock's ``/v1beta`` (its Gemini client; ``api_base`` is the API version's root) and with an
``ollama_chat/`` model at the host root (its client of Ollama's ``/api/chat``): each cell runs for all four, as the
matrix's ``litellm``, ``litellm-anthropic``, ``litellm-gemini`` and ``litellm-ollama`` rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import litellm
import pytest

from mockserver import MockServer

from cells import (
    API_KEY,
    CUT,
    JOKE_PROMPT,
    JSON_MODE_PROMPT,
    QUESTION,
    WEATHER_PARAMETERS,
    WEATHER_QUESTION,
    Joke,
    control,
    limited_every_time,
    limited_once,
    weather,
)

PACKAGE = "litellm"

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
                                            "parameters": WEATHER_PARAMETERS}}]
USER = [{"role": "user", "content": QUESTION}]
FLAVOURS = {"openai": "litellm", "anthropic": "litellm-anthropic", "gemini": "litellm-gemini",
            "ollama": "litellm-ollama"}
"""The provider a model names, and the matrix row it is."""
Complete = Callable[..., Any]
"""``litellm.completion`` for the cell's flavour, given the messages and options."""


@pytest.fixture(params=list(FLAVOURS))
def flavour(request: pytest.FixtureRequest, record_property) -> str:  # type: ignore[no-untyped-def]
    record_property("client", FLAVOURS[request.param])
    return str(request.param)


@pytest.fixture
def complete(server: MockServer, flavour: str) -> Complete:
    def call(messages: list, **options: Any) -> Any:
        if flavour == "anthropic":  # the Messages API at the host root; max_tokens is required there
            return litellm.completion(model="anthropic/claude-sonnet-4-6", api_base=server.origin, api_key=API_KEY,
                                      messages=messages, max_tokens=500, **options)
        if flavour == "gemini":
            return litellm.completion(model="gemini/gemini-2.5-flash", api_base=server.origin + "/v1beta",
                                      api_key=API_KEY, messages=messages, **options)
        if flavour == "ollama":
            return litellm.completion(model="ollama_chat/llama3.2", api_base=server.origin, messages=messages,
                                      **options)
        return litellm.completion(model="openai/gpt-4o-mini", api_base=server.url, api_key=API_KEY,
                                  messages=messages, **options)

    return call


def test_plain(complete: Complete) -> None:
    assert complete(USER).choices[0].message.content


def test_stream(complete: Complete) -> None:
    chunks = complete(USER, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == complete(USER).choices[0].message.content


def test_tool_loop(complete: Complete) -> None:
    messages: list = [{"role": "user", "content": WEATHER_QUESTION}]
    for _ in range(4):
        message = complete(messages, tools=TOOLS).choices[0].message
        if not message.tool_calls:
            assert message.content and len(messages) == 3
            return
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            messages.append({"role": "tool", "tool_call_id": call.id,
                             "content": weather(**json.loads(call.function.arguments))})
    pytest.fail("the tool loop did not end")


def test_stream_tool(complete: Complete) -> None:
    chunks = list(complete([{"role": "user", "content": WEATHER_QUESTION}], tools=TOOLS,
                           tool_choice="required", stream=True))
    rebuilt = litellm.stream_chunk_builder(chunks)
    call = rebuilt.choices[0].message.tool_calls[0]  # type: ignore[union-attr]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments)["city"]


def test_structured(complete: Complete) -> None:
    content = complete([{"role": "user", "content": JOKE_PROMPT}], response_format=Joke)
    Joke.model_validate_json(content.choices[0].message.content)


def test_json_mode(complete: Complete) -> None:
    content = complete([{"role": "user", "content": JSON_MODE_PROMPT}], response_format={"type": "json_object"})
    Joke.model_validate_json(content.choices[0].message.content)


def test_rate_limit(server: MockServer, flavour: str, complete: Complete) -> None:
    # openai/: the openai client's two retries under litellm; the others: litellm's own (num_retries)
    retries = {} if flavour == "openai" else {"num_retries": 2}
    limited_every_time(server, lambda headers: complete(USER, extra_headers=headers, **retries), litellm.RateLimitError)


def test_retry(server: MockServer, complete: Complete) -> None:
    answer = limited_once(server, lambda headers: complete(USER, extra_headers=headers, num_retries=2))
    assert answer.choices[0].message.content  # type: ignore[attr-defined]


def test_cut_stream(complete: Complete) -> None:
    _, headers = control(CUT)
    with pytest.raises(litellm.exceptions.MidStreamFallbackError, match="incomplete chunked read"):
        for _ in complete(USER, stream=True, extra_headers=headers):
            pass

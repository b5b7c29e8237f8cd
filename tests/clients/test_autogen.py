"""AutoGen 0.7 (autogen-agentchat on autogen-ext's ``OpenAIChatCompletionClient``): the client's ``create`` and
``create_stream``, and ``AssistantAgent`` with a tool (reflecting on its result), streaming, and structured
output (``output_content_type``)."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import openai
import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import StructuredMessage, TextMessage, ToolCallExecutionEvent
from autogen_core.models import CreateResult, UserMessage
from autogen_ext.models.openai import OpenAIChatCompletionClient

from mockserver import MockServer

from cells import (
    API_KEY,
    CUT,
    JOKE_PROMPT,
    JSON_MODE_PROMPT,
    MODEL,
    QUESTION,
    WEATHER_QUESTION,
    Joke,
    attempts,
    control,
    limited_every_time,
    limited_once,
    weather,
)

PACKAGE = "autogen-agentchat"


async def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return weather(city)


def client(server: MockServer, headers: dict[str, str] | None = None) -> OpenAIChatCompletionClient:
    return OpenAIChatCompletionClient(model=MODEL, base_url=server.url, api_key=API_KEY, max_retries=2,
                                      default_headers=headers or {})


def create(server: MockServer, headers: dict[str, str] | None = None, **options: Any) -> CreateResult:
    return asyncio.run(client(server, headers).create([UserMessage(content=QUESTION, source="user")], **options))


async def streamed(server: MockServer, headers: dict[str, str] | None = None) -> CreateResult:
    final = None
    async for item in client(server, headers).create_stream([UserMessage(content=QUESTION, source="user")]):
        final = item
    assert isinstance(final, CreateResult)
    return final


def test_plain(server: MockServer) -> None:
    test_id, headers = control()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the model answered is the dated snapshot: no "model mismatch" warning
        result = create(server, headers)
    assert isinstance(result.content, str) and result.content and result.finish_reason == "stop"
    assert attempts(server, test_id) == 1


def test_stream(server: MockServer) -> None:
    assert asyncio.run(streamed(server)).content == create(server).content


def test_tool_loop(server: MockServer) -> None:
    agent = AssistantAgent("assistant", model_client=client(server), tools=[get_weather], reflect_on_tool_use=True)
    messages = asyncio.run(agent.run(task=WEATHER_QUESTION)).messages
    executed = [message for message in messages if isinstance(message, ToolCallExecutionEvent)]
    assert len(executed) == 1 and executed[0].content[0].content == weather("Paris")
    assert isinstance(messages[-1], TextMessage) and messages[-1].content


def test_stream_tool(server: MockServer) -> None:
    agent = AssistantAgent("assistant", model_client=client(server), tools=[get_weather], model_client_stream=True)

    async def run() -> list[Any]:
        return [event async for event in agent.run_stream(task=WEATHER_QUESTION)]

    events = asyncio.run(run())
    executed = [event for event in events if isinstance(event, ToolCallExecutionEvent)]
    assert len(executed) == 1 and executed[0].content[0].content == weather("Paris")


def test_structured(server: MockServer) -> None:
    agent = AssistantAgent("assistant", model_client=client(server), output_content_type=Joke)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # autogen serialises the SDK's parsed model into a field typed None
        final = asyncio.run(agent.run(task=JOKE_PROMPT)).messages[-1]
    assert isinstance(final, StructuredMessage) and isinstance(final.content, Joke)


def test_json_mode(server: MockServer) -> None:
    result = asyncio.run(client(server).create([UserMessage(content=JSON_MODE_PROMPT, source="user")],
                                               json_output=True))
    assert isinstance(result.content, str)
    Joke.model_validate_json(result.content)


def test_rate_limit(server: MockServer) -> None:
    limited_every_time(server, lambda headers: create(server, headers), openai.RateLimitError)


def test_retry(server: MockServer) -> None:
    assert limited_once(server, lambda headers: create(server, headers)).content


def test_cut_stream(server: MockServer) -> None:
    _, headers = control(CUT)
    with pytest.raises(openai.APIError):
        asyncio.run(streamed(server, headers))

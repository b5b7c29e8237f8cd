"""pydantic-ai 2.68: an ``Agent`` on ``OpenAIChatModel``; tool output is its default structured mode."""

from __future__ import annotations

import asyncio

import openai
import pytest
from pydantic_ai import Agent, PromptedOutput
from pydantic_ai.exceptions import ModelConnectionError, ModelHTTPError
from pydantic_ai.messages import ModelResponse, ToolCallPart
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from mockserver import MockServer

from cells import (
    API_KEY,
    CUT,
    FIRST_ATTEMPT_LIMITED,
    JOKE_PROMPT,
    MODEL,
    QUESTION,
    RATE_LIMIT,
    WEATHER_QUESTION,
    Joke,
    attempts,
    control,
    weather,
)

PACKAGE = "pydantic-ai-slim"


def model(server: MockServer, headers: dict[str, str] | None = None) -> OpenAIChatModel:
    client = openai.AsyncOpenAI(base_url=server.url, api_key=API_KEY, max_retries=2, default_headers=headers)
    return OpenAIChatModel(MODEL, provider=OpenAIProvider(openai_client=client))


def requests_made(result) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for message in result.all_messages() if isinstance(message, ModelResponse))


def test_plain(server: MockServer) -> None:
    assert Agent(model(server)).run_sync(QUESTION).output


def test_stream(server: MockServer) -> None:
    agent = Agent(model(server))

    async def streamed() -> str:
        async with agent.run_stream(QUESTION) as run:
            return "".join([piece async for piece in run.stream_text(delta=True)])

    assert asyncio.run(streamed()) == Agent(model(server)).run_sync(QUESTION).output


def test_tool_loop(server: MockServer) -> None:
    agent = Agent(model(server), tools=[weather])
    result = agent.run_sync(WEATHER_QUESTION)
    assert result.output and requests_made(result) == 2


def test_stream_tool(server: MockServer) -> None:
    agent = Agent(model(server), output_type=Joke)  # the output is a tool call, streamed

    async def streamed() -> Joke:
        async with agent.run_stream(JOKE_PROMPT) as run:
            return await run.get_output()

    assert isinstance(asyncio.run(streamed()), Joke)


def test_structured(server: MockServer) -> None:
    agent = Agent(model(server), output_type=Joke, tools=[weather])
    result = agent.run_sync(WEATHER_QUESTION)
    assert isinstance(result.output, Joke) and requests_made(result) == 2  # the tool, then final_result
    calls = [part.tool_name for message in result.all_messages() if isinstance(message, ModelResponse)
             for part in message.parts if isinstance(part, ToolCallPart)]
    assert calls == ["weather", "final_result"]


def test_json_mode(server: MockServer) -> None:
    assert isinstance(Agent(model(server), output_type=PromptedOutput(Joke)).run_sync(JOKE_PROMPT).output, Joke)


def test_rate_limit(server: MockServer) -> None:
    test_id, headers = control(RATE_LIMIT)
    with pytest.raises(ModelHTTPError) as raised:
        Agent(model(server, headers)).run_sync(QUESTION)
    assert raised.value.status_code == 429 and attempts(server, test_id) == 3


def test_retry(server: MockServer) -> None:
    test_id, headers = control(FIRST_ATTEMPT_LIMITED)
    assert Agent(model(server, headers)).run_sync(QUESTION).output
    assert attempts(server, test_id) == 2


def test_cut_stream(server: MockServer) -> None:
    _, headers = control(CUT)
    agent = Agent(model(server, headers))

    async def streamed() -> str:
        async with agent.run_stream(QUESTION) as run:
            return "".join([piece async for piece in run.stream_text(delta=True)])

    with pytest.raises(ModelConnectionError):
        asyncio.run(streamed())

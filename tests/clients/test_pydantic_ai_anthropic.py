"""pydantic-ai 2.68 on Anthropic: an ``Agent`` on ``AnthropicModel`` (the Messages API at the host root); tool
output is its default structured mode, ``PromptedOutput`` its JSON mode."""

from __future__ import annotations

import asyncio

import anthropic
import pytest
from pydantic_ai import Agent, PromptedOutput
from pydantic_ai.exceptions import ModelConnectionError, ModelHTTPError
from pydantic_ai.messages import ModelResponse, ToolCallPart
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.providers.anthropic import AnthropicProvider

from mockserver import MockServer

from cells import (
    API_KEY,
    CUT,
    FIRST_ATTEMPT_LIMITED,
    JOKE_PROMPT,
    QUESTION,
    RATE_LIMIT,
    WEATHER_QUESTION,
    Joke,
    attempts,
    control,
    weather,
)

PACKAGE = "pydantic-ai-slim"
MODEL = "claude-sonnet-4-6"


def model(server: MockServer, headers: dict[str, str] | None = None) -> AnthropicModel:
    client = anthropic.AsyncAnthropic(base_url=server.origin, api_key=API_KEY, max_retries=2, default_headers=headers)
    return AnthropicModel(MODEL, provider=AnthropicProvider(anthropic_client=client))


def requests_made(result) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for message in result.all_messages() if isinstance(message, ModelResponse))


async def streamed_text(agent: Agent) -> str:  # type: ignore[type-arg]
    async with agent.run_stream(QUESTION) as run:
        return "".join([piece async for piece in run.stream_text(delta=True)])


def test_plain(server: MockServer) -> None:
    assert Agent(model(server)).run_sync(QUESTION).output


def test_stream(server: MockServer) -> None:
    assert asyncio.run(streamed_text(Agent(model(server)))) == Agent(model(server)).run_sync(QUESTION).output


def test_tool_loop(server: MockServer) -> None:
    result = Agent(model(server), tools=[weather]).run_sync(WEATHER_QUESTION)
    assert result.output and requests_made(result) == 2


def test_stream_tool(server: MockServer) -> None:
    agent = Agent(model(server), output_type=Joke)  # the output is a tool call, streamed

    async def streamed() -> Joke:
        async with agent.run_stream(JOKE_PROMPT) as run:
            return await run.get_output()

    assert isinstance(asyncio.run(streamed()), Joke)


def test_structured(server: MockServer) -> None:
    result = Agent(model(server), output_type=Joke, tools=[weather]).run_sync(WEATHER_QUESTION)
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
    with pytest.raises(ModelConnectionError):
        asyncio.run(streamed_text(Agent(model(server, headers))))

"""pydantic-ai 2.68: an ``Agent`` on ``OpenAIChatModel``, and on ``AnthropicModel`` (the Messages API at the host
root) as the matrix's ``pydantic-ai-anthropic`` row; tool output is its default structured mode, ``PromptedOutput``
its JSON mode."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import anthropic
import openai
import pytest
from pydantic_ai import Agent, PromptedOutput
from pydantic_ai.exceptions import ModelConnectionError, ModelHTTPError
from pydantic_ai.messages import ModelResponse, ToolCallPart
from pydantic_ai.models import Model
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.anthropic import AnthropicProvider
from pydantic_ai.providers.openai import OpenAIProvider

from mockserver import MockServer

from cells import (
    API_KEY,
    CUT,
    JOKE_PROMPT,
    MODEL,
    QUESTION,
    WEATHER_QUESTION,
    Joke,
    control,
    limited_every_time,
    limited_once,
    weather,
)

PACKAGE = "pydantic-ai-slim"
FLAVOURS = {"openai": "pydantic-ai", "anthropic": "pydantic-ai-anthropic"}
"""The model class an agent runs on, and the matrix row it is."""
Models = Callable[..., Model]
"""The flavour's model, given the headers a cell sends."""


@pytest.fixture(params=list(FLAVOURS))
def model(server: MockServer, request: pytest.FixtureRequest, record_property) -> Models:  # type: ignore[no-untyped-def]
    record_property("client", FLAVOURS[request.param])

    def made(headers: dict[str, str] | None = None) -> Model:
        if request.param == "anthropic":
            claude = anthropic.AsyncAnthropic(base_url=server.origin, api_key=API_KEY, max_retries=2,
                                              default_headers=headers)
            return AnthropicModel("claude-sonnet-4-6", provider=AnthropicProvider(anthropic_client=claude))
        client = openai.AsyncOpenAI(base_url=server.url, api_key=API_KEY, max_retries=2, default_headers=headers)
        return OpenAIChatModel(MODEL, provider=OpenAIProvider(openai_client=client))

    return made


def requests_made(result) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for message in result.all_messages() if isinstance(message, ModelResponse))


def test_plain(model: Models) -> None:
    assert Agent(model()).run_sync(QUESTION).output


def test_stream(model: Models) -> None:
    agent = Agent(model())

    async def streamed() -> str:
        async with agent.run_stream(QUESTION) as run:
            return "".join([piece async for piece in run.stream_text(delta=True)])

    assert asyncio.run(streamed()) == Agent(model()).run_sync(QUESTION).output


def test_tool_loop(model: Models) -> None:
    agent = Agent(model(), tools=[weather])
    result = agent.run_sync(WEATHER_QUESTION)
    assert result.output and requests_made(result) == 2


def test_stream_tool(model: Models) -> None:
    agent = Agent(model(), output_type=Joke)  # the output is a tool call, streamed

    async def streamed() -> Joke:
        async with agent.run_stream(JOKE_PROMPT) as run:
            return await run.get_output()

    assert isinstance(asyncio.run(streamed()), Joke)


def test_structured(model: Models) -> None:
    agent = Agent(model(), output_type=Joke, tools=[weather])
    result = agent.run_sync(WEATHER_QUESTION)
    assert isinstance(result.output, Joke) and requests_made(result) == 2  # the tool, then final_result
    calls = [part.tool_name for message in result.all_messages() if isinstance(message, ModelResponse)
             for part in message.parts if isinstance(part, ToolCallPart)]
    assert calls == ["weather", "final_result"]


def test_json_mode(model: Models) -> None:
    assert isinstance(Agent(model(), output_type=PromptedOutput(Joke)).run_sync(JOKE_PROMPT).output, Joke)


def test_rate_limit(server: MockServer, model: Models) -> None:
    raised = limited_every_time(server, lambda headers: Agent(model(headers)).run_sync(QUESTION), ModelHTTPError)
    assert raised.value.status_code == 429  # type: ignore[attr-defined]


def test_retry(server: MockServer, model: Models) -> None:
    assert limited_once(server, lambda headers: Agent(model(headers)).run_sync(QUESTION)).output


def test_cut_stream(model: Models) -> None:
    _, headers = control(CUT)
    agent = Agent(model(headers))

    async def streamed() -> str:
        async with agent.run_stream(QUESTION) as run:
            return "".join([piece async for piece in run.stream_text(delta=True)])

    with pytest.raises(ModelConnectionError):
        asyncio.run(streamed())

"""pydantic-ai 2.68 on the Gemini API: an ``Agent`` on ``GoogleModel`` with a google-genai client at the mock's host
root, as the matrix's ``pydantic-ai-google`` row (it runs in build/clients/venv: pydantic-ai's ``google`` extra pins a
google-genai 2.x, older than the suite's). Tool output is its default structured mode, ``PromptedOutput`` its JSON
mode; google-genai retries nothing unless told, so the client gets ``retry_options`` (3 attempts)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from google import genai
from google.genai import types
from pydantic_ai import Agent, PromptedOutput
from pydantic_ai.exceptions import ModelHTTPError
from pydantic_ai.messages import ModelResponse, ToolCallPart
from pydantic_ai.models.google import GoogleModel
from pydantic_ai.providers.google import GoogleProvider

from mockserver import MockServer

from cells import (
    API_KEY,
    CUT,
    JOKE_PROMPT,
    QUESTION,
    WEATHER_QUESTION,
    Joke,
    control,
    limited_every_time,
    limited_once,
    weather,
)

PACKAGE = "pydantic-ai-slim"
RETRIES = types.HttpRetryOptions(attempts=3, initial_delay=0.01, max_delay=0.05)
Models = Callable[..., GoogleModel]


@pytest.fixture
def model(server: MockServer, record_property) -> Models:  # type: ignore[no-untyped-def]
    record_property("client", "pydantic-ai-google")

    def made(headers: dict[str, str] | None = None) -> GoogleModel:
        client = genai.Client(api_key=API_KEY, http_options=types.HttpOptions(
            base_url=server.origin, headers=headers or {}, retry_options=RETRIES))
        return GoogleModel("gemini-2.5-flash", provider=GoogleProvider(client=client))

    return made


def requests_made(result) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for message in result.all_messages() if isinstance(message, ModelResponse))


def _streamed_text(agent: Agent) -> str:
    async def streamed() -> str:
        async with agent.run_stream(QUESTION) as run:
            return "".join([piece async for piece in run.stream_text(delta=True)])

    return asyncio.run(streamed())


def test_plain(model: Models) -> None:
    assert Agent(model()).run_sync(QUESTION).output


def test_stream(model: Models) -> None:
    assert _streamed_text(Agent(model())) == Agent(model()).run_sync(QUESTION).output


def test_tool_loop(model: Models) -> None:
    result = Agent(model(), tools=[weather]).run_sync(WEATHER_QUESTION)
    assert result.output and requests_made(result) == 2


def test_stream_tool(model: Models) -> None:
    agent = Agent(model(), output_type=Joke)  # the output is a tool call, streamed

    async def streamed() -> Joke:
        async with agent.run_stream(JOKE_PROMPT) as run:
            return await run.get_output()

    assert isinstance(asyncio.run(streamed()), Joke)


def test_structured(model: Models) -> None:
    result = Agent(model(), output_type=Joke, tools=[weather]).run_sync(WEATHER_QUESTION)
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
    with pytest.raises(Exception, match="Response payload is not completed"):  # aiohttp's, under google-genai
        _streamed_text(Agent(model(headers)))

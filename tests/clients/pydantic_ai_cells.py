"""The cells of pydantic-ai's rows (``test_pydantic_ai.py`` in the suite's environment, on OpenAI and Anthropic;
``test_pydantic_ai_google.py`` in build/clients/venv, on Gemini): one ``Agent`` path per cell, given a function that
makes the row's model with the cell's headers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from pydantic_ai import Agent, PromptedOutput
from pydantic_ai.exceptions import ModelHTTPError
from pydantic_ai.messages import ModelResponse, ToolCallPart
from pydantic_ai.models import Model

from mockserver import MockServer

from cells import CUT, JOKE_PROMPT, QUESTION, WEATHER_QUESTION, Joke, control, limited_every_time, limited_once, weather

Models = Callable[..., Model]
"""The row's model, given the headers a cell sends."""


def requests_made(result: Any) -> int:
    return sum(1 for message in result.all_messages() if isinstance(message, ModelResponse))


def streamed_text(agent: Agent) -> str:
    async def streamed() -> str:
        async with agent.run_stream(QUESTION) as run:
            return "".join([piece async for piece in run.stream_text(delta=True)])

    return asyncio.run(streamed())


def plain(model: Models) -> None:
    assert Agent(model()).run_sync(QUESTION).output


def stream(model: Models) -> None:
    assert streamed_text(Agent(model())) == Agent(model()).run_sync(QUESTION).output


def tool_loop(model: Models) -> None:
    result = Agent(model(), tools=[weather]).run_sync(WEATHER_QUESTION)
    assert result.output and requests_made(result) == 2


def stream_tool(model: Models) -> None:
    agent = Agent(model(), output_type=Joke)  # the output is a tool call, streamed

    async def streamed() -> Joke:
        async with agent.run_stream(JOKE_PROMPT) as run:
            return await run.get_output()

    assert isinstance(asyncio.run(streamed()), Joke)


def structured(model: Models) -> None:
    result = Agent(model(), output_type=Joke, tools=[weather]).run_sync(WEATHER_QUESTION)
    assert isinstance(result.output, Joke) and requests_made(result) == 2  # the tool, then final_result
    calls = [part.tool_name for message in result.all_messages() if isinstance(message, ModelResponse)
             for part in message.parts if isinstance(part, ToolCallPart)]
    assert calls == ["weather", "final_result"]


def json_mode(model: Models) -> None:
    assert isinstance(Agent(model(), output_type=PromptedOutput(Joke)).run_sync(JOKE_PROMPT).output, Joke)


def rate_limit(server: MockServer, model: Models) -> None:
    raised = limited_every_time(server, lambda headers: Agent(model(headers)).run_sync(QUESTION), ModelHTTPError)
    assert raised.value.status_code == 429  # type: ignore[attr-defined]


def retry(server: MockServer, model: Models) -> None:
    assert limited_once(server, lambda headers: Agent(model(headers)).run_sync(QUESTION)).output  # type: ignore[attr-defined]


def cut_stream(model: Models, error: type[BaseException], match: str | None = None) -> None:
    _, headers = control(CUT)
    with pytest.raises(error, match=match):
        streamed_text(Agent(model(headers)))

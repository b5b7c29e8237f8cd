"""openai-agents 0.24: ``Agent`` and ``Runner`` on their default model, the Responses API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import openai
import pytest
from agents import (
    Agent,
    ModelSettings,
    RunConfig,
    Runner,
    function_tool,
    set_default_openai_client,
    set_tracing_disabled,
)
from agents.items import ToolCallItem

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

PACKAGE = "openai-agents"

get_weather = function_tool(weather)


def use_mock(server: MockServer) -> None:
    """A new default client: each ``asyncio.run`` (and ``run_sync``) has an event loop of its own."""
    set_default_openai_client(openai.AsyncOpenAI(base_url=server.url, api_key=API_KEY, max_retries=2),
                              use_for_tracing=False)


@pytest.fixture(autouse=True)
def default_client(server: MockServer) -> Iterator[None]:
    set_tracing_disabled(True)
    use_mock(server)
    yield


def run(agent: Agent, prompt: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    config = RunConfig(model_settings=ModelSettings(extra_headers=headers)) if headers else None
    return Runner.run_sync(agent, prompt, run_config=config)


async def streamed(agent: Agent, prompt: str, headers: dict[str, str] | None = None) -> tuple[str, object]:
    config = RunConfig(model_settings=ModelSettings(extra_headers=headers)) if headers else None
    result = Runner.run_streamed(agent, prompt, run_config=config)
    text = []
    async for event in result.stream_events():
        if event.type == "raw_response_event" and event.data.type == "response.output_text.delta":
            text.append(event.data.delta)
    return "".join(text), result


def test_plain() -> None:
    assert run(Agent(name="a"), QUESTION).final_output


def test_stream(server: MockServer) -> None:
    text, result = asyncio.run(streamed(Agent(name="a"), QUESTION))
    use_mock(server)
    assert text and text == result.final_output == run(Agent(name="a"), QUESTION).final_output  # type: ignore[attr-defined]


def test_tool_loop() -> None:
    result = run(Agent(name="a", tools=[get_weather]), WEATHER_QUESTION)
    assert result.final_output and len(result.raw_responses) == 2
    assert [item.raw_item.name for item in result.new_items if isinstance(item, ToolCallItem)] == ["weather"]


def test_stream_tool() -> None:
    agent = Agent(name="a", tools=[get_weather], model_settings=ModelSettings(tool_choice="required"),
                  tool_use_behavior="stop_on_first_tool")
    _, result = asyncio.run(streamed(agent, WEATHER_QUESTION))
    output = str(result.final_output)  # type: ignore[attr-defined]
    assert output.startswith(weather("")) and len(output) > len(weather(""))  # the tool ran on the rebuilt arguments


def test_structured() -> None:
    assert isinstance(run(Agent(name="a", output_type=Joke), JOKE_PROMPT).final_output, Joke)


def test_rate_limit(server: MockServer) -> None:
    limited_every_time(server, lambda headers: run(Agent(name="a"), QUESTION, headers), openai.RateLimitError)


def test_retry(server: MockServer) -> None:
    assert limited_once(server, lambda headers: run(Agent(name="a"), QUESTION, headers)).final_output


def test_cut_stream() -> None:
    _, headers = control(CUT)
    with pytest.raises(openai.APIConnectionError):
        asyncio.run(streamed(Agent(name="a"), QUESTION, headers))

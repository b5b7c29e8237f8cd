"""smolagents 1.26: ``CodeAgent`` (its default, the tool calls written as Python in ``<code>`` tags, which the mock
answers in: ``mockserver/generation/protocols/code_agent.py``) and ``ToolCallingAgent`` (the API's tool calls),
both on ``OpenAIServerModel``. smolagents' own retry waits 60 s on a 429 and reads no ``Retry-After``: the retry
cells turn it off (``retry=False``) and leave retries to the OpenAI client it wraps, as a test suite would."""

from __future__ import annotations

import openai
import pytest
from smolagents import CodeAgent, OpenAIServerModel, ToolCallingAgent, tool
from smolagents.models import ChatMessage, MessageRole

from mockserver import MockServer

from cells import (
    API_KEY,
    CUT,
    MODEL,
    QUESTION,
    WEATHER_QUESTION,
    attempts,
    control,
    limited_every_time,
    limited_once,
    weather,
)

PACKAGE = "smolagents"
CALLED: list[str] = []


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city.

    Args:
        city: The city to get the weather for.
    """
    CALLED.append(city)
    return weather(city)


def model(server: MockServer, headers: dict[str, str] | None = None) -> OpenAIServerModel:
    return OpenAIServerModel(model_id=MODEL, api_base=server.url, api_key=API_KEY, retry=False,
                             client_kwargs={"max_retries": 2, "default_headers": headers or {}})


def ask(server: MockServer, headers: dict[str, str] | None = None) -> ChatMessage:
    question = ChatMessage(role=MessageRole.USER, content=[{"type": "text", "text": QUESTION}])
    return model(server, headers).generate([question])


@pytest.fixture(autouse=True)
def fresh_calls() -> None:
    CALLED.clear()


def test_plain(server: MockServer) -> None:
    test_id, headers = control()
    assert ask(server, headers).content
    assert attempts(server, test_id) == 1


def test_stream(server: MockServer) -> None:
    agent = CodeAgent(tools=[], model=model(server), stream_outputs=True, max_steps=3, verbosity_level=0)
    assert agent.run(QUESTION)
    assert len(agent.memory.steps) == 2  # the task and one step: final_answer at once, no tool to call


@pytest.mark.parametrize("markdown", [False, True], ids=["code-tags", "markdown-tags"])
def test_tool_loop(server: MockServer, markdown: bool) -> None:
    tags = {"code_block_tags": "markdown"} if markdown else {}
    agent = CodeAgent(tools=[get_weather], model=model(server), max_steps=4, verbosity_level=0, **tags)
    answer = agent.run(WEATHER_QUESTION)
    assert CALLED == ["Paris"] and isinstance(answer, str) and answer
    assert len(agent.memory.steps) == 3  # the task, the tool's step, final_answer's step


def test_stream_tool(server: MockServer) -> None:
    agent = ToolCallingAgent(tools=[get_weather], model=model(server), stream_outputs=True, max_steps=4,
                             verbosity_level=0)
    assert agent.run(WEATHER_QUESTION)
    assert CALLED == ["Paris"] and len(agent.memory.steps) == 3


def test_structured(server: MockServer) -> None:
    """``use_structured_outputs_internally``: each step is a JSON schema'd {thought, code}."""
    agent = CodeAgent(tools=[get_weather], model=model(server), use_structured_outputs_internally=True,
                      max_steps=4, verbosity_level=0)
    agent.run(WEATHER_QUESTION)
    steps = [step for step in agent.memory.steps if getattr(step, "model_output", None)]
    assert steps and all(step.error is None for step in steps)


def test_rate_limit(server: MockServer) -> None:
    limited_every_time(server, lambda headers: ask(server, headers), openai.RateLimitError)


def test_retry(server: MockServer) -> None:
    assert limited_once(server, lambda headers: ask(server, headers)).content


def test_cut_stream(server: MockServer) -> None:
    _, headers = control(CUT)
    question = ChatMessage(role=MessageRole.USER, content=[{"type": "text", "text": QUESTION}])
    with pytest.raises(openai.APIError):
        list(model(server, headers).generate_stream([question]))

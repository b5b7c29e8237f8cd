"""langchain-anthropic 1.7: ``ChatAnthropic`` on the mock's Messages API at the host root, tools bound and run,
structured output in its default method. Anthropic's API has no JSON mode."""

from __future__ import annotations

import anthropic
import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool

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

PACKAGE = "langchain-anthropic"
MODEL = "claude-sonnet-4-6"


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return weather(city)


def chat(server: MockServer, headers: dict[str, str] | None = None) -> ChatAnthropic:
    return ChatAnthropic(model=MODEL, base_url=server.origin, api_key=API_KEY, max_retries=2,  # type: ignore[call-arg, arg-type]
                         max_tokens=500, default_headers=headers)


def test_plain(server: MockServer) -> None:
    assert chat(server).invoke(QUESTION).text


def test_stream(server: MockServer) -> None:
    model = chat(server)
    assert "".join(chunk.text for chunk in model.stream(QUESTION)) == model.invoke(QUESTION).text


def test_tool_loop(server: MockServer) -> None:
    model = chat(server).bind_tools([get_weather])
    messages: list = [HumanMessage(WEATHER_QUESTION)]
    for _ in range(4):
        answer = model.invoke(messages)
        messages.append(answer)
        if not answer.tool_calls:  # type: ignore[attr-defined]
            assert answer.text and len(messages) == 4
            return
        for call in answer.tool_calls:  # type: ignore[attr-defined]
            messages.append(ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"]))
    pytest.fail("the tool loop did not end")


def test_stream_tool(server: MockServer) -> None:
    model = chat(server).bind_tools([get_weather], tool_choice="any")
    gathered = None
    for chunk in model.stream(WEATHER_QUESTION):
        gathered = chunk if gathered is None else gathered + chunk
    assert gathered is not None
    call = gathered.tool_calls[0]  # type: ignore[attr-defined]
    assert call["name"] == "get_weather" and call["args"]["city"]


def test_structured(server: MockServer) -> None:
    assert isinstance(chat(server).with_structured_output(Joke).invoke(JOKE_PROMPT), Joke)


def test_rate_limit(server: MockServer) -> None:
    test_id, headers = control(RATE_LIMIT)
    with pytest.raises(anthropic.RateLimitError):
        chat(server, headers).invoke(QUESTION)
    assert attempts(server, test_id) == 3


def test_retry(server: MockServer) -> None:
    test_id, headers = control(FIRST_ATTEMPT_LIMITED)
    assert chat(server, headers).invoke(QUESTION).text
    assert attempts(server, test_id) == 2


def test_cut_stream(server: MockServer) -> None:
    _, headers = control(CUT)
    with pytest.raises(anthropic.APIConnectionError):
        for _ in chat(server, headers).stream(QUESTION):
            pass

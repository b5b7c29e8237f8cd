"""LangChain's chat models: langchain-openai 1.7's ``ChatOpenAI`` on chat completions (its default), and
langchain-anthropic 1.7's ``ChatAnthropic`` on the Messages API at the host root as the matrix's
``langchain-anthropic`` row; tools bound and run, structured output in each one's default method, JSON mode where
it has one (Anthropic's API has none)."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import version

import anthropic
import openai
import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

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
    control,
    limited_every_time,
    limited_once,
    weather,
)

PACKAGE = "langchain-openai"
FLAVOURS = {"openai": ("langchain", "langchain-openai"), "anthropic": ("langchain-anthropic", "langchain-anthropic")}
"""The chat model class, its matrix row and its package."""
ERRORS = {"openai": (openai.RateLimitError, openai.APIConnectionError),
          "anthropic": (anthropic.RateLimitError, anthropic.APIConnectionError)}
"""The SDK errors each chat model lets through: a 429 after retries, a cut stream."""
Chats = Callable[..., BaseChatModel]
"""The flavour's chat model, given the headers a cell sends."""


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return weather(city)


@pytest.fixture(params=list(FLAVOURS))
def flavour(request: pytest.FixtureRequest, record_property) -> str:  # type: ignore[no-untyped-def]
    row, package = FLAVOURS[request.param]
    record_property("client", row)
    record_property("version", version(package))
    return str(request.param)


@pytest.fixture
def chat(server: MockServer, flavour: str) -> Chats:
    def made(headers: dict[str, str] | None = None) -> BaseChatModel:
        if flavour == "anthropic":
            return ChatAnthropic(model="claude-sonnet-4-6", base_url=server.origin, api_key=API_KEY,  # type: ignore[call-arg, arg-type]
                                 max_retries=2, max_tokens=500, default_headers=headers)
        return ChatOpenAI(model=MODEL, base_url=server.url, api_key=API_KEY, max_retries=2,  # type: ignore[arg-type]
                          default_headers=headers)

    return made


def test_plain(chat: Chats) -> None:
    assert chat().invoke(QUESTION).text


def test_stream(chat: Chats) -> None:
    model = chat()
    assert "".join(str(chunk.content) for chunk in model.stream(QUESTION)) == model.invoke(QUESTION).text


def test_tool_loop(chat: Chats) -> None:
    model = chat().bind_tools([get_weather])
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


def test_stream_tool(chat: Chats, flavour: str) -> None:
    model = chat().bind_tools([get_weather], tool_choice="any" if flavour == "anthropic" else "required")
    gathered = None
    for chunk in model.stream(WEATHER_QUESTION):
        gathered = chunk if gathered is None else gathered + chunk
    assert gathered is not None
    call = gathered.tool_calls[0]  # type: ignore[attr-defined]
    assert call["name"] == "get_weather" and call["args"]["city"]


def test_structured(chat: Chats) -> None:
    assert isinstance(chat().with_structured_output(Joke).invoke(JOKE_PROMPT), Joke)


def test_json_mode(chat: Chats, flavour: str) -> None:
    if flavour == "anthropic":
        pytest.skip("Anthropic's API has no JSON mode: its structured output is a tool or a JSON schema")
    assert isinstance(chat().with_structured_output(Joke, method="json_mode").invoke(JSON_MODE_PROMPT), Joke)


def test_rate_limit(server: MockServer, chat: Chats, flavour: str) -> None:
    limited_every_time(server, lambda headers: chat(headers).invoke(QUESTION), ERRORS[flavour][0])


def test_retry(server: MockServer, chat: Chats) -> None:
    assert limited_once(server, lambda headers: chat(headers).invoke(QUESTION)).text


def test_cut_stream(chat: Chats, flavour: str) -> None:
    _, headers = control(CUT)
    with pytest.raises(ERRORS[flavour][1]):
        for _ in chat(headers).stream(QUESTION):
            pass

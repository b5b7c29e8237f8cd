"""The cells of LangChain's rows (``test_langchain.py`` in the suite's environment, on OpenAI and Anthropic;
``test_langchain_providers.py`` in build/clients/venv, on Gemini and Ollama), given a function that makes the row's
chat model with the cell's headers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool

from cells import CUT, JOKE_PROMPT, JSON_MODE_PROMPT, QUESTION, WEATHER_QUESTION, Joke, control, weather

Chats = Callable[..., BaseChatModel]
"""The row's chat model, given the headers a cell sends."""


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return weather(city)


def plain(chat: Chats) -> None:
    assert chat().invoke(QUESTION).text


def stream(chat: Chats) -> None:
    model = chat()
    assert "".join(chunk.text for chunk in model.stream(QUESTION)) == model.invoke(QUESTION).text


def tool_loop(chat: Chats) -> None:
    model = chat().bind_tools([get_weather])
    messages: list[Any] = [HumanMessage(WEATHER_QUESTION)]
    for _ in range(4):
        answer = model.invoke(messages)
        messages.append(answer)
        if not answer.tool_calls:  # type: ignore[attr-defined]
            assert answer.text and len(messages) == 4
            return
        for call in answer.tool_calls:  # type: ignore[attr-defined]
            messages.append(ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"],
                                        name=call["name"]))
    pytest.fail("the tool loop did not end")


def stream_tool(chat: Chats, tool_choice: str | None) -> None:
    """A forced call (``tool_choice`` as the provider's integration spells it) streamed and gathered."""
    gathered = None
    for chunk in chat().bind_tools([get_weather], tool_choice=tool_choice).stream(WEATHER_QUESTION):
        gathered = chunk if gathered is None else gathered + chunk
    assert gathered is not None
    call = gathered.tool_calls[0]  # type: ignore[attr-defined]
    assert call["name"] == "get_weather" and call["args"]["city"]


def structured(chat: Chats) -> None:
    assert isinstance(chat().with_structured_output(Joke).invoke(JOKE_PROMPT), Joke)


def json_mode(chat: Chats) -> None:
    assert isinstance(chat().with_structured_output(Joke, method="json_mode").invoke(JSON_MODE_PROMPT), Joke)


def cut_stream(chat: Chats, error: type[BaseException], match: str | None = None) -> None:
    _, headers = control(CUT)
    with pytest.raises(error, match=match):
        for _ in chat(headers).stream(QUESTION):
            pass

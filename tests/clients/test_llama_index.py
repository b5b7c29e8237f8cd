"""llama-index 0.14: ``llama_index.llms.openai.OpenAI``, a ``FunctionAgent``, and its structured programs."""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest
from llama_index.core import PromptTemplate
from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.llms import ChatMessage
from llama_index.core.program import LLMTextCompletionProgram
from llama_index.core.tools import FunctionTool
from llama_index.llms.openai import OpenAI

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

PACKAGE = "llama-index-core"

USER = [ChatMessage(role="user", content=QUESTION)]
WEATHER = FunctionTool.from_defaults(fn=weather)


def llm(server: MockServer, headers: dict[str, str] | None = None) -> OpenAI:
    return OpenAI(model=MODEL, api_base=server.url, api_key=API_KEY, max_retries=2, default_headers=headers)


def test_plain(server: MockServer) -> None:
    assert llm(server).chat(USER).message.content


def test_stream(server: MockServer) -> None:
    model = llm(server)
    assert "".join(part.delta or "" for part in model.stream_chat(USER)) == model.chat(USER).message.content


def test_tool_loop(server: MockServer) -> None:
    agent = FunctionAgent(tools=[WEATHER], llm=llm(server))

    async def run() -> tuple[str, list[str]]:
        handler = agent.run(WEATHER_QUESTION)
        tools = [event.tool_name async for event in handler.stream_events() if isinstance(event, ToolCallResult)]
        return str(await handler), tools

    answer, tools = asyncio.run(run())
    assert answer and tools == ["weather"]


def test_stream_tool(server: MockServer) -> None:
    model = llm(server)
    *_, last = model.stream_chat_with_tools([WEATHER], user_msg=WEATHER_QUESTION, tool_required=True)
    [selection] = model.get_tool_calls_from_response(last)
    assert selection.tool_name == "weather" and selection.tool_kwargs["city"]


def test_structured(server: MockServer) -> None:
    assert isinstance(llm(server).structured_predict(Joke, PromptTemplate(JOKE_PROMPT)), Joke)


def test_json_mode(server: MockServer) -> None:
    program = LLMTextCompletionProgram.from_defaults(output_cls=Joke, prompt_template_str=JOKE_PROMPT, llm=llm(server))
    assert isinstance(program(), Joke)  # the schema goes in the prompt, the answer is parsed from the text


def test_rate_limit(server: MockServer) -> None:
    # six requests: llama-index's own retries, around the openai client's
    limited_every_time(server, lambda headers: llm(server, headers).chat(USER), openai.RateLimitError, made=6)


def test_retry(server: MockServer) -> None:
    assert limited_once(server, lambda headers: llm(server, headers).chat(USER)).message.content


def test_cut_stream(server: MockServer) -> None:
    _, headers = control(CUT)
    with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):  # openai 2's stream lets it through
        "".join(part.delta or "" for part in llm(server, headers).stream_chat(USER))

"""LangChain's chat models: langchain-openai 1.7's ``ChatOpenAI`` on chat completions (its default), and
langchain-anthropic 1.7's ``ChatAnthropic`` on the Messages API at the host root as the matrix's
``langchain-anthropic`` row; tools bound and run, structured output in each one's default method, JSON mode where
it has one (Anthropic's API has none)."""

from __future__ import annotations

from importlib.metadata import version

import anthropic
import langchain_cells as cells
import openai
import pytest
from langchain_anthropic import ChatAnthropic
from langchain_cells import Chats
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from mockserver import MockServer

from cells import (
    API_KEY,
    MODEL,
    QUESTION,
    limited_every_time,
    limited_once,
)

PACKAGE = "langchain-openai"
FLAVOURS = {"openai": ("langchain", "langchain-openai"), "anthropic": ("langchain-anthropic", "langchain-anthropic")}
"""The chat model class, its matrix row and its package."""
ERRORS = {"openai": (openai.RateLimitError, openai.APIConnectionError),
          "anthropic": (anthropic.RateLimitError, anthropic.APIConnectionError)}
"""The SDK errors each chat model lets through: a 429 after retries, a cut stream."""


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
    cells.plain(chat)


def test_stream(chat: Chats) -> None:
    cells.stream(chat)


def test_tool_loop(chat: Chats) -> None:
    cells.tool_loop(chat)


def test_stream_tool(chat: Chats, flavour: str) -> None:
    cells.stream_tool(chat, "any" if flavour == "anthropic" else "required")


def test_structured(chat: Chats) -> None:
    cells.structured(chat)


def test_json_mode(chat: Chats, flavour: str) -> None:
    if flavour == "anthropic":
        pytest.skip("Anthropic's API has no JSON mode: its structured output is a tool or a JSON schema")
    cells.json_mode(chat)


def test_rate_limit(server: MockServer, chat: Chats, flavour: str) -> None:
    limited_every_time(server, lambda headers: chat(headers).invoke(QUESTION), ERRORS[flavour][0])


def test_retry(server: MockServer, chat: Chats) -> None:
    assert limited_once(server, lambda headers: chat(headers).invoke(QUESTION)).text


def test_cut_stream(chat: Chats, flavour: str) -> None:
    cells.cut_stream(chat, ERRORS[flavour][1])

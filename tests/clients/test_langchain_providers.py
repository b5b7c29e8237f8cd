"""LangChain's chat models of the other native APIs: langchain-google-genai's ``ChatGoogleGenerativeAI`` on the
Gemini API (google-genai underneath, at the host root) and langchain-ollama's ``ChatOllama`` on Ollama's
``/api/chat`` (the ollama client underneath, at the host root), as the matrix's ``langchain-google-genai`` and
``langchain-ollama`` rows; tools bound and run, structured output in each one's default method, JSON mode."""

from __future__ import annotations

from importlib.metadata import version

import langchain_cells as cells
import ollama
import pytest
from langchain_cells import Chats
from langchain_core.language_models import BaseChatModel
from langchain_google_genai import ChatGoogleGenerativeAI
from langchain_google_genai.chat_models import GoogleRateLimitError
from langchain_ollama import ChatOllama

from mockserver import MockServer

from cells import (
    API_KEY,
    QUESTION,
    limited_every_time,
    limited_once,
)

FLAVOURS = {"gemini": ("langchain-google-genai", "langchain-google-genai"),
            "ollama": ("langchain-ollama", "langchain-ollama")}
"""The chat model's matrix row and its package."""
RATE_LIMITED = {"gemini": GoogleRateLimitError, "ollama": ollama.ResponseError}
"""What each chat model lets through on a 429 after its retries."""
ATTEMPTS = {"gemini": 2, "ollama": 1}
"""Requests a 429 gets: ChatGoogleGenerativeAI hands ``max_retries=2`` to google-genai as two attempts in all;
ChatOllama has no retries of its own."""


@pytest.fixture(params=list(FLAVOURS))
def flavour(request: pytest.FixtureRequest, record_property) -> str:  # type: ignore[no-untyped-def]
    row, package = FLAVOURS[request.param]
    record_property("client", row)
    record_property("version", version(package))
    return str(request.param)


@pytest.fixture
def chat(server: MockServer, flavour: str) -> Chats:
    def made(headers: dict[str, str] | None = None) -> BaseChatModel:
        if flavour == "gemini":
            return ChatGoogleGenerativeAI(model="gemini-2.5-flash", google_api_key=API_KEY, base_url=server.origin,
                                          max_retries=2, additional_headers=headers or {})
        return ChatOllama(model="llama3.2", base_url=server.origin, client_kwargs={"headers": headers or {}})

    return made


def test_plain(chat: Chats) -> None:
    cells.plain(chat)


def test_stream(chat: Chats) -> None:
    cells.stream(chat)


def test_tool_loop(chat: Chats) -> None:
    cells.tool_loop(chat)


def test_stream_tool(chat: Chats, flavour: str) -> None:
    cells.stream_tool(chat, "any" if flavour == "gemini" else None)


def test_structured(chat: Chats) -> None:
    cells.structured(chat)


def test_json_mode(chat: Chats) -> None:
    cells.json_mode(chat)


def test_rate_limit(server: MockServer, chat: Chats, flavour: str) -> None:
    limited_every_time(server, lambda headers: chat(headers).invoke(QUESTION), RATE_LIMITED[flavour],
                       made=ATTEMPTS[flavour])


def test_retry(server: MockServer, chat: Chats, flavour: str) -> None:
    def send(headers: dict[str, str]) -> object:
        if flavour == "gemini":
            return chat(headers).invoke(QUESTION)
        try:  # ChatOllama retries nothing: the caller's one retry
            return chat(headers).invoke(QUESTION)
        except ollama.ResponseError:
            return chat(headers).invoke(QUESTION)

    assert limited_once(server, send).text  # type: ignore[attr-defined]


def test_cut_stream(chat: Chats) -> None:
    cells.cut_stream(chat, Exception, r"peer closed connection|incomplete chunked read")

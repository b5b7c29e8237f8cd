"""pydantic-ai 2.68: an ``Agent`` on ``OpenAIChatModel``, and on ``AnthropicModel`` (the Messages API at the host
root) as the matrix's ``pydantic-ai-anthropic`` row; tool output is its default structured mode, ``PromptedOutput``
its JSON mode. The cells are ``pydantic_ai_cells.py``'s."""

from __future__ import annotations

import anthropic
import openai
import pydantic_ai_cells as cells
import pytest
from pydantic_ai.exceptions import ModelConnectionError
from pydantic_ai.models import Model
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.anthropic import AnthropicProvider
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai_cells import Models

from mockserver import MockServer

from cells import API_KEY, MODEL

PACKAGE = "pydantic-ai-slim"
FLAVOURS = {"openai": "pydantic-ai", "anthropic": "pydantic-ai-anthropic"}
"""The model class an agent runs on, and the matrix row it is."""


@pytest.fixture(params=list(FLAVOURS))
def model(server: MockServer, request: pytest.FixtureRequest, record_property) -> Models:  # type: ignore[no-untyped-def]
    record_property("client", FLAVOURS[request.param])

    def made(headers: dict[str, str] | None = None) -> Model:
        if request.param == "anthropic":
            claude = anthropic.AsyncAnthropic(base_url=server.origin, api_key=API_KEY, max_retries=2,
                                              default_headers=headers)
            return AnthropicModel("claude-sonnet-4-6", provider=AnthropicProvider(anthropic_client=claude))
        client = openai.AsyncOpenAI(base_url=server.url, api_key=API_KEY, max_retries=2, default_headers=headers)
        return OpenAIChatModel(MODEL, provider=OpenAIProvider(openai_client=client))

    return made


def test_plain(model: Models) -> None:
    cells.plain(model)


def test_stream(model: Models) -> None:
    cells.stream(model)


def test_tool_loop(model: Models) -> None:
    cells.tool_loop(model)


def test_stream_tool(model: Models) -> None:
    cells.stream_tool(model)


def test_structured(model: Models) -> None:
    cells.structured(model)


def test_json_mode(model: Models) -> None:
    cells.json_mode(model)


def test_rate_limit(server: MockServer, model: Models) -> None:
    cells.rate_limit(server, model)


def test_retry(server: MockServer, model: Models) -> None:
    cells.retry(server, model)


def test_cut_stream(model: Models) -> None:
    cells.cut_stream(model, ModelConnectionError)

"""pydantic-ai 2.68 on the Gemini API: an ``Agent`` on ``GoogleModel`` with a google-genai client at the mock's host
root, as the matrix's ``pydantic-ai-google`` row (it runs in build/clients/venv: pydantic-ai's ``google`` extra pins a
google-genai 2.x, older than the suite's). Tool output is its default structured mode, ``PromptedOutput`` its JSON
mode; google-genai retries nothing unless told, so the client gets ``retry_options`` (3 attempts). The cells are
``pydantic_ai_cells.py``'s."""

from __future__ import annotations

import pydantic_ai_cells as cells
import pytest
from google import genai
from google.genai import types
from pydantic_ai.models.google import GoogleModel
from pydantic_ai.providers.google import GoogleProvider
from pydantic_ai_cells import Models

from mockserver import MockServer

from cells import API_KEY

PACKAGE = "pydantic-ai-slim"
RETRIES = types.HttpRetryOptions(attempts=3, initial_delay=0.01, max_delay=0.05)


@pytest.fixture
def model(server: MockServer, record_property) -> Models:  # type: ignore[no-untyped-def]
    record_property("client", "pydantic-ai-google")

    def made(headers: dict[str, str] | None = None) -> GoogleModel:
        client = genai.Client(api_key=API_KEY, http_options=types.HttpOptions(
            base_url=server.origin, headers=headers or {}, retry_options=RETRIES))
        return GoogleModel("gemini-2.5-flash", provider=GoogleProvider(client=client))

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
    cells.cut_stream(model, Exception, "Response payload is not completed")  # aiohttp's, under google-genai

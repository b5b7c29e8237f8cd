"""Agent loops end: with ``tool_choice: "required"`` and tool results in, the mock calls what a real model would.

An output tool (``final_result``…) once the others have results; else a tool not yet answered; with
``auto``, text. pydantic-ai's default output mode (a tool plus ``final_result``) ends in two requests.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx2
import openai
import pytest
from pydantic import BaseModel

from mockserver import MockServer

from helpers import API_KEY, module_client, module_server

server = module_server(seed=21)
client = module_client


def tool(name: str, description: str = "") -> dict[str, object]:
    return {"type": "function", "function": {"name": name, "description": description, "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


WEATHER, TIME, FINAL = tool("get_weather", "weather in a city"), tool("get_time", "time in a city"), tool("final_result")


def after_results(*answered: str) -> list[dict[str, object]]:
    """A conversation where each named tool was called once and answered."""
    messages: list[dict[str, object]] = [{"role": "user", "content": "Weather and time in Paris?"}]
    for index, name in enumerate(answered):
        call_id = f"call_{index}"
        messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": '{"city": "Paris"}'}}]})
        messages.append({"role": "tool", "tool_call_id": call_id, "content": "done"})
    return messages


def called(client: openai.OpenAI, messages: list[dict[str, object]], tools: list[dict[str, object]],
           choice: str = "required") -> list[str]:
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools,  # type: ignore[arg-type]
                                            tool_choice=choice)  # type: ignore[arg-type]
    return [call.function.name for call in answer.choices[0].message.tool_calls or []]  # type: ignore[union-attr]


def test_the_first_call_is_a_working_tool_not_the_output_tool(client: openai.OpenAI) -> None:
    assert called(client, after_results(), [FINAL, WEATHER]) == ["get_weather"]


def test_results_in_call_the_output_tool(client: openai.OpenAI) -> None:
    assert called(client, after_results("get_weather"), [WEATHER, FINAL]) == ["final_result"]


def test_without_an_output_tool_an_unanswered_tool_is_called(client: openai.OpenAI) -> None:
    assert called(client, after_results("get_weather"), [WEATHER, TIME]) == ["get_time"]
    assert called(client, after_results("get_weather", "get_time"), [WEATHER, TIME])  # required: still a call


def test_auto_answers_in_text_once_results_are_in(client: openai.OpenAI) -> None:
    assert called(client, after_results("get_weather"), [WEATHER, FINAL], choice="auto") == []


def test_pydantic_ai_with_a_tool_and_structured_output_ends_in_two_requests(server: MockServer) -> None:
    pytest.importorskip("pydantic_ai")
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel
    from pydantic_ai.providers.openai import OpenAIProvider

    class Forecast(BaseModel):
        city: str
        summary: str

    for model_class in (OpenAIChatModel, OpenAIResponsesModel):
        server.reset()
        agent = Agent(model_class("gpt-4o-mini", provider=OpenAIProvider(base_url=server.url, api_key=API_KEY)),
                      output_type=Forecast)

        @agent.tool_plain
        def get_weather(city: str) -> str:
            """Get the weather for a city."""
            return "sunny"

        result = agent.run_sync("What is the weather in Paris?")
        assert isinstance(result.output, Forecast) and len(server.requests) == 2, model_class.__name__


def test_a_reply_header_carries_any_text_percent_encoded(client: openai.OpenAI) -> None:
    text = "Grüße aus Köln 👋 — 東京"
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                            extra_headers={"X-Mock-Reply": quote(text)})
    assert answer.choices[0].message.content == text
    arguments = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], tools=[WEATHER],  # type: ignore[list-item]
        extra_headers={"X-Mock-Tool-Call": "get_weather", "X-Mock-Tool-Args": quote('{"city": "Zürich"}')})
    call = arguments.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert json.loads(call.function.arguments) == {"city": "Zürich"}  # type: ignore[union-attr]


def test_a_latin_1_reply_header_is_read_as_latin_1(server: MockServer) -> None:
    answer = httpx2.post(f"{server.url}/chat/completions", json={"model": "gpt-4o-mini", "messages": [
        {"role": "user", "content": "hi"}]}, headers={"Authorization": f"Bearer {API_KEY}", "X-Mock-Reply": b"caf\xe9"})
    assert answer.json()["choices"][0]["message"]["content"] == "café"

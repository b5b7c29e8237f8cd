"""The frameworks whose default path is the Responses API, offline against the mock over a socket.

openai-agents with its default model (``OpenAIResponsesModel``), LangChain's ``ChatOpenAI(use_responses_api=True)``
and pydantic-ai's ``OpenAIResponsesModel``, each with a function tool: the mock calls it until its output
arrives, then answers, so every agent loop ends.
"""

from __future__ import annotations

import pytest

from mockserver import MockServer

from helpers import API_KEY, module_server

server = module_server(seed=13)


def weather(city: str) -> str:
    """Get the weather for a city."""
    return f"It is sunny in {city}."


@pytest.mark.asyncio
async def test_openai_agents_runs_an_agent_with_a_tool_on_its_default_model(server: MockServer,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    agents = pytest.importorskip("agents")
    server.reset()
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    agents.set_tracing_disabled(True)
    agents.set_default_openai_client(agents.AsyncOpenAI(base_url=server.url, api_key=API_KEY, max_retries=0))
    agent = agents.Agent(name="forecaster", instructions="Answer with the tool.",
                         tools=[agents.function_tool(weather)])
    assert isinstance(agent.model, str | None)  # no model given: the SDK's default, on the Responses API
    result = await agents.Runner.run(agent, "What is the weather in Paris?", max_turns=4)
    kinds = [type(item).__name__ for item in result.new_items]
    assert kinds == ["ToolCallItem", "ToolCallOutputItem", "MessageOutputItem"] and result.final_output
    assert "It is sunny in" in str(result.new_items[1].output)
    streamed = agents.Runner.run_streamed(agent, "And in Rome?", max_turns=4)
    events = [event.type async for event in streamed.stream_events()]
    assert "raw_response_event" in events and "run_item_stream_event" in events and streamed.final_output
    paths = [entry.path for entry in server.requests]
    assert paths and all(path == "/v1/responses" for path in paths)


def test_langchain_chat_openai_on_the_responses_api_calls_a_tool(server: MockServer) -> None:
    langchain_openai = pytest.importorskip("langchain_openai")
    from langchain_core.tools import tool

    model = langchain_openai.ChatOpenAI(model="gpt-4o-mini", base_url=server.url, api_key=API_KEY,
                                        use_responses_api=True, max_retries=0)
    message = model.bind_tools([tool(weather)]).invoke("What is the weather in Paris?")
    (call,) = message.tool_calls
    assert call["name"] == "weather" and isinstance(call["args"]["city"], str)
    assert model.invoke("Hello").text


def test_pydantic_ai_on_the_responses_api_runs_a_tool_to_an_answer(server: MockServer) -> None:
    pytest.importorskip("pydantic_ai")
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIResponsesModel
    from pydantic_ai.providers.openai import OpenAIProvider

    model = OpenAIResponsesModel("gpt-4o-mini", provider=OpenAIProvider(base_url=server.url, api_key=API_KEY))
    agent = Agent(model, tools=[weather])
    result = agent.run_sync("What is the weather in Paris?")
    kinds = [part.part_kind for message in result.all_messages() for part in message.parts]
    assert kinds == ["user-prompt", "tool-call", "tool-return", "text"] and result.output

"""The Responses API through openai-python over a socket: text, structured output, tools, state and streams.

Every response and every stream event is checked against the official schemas.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx2
import openai
import pytest
from pydantic import BaseModel

from mockserver import MockServer
from mockserver.conformance import validate_official

from helpers import API_KEY, module_client, module_server, sdk_client

WEATHER = {"type": "function", "name": "get_weather", "description": "The weather in a city", "strict": True,
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                          "additionalProperties": False}}


server = module_server(seed=9)
client = module_client


def created(client: openai.OpenAI, **body: Any) -> dict[str, Any]:
    raw = client.responses.with_raw_response.create(**body)
    answer: dict[str, Any] = raw.http_response.json()
    validate_official("Response", answer)
    return answer


def events_of(server: MockServer, **body: Any) -> list[dict[str, Any]]:
    raw = httpx2.post(f"{server.url}/responses", json={**body, "stream": True}, timeout=10,
                      headers={"Authorization": f"Bearer {API_KEY}"})
    frames = [frame for frame in raw.text.split("\n\n") if frame]
    events = []
    for frame in frames:
        name, data = frame.split("\n")
        event = json.loads(data.removeprefix("data: "))
        assert name == f"event: {event['type']}"
        validate_official("ResponseStreamEvent", event)
        events.append(event)
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    return events


def test_a_text_response(client: openai.OpenAI) -> None:
    answer = created(client, model="gpt-4o-mini", input="Tell me about the sea", instructions="Be brief.")
    assert answer["object"] == "response" and answer["id"].startswith("resp_") and answer["status"] == "completed"
    (message,) = answer["output"]
    assert message["type"] == "message" and message["role"] == "assistant" and message["id"].startswith("msg_")
    assert answer["output_text"] == message["content"][0]["text"] != ""
    assert answer["instructions"] == "Be brief." and answer["usage"]["output_tokens"] > 0
    reply = client.responses.create(model="gpt-4o-mini", input="Anything", extra_headers={"X-Mock-Reply": "Scripted."})
    assert reply.output_text == "Scripted."


def test_the_same_request_and_seed_give_the_same_text(client: openai.OpenAI) -> None:
    first, second = (client.responses.create(model="gpt-4o-mini", input="Seeded words") for _ in range(2))
    assert first.output_text == second.output_text and first.id != second.id


def test_images_in_the_input_are_accepted(client: openai.OpenAI) -> None:
    answer = created(client, model="gpt-4o-mini", input=[{"role": "user", "content": [
        {"type": "input_text", "text": "What is in this picture?"},
        {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "auto"}]}])
    assert answer["usage"]["input_tokens"] > 700  # the picture's tiles are counted


def test_parse_with_a_pydantic_model(client: openai.OpenAI) -> None:
    class Forecast(BaseModel):
        city: str
        celsius: float

    parsed = client.responses.parse(model="gpt-4o-mini", input="The forecast for Oslo", text_format=Forecast)
    assert isinstance(parsed.output_parsed, Forecast)


def test_a_function_tool_round_trip_through_previous_response_id(client: openai.OpenAI) -> None:
    first = created(client, model="gpt-4o-mini", input="What is the weather in Paris?", tools=[WEATHER])
    (call,) = first["output"]
    assert call["type"] == "function_call" and call["name"] == "get_weather" and call["call_id"].startswith("call_")
    assert isinstance(json.loads(call["arguments"])["city"], str)
    second = created(client, model="gpt-4o-mini", previous_response_id=first["id"], tools=[WEATHER],
                     input=[{"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"}])
    assert [item["type"] for item in second["output"]] == ["message"] and second["output_text"]
    assert second["previous_response_id"] == first["id"]
    assert second["usage"]["input_tokens"] > first["usage"]["input_tokens"]  # the earlier turns count
    items = client.responses.input_items.list(second["id"], order="asc").data
    assert [item.type for item in items] == ["message", "function_call", "function_call_output"]
    with pytest.raises(openai.NotFoundError) as missing:
        client.responses.create(model="gpt-4o-mini", previous_response_id="resp_never", input="hi")
    assert missing.value.body["param"] == "previous_response_id"  # type: ignore[index]


def test_a_stored_response_is_retrieved_and_deleted(client: openai.OpenAI) -> None:
    answer = client.responses.create(model="gpt-4o-mini", input="Keep me")
    assert client.responses.retrieve(answer.id).output_text == answer.output_text
    client.responses.delete(answer.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(answer.id)
    unstored = client.responses.create(model="gpt-4o-mini", input="Forget me", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(unstored.id)


def test_max_output_tokens_makes_it_incomplete(client: openai.OpenAI) -> None:
    answer = created(client, model="gpt-4o-mini", input="Talk for a while", max_output_tokens=16)
    assert answer["status"] == "incomplete" and answer["incomplete_details"] == {"reason": "max_output_tokens"}
    assert answer["usage"]["output_tokens"] == 16


def test_the_stream_is_the_typed_events_in_order(server: MockServer, client: openai.OpenAI) -> None:
    events = events_of(server, model="gpt-4o-mini", input="Stream a reply")
    kinds = [event["type"] for event in events]
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed"]
    deltas = [event for event in events if event["type"] == "response.output_text.delta"]
    final = events[-1]["response"]
    assert "".join(event["delta"] for event in deltas) == final["output_text"] and len(deltas) > 5
    assert {event["item_id"] for event in deltas} == {final["output"][0]["id"]}
    whole = client.responses.create(model="gpt-4o-mini", input="Stream a reply")
    assert whole.output_text == final["output_text"]
    with client.responses.stream(model="gpt-4o-mini", input="Stream a reply") as stream:
        text = "".join(event.delta for event in stream if event.type == "response.output_text.delta")
        assert stream.get_final_response().output_text == text == whole.output_text


def test_a_streamed_function_call_and_reasoning_summary(server: MockServer) -> None:
    events = events_of(server, model="o3-mini", input="Weather in Rome?", tools=[WEATHER],
                       reasoning={"effort": "low", "summary": "auto"})
    kinds = [event["type"] for event in events]
    assert "response.reasoning_summary_text.delta" in kinds and "response.function_call_arguments.delta" in kinds
    done = next(event for event in events if event["type"] == "response.function_call_arguments.done")
    arguments = "".join(event["delta"] for event in events if event["type"] == "response.function_call_arguments.delta")
    assert done["arguments"] == arguments and json.loads(arguments)["city"]
    final = events[-1]["response"]
    assert [item["type"] for item in final["output"]] == ["reasoning", "function_call"]
    assert final["usage"]["output_tokens_details"]["reasoning_tokens"] > 0


def test_an_error_event_fault_is_the_error_and_response_failed_events(server: MockServer) -> None:
    raw = httpx2.post(f"{server.url}/responses", json={"model": "gpt-4o-mini", "input": "hi", "stream": True},
                      headers={"Authorization": f"Bearer {API_KEY}", "X-Mock-Fault": "error_event"}, timeout=10)
    events = [json.loads(frame.split("\n")[1].removeprefix("data: ")) for frame in raw.text.split("\n\n") if frame]
    for event in events:
        validate_official("ResponseStreamEvent", event)
    assert [event["type"] for event in events] == ["response.created", "error", "response.failed"]
    assert [event["sequence_number"] for event in events] == [0, 1, 2]
    failed = events[-1]["response"]
    assert failed["status"] == "failed" and failed["error"]["code"] == "server_error"


@pytest.mark.parametrize(("fault", "raised"), [
    ("error_event", RuntimeError),  # the helper: "Didn't receive a `response.completed` event"
    ("truncate", RuntimeError),
    ("disconnect", openai.APIConnectionError),
    ("malformed", json.JSONDecodeError),
    ("rate_limit", openai.RateLimitError),
    ("http_error", openai.InternalServerError),
])
def test_faults_fail_the_stream_helper_as_production_does(client: openai.OpenAI, fault: str,
                                                          raised: type[Exception]) -> None:
    with pytest.raises(raised), client.responses.stream(model="gpt-4o-mini", input="hello",
                                                         extra_headers={"X-Mock-Fault": fault}) as stream:
        for _ in stream:
            pass
        stream.get_final_response()


def test_a_background_response_is_polled_to_completion_or_cancelled() -> None:
    with MockServer(seed=9, job_schedule="0.2,0.4") as running:
        client = sdk_client(running.url)
        started = created(client, model="gpt-4o-mini", input="Work on this", background=True)
        assert started["status"] == "queued" and started["output"] == [] and started["background"] is True
        seen = []
        for _ in range(40):  # at most 4 s on the mock's clock, none on the wall clock
            polled = client.responses.retrieve(started["id"])
            if not seen or seen[-1] != polled.status:
                seen.append(polled.status)
            if polled.status == "completed":
                break
            running.advance(0.1)
        path = ["queued", "in_progress", "completed"]  # the first poll may come after the queue
        assert seen[-1] == "completed" and seen == sorted(seen, key=path.index)
        assert polled.output_text and polled.usage is not None
        foreground = client.responses.create(model="gpt-4o-mini", input="Work on this")
        assert polled.output_text == foreground.output_text
        other = client.responses.create(model="gpt-4o-mini", input="Stop me", background=True)
        assert client.responses.cancel(other.id).status == "cancelled"
        running.advance(0.5)
        assert client.responses.retrieve(other.id).status == "cancelled"
        with pytest.raises(openai.BadRequestError):
            client.responses.cancel(foreground.id)


def test_input_tokens_are_counted_as_the_response_would_bill_them(client: openai.OpenAI) -> None:
    body = {"model": "gpt-4o-mini", "input": "Count these words please", "instructions": "Be brief."}
    counted = client.responses.input_tokens.count(**body)
    assert counted.input_tokens == client.responses.create(**body).usage.input_tokens  # type: ignore[union-attr]


def test_a_conversation_goes_on_turn_by_turn(client: openai.OpenAI) -> None:
    conversation = client.conversations.create(items=[{"type": "message", "role": "user", "content": "My name is Ada."}])
    first = created(client, model="gpt-4o-mini", input="What is my name?", conversation=conversation.id)
    added = client.conversations.items.create(conversation.id, items=[
        {"type": "message", "role": "user", "content": "Thanks."}])
    validate_official("ConversationItemList", added.model_dump(mode="json", exclude_unset=True))
    second = created(client, model="gpt-4o-mini", input="And again?", conversation=conversation.id)
    assert second["usage"]["input_tokens"] > first["usage"]["input_tokens"]
    items = client.conversations.items.list(conversation.id, order="asc").data
    assert [(item.type, getattr(item, "role", None)) for item in items] == [
        ("message", "user"), ("message", "user"), ("message", "assistant"), ("message", "user"), ("message", "user"),
        ("message", "assistant")]
    assert items[2].content[0].text == first["output_text"]  # type: ignore[union-attr]
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="gpt-4o-mini", input="hi", conversation="conv_never")


def test_a_compacted_conversation_is_one_item_a_later_request_unfolds(client: openai.OpenAI) -> None:
    first = client.responses.create(model="gpt-4o-mini", input="Remember the number 42.")
    compacted = client.responses.compact(model="gpt-4o-mini", previous_response_id=first.id)
    validate_official("CompactResource", compacted.model_dump(mode="json", exclude_unset=True))
    (folded,) = compacted.output
    assert folded.type == "compaction"
    follow = client.responses.create(model="gpt-4o-mini", input=[folded.model_dump(exclude_unset=True),
                                                                 {"role": "user", "content": "What number?"}])
    direct = client.responses.create(model="gpt-4o-mini", previous_response_id=first.id, input="What number?")
    assert follow.usage is not None and direct.usage is not None
    assert follow.usage.input_tokens == direct.usage.input_tokens  # the same conversation, unfolded


def test_hosted_tools_answer_with_their_output_items(server: MockServer, client: openai.OpenAI) -> None:
    uploaded = client.files.create(file=("notes.txt", b"The launch is on Tuesday."), purpose="assistants")
    store = client.vector_stores.create(name="notes", file_ids=[uploaded.id])
    tools = [{"type": "web_search"}, {"type": "file_search", "vector_store_ids": [store.id]},
             {"type": "code_interpreter", "container": {"type": "auto"}}, {"type": "image_generation"}]
    body = {"model": "gpt-4o-mini", "input": "When is the launch?", "tools": tools,
            "include": ["file_search_call.results", "code_interpreter_call.outputs"]}
    answer = created(client, **body)
    kinds = [item["type"] for item in answer["output"]]
    assert kinds == ["web_search_call", "file_search_call", "code_interpreter_call", "image_generation_call",
                     "message"]
    search = answer["output"][1]
    assert search["results"][0]["file_id"] == uploaded.id and search["results"][0]["text"].startswith("The launch")
    assert answer["output"][2]["outputs"][0]["logs"] == "When is the launch?\n"
    picture = base64.b64decode(answer["output"][3]["result"])
    assert picture.startswith(b"\x89PNG")
    events = events_of(server, **body)
    assert "response.web_search_call.completed" in [event["type"] for event in events]
    assert [item["type"] for item in events[-1]["response"]["output"]] == kinds
    assert created(client, **{**body, "tool_choice": "none"})["output"][0]["type"] == "message"


def test_a_stalled_stream_times_the_client_out(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APITimeoutError), client.with_options(timeout=0.5).responses.stream(
            model="gpt-4o-mini", input="hello", extra_headers={"X-Mock-Fault": "stall;seconds=5"}) as stream:
        for _ in stream:
            pass


def test_an_mcp_server_lists_its_tools_and_calls_one_once_approved(server: MockServer, client: openai.OpenAI) -> None:
    mcp = {"type": "mcp", "server_label": "docs", "server_url": "https://mcp.example/sse", "allowed_tools": ["lookup"]}
    asked = created(client, model="gpt-4o-mini", input="Find the setup guide", tools=[mcp])
    assert [item["type"] for item in asked["output"]] == ["mcp_list_tools", "mcp_approval_request"]
    assert asked["output"][0]["tools"][0]["name"] == "lookup"
    request_item = asked["output"][1]
    approved = created(client, model="gpt-4o-mini", previous_response_id=asked["id"], tools=[mcp], input=[
        {"type": "mcp_approval_response", "approval_request_id": request_item["id"], "approve": True}])
    call = approved["output"][0]
    assert call["type"] == "mcp_call" and call["approval_request_id"] == request_item["id"] and call["output"]
    assert approved["output"][-1]["type"] == "message"
    trusted = created(client, model="gpt-4o-mini", input="Find it", tools=[{**mcp, "require_approval": "never"}])
    assert [item["type"] for item in trusted["output"]] == ["mcp_list_tools", "mcp_call", "message"]
    events = events_of(server, model="gpt-4o-mini", input="Find it", tools=[{**mcp, "require_approval": "never"}])
    assert "response.mcp_call.completed" in [event["type"] for event in events]


def test_output_text_logprobs_when_included(server: MockServer, client: openai.OpenAI) -> None:
    body = {"model": "gpt-4o-mini", "input": "Score me", "include": ["message.output_text.logprobs"],
            "top_logprobs": 2}
    part = created(client, **body)["output"][0]["content"][0]
    assert "".join(entry["token"] for entry in part["logprobs"]) == part["text"]
    assert all(len(entry["top_logprobs"]) == 2 for entry in part["logprobs"])
    deltas = [event for event in events_of(server, **body) if event["type"] == "response.output_text.delta"]
    assert [event["logprobs"][0]["token"] for event in deltas] == [event["delta"] for event in deltas]


def test_a_background_response_is_streamed_from_starting_after() -> None:
    with MockServer(seed=9, job_schedule="0.1,0.3") as running:
        client = sdk_client(running.url)
        started = client.responses.create(model="gpt-4o-mini", input="Work in the background", background=True)
        events = list(client.responses.retrieve(started.id, stream=True, starting_after=2))
        assert events[0].sequence_number == 3 and events[-1].type == "response.completed"
        for event in events:
            validate_official("ResponseStreamEvent", event.model_dump(mode="json", exclude_unset=True))
        text = "".join(event.delta for event in events if event.type == "response.output_text.delta")
        assert text == events[-1].response.output_text == client.responses.retrieve(started.id).output_text
        with pytest.raises(openai.NotFoundError):
            list(client.responses.retrieve("resp_never", stream=True))


def test_scripts_and_fixture_rules_match_responses_requests(server: MockServer, client: openai.OpenAI) -> None:
    server.add_fixture({"rules": [
        {"match": {"message_contains": "refund", "system_contains": "support desk"}, "reply": "Refunds take 5 days."},
        {"match": {"tools_include": ["get_weather"], "has_tool_result": False},
         "tool_call": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]})
    try:
        answer = client.responses.create(model="gpt-4o-mini", instructions="You are the support desk.",
                                         input="How long does a refund take?")
        assert answer.output_text == "Refunds take 5 days."
        called = client.responses.create(model="gpt-4o-mini", input="Weather?", tools=[WEATHER])
        (call,) = called.output
        assert call.type == "function_call" and json.loads(call.arguments) == {"city": "Oslo"}
        scripted = client.responses.create(model="gpt-4o-mini", input="Weather?", tools=[WEATHER],
                                           extra_headers={"X-Mock-Tool-Call": "get_weather",
                                                          "X-Mock-Tool-Args": '{"city": "Lima"}'})
        assert json.loads(scripted.output[0].arguments) == {"city": "Lima"}  # type: ignore[union-attr]
    finally:
        server.reset()


def test_truncation_auto_drops_the_oldest_turns_to_fit_the_window(client: openai.OpenAI) -> None:
    long_turns = [{"role": "user", "content": "word " * 5000}, {"role": "assistant", "content": "ok"},
                  {"role": "user", "content": "word " * 5000}, {"role": "assistant", "content": "ok"},
                  {"role": "user", "content": "What now?"}]
    body = {"model": "gpt-3.5-turbo", "input": long_turns * 2, "instructions": "Be brief."}
    with pytest.raises(openai.BadRequestError) as overflow:
        client.responses.create(**body)
    assert overflow.value.body["code"] == "context_length_exceeded"  # type: ignore[index]
    fitted = client.responses.create(**body, truncation="auto")
    assert fitted.usage is not None and fitted.usage.input_tokens <= 16385 and fitted.truncation == "auto"

"""Chat completions through the official openai SDK over a real socket."""

from __future__ import annotations

import json
import re

import jsonschema
import openai
import pytest

from mockserver.conformance import validate_official
from mockserver.generation.tokens import tokenizer

from helpers import assert_stream_conforms, parse_sse

HELLO = [{"role": "user", "content": "Hello there, how are you?"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}
STOCK_TOOL = {
    "type": "function",
    "function": {
        "name": "get_stock_price",
        "description": "Look up the latest stock price for a ticker symbol",
        "parameters": {
            "type": "object",
            "properties": {"ticker": {"type": "string", "pattern": "^[A-Z]{1,5}$"}},
            "required": ["ticker"],
        },
    },
}


def test_non_stream_shape_headers_and_conformance(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO)
    body = json.loads(raw.content)
    validate_official("CreateChatCompletionResponse", body)
    assert re.fullmatch(r"chatcmpl-[A-Za-z0-9]{29}", body["id"])
    assert re.fullmatch(r"fp_[0-9a-f]{10}", body["system_fingerprint"])
    assert body["object"] == "chat.completion" and body["model"] == "gpt-4o-mini-2024-07-18"  # the alias's snapshot
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop" and choice["logprobs"] is None
    assert choice["message"]["role"] == "assistant" and choice["message"]["refusal"] is None
    assert "tool_calls" not in choice["message"]
    assert len(re.findall(r"[.!?]", choice["message"]["content"])) >= 2
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["completion_tokens"] == tokenizer("o200k_base").count(choice["message"]["content"])
    assert set(usage["prompt_tokens_details"]) == {"cached_tokens", "audio_tokens"}
    assert re.fullmatch(r"req_[0-9a-f]{32}", raw.headers["x-request-id"])
    assert raw.headers["openai-version"] == "2020-10-01"
    assert int(raw.headers["openai-processing-ms"]) >= 0


def test_prompt_tokens_follow_openai_accounting(client: openai.OpenAI) -> None:
    # OpenAI cookbook: 3 per message + role + content, +3 priming. "Hello there, how are you?" is 7 tokens.
    completion = client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert completion.usage.prompt_tokens == 3 + 1 + 7 + 3


def test_same_request_same_content_different_seed_or_conversation_differs(client: openai.OpenAI) -> None:
    def text(**kwargs: object) -> str:
        return client.chat.completions.create(model="gpt-4o-mini", **kwargs).choices[0].message.content  # type: ignore[arg-type]

    assert text(messages=HELLO) == text(messages=HELLO)
    assert text(messages=HELLO, seed=1) != text(messages=HELLO, seed=2)
    assert text(messages=HELLO) != text(messages=[{"role": "user", "content": "Something else"}])


def test_stream_matches_non_stream_and_every_chunk_conforms(client: openai.OpenAI, http) -> None:
    body = {"model": "gpt-4o-mini", "messages": HELLO, "stream": True, "stream_options": {"include_usage": True}}
    response = http.post("/v1/chat/completions", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    chunks = assert_stream_conforms(parse_sse(response.content))
    first = chunks[0]["choices"][0]
    assert first["index"] == 0
    assert first["delta"] == {"role": "assistant", "content": "", "refusal": None}
    finish = chunks[-2]["choices"][0]
    assert finish == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["completion_tokens"] > 0
    assert all(chunk["usage"] is None for chunk in chunks[:-1])
    streamed = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks[:-1])

    plain = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert streamed == plain.choices[0].message.content
    assert usage_chunk["usage"] == plain.usage.model_dump(exclude_none=True)
    assert len([c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]) == plain.usage.completion_tokens


def test_stream_without_include_usage_has_no_usage_field(http) -> None:
    response = http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": HELLO, "stream": True})
    chunks = assert_stream_conforms(parse_sse(response.content))
    assert all("usage" not in chunk for chunk in chunks)


def test_sdk_stream_accumulates(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(model="gpt-4o-mini", messages=HELLO) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    plain = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert final.choices[0].message.content == plain.choices[0].message.content


def test_n_choices_are_distinct_and_stream_one_choice_per_chunk(client: openai.OpenAI, http) -> None:
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, n=3)
    texts = [choice.message.content for choice in completion.choices]
    assert [choice.index for choice in completion.choices] == [0, 1, 2]
    assert len(set(texts)) == 3
    response = http.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": HELLO, "n": 3, "stream": True})
    chunks = assert_stream_conforms(parse_sse(response.content))
    assert chunks[0]["choices"][0]["index"] == 0
    assert all(len(chunk["choices"]) == 1 for chunk in chunks)
    for index, text in enumerate(texts):
        streamed = "".join(
            chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks if chunk["choices"][0]["index"] == index
        )
        assert streamed == text


def test_stop_sequence_cuts_before_it(client: openai.OpenAI) -> None:
    full = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO).choices[0].message.content
    word = full.split()[3]
    cut = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stop=[word, "zzzz"])
    text = cut.choices[0].message.content
    assert text == full[: full.index(word)]
    assert cut.choices[0].finish_reason == "stop"
    assert cut.usage.completion_tokens == tokenizer("o200k_base").count(text)


@pytest.mark.parametrize("parameter", ["max_tokens", "max_completion_tokens"])
def test_token_limit_cuts_with_finish_length(client: openai.OpenAI, parameter: str) -> None:
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, **{parameter: 5})
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.completion_tokens == 5
    assert tokenizer("o200k_base").count(completion.choices[0].message.content) == 5


def test_sampling_parameters_accepted(client: openai.OpenAI) -> None:
    """Every sampling parameter is taken; those that steer the model change the reply, reproducibly."""
    sampling = {"temperature": 0.2, "top_p": 0.9, "frequency_penalty": 0.5, "presence_penalty": -0.5,
                "logit_bias": {"1234": -100}, "seed": 42}

    def reply(**arguments: object) -> str:
        completion = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, **arguments)
        assert completion.choices[0].finish_reason == "stop"
        return completion.choices[0].message.content or ""

    first = reply(**sampling, user="user-1")
    assert first and reply(**sampling, user="someone-else") == first  # `user` only labels the request
    for name, other in [("temperature", 1.4), ("top_p", 0.5), ("seed", 43), ("presence_penalty", 1.0)]:
        assert reply(**{**sampling, name: other}) != first, f"{name} should change the reply"
    with pytest.raises(openai.BadRequestError) as refused:
        reply(**{**sampling, "top_p": 1.5})
    assert refused.value.body["param"] == "top_p"


def test_logprobs_are_floats_and_match_tokens(http) -> None:
    body = {"model": "gpt-4o-mini", "messages": HELLO, "logprobs": True, "top_logprobs": 3}
    data = http.post("/v1/chat/completions", json=body).json()
    validate_official("CreateChatCompletionResponse", data)
    choice = data["choices"][0]
    entries = choice["logprobs"]["content"]
    assert "".join(entry["token"] for entry in entries) == choice["message"]["content"]
    for entry in entries:
        assert isinstance(entry["logprob"], float) and entry["logprob"] <= 0
        assert len(entry["top_logprobs"]) == 3
        assert all(isinstance(alt["logprob"], float) for alt in entry["top_logprobs"])
    raw = http.post("/v1/chat/completions", json=body).content
    assert b'"logprob":0,' not in raw and b'"logprob":0}' not in raw


def _arguments(completion) -> list[tuple[str, dict]]:
    return [(call.function.name, json.loads(call.function.arguments)) for call in completion.choices[0].message.tool_calls]


def test_tool_choice_auto_calls_matching_tool_with_schema_valid_arguments(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "What's the weather in Paris today?"}],
        tools=[STOCK_TOOL, WEATHER_TOOL],
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    calls = _arguments(completion)
    assert calls[0][0] == "get_weather"
    jsonschema.validate(calls[0][1], WEATHER_TOOL["function"]["parameters"])
    assert re.fullmatch(r"call_[A-Za-z0-9]{24}", choice.message.tool_calls[0].id)


def test_tool_result_ends_the_agent_loop(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "What's the weather in Paris today?"}]
    first = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER_TOOL])
    call = first.choices[0].message.tool_calls[0]
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"temperature": 18}'},
    ]
    second = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER_TOOL])
    assert second.choices[0].finish_reason == "stop" and second.choices[0].message.content


def test_tool_choice_none_required_and_named(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "Tell me about stocks and the weather."}]
    none = client.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER_TOOL], tool_choice="none")
    assert none.choices[0].message.tool_calls is None and none.choices[0].finish_reason == "stop"
    required = client.chat.completions.create(model="gpt-4o", messages=HELLO, tools=[WEATHER_TOOL], tool_choice="required")
    assert required.choices[0].finish_reason == "tool_calls"
    named = client.chat.completions.create(
        model="gpt-4o", messages=messages, tools=[WEATHER_TOOL, STOCK_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_stock_price"}},
    )
    (name, arguments), = _arguments(named)
    assert name == "get_stock_price" and re.fullmatch(r"[A-Z]{1,5}", arguments["ticker"])


def test_parallel_tool_calls_respected(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "Weather in Paris and the stock price of ACME?"}]
    parallel = client.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER_TOOL, STOCK_TOOL])
    assert {name for name, _ in _arguments(parallel)} == {"get_weather", "get_stock_price"}
    single = client.chat.completions.create(
        model="gpt-4o", messages=messages, tools=[WEATHER_TOOL, STOCK_TOOL], parallel_tool_calls=False
    )
    assert len(single.choices[0].message.tool_calls) == 1


def test_streamed_tool_calls_accumulate_exactly(client: openai.OpenAI, http) -> None:
    messages = [{"role": "user", "content": "Weather in Paris and the stock price of ACME?"}]
    body = {"model": "gpt-4o", "messages": messages, "tools": [WEATHER_TOOL, STOCK_TOOL], "stream": True}
    chunks = assert_stream_conforms(parse_sse(http.post("/v1/chat/completions", json=body).content))
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": None, "refusal": None}
    seen_ids: dict[int, int] = {}
    for chunk in chunks:
        for call in chunk["choices"][0]["delta"].get("tool_calls") or ():
            if "id" in call:
                seen_ids[call["index"]] = seen_ids.get(call["index"], 0) + 1
                assert call["function"] == {"name": call["function"]["name"], "arguments": ""}
            else:
                assert set(call) == {"index", "function"} and set(call["function"]) == {"arguments"}
    assert seen_ids == {0: 1, 1: 1}
    with client.chat.completions.stream(model="gpt-4o", messages=messages, tools=[WEATHER_TOOL, STOCK_TOOL]) as stream:
        final = stream.get_final_completion()
    plain = client.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER_TOOL, STOCK_TOOL])
    def calls(message) -> list[tuple[str, str]]:
        return [(call.function.name, call.function.arguments) for call in message.tool_calls]

    assert calls(final.choices[0].message) == calls(plain.choices[0].message)
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_json_schema_response_format(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "year": {"type": "integer", "minimum": 1900, "maximum": 2030},
            "genres": {"type": "array", "items": {"type": "string", "enum": ["drama", "comedy", "sci-fi"]}},
            "rating": {"type": ["number", "null"]},
        },
        "required": ["title", "year", "genres", "rating"],
        "additionalProperties": False,
    }
    completion = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Recommend a movie."}],
        response_format={"type": "json_schema", "json_schema": {"name": "movie", "schema": schema, "strict": True}},
    )
    jsonschema.validate(json.loads(completion.choices[0].message.content), schema)


def test_json_object_response_format(client: openai.OpenAI) -> None:
    def answer(text: str, stream: bool = False) -> str:
        messages = [{"role": "user", "content": text}]
        if stream:
            chunks = client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True,
                                                    response_format={"type": "json_object"})
            return "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
        completion = client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                                    response_format={"type": "json_object"})
        assert completion.choices[0].finish_reason == "stop"
        return completion.choices[0].message.content or ""

    # Nothing says what the object holds: any object is right, and the mock invents none (issue #30)
    text = answer("Answer in JSON please.")
    assert json.loads(text) == {}
    assert answer("Answer in JSON please.", stream=True) == text  # the stream carries the same JSON
    shaped = answer('Name a city, in JSON like {"city": "Paris", "population": 2100000}.')
    value = json.loads(shaped)
    assert set(value) == {"city", "population"} and isinstance(value["population"], int)
    assert answer('Name a city, in JSON like {"city": "Paris", "population": 2100000}.', stream=True) == shaped


def test_sdk_parse_with_pydantic_model(client: openai.OpenAI) -> None:
    from pydantic import BaseModel

    class Event(BaseModel):
        name: str
        attendees: list[str]
        day: int

    completion = client.chat.completions.parse(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Alice and Bob meet on Friday."}], response_format=Event
    )
    message = completion.choices[0].message
    assert isinstance(message.parsed, Event) and message.refusal is None
    # The SDK sent the model's strict JSON schema; the reply is exactly the parsed object, every field typed.
    assert Event.model_validate_json(message.content or "") == message.parsed
    assert isinstance(message.parsed.day, int) and all(isinstance(name, str) for name in message.parsed.attendees)


def test_reasoning_model_reports_reasoning_where_the_provider_documents_it(http) -> None:
    data = http.post("/gateway/v1/chat/completions", json={
        "model": "o3-mini", "messages": HELLO, "reasoning_effort": "low"}).json()
    validate_official("CreateChatCompletionResponse", data)
    message = data["choices"][0]["message"]
    vocabulary = tokenizer("o200k_base")
    reasoning_tokens = data["usage"]["completion_tokens_details"]["reasoning_tokens"]
    assert message["reasoning_content"] and reasoning_tokens == vocabulary.count(message["reasoning_content"])
    assert data["usage"]["completion_tokens"] == reasoning_tokens + vocabulary.count(message["content"])
    high = http.post("/gateway/v1/chat/completions", json={
        "model": "o3-mini", "messages": HELLO, "reasoning_effort": "high"}).json()
    assert high["usage"]["completion_tokens_details"]["reasoning_tokens"] > reasoning_tokens
    stream = http.post("/gateway/v1/chat/completions", json={
        "model": "o3-mini", "messages": HELLO, "reasoning_effort": "low", "stream": True}).content
    chunks = assert_stream_conforms(parse_sse(stream))
    streamed = "".join(chunk["choices"][0]["delta"].get("reasoning_content") or "" for chunk in chunks)
    assert streamed == message["reasoning_content"]
    assert not any("obfuscation" in chunk for chunk in chunks)


def test_openai_reasoning_models_count_their_thinking_without_sending_it(http) -> None:
    request = {"model": "o3-mini", "messages": HELLO, "reasoning_effort": "low"}
    data = http.post("/v1/chat/completions", json=request).json()
    validate_official("CreateChatCompletionResponse", data)
    assert "reasoning_content" not in data["choices"][0]["message"]
    assert data["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0
    chunks = assert_stream_conforms(parse_sse(http.post("/v1/chat/completions", json={**request, "stream": True}).content))
    assert not any("reasoning_content" in chunk["choices"][0]["delta"] for chunk in chunks if chunk["choices"])
    assert "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks) == (
        data["choices"][0]["message"]["content"])


def test_openai_chunks_carry_obfuscation_unless_turned_off(http) -> None:
    request = {"model": "gpt-4o-mini", "messages": HELLO, "stream": True, "stream_options": {"include_usage": True}}
    chunks = assert_stream_conforms(parse_sse(http.post("/v1/chat/completions", json=request).content))
    pads = [chunk["obfuscation"] for chunk in chunks]
    assert all(re.fullmatch(r"[A-Za-z0-9]{1,16}", pad) for pad in pads) and len(set(pads)) > 1
    request["stream_options"]["include_obfuscation"] = False
    plain = assert_stream_conforms(parse_sse(http.post("/v1/chat/completions", json=request).content))
    assert not any("obfuscation" in chunk for chunk in plain)
    assert [chunk["choices"] for chunk in plain] == [chunk["choices"] for chunk in chunks]
    samurai = assert_stream_conforms(parse_sse(
        http.post("/samurai/v1/chat/completions", json={**request, "stream_options": {}}).content))
    assert samurai and not any("obfuscation" in chunk for chunk in samurai)


def test_unknown_model_name_judged_as_reasoning(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="acme/super-r1-distill", messages=HELLO)
    assert completion.usage.completion_tokens_details.reasoning_tokens > 0
    plain = client.chat.completions.create(model="acme/plain-chat-7b", messages=HELLO)
    assert plain.usage.completion_tokens_details.reasoning_tokens == 0


def test_reasoning_budget_exhausted_gives_empty_content(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="o3-mini", messages=HELLO, max_completion_tokens=4)
    choice = completion.choices[0]
    assert choice.finish_reason == "length" and choice.message.content == ""
    assert completion.usage.completion_tokens == completion.usage.completion_tokens_details.reasoning_tokens == 4


CUSTOM_TOOL = {"type": "custom", "custom": {"name": "run_sql", "description": "Run a SQL query"}}


def test_custom_tools_named_and_only_offered(client: openai.OpenAI, http) -> None:
    named = http.post("/v1/chat/completions", json={
        "model": "gpt-5", "messages": HELLO, "tools": [WEATHER_TOOL, CUSTOM_TOOL],
        "tool_choice": {"type": "custom", "custom": {"name": "run_sql"}}}).json()
    validate_official("CreateChatCompletionResponse", named)
    call = named["choices"][0]["message"]["tool_calls"][0]
    assert call["type"] == "custom" and call["custom"]["name"] == "run_sql" and call["custom"]["input"]
    only = client.chat.completions.create(model="gpt-5", messages=HELLO, tools=[CUSTOM_TOOL])
    assert only.choices[0].message.tool_calls[0].type == "custom"
    none = client.chat.completions.create(model="gpt-5", messages=HELLO, tools=[CUSTOM_TOOL], tool_choice="none")
    assert none.choices[0].message.tool_calls is None
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model="gpt-5", messages=HELLO, tools=[CUSTOM_TOOL], tool_choice={"type": "custom", "custom": {"name": "nope"}}
        )
    assert raised.value.param == "tool_choice" and "nope" in raised.value.message
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gpt-5", messages=HELLO, tools=[CUSTOM_TOOL], stream=True)
    assert raised.value.param == "stream"

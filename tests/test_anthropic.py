"""Anthropic's Messages API through the official ``anthropic`` SDK, over a socket, and its wire checked against
the SDK's own types (vendored in ``schemas/anthropic``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator

from mockserver import MockServer

from helpers import module_server, reset_server, vendored_conformance

MODEL = "claude-sonnet-4-6"
HEADERS = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01", "content-type": "application/json"}
HELLO = {"model": MODEL, "max_tokens": 300, "messages": [{"role": "user", "content": "Hello there"}]}
WEATHER = {"name": "get_weather", "description": "The weather in a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
THINKING = {"type": "enabled", "budget_tokens": 1024}


conforms = vendored_conformance("anthropic")


server = module_server(seed=7)
mock = reset_server


@pytest.fixture()
def client(mock: MockServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=mock.origin, api_key="sk-ant-test", max_retries=2)


def events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """The stream's frames as (event name, data); every frame must name its event."""
    out = []
    for frame in response.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.split("\n"))
        assert set(lines) == {"event", "data"}, frame
        data = json.loads(lines["data"])
        assert data["type"] == lines["event"]
        out.append((lines["event"], data))
    return out


def without_ids(message: anthropic.types.Message) -> dict[str, Any]:
    """The message as a dict, but for its ids (every answer gets new ones, unless time is frozen)."""
    dumped = message.model_dump(exclude={"id"})
    for block in dumped["content"]:
        block.pop("id", None)
    return dumped


def post(mock: MockServer, body: dict[str, Any], path: str = "/v1/messages", **headers: str) -> httpx.Response:
    return httpx.post(mock.origin + path, json=body, headers={**HEADERS, **headers}, timeout=10)


# --- answers -----------------------------------------------------------------------------------------------------


def test_a_message_is_the_sdks_message_and_usage_agrees_with_count_tokens(client: anthropic.Anthropic) -> None:
    raw = client.messages.with_raw_response.create(**HELLO)
    body = raw.http_response.json()
    conforms("Message", body)
    assert raw.http_response.headers["request-id"].startswith("req_")
    message = raw.parse()
    assert message.id.startswith("msg_01") and message.role == "assistant" and message.stop_reason == "end_turn"
    assert message.content[0].type == "text" and message.content[0].text
    counted = client.messages.count_tokens(model=MODEL, messages=HELLO["messages"])
    assert counted.input_tokens == message.usage.input_tokens > 0
    assert message.usage.output_tokens > 0 and message.usage.cache_read_input_tokens == 0


def test_the_stream_is_the_messages_events_in_the_sdks_order(mock: MockServer, client: anthropic.Anthropic) -> None:
    response = post(mock, {**HELLO, "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    names = [name for name, _ in events(response)]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    for name, data in events(response):
        if name != "ping":
            conforms("RawMessageStreamEvent", data)
    mock.reset()
    plain = client.messages.create(**HELLO)
    mock.reset()
    with client.messages.stream(**HELLO) as stream:
        rebuilt = stream.get_final_message()
    assert without_ids(rebuilt) == without_ids(plain)


def test_a_tool_call_with_thinking_streams_the_same_blocks_and_the_loop_ends_with_text(
        mock: MockServer, client: anthropic.Anthropic) -> None:
    asked = {**HELLO, "max_tokens": 4000, "tools": [WEATHER], "thinking": THINKING,
             "messages": [{"role": "user", "content": "What is the weather in Paris?"}]}
    called = client.messages.create(**asked)
    assert [block.type for block in called.content] == ["thinking", "tool_use"]
    assert called.stop_reason == "tool_use" and called.content[1].id.startswith("toolu_")
    assert called.content[1].name == "get_weather" and isinstance(called.content[1].input["city"], str)
    assert called.content[0].thinking and called.content[0].signature
    conforms("Message", called.model_dump(mode="json", exclude_none=True))
    mock.reset()
    with client.messages.stream(**asked) as stream:
        streamed = stream.get_final_message()
    assert without_ids(streamed) == without_ids(called)
    raw = [data for name, data in events(post(mock, {**asked, "stream": True})) if name == "content_block_delta"]
    assert {"signature_delta", "thinking_delta", "input_json_delta"} <= {data["delta"]["type"] for data in raw}
    assert next(data for data in raw if data["delta"]["type"] == "input_json_delta")["delta"]["partial_json"] == ""
    answered = client.messages.create(**{**asked, "messages": [
        *asked["messages"], {"role": "assistant", "content": called.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": called.content[1].id,
                                      "content": "Sunny, 21 C"}]}]})
    assert answered.stop_reason == "end_turn" and answered.content[-1].type == "text"


def test_stop_sequences_max_tokens_and_a_commanded_refusal(mock: MockServer, client: anthropic.Anthropic) -> None:
    mock.reply("alpha beta STOP gamma delta", times=2)
    stopped = client.messages.create(**HELLO, stop_sequences=["nothing", "STOP"])
    assert (stopped.content[0].text, stopped.stop_reason, stopped.stop_sequence) == ("alpha beta ", "stop_sequence",
                                                                                    "STOP")
    whole = client.messages.create(**HELLO)
    assert whole.usage.output_tokens > stopped.usage.output_tokens
    cut = client.messages.create(**{**HELLO, "max_tokens": 3})
    assert cut.stop_reason == "max_tokens" and cut.usage.output_tokens == 3
    refused = client.messages.create(**HELLO, extra_headers={"X-Mock-Stop-Reason": "refusal"})
    assert refused.stop_reason == "refusal" and refused.content[0].text
    with pytest.raises(anthropic.BadRequestError, match="x-mock-stop-reason"):
        client.messages.create(**HELLO, extra_headers={"X-Mock-Stop-Reason": "sleepy"})


def test_prompt_caching_writes_then_reads_until_the_ttl_passes(mock: MockServer, client: anthropic.Anthropic) -> None:
    manual = "Rule: answer briefly and kindly. " * 200
    asked = {**HELLO, "system": [{"type": "text", "text": manual, "cache_control": {"type": "ephemeral"}}]}
    first = client.messages.create(**asked).usage
    assert first.cache_creation_input_tokens > 1024 and first.cache_read_input_tokens == 0
    assert first.cache_creation.ephemeral_5m_input_tokens == first.cache_creation_input_tokens
    second = client.messages.create(**asked).usage
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0 and second.input_tokens == first.input_tokens
    total = client.messages.count_tokens(model=MODEL, system=asked["system"], messages=HELLO["messages"])
    assert total.input_tokens == second.input_tokens + second.cache_read_input_tokens
    mock.advance(301)
    assert client.messages.create(**asked).usage.cache_read_input_tokens == 0
    kept = "Keep this for an hour. " * 300
    hour = {**HELLO, "system": [{"type": "text", "text": kept, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]}
    assert client.messages.create(**hour).usage.cache_creation.ephemeral_1h_input_tokens > 0
    mock.advance(1800)
    assert client.messages.create(**hour).usage.cache_read_input_tokens > 0
    short = {**HELLO, "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]}
    assert client.messages.create(**short).usage.cache_creation_input_tokens == 0  # below the 1,024-token minimum


def test_a_batch_answers_its_requests_when_the_clock_says_it_ends(mock: MockServer,
                                                                client: anthropic.Anthropic) -> None:
    batches = client.messages.batches
    made = batches.create(requests=[
        {"custom_id": "greeting", "params": HELLO},
        {"custom_id": "tool", "params": {**HELLO, "tools": [WEATHER], "tool_choice": {"type": "any"}}},
        {"custom_id": "bad", "params": {**HELLO, "messages": [{"role": "assistant", "content": "hi"}]}},
    ])
    assert made.id.startswith("msgbatch_01") and made.processing_status == "in_progress"
    assert made.request_counts.processing == 3 and made.results_url is None
    raw = httpx.get(f"{mock.origin}/v1/messages/batches/{made.id}", headers=HEADERS).json()
    conforms("MessageBatch", raw)
    with pytest.raises(anthropic.AnthropicError, match="finished processing"):  # the SDK asks the batch first
        list(batches.results(made.id))
    early = httpx.get(f"{mock.origin}/v1/messages/batches/{made.id}/results", headers=HEADERS)
    assert early.status_code == 400 and "has not ended yet" in early.json()["error"]["message"]
    with pytest.raises(anthropic.BadRequestError, match="still processing"):
        batches.delete(made.id)
    mock.advance(5)
    ended = batches.retrieve(made.id)
    assert ended.processing_status == "ended" and ended.ended_at is not None
    assert (ended.request_counts.succeeded, ended.request_counts.errored) == (2, 1)
    assert ended.results_url == f"{mock.origin}/v1/messages/batches/{made.id}/results"
    results = {result.custom_id: result.result for result in batches.results(made.id)}
    assert results["greeting"].type == "succeeded" and results["greeting"].message.content[0].text
    assert results["tool"].message.stop_reason == "tool_use"
    assert results["bad"].type == "errored" and "first message" in results["bad"].error.error.message
    lines = httpx.get(ended.results_url, headers=HEADERS).text.strip().split("\n")
    for line in lines:
        conforms("MessageBatchIndividualResponse", json.loads(line))
    direct = client.messages.create(**HELLO)
    assert results["greeting"].message.content[0].text == direct.content[0].text  # the same generator
    other = batches.create(requests=[{"custom_id": "late", "params": HELLO}])
    canceling = batches.cancel(other.id)
    assert canceling.processing_status == "canceling" and canceling.cancel_initiated_at is not None
    assert [result.result.type for result in batches.results(other.id)] == ["canceled"]
    assert [batch.id for batch in batches.list()] == [other.id, made.id]
    assert [batch.id for batch in batches.list(limit=1, after_id=other.id)] == [made.id]
    assert batches.delete(made.id).type == "message_batch_deleted"
    with pytest.raises(anthropic.NotFoundError):
        batches.retrieve(made.id)
    with pytest.raises(anthropic.BadRequestError, match="duplicate custom_id"):
        batches.create(requests=[{"custom_id": "a", "params": HELLO}, {"custom_id": "a", "params": HELLO}])


def test_the_legacy_text_completions_api(mock: MockServer) -> None:
    prompt = "You are kind.\n\nHuman: Say hello\n\nAssistant:"
    body = {"model": "claude-2.1", "prompt": prompt, "max_tokens_to_sample": 200}
    answered = post(mock, body, path="/v1/complete").json()
    conforms("Completion", answered)
    assert answered["id"].startswith("compl_01") and answered["stop_reason"] == "stop_sequence"
    streamed = events(post(mock, {**body, "stream": True}, path="/v1/complete"))
    assert {name for name, _ in streamed} == {"completion"}
    assert "".join(data["completion"] for _, data in streamed) == answered["completion"]
    assert [data["stop_reason"] for _, data in streamed][-1] == "stop_sequence"
    assert post(mock, {**body, "max_tokens_to_sample": 2}, path="/v1/complete").json()["stop_reason"] == "max_tokens"
    refused = post(mock, {**body, "prompt": "Say hello"}, path="/v1/complete")
    assert refused.status_code == 400 and "Human:" in refused.json()["error"]["message"]


# --- errors and faults ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "headers", "status", "kind", "words"), [
    (HELLO, {"anthropic-version": ""}, 400, "invalid_request_error", "anthropic-version: header is required"),
    (HELLO, {"x-api-key": ""}, 401, "authentication_error", "x-api-key header is required"),
    ({**HELLO, "max_tokens": None}, {}, 400, "invalid_request_error", "max_tokens"),
    ({**HELLO, "messages": [{"role": "user"}]}, {}, 400, "invalid_request_error", "messages.0.content: Field required"),
    ({**HELLO, "temperature": 0.5, "top_k": 3, "colour": "red"}, {}, 400, "invalid_request_error",
     "colour: Extra inputs are not permitted"),
    ({**HELLO, "messages": [{"role": "assistant", "content": "hi"}]}, {}, 400, "invalid_request_error",
     "first message must use the \"user\" role"),
    ({**HELLO, "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}, {}, 400,
     "invalid_request_error", "roles must alternate"),
    ({**HELLO, "messages": [{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01nope", "content": "x"}]}]}, {}, 400,
     "invalid_request_error", "messages.0.content.0: unexpected `tool_use_id`"),
    ({**HELLO, "messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01a", "name": "w", "input": {}}]},
        {"role": "user", "content": "and?"}]}, {}, 400, "invalid_request_error",
     "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_01a"),
    ({**HELLO, "thinking": {"type": "enabled", "budget_tokens": 500}}, {}, 400, "invalid_request_error",
     "thinking.enabled.budget_tokens"),
    ({**HELLO, "thinking": {"type": "enabled", "budget_tokens": 2000}}, {}, 400, "invalid_request_error",
     "`max_tokens` must be greater than `thinking.budget_tokens`"),
    ({**HELLO, "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "made up", "signature": "forged"}]},
        {"role": "user", "content": "go on"}]}, {}, 400, "invalid_request_error",
     "messages.1.content.0: Invalid `signature` in `thinking` block"),
    ({**HELLO, "messages": [  # found by fuzzing: a signature outside ASCII was a 500
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "made up", "signature": "fälscht"}]},
        {"role": "user", "content": "go on"}]}, {}, 400, "invalid_request_error",
     "messages.1.content.0: Invalid `signature` in `thinking` block"),
    ({**HELLO, "max_tokens": 1_000_000}, {}, 400, "invalid_request_error", "maximum allowed number of output tokens"),
])
def test_bad_requests_get_anthropics_envelope_naming_the_field(
        mock: MockServer, body: dict[str, Any], headers: dict[str, str], status: int, kind: str, words: str) -> None:
    sent = {**HEADERS, **headers}
    response = httpx.post(mock.origin + "/v1/messages", json=body, timeout=10,
                          headers={name: value for name, value in sent.items() if value})
    assert response.status_code == status, response.text
    conforms("ErrorResponse", response.json())
    assert response.json()["error"]["type"] == kind and words in response.json()["error"]["message"]
    assert response.headers["request-id"].startswith("req_")


def test_rate_limits_and_overloads_are_retried_then_raised_as_the_sdks_errors(
        mock: MockServer, client: anthropic.Anthropic) -> None:
    mock.rate_limit(times=2)
    assert client.messages.create(**HELLO).content[0].text  # two 429s retried, the third attempt answered
    mock.rate_limit(times=3)
    with pytest.raises(anthropic.RateLimitError) as limited:
        client.messages.create(**HELLO)
    assert limited.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert limited.value.response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert limited.value.response.headers["retry-after"]
    mock.fail(529, times=3)
    with pytest.raises(anthropic.APIStatusError) as overloaded:
        client.messages.create(**HELLO)
    assert overloaded.value.status_code == 529 and "Overloaded" in str(overloaded.value)
    assert overloaded.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    assert len(mock.requests) == 3 + 3 + 3


def test_an_in_band_error_mid_stream_raises_in_the_sdk(mock: MockServer, client: anthropic.Anthropic) -> None:
    fault = {"X-Mock-Fault": "error_event;after_chunks=3;type=overloaded_error;message=Overloaded"}
    names = [name for name, _ in events(post(mock, {**HELLO, "stream": True}, **fault))]
    assert names[-1] == "error" and "message_stop" not in names
    with pytest.raises(anthropic.APIStatusError, match="Overloaded"), \
            client.messages.stream(**HELLO, extra_headers=fault) as stream:
        stream.get_final_message()


def test_structured_output_by_output_config_or_the_beta_s_output_format(mock: MockServer) -> None:
    joke = {"type": "object", "additionalProperties": False, "required": ["setup", "rating"],
            "properties": {"setup": {"type": "string"}, "rating": {"type": "integer", "minimum": 1, "maximum": 5}}}
    shape = {"type": "json_schema", "schema": joke}
    asked = {**HELLO, "messages": [{"role": "user", "content": "Tell me a joke"}]}
    answers = []
    for extra in ({"output_config": {"format": shape}}, {"output_format": shape}):
        answer = post(mock, {**asked, **extra})
        assert answer.status_code == 200, answer.text
        parsed = json.loads(answer.json()["content"][0]["text"])
        Draft202012Validator(joke).validate(parsed)
        answers.append(parsed)
    assert answers[0] == answers[1]  # one request, told two ways
    both = post(mock, {**asked, "output_config": {"format": shape}, "output_format": shape})
    assert both.status_code == 400 and both.json()["error"]["message"].startswith("output_format: ")


def test_max_tokens_is_bounded_by_the_model_s_own_maximum(mock: MockServer) -> None:
    assert post(mock, {**HELLO, "max_tokens": 128_000}).status_code == 200  # what pydantic-ai sends for Sonnet 4.6
    refused = post(mock, {**HELLO, "max_tokens": 128_001})
    assert refused.status_code == 400 and refused.json()["error"]["message"].startswith("max_tokens: 128001 > 128000")
    haiku = post(mock, {**HELLO, "model": "claude-haiku-4-5", "max_tokens": 64_001})
    assert haiku.status_code == 400 and "64000" in haiku.json()["error"]["message"]


def test_a_stalled_stream_is_kept_alive_with_pings(mock: MockServer, client: anthropic.Anthropic) -> None:
    stall = {"X-Mock-Fault": "stall;after_chunks=4;seconds=1;keep_alive=0.3"}
    started = time.perf_counter()
    names = [name for name, _ in events(post(mock, {**HELLO, "stream": True}, **stall))]
    assert time.perf_counter() - started >= 1.0
    calm = [name for name, _ in events(post(mock, {**HELLO, "stream": True}))]
    # three pings in the second's quiet, before the fifth frame; the frames around them as without the stall
    assert names[4:7] == ["ping"] * 3 and names[:4] + names[7:] == calm
    stalled, plain = mock.requests
    assert stalled.chunks_sent == plain.chunks_sent == len(calm)  # a keep-alive is no chunk: later faults keep their places
    with client.messages.stream(**HELLO, extra_headers=stall) as stream:
        assert stream.get_final_message().content[0].type == "text"
    plain_stall = httpx.post(mock.url + "/chat/completions", headers={"Authorization": "Bearer sk-test", **stall},
                             json={"model": "gpt-4o-mini", "stream": True,
                                   "messages": [{"role": "user", "content": "Hello there"}]})
    assert b"ping" not in plain_stall.content  # OpenAI's wire has no keep-alive frame


def test_a_rate_limited_server_sends_anthropics_headers() -> None:
    with MockServer(seed=1, rpm=5) as limited:
        answered = post(limited, HELLO)
        assert answered.status_code == 200
        assert answered.headers["anthropic-ratelimit-requests-limit"] == "5"
        assert answered.headers["anthropic-ratelimit-requests-remaining"] == "4"
        assert answered.headers["anthropic-ratelimit-requests-reset"].endswith("Z")
        assert "x-ratelimit-limit-requests" not in answered.headers


# --- where it answers ----------------------------------------------------------------------------------------------


def test_it_answers_on_its_own_mount_and_beside_openai_on_the_default_one(mock: MockServer) -> None:
    assert post(mock, HELLO, path="/anthropic/v1/messages").json()["type"] == "message"
    openai_models = httpx.get(mock.origin + "/v1/models", headers={"authorization": "Bearer sk"}).json()
    assert openai_models["object"] == "list" and "has_more" not in openai_models
    listed = httpx.get(mock.origin + "/v1/models", headers=HEADERS).json()
    conforms("ModelListPage", listed)
    assert listed["data"][0]["type"] == "model" and listed["first_id"] == listed["data"][0]["id"]
    assert httpx.get(mock.origin + "/v1/models/gpt-4o", headers={"authorization": "Bearer sk"}).json()["object"] \
        == "model"
    client = anthropic.Anthropic(base_url=mock.origin + "/anthropic", api_key="sk-ant-test")
    page = client.models.list(limit=3)
    assert len(page.data) == 3 and page.has_more
    following = client.models.list(limit=3, after_id=page.last_id)
    assert following.data[0].id not in {model.id for model in page.data}
    retrieved = client.models.retrieve(page.data[0].id)
    conforms("ModelInfo", retrieved.model_dump(mode="json", exclude_none=True))
    with pytest.raises(anthropic.NotFoundError, match="model: claude-nope"):
        client.models.retrieve("claude-nope")


def test_same_seed_same_bytes_across_servers() -> None:
    answers = []
    for _ in range(2):
        with MockServer(seed=3, freeze_time=True) as fresh:
            plain = post(fresh, {**HELLO, "tools": [WEATHER], "thinking": THINKING, "max_tokens": 4000})
            stream = post(fresh, {**HELLO, "stream": True})
            answers.append((plain.content, stream.content))
    assert answers[0] == answers[1]


def test_recorded_from_an_anthropic_upstream_and_replayed_frame_for_frame(tmp_path: Path) -> None:
    """The upstream stands for api.anthropic.com: another mock, with its own seed, at its Anthropic mount."""
    asked = {**HELLO, "tools": [WEATHER], "tool_choice": {"type": "any"}}
    with MockServer(seed=201) as upstream, MockServer(
            seed=202, record=str(tmp_path), upstream=[f"anthropic={upstream.origin}/anthropic/v1"]) as recorder:
        plain = post(recorder, HELLO, **{"X-Mock-Test-Id": "claude"})
        streamed = post(recorder, {**asked, "stream": True}, **{"X-Mock-Test-Id": "claude"})
        sent = upstream.requests
    assert plain.status_code == streamed.status_code == 200
    assert [exchange.path for exchange in sent] == ["/anthropic/v1/messages"] * 2
    assert sent[0].headers["anthropic-version"] == "2023-06-01" and "x-api-key" in sent[0].headers  # else a 401
    cassette = (tmp_path / "claude.yaml").read_text()
    assert "sk-ant-test" not in cassette and "anthropic-version" in cassette
    with MockServer(seed=999, cassettes=str(tmp_path)) as replayer:
        again = post(replayer, HELLO, **{"X-Mock-Test-Id": "claude"})
        assert again.json() == plain.json() and again.headers["request-id"] == plain.headers["request-id"]
        frames = post(replayer, {**asked, "stream": True}, **{"X-Mock-Test-Id": "claude"})
        assert frames.content == streamed.content
        assert [name for name, _ in events(frames)][-1] == "message_stop"
        turn = yaml.safe_load((tmp_path / "claude.yaml").read_text())["interactions"][1]["turn"]
        assert turn["tool_calls"][0]["name"] == "get_weather" and json.loads(turn["tool_calls"][0]["arguments"])


def test_a_replay_with_seeded_ids_and_recomputed_usage(tmp_path: Path) -> None:
    """Anthropic's ids (msg_, toolu_) made anew and its usage counted again for the request replayed, as
    count_tokens counts it; the cache fields and the text kept."""
    asked = {**HELLO, "tools": [WEATHER], "tool_choice": {"type": "any"}}
    with MockServer(seed=201) as upstream, MockServer(
            seed=202, record=str(tmp_path), upstream=[f"anthropic={upstream.origin}/anthropic/v1"]) as recorder:
        recorded = post(recorder, asked, **{"X-Mock-Test-Id": "ids"}).json()
        streamed = post(recorder, {**asked, "stream": True}, **{"X-Mock-Test-Id": "ids"})
    cassette = tmp_path / "ids.yaml"
    tape = yaml.safe_load(cassette.read_text())
    tape["interactions"][0]["response"]["body"]["usage"]["input_tokens"] = 1  # an upstream that counts otherwise
    cassette.write_text(yaml.safe_dump(tape))
    with MockServer(seed=5, cassettes=str(tmp_path), replay_ids="seeded", replay_usage="recomputed") as replayer:
        again = post(replayer, asked, **{"X-Mock-Test-Id": "ids"}).json()
        frames = post(replayer, {**asked, "stream": True}, **{"X-Mock-Test-Id": "ids"})
        counted = post(replayer, {key: value for key, value in asked.items() if key != "max_tokens"},
                       "/v1/messages/count_tokens").json()["input_tokens"]
    conforms("Message", again)
    assert again["id"] != recorded["id"] and again["id"].startswith("msg_") and len(again["id"]) == len(recorded["id"])
    call, recorded_call = again["content"][-1], recorded["content"][-1]
    assert call["id"].startswith("toolu_") and call["id"] != recorded_call["id"] and call["input"] == recorded_call["input"]
    assert again["usage"]["input_tokens"] == counted != 1
    assert again["usage"]["output_tokens"] == recorded["usage"]["output_tokens"]  # the same tokenizer, the same turn
    assert "total_tokens" not in again["usage"]
    replayed_events, recorded_events = events(frames), events(streamed)
    for (_, event), (_, before) in zip(replayed_events, recorded_events, strict=True):
        assert event["type"] == before["type"]
        if event["type"] != "ping":
            conforms("RawMessageStreamEvent", event)
    start = replayed_events[0][1]["message"]
    assert start["usage"]["input_tokens"] == counted and start["id"] != recorded_events[0][1]["message"]["id"]
    assert start["usage"]["output_tokens"] == recorded_events[0][1]["message"]["usage"]["output_tokens"]


def test_an_unknown_path_on_the_anthropic_mount_is_anthropics_404(mock: MockServer) -> None:
    missing = httpx.get(mock.origin + "/anthropic/v1/nothing", headers=HEADERS)
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"
    conforms("ErrorResponse", missing.json())
    assert missing.headers["request-id"].startswith("req_")
    wrong = httpx.delete(mock.origin + "/anthropic/v1/messages", headers=HEADERS)
    assert wrong.status_code == 405 and wrong.json()["type"] == "error" and wrong.headers["allow"] == "POST"


def test_web_search_runs_on_the_server_before_the_answer(mock: MockServer, client: anthropic.Anthropic) -> None:
    search = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
    asked = {**HELLO, "messages": [{"role": "user", "content": "What is new in Rust this month?"}], "tools": [search]}
    raw = post(mock, asked)
    conforms("Message", raw.json())
    found = client.messages.create(**asked)
    assert [block.type for block in found.content] == ["server_tool_use", "web_search_tool_result", "text"]
    assert found.content[0].id.startswith("srvtoolu_01") and found.content[1].tool_use_id == found.content[0].id
    assert found.content[0].input == {"query": "What is new in Rust this month"}
    assert len(found.content[1].content) == 3 and found.content[1].content[0].url.startswith("https://")
    assert found.usage.server_tool_use.web_search_requests == 1 and found.stop_reason == "end_turn"
    with client.messages.stream(**asked) as stream:
        streamed = stream.get_final_message()
    assert without_ids(streamed) == without_ids(found)
    for name, data in events(post(mock, {**asked, "stream": True})):
        if name != "ping":
            conforms("RawMessageStreamEvent", data)
    follow = client.messages.create(**{**asked, "messages": [
        *asked["messages"], {"role": "assistant", "content": found.content},
        {"role": "user", "content": "And in Go?"}]})
    assert follow.content[0].type == "server_tool_use" and follow.content[0].input["query"] == "And in Go"
    quiet = client.messages.create(**{**asked, "tool_choice": {"type": "none"}})
    assert [block.type for block in quiet.content] == ["text"] and quiet.usage.server_tool_use is None

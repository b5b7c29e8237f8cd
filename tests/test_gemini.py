"""The Gemini API through the official ``google-genai`` SDK, over a socket, and its wire checked against the SDK's own
types (vendored in ``schemas/gemini``). Any warning fails a test: the SDK only warns on an enum value it does not
know (a ``finishReason`` the API never sends)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors, types
from pydantic import BaseModel

from mockserver import MockServer

from helpers import module_server, reset_server, vendored_conformance

pytestmark = pytest.mark.filterwarnings("error")

MODEL = "gemini-2.5-flash"
KEY = {"x-goog-api-key": "test-key"}
HELLO = {"contents": [{"role": "user", "parts": [{"text": "Hello there"}]}]}
WEATHER = {"name": "get_weather", "description": "The weather in a city",
           "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}}


conforms = vendored_conformance("gemini")


server = module_server(seed=7)
mock = reset_server


@pytest.fixture()
def client(mock: MockServer) -> genai.Client:
    return genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=mock.origin))


def post(mock: MockServer, body: dict[str, Any], action: str = "generateContent", model: str = MODEL,
         version: str = "v1beta", query: str = "", **headers: str) -> httpx.Response:
    return httpx.post(f"{mock.origin}/{version}/models/{model}:{action}{query}", json=body,
                      headers={**KEY, **headers}, timeout=10)


def sse_chunks(response: httpx.Response) -> list[dict[str, Any]]:
    """The stream's frames: ``data:`` lines only, no event names, no ``[DONE]``."""
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [frame for frame in response.text.split("\r\n\r\n") if frame]
    assert all(frame.startswith("data: ") and "\n" not in frame for frame in frames), frames[:2]
    return [json.loads(frame.removeprefix("data: ")) for frame in frames]


# --- through the SDK --------------------------------------------------------------------------------------------


def test_generate_content_is_the_sdks_response_and_usage_agrees_with_count_tokens(
        mock: MockServer, client: genai.Client) -> None:
    answer = client.models.generate_content(model=MODEL, contents="Hello there")
    assert answer.text and answer.candidates[0].finish_reason == types.FinishReason.STOP
    assert answer.candidates[0].content.role == "model"
    usage = answer.usage_metadata
    counted = client.models.count_tokens(model=MODEL, contents="Hello there")
    assert usage.prompt_token_count == counted.total_tokens
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count \
        + (usage.thoughts_token_count or 0)
    assert usage.thoughts_token_count  # 2.5 Flash thinks unless told not to, and counts it
    assert answer.model_version == MODEL and answer.response_id
    raw = post(mock, HELLO)
    conforms("GenerateContentResponse", raw.json())
    assert raw.json()["candidates"][0]["content"]["parts"][0]["text"]
    assert "x-ratelimit-limit-requests" not in raw.headers


def test_a_stream_is_sse_data_frames_that_rebuild_the_same_answer(mock: MockServer, client: genai.Client) -> None:
    chunks = list(client.models.generate_content_stream(model=MODEL, contents="Hello there"))
    assert len(chunks) > 2 and chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    whole = client.models.generate_content(model=MODEL, contents="Hello there")
    assert "".join(chunk.text or "" for chunk in chunks) == whole.text
    assert {chunk.response_id for chunk in chunks} == {chunks[0].response_id}
    raw = sse_chunks(post(mock, HELLO, "streamGenerateContent", query="?alt=sse"))
    for chunk in raw:
        conforms("GenerateContentResponse", chunk)
    assert "usageMetadata" in raw[-1] and all("finishReason" not in c["candidates"][0] for c in raw[:-1])
    array = post(mock, HELLO, "streamGenerateContent")  # without alt=sse: one JSON array, as the REST API streams
    assert array.headers["content-type"].startswith("application/json")
    elements = array.json()
    assert isinstance(elements, list) and len(elements) == len(raw)
    assert [element["candidates"][0].get("content") for element in elements] == \
        [chunk["candidates"][0].get("content") for chunk in raw]


def test_automatic_function_calling_runs_a_python_function_to_a_final_answer(
        mock: MockServer, client: genai.Client) -> None:
    called: list[str] = []

    def get_weather(city: str) -> str:
        """The weather in a city."""
        called.append(city)
        return f"Sunny in {city}"

    chat = client.chats.create(model=MODEL, config=types.GenerateContentConfig(tools=[get_weather]))
    answer = chat.send_message("What is the weather in Paris?")
    assert called and isinstance(called[0], str) and answer.text
    call = next(part.function_call for content in chat.get_history() for part in content.parts or []
                if part.function_call)
    assert call.name == "get_weather" and call.id and set(call.args) == {"city"}
    _, second = [exchange.body for exchange in mock.requests]
    conforms("GenerateContentRequest", second)
    assert second["contents"][-1]["parts"][0]["functionResponse"]["name"] == "get_weather"


def test_function_calling_modes_force_or_forbid_a_call(mock: MockServer) -> None:
    tools = [{"functionDeclarations": [WEATHER]}]
    forced = post(mock, {**HELLO, "tools": tools,
                         "toolConfig": {"functionCallingConfig": {"mode": "ANY",
                                                                  "allowedFunctionNames": ["get_weather"]}}}).json()
    conforms("GenerateContentResponse", forced)
    part = forced["candidates"][0]["content"]["parts"][-1]
    assert part["functionCall"]["name"] == "get_weather" and isinstance(part["functionCall"]["args"]["city"], str)
    assert forced["candidates"][0]["finishReason"] == "STOP"  # there is no FUNCTION_CALL
    none = post(mock, {**HELLO, "tools": tools, "toolConfig": {"functionCallingConfig": {"mode": "NONE"}}}).json()
    assert all("functionCall" not in part for part in none["candidates"][0]["content"]["parts"])
    schema_tools = [{"functionDeclarations": [{"name": "lookup", "parametersJsonSchema": {
        "type": "object", "properties": {"ids": {"type": "array", "items": {"type": "integer"}}},
        "required": ["ids"]}}]}]
    called = post(mock, {**HELLO, "tools": schema_tools,
                         "toolConfig": {"function_calling_config": {"mode": "ANY"}}}).json()
    args = called["candidates"][0]["content"]["parts"][-1]["functionCall"]["args"]
    assert all(isinstance(item, int) for item in args["ids"])


def test_response_schema_from_a_pydantic_model_is_parsed(client: genai.Client) -> None:
    class City(BaseModel):
        name: str
        population: int

    answer = client.models.generate_content(
        model=MODEL, contents="Name a city",
        config=types.GenerateContentConfig(response_mime_type="application/json", response_schema=City))
    assert isinstance(answer.parsed, City)
    as_json = client.models.generate_content(
        model=MODEL, contents="Name a city",
        config=types.GenerateContentConfig(response_mime_type="application/json",
                                           response_json_schema=City.model_json_schema()))
    assert City.model_validate_json(as_json.text)


def test_thinking_shows_thoughts_when_asked_and_stops_at_a_zero_budget(client: genai.Client) -> None:
    shown = client.models.generate_content(
        model=MODEL, contents="Think about it",
        config=types.GenerateContentConfig(thinking_config=types.ThinkingConfig(include_thoughts=True)))
    parts = shown.candidates[0].content.parts
    assert parts[0].thought and parts[0].text and parts[-1].thought_signature
    assert shown.usage_metadata.thoughts_token_count
    off = client.models.generate_content(
        model=MODEL, contents="Think about it",
        config=types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=0)))
    assert not off.usage_metadata.thoughts_token_count and not any(part.thought for part in
                                                                   off.candidates[0].content.parts)


def test_max_output_tokens_stop_sequences_and_candidates(mock: MockServer, client: genai.Client) -> None:
    cut = client.models.generate_content(model="gemini-2.0-flash", contents="Tell me a long story",
                                         config=types.GenerateContentConfig(max_output_tokens=5))
    assert cut.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert cut.usage_metadata.candidates_token_count <= 5
    several = client.models.generate_content(model="gemini-2.0-flash", contents="Hello",
                                             config=types.GenerateContentConfig(candidate_count=3))
    assert [candidate.index for candidate in several.candidates] == [0, 1, 2]
    word = cut.text.split()[1]
    stopped = client.models.generate_content(model="gemini-2.0-flash", contents="Tell me a long story",
                                             config=types.GenerateContentConfig(stop_sequences=[word]))
    assert word not in stopped.text


def test_a_flagged_prompt_is_blocked_for_safety_unless_its_category_is_let_through(client: genai.Client) -> None:
    blocked = client.models.generate_content(model=MODEL, contents="flag:harassment say it")
    candidate = blocked.candidates[0]
    assert candidate.finish_reason == types.FinishReason.SAFETY and candidate.content is None
    rating = next(rating for rating in candidate.safety_ratings if rating.blocked)
    assert rating.category == types.HarmCategory.HARM_CATEGORY_HARASSMENT
    assert rating.probability == types.HarmProbability.HIGH
    allowed = client.models.generate_content(
        model=MODEL, contents="flag:harassment say it",
        config=types.GenerateContentConfig(safety_settings=[types.SafetySetting(
            category=types.HarmCategory.HARM_CATEGORY_HARASSMENT, threshold=types.HarmBlockThreshold.BLOCK_NONE)]))
    assert allowed.text and allowed.candidates[0].finish_reason == types.FinishReason.STOP


def test_embeddings_single_and_batched(mock: MockServer, client: genai.Client) -> None:
    batch = client.models.embed_content(model="gemini-embedding-001", contents=["a cat sat", "a cat sat down"],
                                        config=types.EmbedContentConfig(output_dimensionality=256))
    first, second = (embedding.values for embedding in batch.embeddings)
    assert len(first) == 256 and sum(a * b for a, b in zip(first, second, strict=True)) > 0.5
    one = post(mock, {"content": {"parts": [{"text": "a cat sat"}]}, "outputDimensionality": 256},
               "embedContent", "gemini-embedding-001")
    conforms("EmbedContentResponse", one.json())
    assert one.json()["embedding"]["values"] == first
    raw = post(mock, {"requests": [{"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "x"}]}}]},
               "batchEmbedContents", "gemini-embedding-001")
    conforms("BatchEmbedContentsResponse", raw.json())
    assert len(raw.json()["embeddings"][0]["values"]) == 3072


def test_models_are_listed_in_pages_and_retrieved(mock: MockServer, client: genai.Client) -> None:
    names = [model.name for model in client.models.list(config={"page_size": 3})]
    assert "models/gemini-2.5-flash" in names and len(names) == len(set(names)) > 3
    model = client.models.get(model=MODEL)
    assert model.display_name == "Gemini 2.5 Flash" and "generateContent" in model.supported_actions
    page = httpx.get(mock.origin + "/v1beta/models?pageSize=2", headers=KEY).json()
    conforms("ListModelsResponse", page)
    assert page["nextPageToken"]
    with pytest.raises(errors.ClientError) as missing:
        client.models.get(model="gemini-nope")
    assert missing.value.code == 404 and missing.value.status == "NOT_FOUND"


# --- errors and faults -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "field", "words"), [
    ({**HELLO, "generationConfig": {"temperature": 3}}, "generation_config.temperature", "between 0 and 2"),
    ({"contents": []}, "contents", "contents is not specified"),
    ({**HELLO, "generationConfig": {"responseSchema": {"type": "OBJECT"}}}, "generation_config.response_mime_type",
     "response_mime_type"),
    ({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, "contents[0].role", "valid role"),
])
def test_bad_requests_get_googles_envelope_naming_the_field(
        mock: MockServer, body: dict[str, Any], field: str, words: str) -> None:
    answer = post(mock, body)
    assert answer.status_code == 400, answer.text
    conforms("ErrorResponse", answer.json())
    error = answer.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and words in error["message"]
    assert error["details"][0]["fieldViolations"][0]["field"] == field


def test_a_prompt_past_the_model_s_window_is_refused_in_the_api_s_words() -> None:
    long = {"contents": [{"role": "user", "parts": [{"text": "word " * 9_000}]}]}
    with MockServer() as small:  # a catalog whose model has a 1,000-token window
        small.state.dialects["gemini"].catalog.models["gemini-2.0-flash"] = replace(
            small.state.dialects["gemini"].catalog.models["gemini-2.0-flash"], context_window=1_000)
        answer = post(small, long, model="gemini-2.0-flash")
    assert answer.status_code == 400
    assert re.fullmatch(r"The input token count \(\d+\) exceeds the maximum number of tokens allowed \(1000\)\.",
                        answer.json()["error"]["message"])


def test_schema_errors_and_keys_are_answered_as_the_api_does(mock: MockServer) -> None:
    unknown = post(mock, {**HELLO, "bogus": 1})
    assert unknown.status_code == 400 and 'Unknown name "bogus"' in unknown.json()["error"]["message"]
    wrong = post(mock, {"contents": "not a list"})
    assert wrong.status_code == 400 and wrong.json()["error"]["status"] == "INVALID_ARGUMENT"
    snake = post(mock, {**HELLO, "generation_config": {"max_output_tokens": 20},
                        "system_instruction": {"parts": [{"text": "Be brief"}]}})
    assert snake.status_code == 200  # the API takes proto names as well as JSON names
    keyless = httpx.post(f"{mock.origin}/v1beta/models/{MODEL}:generateContent", json=HELLO)
    assert keyless.status_code == 403 and keyless.json()["error"]["status"] == "PERMISSION_DENIED"
    by_query = httpx.post(f"{mock.origin}/v1beta/models/{MODEL}:generateContent?key=secret-key", json=HELLO)
    assert by_query.status_code == 200
    assert "secret-key" not in json.dumps(mock.requests[-1].as_dict())
    with MockServer(api_key=["right-key"]) as locked:
        refused = httpx.post(f"{locked.origin}/v1beta/models/{MODEL}:generateContent", json=HELLO,
                             headers={"x-goog-api-key": "wrong"})
        assert refused.status_code == 400
        assert refused.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"


HOSTILE = [
    ("generateContent", {"contents": "hi"}), ("generateContent", {"contents": [{"parts": "x"}]}),
    ("generateContent", {"contents": [{"parts": [{"text": 5}]}], "generationConfig": {"temperature": "hot"}}),
    ("generateContent", {**HELLO, "tools": [{"functionDeclarations": [{"name": "f", "parameters": "bad"}]}]}),
    ("generateContent", {**HELLO, "generationConfig": {"candidateCount": 10_000}}),
    ("countTokens", {"contents": 7}), ("streamGenerateContent", {}),
    ("embedContent", {"content": {"parts": [{"text": "x"}]}, "outputDimensionality": 1_000_000}),
    ("batchEmbedContents", {"requests": "x"}),
]


@pytest.mark.parametrize("validation", ["strict", "schema", "off"])
def test_every_validation_mode_answers_bad_bodies_without_a_server_error(validation: str) -> None:
    """strict and schema: a 400 INVALID_ARGUMENT naming the field; off: what the mock can make of the body, or a
    4xx; never a 5xx, and never a body the mock would make without bound (10,000 candidates, a million floats)."""
    with MockServer(validation=validation) as server:
        for action, body in HOSTILE:
            model = "gemini-embedding-001" if "mbed" in action else MODEL
            answer = post(server, body, action, model)
            assert answer.status_code < 500, (validation, action, body, answer.text)
            if validation != "off":
                assert answer.status_code == 400, (validation, action, body, answer.text)
            if answer.status_code >= 400:
                conforms("ErrorResponse", answer.json())
            else:
                assert len(answer.content) < 1_000_000


def test_a_rate_limit_is_a_client_error_429_with_retry_info_and_retry_options_retry_it(
        mock: MockServer, client: genai.Client) -> None:
    mock.rate_limit(times=1)
    with pytest.raises(errors.ClientError) as limited:
        client.models.generate_content(model=MODEL, contents="Hello")
    assert limited.value.code == 429 and limited.value.status == "RESOURCE_EXHAUSTED"
    details = limited.value.details["error"]["details"]
    assert any(detail["@type"].endswith("RetryInfo") and detail["retryDelay"].endswith("s") for detail in details)
    conforms("ErrorResponse", limited.value.details)
    mock.rate_limit(times=2)
    patient = genai.Client(api_key="test-key", http_options=types.HttpOptions(
        base_url=mock.origin, retry_options=types.HttpRetryOptions(attempts=3, initial_delay=0.01, max_delay=0.05)))
    assert patient.models.generate_content(model=MODEL, contents="Hello").text
    mock.fail(503, times=1)
    with pytest.raises(errors.ServerError) as unavailable:
        client.models.generate_content(model=MODEL, contents="Hello")
    assert unavailable.value.status == "UNAVAILABLE"


def test_an_error_mid_stream_raises_in_the_sdk_and_a_cut_stream_is_cut(mock: MockServer, client: genai.Client) -> None:
    fault = {"X-Mock-Fault": "error_event;after_chunks=2"}
    raw = sse_chunks(post(mock, HELLO, "streamGenerateContent", query="?alt=sse", **fault))
    assert raw[-1]["error"]["status"] == "INTERNAL" and len(raw) == 3
    conforms("ErrorResponse", raw[-1])
    with pytest.raises(errors.APIError) as failed:
        for _ in client.models.generate_content_stream(
                model=MODEL, contents="Hello there", config=types.GenerateContentConfig(
                    http_options=types.HttpOptions(headers=fault))):
            pass
    assert failed.value.code == 500
    cut = {"X-Mock-Fault": "disconnect;after_chunks=2"}
    with pytest.raises(Exception, match="peer closed connection"):  # httpx's (or httpx2's) RemoteProtocolError
        for _ in client.models.generate_content_stream(
                model=MODEL, contents="Hello there",
                config=types.GenerateContentConfig(http_options=types.HttpOptions(headers=cut))):
            pass
    assert mock.requests[-1].ended == "disconnect"


def test_scripts_answer_gemini_requests(mock: MockServer, client: genai.Client) -> None:
    mock.script({"reply": "Scripted for Gemini"})
    assert client.models.generate_content(model=MODEL, contents="Hi").text == "Scripted for Gemini"
    mock.script({"tool_call": {"name": "get_weather", "arguments": {"city": "Oslo"}}})
    answer = post(mock, {**HELLO, "tools": [{"functionDeclarations": [WEATHER]}]}).json()
    assert answer["candidates"][0]["content"]["parts"][-1]["functionCall"]["args"] == {"city": "Oslo"}
    entry = mock.requests[-1]
    assert entry.dialect == "gemini" and entry.endpoint == "gemini.generate_content" and entry.tokens_in


def test_scripts_and_fixture_rules_match_on_what_a_gemini_request_says(
        mock: MockServer, client: genai.Client) -> None:
    mock.reply("Only for Flash", match={"model": MODEL, "message_contains": "weather"})
    mock.add_fixture({"rules": [{"match": {"tools_include": "get_weather", "system_contains": "terse"},
                                 "reply": "A ruled answer"}]})
    assert client.models.generate_content(model="gemini-2.0-flash", contents="the weather?").text != "Only for Flash"
    assert client.models.generate_content(model=MODEL, contents="the weather?").text == "Only for Flash"
    ruled = post(mock, {**HELLO, "systemInstruction": {"parts": [{"text": "Be terse"}]},
                        "tools": [{"functionDeclarations": [WEATHER]}]}).json()
    assert ruled["candidates"][0]["content"]["parts"][-1]["text"] == "A ruled answer"
    assert mock.requests[-1].decided_by.startswith("fixture")


# --- where it answers ---------------------------------------------------------------------------------------------


def test_it_answers_on_every_mount_and_beside_openai_on_the_default_one(mock: MockServer) -> None:
    for version in ("v1beta", "v1", "gemini/v1beta", "gemini/v1"):
        answer = post(mock, HELLO, version=version)
        assert answer.status_code == 200, (version, answer.text)
    gemini_models = httpx.get(mock.origin + "/v1/models", headers=KEY).json()
    assert gemini_models["models"][0]["name"].startswith("models/")
    openai_models = httpx.get(mock.origin + "/v1/models", headers={"authorization": "Bearer sk"}).json()
    assert openai_models["object"] == "list"
    assert httpx.get(mock.origin + "/v1/models/gpt-4o", headers={"authorization": "Bearer sk"}).json()["object"] \
        == "model"
    assert httpx.get(mock.origin + f"/v1/models/{MODEL}", headers=KEY).json()["name"] == f"models/{MODEL}"
    client = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=mock.origin + "/gemini",
                                                                       api_version="v1beta"))
    assert client.models.generate_content(model=MODEL, contents="Hello").text
    unknown = httpx.post(mock.origin + "/gemini/v1beta/nothing", headers=KEY)
    assert unknown.status_code == 404 and unknown.json()["error"]["status"] == "NOT_FOUND"


def test_recorded_from_a_gemini_upstream_and_replayed(tmp_path: Path) -> None:
    """The upstream stands for generativelanguage.googleapis.com: another mock, at its Gemini mount; the recording
    keeps the API version in its paths, the key stays out of it, and a stream replays frame for frame."""
    with MockServer(seed=201) as upstream, MockServer(
            seed=202, record=str(tmp_path), upstream=[f"gemini={upstream.origin}/gemini"]) as recorder:
        plain = post(recorder, HELLO, **{"X-Mock-Test-Id": "gem"})
        streamed = post(recorder, HELLO, "streamGenerateContent", query="?alt=sse", **{"X-Mock-Test-Id": "gem"})
        sent = upstream.requests
    assert plain.status_code == streamed.status_code == 200
    assert [exchange.path for exchange in sent] == [f"/gemini/v1beta/models/{MODEL}:generateContent",
                                                    f"/gemini/v1beta/models/{MODEL}:streamGenerateContent"]
    assert sent[0].headers["x-goog-api-key"] == "[redacted]"  # it went upstream (else a 403), and the journal hid it
    cassette = (tmp_path / "gem.yaml").read_text()
    assert "test-key" not in cassette
    with MockServer(seed=999, cassettes=str(tmp_path)) as replayer:
        again = post(replayer, HELLO, **{"X-Mock-Test-Id": "gem"})
        assert again.json() == plain.json()
        frames = post(replayer, HELLO, "streamGenerateContent", query="?alt=sse", **{"X-Mock-Test-Id": "gem"})
        assert [chunk["candidates"] for chunk in sse_chunks_any(frames)] == \
            [chunk["candidates"] for chunk in sse_chunks_any(streamed)]


def sse_chunks_any(response: httpx.Response) -> list[dict[str, Any]]:
    """A replayed stream's frames (a recording keeps each frame's data; the blank line may be \\n\\n)."""
    return [json.loads(frame.removeprefix("data: ")) for frame in response.text.replace("\r\n", "\n").split("\n\n")
            if frame]


def test_same_seed_same_bytes_across_servers() -> None:
    answers = []
    for _ in range(2):
        with MockServer(seed=3, freeze_time=True) as fresh:
            plain = post(fresh, {**HELLO, "tools": [{"functionDeclarations": [WEATHER]}]})
            stream = post(fresh, HELLO, "streamGenerateContent", query="?alt=sse")
            answers.append((plain.content, stream.content))
    assert answers[0] == answers[1]

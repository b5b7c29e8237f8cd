"""Errors arrive in the OpenAI envelope so the SDK raises its proper exception class."""

from __future__ import annotations

import httpx2
import openai
import pytest

from mockserver import MockServer
from mockserver.conformance import validate_official

HELLO = [{"role": "user", "content": "Hi"}]


def _envelope(response: httpx2.Response) -> dict:
    body = response.json()
    validate_official("ErrorResponse", body)
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


def test_missing_key_is_401(server: MockServer) -> None:
    response = httpx2.post(server.url + "/chat/completions", json={"model": "gpt-4o", "messages": HELLO})
    assert response.status_code == 401
    assert "API key" in _envelope(response)["message"]


def test_api_key_restriction() -> None:
    with MockServer(api_key=["sk-good"]) as server:
        bad = openai.OpenAI(base_url=server.url, api_key="sk-bad-key-123456", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as raised:
            bad.models.list()
        assert raised.value.code == "invalid_api_key"
        assert "sk-bad-key-123456" not in raised.value.message
        good = openai.OpenAI(base_url=server.url, api_key="sk-good", max_retries=0)
        assert good.models.list().data


def test_unknown_route_404_and_wrong_method_405(http) -> None:
    error = _envelope(http.get("/v1/nothing/here"))
    assert error["code"] == "unknown_url"
    response = http.get("/v1/embeddings")
    assert response.status_code == 405
    assert _envelope(response)["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    "content, content_type, status, code",
    [
        (b'{"model": "gpt-4o", "messages": [', "application/json", 400, "invalid_json"),
        (b"", "application/json", 400, "invalid_json"),
        (b'{"model": NaN}', "application/json", 400, "invalid_json"),
        (b'{"model": "\xff"}', "application/json", 400, "invalid_json"),
        (b"model=gpt-4o", "application/x-www-form-urlencoded", 415, "unsupported_content_type"),
    ],
)
def test_unparseable_bodies(http, content: bytes, content_type: str, status: int, code: str) -> None:
    response = http.post("/v1/chat/completions", content=content, headers={"content-type": content_type})
    assert response.status_code == status
    assert _envelope(response)["code"] == code


def test_sdk_raises_bad_request_naming_the_field(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=HELLO, temperature=3.5)
    assert raised.value.param == "temperature"
    assert "2" in raised.value.message and "3.5" in raised.value.message


def test_unknown_model_retrieve_is_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client.models.retrieve("no-such-model")
    assert raised.value.code == "model_not_found"


def test_strict_mode_enforces_live_api_rules_beyond_the_schema(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=HELLO, max_tokens=0)
    assert raised.value.param == "max_tokens" and raised.value.code == "integer_below_min_value"
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=HELLO, stream_options={"include_usage": True})
    assert raised.value.param == "stream_options"
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=HELLO, response_format={"type": "json_object"})
    assert raised.value.param == "messages" and "json" in raised.value.message
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, max_tokens=100_000)
    assert raised.value.param == "max_tokens" and "16384" in raised.value.message
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="o3-mini", messages=HELLO, max_tokens=10)
    assert raised.value.code == "unsupported_parameter"
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model="gpt-4o", messages=[*HELLO, {"role": "tool", "tool_call_id": "call_x", "content": "42"}]
        )
    assert raised.value.param == "messages[1].tool_call_id"
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=HELLO, tool_choice="auto")
    assert raised.value.param == "tool_choice"


def test_schema_mode_ignores_unknown_arguments_and_accepts_zero_budget() -> None:
    with MockServer(validation="schema") as lenient:
        client = openai.OpenAI(base_url=lenient.url, api_key="sk-x", max_retries=0)
        completion = client.chat.completions.create(
            model="gpt-4o", messages=HELLO, max_tokens=0, extra_body={"brand_new_parameter": 1}
        )
        assert completion.choices[0].message.content == "" and completion.choices[0].finish_reason == "length"
        with pytest.raises(openai.BadRequestError) as raised:
            client.chat.completions.create(model="gpt-4o", messages=HELLO, temperature="hot")
        assert raised.value.param == "temperature"


def test_context_length_exceeded(client: openai.OpenAI) -> None:
    long_text = "word " * 20_000
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": long_text}])
    assert raised.value.code == "context_length_exceeded" and raised.value.param == "messages"

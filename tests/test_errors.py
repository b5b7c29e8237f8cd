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

"""google-genai (Python): Google's own client on the mock's Gemini API, at the host root as the SDK expects
(``http_options.base_url``; API version ``v1``, its default). Its JSON mode is ``response_mime_type:
application/json`` with the shape in the prompt. The SDK retries nothing unless told: the rate-limit cells give it
``retry_options`` (3 attempts), which it then applies to 429s."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google import genai
from google.genai import errors, types

from mockserver import MockServer

from cells import (
    CUT,
    JOKE_PROMPT,
    JSON_MODE_PROMPT,
    QUESTION,
    WEATHER_QUESTION,
    Joke,
    control,
    limited_every_time,
    limited_once,
    weather,
)

PACKAGE = "google-genai"
MODEL = "gemini-2.5-flash"
RETRIES = types.HttpRetryOptions(attempts=3, initial_delay=0.01, max_delay=0.05)


@pytest.fixture
def client(server: MockServer) -> Iterator[genai.Client]:
    with genai.Client(api_key="gemini-key", http_options=types.HttpOptions(base_url=server.origin)) as sdk:
        yield sdk


def _headers(headers: dict[str, str], retry: bool = False) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(http_options=types.HttpOptions(
        headers=headers, retry_options=RETRIES if retry else None))


def test_plain(client: genai.Client) -> None:
    answer = client.models.generate_content(model=MODEL, contents=QUESTION)
    assert answer.text and answer.candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]


def test_stream(client: genai.Client) -> None:
    whole = client.models.generate_content(model=MODEL, contents=QUESTION)
    text = "".join(chunk.text or "" for chunk in client.models.generate_content_stream(model=MODEL, contents=QUESTION))
    assert text == whole.text


def test_tool_loop(client: genai.Client) -> None:
    chat = client.chats.create(model=MODEL, config=types.GenerateContentConfig(tools=[weather]))
    answer = chat.send_message(WEATHER_QUESTION)  # automatic function calling: the SDK runs weather() itself
    history = chat.get_history()
    assert answer.text and any(part.function_response for content in history for part in content.parts or [])


def test_stream_tool(client: genai.Client) -> None:
    config = types.GenerateContentConfig(
        tools=[weather], automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")))
    calls = [call for chunk in client.models.generate_content_stream(model=MODEL, contents=WEATHER_QUESTION,
                                                                     config=config)
             for call in chunk.function_calls or []]
    assert calls and calls[0].name == "weather" and calls[0].args["city"]  # type: ignore[index]


def test_structured(client: genai.Client) -> None:
    answer = client.models.generate_content(model=MODEL, contents=JOKE_PROMPT, config=types.GenerateContentConfig(
        response_mime_type="application/json", response_schema=Joke))
    assert isinstance(answer.parsed, Joke)


def test_json_mode(client: genai.Client) -> None:
    answer = client.models.generate_content(model=MODEL, contents=JSON_MODE_PROMPT,
                                            config=types.GenerateContentConfig(response_mime_type="application/json"))
    assert Joke.model_validate_json(answer.text or "")


def test_rate_limit(server: MockServer, client: genai.Client) -> None:
    raised = limited_every_time(server, lambda headers: client.models.generate_content(
        model=MODEL, contents=QUESTION, config=_headers(headers, retry=True)), errors.ClientError)
    assert raised.value.code == 429  # type: ignore[attr-defined]


def test_retry(server: MockServer, client: genai.Client) -> None:
    assert limited_once(server, lambda headers: client.models.generate_content(
        model=MODEL, contents=QUESTION, config=_headers(headers, retry=True))).text  # type: ignore[attr-defined]


def test_cut_stream(client: genai.Client) -> None:
    _, headers = control(CUT)
    with pytest.raises(Exception, match="peer closed connection"):  # httpx's RemoteProtocolError
        for _ in client.models.generate_content_stream(model=MODEL, contents=QUESTION, config=_headers(headers)):
            pass

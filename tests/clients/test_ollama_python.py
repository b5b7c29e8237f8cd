"""ollama (Python): the official Ollama client on the mock's native Ollama API (``/api/*``), at the host root as
``OLLAMA_HOST`` gives it. Its structured output is ``format`` with a JSON schema; its JSON mode ``format: "json"``
with the shape in the prompt. The client retries nothing: a 429 is its ``ResponseError`` at once, and the retry
cell is the caller's one retry on it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ollama
import pytest

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

PACKAGE = "ollama"
MODEL = "llama3.2"
USER = [{"role": "user", "content": QUESTION}]


@pytest.fixture
def client(server: MockServer) -> Iterator[ollama.Client]:
    made = ollama.Client(host=server.origin)
    yield made
    made._client.close()


def _with(server: MockServer, headers: dict[str, str]) -> ollama.Client:
    return ollama.Client(host=server.origin, headers=headers)


def test_plain(client: ollama.Client) -> None:
    answer = client.chat(model=MODEL, messages=USER)
    assert answer.message.content and answer.done_reason == "stop"


def test_stream(client: ollama.Client) -> None:
    whole = client.chat(model=MODEL, messages=USER)
    text = "".join(part.message.content or "" for part in client.chat(model=MODEL, messages=USER, stream=True))
    assert text == whole.message.content


def test_tool_loop(client: ollama.Client) -> None:
    messages: list[Any] = [{"role": "user", "content": WEATHER_QUESTION}]
    for _ in range(4):
        answer = client.chat(model=MODEL, messages=messages, tools=[weather])
        if not answer.message.tool_calls:
            assert answer.message.content and len(messages) == 3
            return
        messages.append(answer.message)
        messages += [{"role": "tool", "content": weather(**call.function.arguments), "tool_name": call.function.name}
                     for call in answer.message.tool_calls]
    pytest.fail("the tool loop did not end")


def test_stream_tool(client: ollama.Client) -> None:
    calls = [call for part in client.chat(model=MODEL, messages=[{"role": "user", "content": WEATHER_QUESTION}],
                                          tools=[weather], stream=True)
             for call in part.message.tool_calls or []]
    assert calls and calls[0].function.name == "weather" and calls[0].function.arguments["city"]


def test_structured(client: ollama.Client) -> None:
    answer = client.chat(model=MODEL, messages=[{"role": "user", "content": JOKE_PROMPT}],
                         format=Joke.model_json_schema())
    assert Joke.model_validate_json(answer.message.content or "")


def test_json_mode(client: ollama.Client) -> None:
    answer = client.chat(model=MODEL, messages=[{"role": "user", "content": JSON_MODE_PROMPT}], format="json")
    assert Joke.model_validate_json(answer.message.content or "")


def test_rate_limit(server: MockServer) -> None:
    raised = limited_every_time(server, lambda headers: _with(server, headers).chat(model=MODEL, messages=USER),
                                ollama.ResponseError, made=1)
    assert raised.value.status_code == 429  # type: ignore[attr-defined]


def test_retry(server: MockServer) -> None:
    def once_more(headers: dict[str, str]) -> ollama.ChatResponse:
        sdk = _with(server, headers)
        try:
            return sdk.chat(model=MODEL, messages=USER)
        except ollama.ResponseError as error:
            assert error.status_code == 429
            return sdk.chat(model=MODEL, messages=USER)

    assert limited_once(server, once_more).message.content  # type: ignore[attr-defined]


def test_cut_stream(server: MockServer) -> None:
    _, headers = control(CUT)
    with pytest.raises(Exception, match="peer closed connection"):  # httpx's RemoteProtocolError
        for _ in _with(server, headers).chat(model=MODEL, messages=USER, stream=True):
            pass

"""What every client of the matrix is asked to do, and the mock's controls for it.

The cells, in table order:

- ``plain``: one chat call, text back;
- ``stream``: the same call streamed; the text equals the non-streamed text;
- ``tool_loop``: a tool is offered, called, answered, and the loop ends in text;
- ``stream_tool``: a streamed tool call, rebuilt into arguments that parse;
- ``structured``: structured output in the client's default mode, parsed into its model;
- ``json_mode``: the client's JSON mode (the schema in the prompt), parsed into its model;
- ``rate_limit``: 429 on every attempt: the client's own exception, after its retries;
- ``retry``: 429 on the first attempt only (``attempts=0``): success after one retry;
- ``cut_stream``: the stream is cut after two chunks: an error, not a silent partial answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from pydantic import BaseModel

from mockserver import MockServer

CELLS = ("plain", "stream", "tool_loop", "stream_tool", "structured", "json_mode", "rate_limit", "retry",
         "cut_stream")
MODEL = "gpt-4o-mini"
API_KEY = "sk-client-matrix"
QUESTION = "Say hello to the client matrix."
WEATHER_QUESTION = "What is the weather in Paris?"
JOKE_PROMPT = "Tell me a joke about penguins."
JSON_MODE_PROMPT = ("Tell me a joke about penguins. Respond in JSON with the keys 'setup', 'punchline' and "
                    "'rating' (integer).")
RATE_LIMIT = "rate_limit;retry_after_ms=10"
FIRST_ATTEMPT_LIMITED = "rate_limit;retry_after_ms=10;attempts=0"
CUT = "disconnect;after_chunks=2"
WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "The city"}},
    "required": ["city"],
    "additionalProperties": False,
}


class Joke(BaseModel):
    setup: str
    punchline: str
    rating: int


def weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny and 21 °C in {city}"


def control(fault: str | None = None) -> tuple[str, dict[str, str]]:
    """A fresh test id and the headers that carry it (and a fault): the journal counts the cell's attempts."""
    test_id = uuid.uuid4().hex
    headers = {"X-Mock-Test-Id": test_id}
    if fault:
        headers["X-Mock-Fault"] = fault
    return test_id, headers


def attempts(server: MockServer, test_id: str) -> int:
    """How many requests of a cell reached the mock."""
    return sum(1 for exchange in server.requests if exchange.test_id == test_id)


def limited_every_time(server: MockServer, send: Callable[[dict[str, str]], object], error: type[BaseException],
                       made: int = 3) -> pytest.ExceptionInfo[BaseException]:
    """The ``rate_limit`` cell: ``send`` (the client's call, with the cell's headers) raises ``error`` after the
    client's retries, ``made`` requests in all; what it raised, for a cell that checks more."""
    test_id, headers = control(RATE_LIMIT)
    with pytest.raises(error) as raised:
        send(headers)
    assert attempts(server, test_id) == made
    return raised


def limited_once(server: MockServer, send: Callable[[dict[str, str]], object]) -> object:
    """The ``retry`` cell: ``send`` succeeds on its retry after one 429, two requests in all; its answer."""
    test_id, headers = control(FIRST_ATTEMPT_LIMITED)
    answer = send(headers)
    assert attempts(server, test_id) == 2
    return answer

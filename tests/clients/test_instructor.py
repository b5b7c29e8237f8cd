"""instructor 1.17: ``instructor.from_openai`` in its default ``Mode.TOOLS``, and its JSON modes."""

from __future__ import annotations

from collections.abc import Callable

import instructor
import openai
import pytest
from instructor.core.exceptions import InstructorRetryException

from mockserver import MockServer

from cells import (
    API_KEY,
    CUT,
    JOKE_PROMPT,
    MODEL,
    QUESTION,
    Joke,
    control,
    limited_every_time,
    limited_once,
)

PACKAGE = "instructor"

JOKE = [{"role": "user", "content": JOKE_PROMPT}]
USER = [{"role": "user", "content": QUESTION}]


@pytest.fixture
def patched(server: MockServer) -> Callable[..., instructor.Instructor]:
    def make(mode: instructor.Mode = instructor.Mode.TOOLS, headers: dict[str, str] | None = None) -> instructor.Instructor:
        client = openai.OpenAI(base_url=server.url, api_key=API_KEY, max_retries=2, default_headers=headers)
        return instructor.from_openai(client, mode=mode)
    return make


def test_plain(patched: Callable[..., instructor.Instructor]) -> None:
    completion = patched().chat.completions.create(model=MODEL, messages=USER, response_model=None)  # type: ignore[arg-type]
    assert completion.choices[0].message.content


def test_stream(patched: Callable[..., instructor.Instructor]) -> None:
    client = patched()
    whole = client.chat.completions.create(model=MODEL, messages=USER, response_model=None)  # type: ignore[arg-type]
    chunks = client.chat.completions.create(model=MODEL, messages=USER, response_model=None, stream=True)  # type: ignore[arg-type]
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == whole.choices[0].message.content


def test_stream_tool(patched: Callable[..., instructor.Instructor]) -> None:
    partials = list(patched().chat.completions.create_partial(model=MODEL, messages=JOKE, response_model=Joke))  # type: ignore[arg-type]
    assert len(partials) > 1 and Joke.model_validate(partials[-1].model_dump())


def test_structured(patched: Callable[..., instructor.Instructor]) -> None:
    assert isinstance(patched().chat.completions.create(model=MODEL, messages=JOKE, response_model=Joke), Joke)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", [instructor.Mode.JSON, instructor.Mode.MD_JSON], ids=["JSON", "MD_JSON"])
def test_json_mode(patched: Callable[..., instructor.Instructor], mode: instructor.Mode) -> None:
    client = patched(mode)
    assert isinstance(client.chat.completions.create(model=MODEL, messages=JOKE, response_model=Joke, max_retries=0), Joke)  # type: ignore[arg-type]


def test_rate_limit(server: MockServer, patched: Callable[..., instructor.Instructor]) -> None:
    raised = limited_every_time(server, lambda headers: patched(headers=headers).chat.completions.create(
        model=MODEL, messages=JOKE, response_model=Joke), InstructorRetryException)  # type: ignore[arg-type]
    assert isinstance(raised.value.__cause__, openai.RateLimitError) or "429" in str(raised.value)


def test_retry(server: MockServer, patched: Callable[..., instructor.Instructor]) -> None:
    assert isinstance(limited_once(server, lambda headers: patched(headers=headers).chat.completions.create(
        model=MODEL, messages=JOKE, response_model=Joke)), Joke)  # type: ignore[arg-type]


def test_cut_stream(patched: Callable[..., instructor.Instructor]) -> None:
    _, headers = control(CUT)
    with pytest.raises(InstructorRetryException, match="incomplete chunked read"):
        list(patched(headers=headers).chat.completions.create_partial(model=MODEL, messages=JOKE, response_model=Joke))  # type: ignore[arg-type]

"""Legacy ``POST /completions`` through openai-python over a socket: the chat generator's text, the old shape.

Every answer and stream chunk is checked against the official ``CreateCompletionResponse``.
"""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from mockserver import MockServer
from mockserver.conformance import validate_official
from mockserver.generation.tokens import tokenizer

from helpers import sdk_client

MODEL = "gpt-3.5-turbo-instruct"


@pytest.fixture(scope="module")
def client() -> Iterator[openai.OpenAI]:
    with MockServer(seed=11) as server:
        yield sdk_client(server.url)


def conforms(value: dict[str, object]) -> None:
    validate_official("CreateCompletionResponse", value)


def test_a_completion_is_sixteen_tokens_unless_asked(client: openai.OpenAI) -> None:
    raw = client.completions.with_raw_response.create(model=MODEL, prompt="Say this is a test")
    completion = raw.parse()
    conforms(raw.http_response.json())
    assert completion.object == "text_completion" and completion.id.startswith("cmpl-")
    choice = completion.choices[0]
    vocabulary = tokenizer("cl100k_base")
    assert choice.finish_reason == "length" and vocabulary.count(choice.text) == 16 == completion.usage.completion_tokens
    assert completion.usage.prompt_tokens == vocabulary.count("Say this is a test")
    longer = client.completions.create(model=MODEL, prompt="Say this is a test", max_tokens=400)
    assert longer.choices[0].finish_reason == "stop" and longer.choices[0].text.startswith(choice.text)


def test_echo_and_logprobs(client: openai.OpenAI) -> None:
    prompt = "Once upon a time"
    raw = client.completions.with_raw_response.create(model=MODEL, prompt=prompt, echo=True, logprobs=3, max_tokens=5)
    conforms(raw.http_response.json())
    completion = raw.parse()
    choice = completion.choices[0]
    logprobs = choice.logprobs
    assert logprobs is not None and choice.text.startswith(prompt)
    assert "".join(logprobs.tokens or []) == choice.text
    offsets = logprobs.text_offset or []
    assert offsets[0] == 0 and all(choice.text[offset:].startswith(token)
                                   for offset, token in zip(offsets, logprobs.tokens or [], strict=True))
    assert all(value <= 0 for value in logprobs.token_logprobs or [])
    answer_tops = (logprobs.top_logprobs or [])[len(tokenizer("cl100k_base").encode(prompt)):]
    assert len(answer_tops) == 5 and all(len(top) == 3 for top in answer_tops)


def test_several_prompts_n_and_best_of(client: openai.OpenAI) -> None:
    raw = client.completions.with_raw_response.create(model=MODEL, prompt=["First prompt", "Second prompt"], n=2,
                                                      best_of=3, max_tokens=6)
    conforms(raw.http_response.json())
    completion = raw.parse()
    assert [choice.index for choice in completion.choices] == [0, 1, 2, 3]
    assert len({choice.text for choice in completion.choices}) == 4
    assert completion.usage.completion_tokens == 2 * 3 * 6  # every candidate is billed
    with pytest.raises(openai.BadRequestError) as refused:
        client.completions.create(model=MODEL, prompt="x", n=3, best_of=2)
    assert refused.value.body["param"] == "best_of"  # type: ignore[index]


def test_token_prompts_are_decoded(client: openai.OpenAI) -> None:
    tokens = tokenizer("cl100k_base").encode("Hello there")
    by_tokens = client.completions.create(model=MODEL, prompt=tokens, echo=True, max_tokens=3)
    by_text = client.completions.create(model=MODEL, prompt="Hello there", echo=True, max_tokens=3)
    assert by_tokens.choices[0].text == by_text.choices[0].text and by_tokens.choices[0].text.startswith("Hello there")
    with pytest.raises(openai.BadRequestError) as refused:
        client.completions.create(model=MODEL, prompt=[10**9])
    assert refused.value.body["param"] == "prompt"  # type: ignore[index]


def test_stop_cuts_the_text(client: openai.OpenAI) -> None:
    whole = client.completions.create(model=MODEL, prompt="Go", max_tokens=200).choices[0].text
    word = whole.split()[3]
    cut = client.completions.create(model=MODEL, prompt="Go", max_tokens=200, stop=[word]).choices[0]
    assert cut.finish_reason == "stop" and word not in cut.text and whole.startswith(cut.text)


def test_the_same_request_and_seed_give_the_same_text(client: openai.OpenAI) -> None:
    first, second = (client.completions.create(model=MODEL, prompt="Seeded", seed=4, max_tokens=30) for _ in range(2))
    other = client.completions.create(model=MODEL, prompt="Seeded", seed=5, max_tokens=30)
    assert first.choices[0].text == second.choices[0].text != other.choices[0].text


def test_a_stream_adds_up_to_the_answer(client: openai.OpenAI) -> None:
    whole = client.completions.create(model=MODEL, prompt="Stream me", max_tokens=12, logprobs=1)
    chunks = list(client.completions.create(model=MODEL, prompt="Stream me", max_tokens=12, logprobs=1, stream=True,
                                            stream_options={"include_usage": True}))
    for chunk in chunks:  # the spec has no chunk schema: a chunk is the answer's shape, finish_reason null until the end
        conforms({**chunk.model_dump(exclude_none=True), "choices": [
            {"finish_reason": "stop", "logprobs": None, **choice.model_dump(exclude_none=True)}
            for choice in chunk.choices]})
    text = "".join(chunk.choices[0].text for chunk in chunks if chunk.choices)
    assert text == whole.choices[0].text and chunks[-2].choices[0].finish_reason == "length"
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage
    assert len({chunk.id for chunk in chunks}) == 1


def test_scripted_replies_apply(client: openai.OpenAI) -> None:
    completion = client.completions.create(model=MODEL, prompt="Anything", max_tokens=50,
                                           extra_headers={"X-Mock-Reply": "Exactly this."})
    assert completion.choices[0].text == "Exactly this."


def test_a_chat_model_is_refused_as_the_api_does(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as refused:
        client.completions.create(model="gpt-4o", prompt="x")
    assert "chat model" in refused.value.body["message"] and refused.value.body["param"] == "model"  # type: ignore[index]


def test_the_candidates_a_request_asks_for_are_bounded(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.completions.create(model=MODEL, prompt=["x"] * 20, best_of=20, n=1)
    assert refused.value.body["param"] == "prompt" and "400 completions" in refused.value.body["message"]  # type: ignore[index]

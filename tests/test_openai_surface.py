"""Stored completions, model deletion and embeddings through the official SDK."""

from __future__ import annotations

import base64
import math
import struct

import openai
import pytest

from mockserver import MockServer
from mockserver.conformance import validate_official

HELLO = [{"role": "user", "content": "Hello there"}]


@pytest.fixture(scope="module")
def stored_client() -> openai.OpenAI:
    with MockServer() as server:
        yield openai.OpenAI(base_url=server.url, api_key="sk-store", max_retries=0)


def test_stored_completion_lifecycle(stored_client: openai.OpenAI, ) -> None:
    client = stored_client
    created = [
        client.chat.completions.create(
            model=model, messages=HELLO, store=True, metadata={"suite": "surface", "n": str(i)}
        )
        for i, model in enumerate(["gpt-4o", "gpt-4o-mini", "gpt-4o"])
    ]
    client.chat.completions.create(model="gpt-4o", messages=HELLO)  # not stored
    fetched = client.chat.completions.retrieve(created[0].id)
    assert fetched.choices[0].message.content == created[0].choices[0].message.content
    assert fetched.metadata == {"suite": "surface", "n": "0"}

    listed = client.chat.completions.list(model="gpt-4o", metadata={"suite": "surface"})
    assert [item.id for item in listed.data] == [created[0].id, created[2].id]
    first_page = client.chat.completions.with_raw_response.list(limit=2)
    raw = first_page.http_response.json()
    validate_official("ChatCompletionList", raw)
    assert raw["has_more"] is True and raw["first_id"] == created[0].id and raw["last_id"] == created[1].id
    every = [item.id for item in client.chat.completions.list(limit=1)]  # auto-pagination follows `after`
    assert every == [c.id for c in created]
    newest_first = client.chat.completions.list(order="desc", limit=1)
    assert newest_first.data[0].id == created[2].id

    updated = client.chat.completions.update(created[1].id, metadata={"reviewed": "yes"})
    assert updated.metadata == {"reviewed": "yes"}

    messages = client.chat.completions.messages.with_raw_response.list(created[0].id).http_response.json()
    assert messages["object"] == "list" and messages["data"][0]["content"] == "Hello there"
    assert messages["data"][0]["id"] == f"{created[0].id}-0"

    deleted = client.chat.completions.delete(created[0].id)
    assert deleted.deleted is True and deleted.object == "chat.completion.deleted"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.retrieve(created[0].id)


def test_streamed_completion_is_stored_too(stored_client: openai.OpenAI) -> None:
    stream = stored_client.chat.completions.create(model="gpt-4o", messages=HELLO, store=True, stream=True)
    chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert stored_client.chat.completions.retrieve(chunks[0].id).choices[0].message.content == text


def test_fine_tuned_models_delete_once(client: openai.OpenAI, http) -> None:
    model_id = "ft:gpt-4o-mini:acme:suffix:abc123"
    raw = http.delete(f"/v1/models/{model_id}").json()
    validate_official("DeleteModelResponse", raw)
    assert raw == {"id": model_id, "object": "model", "deleted": True}
    with pytest.raises(openai.NotFoundError):
        client.models.delete(model_id)
    with pytest.raises(openai.NotFoundError) as raised:
        client.models.delete("gpt-4o")
    assert raised.value.code == "model_not_found"


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=False))


def test_embeddings_are_unit_length_similar_for_similar_text(client: openai.OpenAI, http) -> None:
    texts = ["the cat sat on the mat", "the cat sat on a mat", "quantum chromodynamics lecture notes"]
    response = client.embeddings.create(model="text-embedding-3-small", input=texts, encoding_format="float")
    vectors = [item.embedding for item in response.data]
    assert all(len(vector) == 1536 for vector in vectors)
    assert all(math.isclose(math.sqrt(_cosine(v, v)), 1.0, rel_tol=1e-6) for v in vectors)
    assert _cosine(vectors[0], vectors[1]) > 0.6 > _cosine(vectors[0], vectors[2])
    assert response.usage.prompt_tokens == response.usage.total_tokens > 0
    raw = http.post("/v1/embeddings", json={"model": "text-embedding-3-large", "input": "hi", "dimensions": 8}).json()
    validate_official("CreateEmbeddingResponse", raw)
    assert len(raw["data"][0]["embedding"]) == 8


def test_embeddings_base64_and_token_input(client: openai.OpenAI, http) -> None:
    plain = http.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": "hello", "dimensions": 4}).json()
    packed = http.post(
        "/v1/embeddings",
        json={"model": "text-embedding-3-small", "input": "hello", "dimensions": 4, "encoding_format": "base64"},
    ).json()
    decoded = struct.unpack("<4f", base64.b64decode(packed["data"][0]["embedding"]))
    assert decoded == pytest.approx(plain["data"][0]["embedding"], rel=1e-6)
    # The SDK asks for base64 by default and decodes it itself.
    sdk = client.embeddings.create(model="text-embedding-3-small", input="hello", dimensions=4)
    assert sdk.data[0].embedding == pytest.approx(plain["data"][0]["embedding"], rel=1e-6)
    tokens = client.embeddings.create(model="text-embedding-3-small", input=[[1, 2, 3], [4, 5]])
    assert len(tokens.data) == 2 and tokens.usage.prompt_tokens == 5


def test_embeddings_dimensions_only_for_v3_models(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.embeddings.create(model="text-embedding-ada-002", input="hi", dimensions=8)
    assert raised.value.param == "dimensions"

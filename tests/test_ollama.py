"""Ollama's native API through the official ``ollama`` client, over a socket, and its wire checked against the
client's own types (vendored in ``schemas/ollama``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import ollama
import pytest
import yaml
from pydantic import BaseModel

from mockserver import MockServer

from helpers import module_server, reset_server, vendored_conformance

HELLO = {"model": "llama3.2", "messages": [{"role": "user", "content": "Hello there"}]}


conforms = vendored_conformance("ollama")


server = module_server(seed=7)
mock = reset_server


@pytest.fixture()
def client(mock: MockServer) -> Iterator[ollama.Client]:
    made = ollama.Client(host=mock.origin)
    yield made
    made._client.close()


def post(mock: MockServer, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(f"{mock.origin}/api/{path}", json=body, headers=headers, timeout=10)


def lines(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.text.endswith("\n")
    return [json.loads(line) for line in response.text.splitlines()]


def test_chat_plain_and_streamed_give_the_same_answer(mock: MockServer, client: ollama.Client) -> None:
    whole = client.chat(model="llama3.2", messages=HELLO["messages"])
    assert whole.done and whole.done_reason == "stop" and whole.message.role == "assistant"
    assert whole.eval_count and whole.prompt_eval_count and whole.total_duration > whole.eval_duration
    parts = list(client.chat(model="llama3.2", messages=HELLO["messages"], stream=True))
    assert "".join(part.message.content for part in parts) == whole.message.content
    assert parts[-1].done and not any(part.done for part in parts[:-1])
    streamed = lines(post(mock, "chat", HELLO))
    for line in streamed:
        conforms("ChatResponse", line)
    single = post(mock, "chat", {**HELLO, "stream": False})
    assert single.headers["content-type"] == "application/json"
    conforms("ChatResponse", single.json())


def test_tools_run_to_an_answer(mock: MockServer, client: ollama.Client) -> None:
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    messages: list[Any] = [{"role": "user", "content": "Add 2 and 3"}]
    called = client.chat(model="llama3.2", messages=messages, tools=[add])
    calls = called.message.tool_calls
    assert calls and calls[0].function.name == "add" and isinstance(calls[0].function.arguments["a"], int)
    messages.append(called.message)
    messages += [{"role": "tool", "content": str(add(**call.function.arguments)), "tool_name": call.function.name}
                 for call in calls]
    answered = client.chat(model="llama3.2", messages=messages, tools=[add])
    assert answered.message.content and not answered.message.tool_calls
    streamed = lines(post(mock, "chat", {**HELLO, "messages": messages[:1], "tools": [{"type": "function", "function": {
        "name": "add", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}}]}))
    assert any(line["message"].get("tool_calls") for line in streamed)
    for line in streamed:
        conforms("ChatResponse", line)


def test_format_json_and_a_schema(client: ollama.Client) -> None:
    class Pet(BaseModel):
        name: str
        age: int

    pet = client.chat(model="llama3.2", messages=[{"role": "user", "content": "A pet"}],
                      format=Pet.model_json_schema())
    assert Pet.model_validate_json(pet.message.content)
    anything = client.chat(model="llama3.2", messages=[{"role": "user", "content": "A pet"}], format="json")
    assert isinstance(json.loads(anything.message.content), dict)


def test_options_thinking_and_their_refusals(mock: MockServer, client: ollama.Client) -> None:
    cut = client.chat(model="llama3.2", messages=HELLO["messages"], options={"num_predict": 4})
    assert cut.done_reason == "length" and cut.eval_count <= 4
    thought = client.chat(model="qwen3", messages=HELLO["messages"], think=True)
    assert thought.message.thinking and thought.message.content
    plain = client.chat(model="qwen3", messages=HELLO["messages"])
    assert not plain.message.thinking
    with pytest.raises(ollama.ResponseError) as refused:
        client.chat(model="llama3.2", messages=HELLO["messages"], think=True)
    assert refused.value.status_code == 400 and "does not support thinking" in refused.value.error
    same = [client.chat(model="llama3.2", messages=HELLO["messages"], options={"seed": 4}).message.content
            for _ in range(2)]
    assert same[0] == same[1]


def test_generate_with_its_context(mock: MockServer, client: ollama.Client) -> None:
    first = client.generate(model="llama3.2", prompt="Why is the sky blue?")
    assert first.response and first.context and first.done
    following = client.generate(model="llama3.2", prompt="And at night?", context=first.context)
    assert following.response != first.response
    for line in lines(post(mock, "generate", {"model": "llama3.2", "prompt": "Hi"})):
        conforms("GenerateResponse", line)
    loaded = post(mock, "generate", {"model": "llama3.2"}).json()
    assert loaded["done_reason"] == "load" and loaded["response"] == ""


def test_embeddings(mock: MockServer, client: ollama.Client) -> None:
    batch = client.embed(model="nomic-embed-text", input=["a cat sat", "a cat sat down"])
    first, second = batch.embeddings
    assert len(first) == 768 and sum(a * b for a, b in zip(first, second, strict=True)) > 0.5
    conforms("EmbedResponse", post(mock, "embed", {"model": "nomic-embed-text", "input": "x"}).json())
    old = client.embeddings(model="nomic-embed-text", prompt="a cat sat")
    assert list(old.embedding) == list(first)


def test_the_model_library_lists_shows_pulls_copies_and_deletes(mock: MockServer, client: ollama.Client) -> None:
    listed = httpx.get(mock.origin + "/api/tags").json()
    conforms("ListResponse", listed)
    names = {model["name"] for model in listed["models"]}
    assert "llama3.2:latest" in names
    shown = client.show("llama3.2")
    assert "tools" in shown.capabilities and shown.details.format == "gguf"
    conforms("ShowResponse", post(mock, "show", {"model": "llama3.2"}).json())
    progress = list(client.pull("phi3", stream=True))
    assert progress[0].status == "pulling manifest" and progress[-1].status == "success"
    assert any(step.completed == step.total for step in progress if step.total)
    for line in lines(post(mock, "pull", {"model": "phi3"})):
        conforms("ProgressResponse", line)
    assert "phi3:latest" in {model.model for model in client.list().models}
    assert client.copy("llama3.2", "mine").status == "success"
    assert client.create(model="pirate", from_="llama3.2", system="Talk like a pirate").status == "success"
    assert {"mine:latest", "pirate:latest"} <= {model.model for model in client.list().models}
    assert client.chat(model="pirate", messages=HELLO["messages"]).message.content
    assert client.delete("mine").status == "success"
    with pytest.raises(ollama.ResponseError) as gone:
        client.chat(model="mine", messages=HELLO["messages"])
    assert gone.value.status_code == 404 and "try pulling it first" in gone.value.error
    conforms("VersionResponse", httpx.get(mock.origin + "/api/version").json())
    running = httpx.get(mock.origin + "/api/ps").json()
    conforms("ProcessResponse", running)
    assert {model["name"] for model in running["models"]} == {"pirate:latest"}  # what answered lately
    mock.advance(600)
    assert httpx.get(mock.origin + "/api/ps").json()["models"] == []  # unloaded after their keep-alive


def test_errors_are_ollamas_envelope(mock: MockServer, client: ollama.Client) -> None:
    missing = post(mock, "chat", {"messages": []})
    assert missing.status_code == 400 and set(missing.json()) == {"error"} and "model" in missing.json()["error"]
    wrong = post(mock, "chat", {"model": "llama3.2", "messages": "no"})
    assert wrong.status_code == 400 and "messages" in wrong.json()["error"]
    with pytest.raises(ollama.ResponseError) as unknown:
        client.chat(model="not-here", messages=HELLO["messages"])
    assert unknown.value.status_code == 404
    mock.fail(500, times=1)
    with pytest.raises(ollama.ResponseError) as failed:
        client.chat(model="llama3.2", messages=HELLO["messages"])
    assert failed.value.status_code == 500
    mock.rate_limit(times=1)
    limited = post(mock, "chat", HELLO)
    assert limited.status_code == 429 and set(limited.json()) == {"error"}
    assert not any(name.startswith("x-ratelimit") for name in limited.headers)


HOSTILE = [
    ("chat", {"model": "llama3.2", "messages": "hi"}), ("chat", {"model": 5}),
    ("chat", {"model": "llama3.2", "messages": [{"role": "user", "content": 5}], "options": "x", "format": 7}),
    ("generate", {"model": "llama3.2", "prompt": 5, "context": ["a"]}),
    ("generate", {"model": "llama3.2", "prompt": "x", "context": [99999999]}),
    ("embed", {"model": "nomic-embed-text", "input": 5}), ("embed", {"model": "nomic-embed-text", "input": ["x"],
                                                                     "dimensions": 100_000}),
    ("embeddings", {"model": "nomic-embed-text", "prompt": 5}), ("show", {}), ("pull", {"model": 7}),
    ("create", {"model": "x"}), ("copy", {"source": 1, "destination": []}), ("show", {"model": "nope"}),
]


@pytest.mark.parametrize("validation", ["strict", "schema", "off"])
def test_every_validation_mode_answers_bad_bodies_without_a_server_error(validation: str) -> None:
    """strict and schema: a 4xx in Ollama's envelope naming the field; off: what the mock can make of the body, or
    a 4xx; never a 5xx. Under schema (contract tests) a model the mock does not have is described from its name."""
    with MockServer(validation=validation) as server:
        for path, body in HOSTILE:
            answer = post(server, path, body)
            assert answer.status_code < 500, (validation, path, body, answer.text)
            if answer.status_code >= 400:
                conforms("ErrorResponse", answer.json())
            elif validation != "off":
                assert (path, body) == ("show", {"model": "nope"}) and validation == "schema", (path, body)
        if validation == "strict":
            assert post(server, "chat", HOSTILE[0][1]).json()["error"] == \
                "invalid messages: expected an array, but got a string instead."
            assert post(server, "embed", HOSTILE[6][1]).json()["error"].startswith("invalid dimensions: 100000")


def test_stream_faults_act_on_lines(mock: MockServer, client: ollama.Client) -> None:
    broken = lines(post(mock, "chat", HELLO, **{"X-Mock-Fault": "error_event;after_chunks=2"}))
    assert len(broken) == 3 and set(broken[-1]) == {"error"}
    conforms("ErrorResponse", broken[-1])
    faulted = ollama.Client(host=mock.origin, headers={"X-Mock-Fault": "error_event;after_chunks=2"})
    with pytest.raises(ollama.ResponseError):
        for _ in faulted.chat(model="llama3.2", messages=HELLO["messages"], stream=True):
            pass
    faulted._client.close()
    garbled = post(mock, "chat", HELLO, **{"X-Mock-Fault": "malformed;after_chunks=1"})
    with pytest.raises(json.JSONDecodeError):
        lines(garbled)
    assert mock.requests[-1].chunks_sent >= 2


def test_scripts_and_fixture_rules_match_on_what_an_ollama_request_says(mock: MockServer,
                                                                         client: ollama.Client) -> None:
    mock.reply("For the prompt", match={"message_contains": "sky", "model": "llama3.2"})
    mock.add_fixture({"rules": [{"match": {"system_contains": "pirate"}, "reply": "Arr"}]})
    assert client.generate(model="llama3.2", prompt="Why is the sky blue?").response == "For the prompt"
    assert client.chat(model="llama3.2", messages=[{"role": "system", "content": "You are a pirate"},
                                                   {"role": "user", "content": "Hi"}]).message.content == "Arr"
    mock.tool_call("add", {"a": 1, "b": 2})
    called = client.chat(model="llama3.2", messages=HELLO["messages"], tools=[{"type": "function", "function": {
        "name": "add", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}}])
    assert called.message.tool_calls[0].function.arguments == {"a": 1, "b": 2}


def test_it_answers_at_the_root_and_on_its_mount_without_a_key(mock: MockServer) -> None:
    for prefix in ("/api", "/ollama/api"):
        answer = httpx.post(mock.origin + prefix + "/chat", json={**HELLO, "stream": False})
        assert answer.status_code == 200, (prefix, answer.text)
    assert mock.requests[-1].dialect == "ollama" and mock.requests[-1].tokens_in
    with MockServer(api_key=["right"]) as locked:
        assert httpx.post(locked.origin + "/api/chat", json=HELLO).status_code == 401
        assert httpx.post(locked.origin + "/api/chat", json=HELLO,
                          headers={"authorization": "Bearer right"}).status_code == 200


def test_recorded_from_an_ollama_upstream_and_replayed_line_for_line(tmp_path: Path) -> None:
    with MockServer(seed=201) as upstream, MockServer(
            seed=202, record=str(tmp_path), upstream=[f"ollama={upstream.origin}/api"]) as recorder:
        plain = post(recorder, "chat", {**HELLO, "stream": False}, **{"X-Mock-Test-Id": "llama"})
        streamed = post(recorder, "chat", HELLO, **{"X-Mock-Test-Id": "llama"})
        assert [exchange.path for exchange in upstream.requests] == ["/api/chat"] * 2
    tape = yaml.safe_load((tmp_path / "llama.yaml").read_text())
    assert tape["interactions"][1]["turn"]["text"] == plain.json()["message"]["content"]
    with MockServer(seed=999, cassettes=str(tmp_path)) as replayer:
        assert post(replayer, "chat", {**HELLO, "stream": False}, **{"X-Mock-Test-Id": "llama"}).json() == plain.json()
        again = post(replayer, "chat", HELLO, **{"X-Mock-Test-Id": "llama"})
        assert again.content == streamed.content and lines(again)[-1]["done"]


def test_same_seed_same_bytes_across_servers() -> None:
    answers = []
    for _ in range(2):
        with MockServer(seed=3, freeze_time=True) as fresh:
            answers.append((post(fresh, "chat", HELLO).content, post(fresh, "generate",
                                                                      {"model": "llama3.2", "prompt": "Hi"}).content))
    assert answers[0] == answers[1]

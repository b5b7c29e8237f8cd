"""The spec engine: every operation of OpenAI's spec answers, with state that behaves, through the real SDK.

The server is a real uvicorn on loopback (``MockServer``); every answer the engine gives is checked against
the official response schema of its operation.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest

from mockserver import MockServer
from mockserver.conformance import official_document, schema_validator
from mockserver.endpoints import endpoints_for
from mockserver.endpoints.engine.operations import JSON, Operation, load_operations
from mockserver.generation import jsongen

from helpers import API_KEY

AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(seed=7) as running:
        yield running


@pytest.fixture
def client(server: MockServer) -> Iterator[openai.OpenAI]:
    server.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the Assistants API is deprecated, not gone
        yield openai.OpenAI(base_url=server.url, api_key=API_KEY, max_retries=0)


def conforms(operation_id: str, answer: Any) -> None:
    operation = next(operation for operation in load_operations() if operation.id == operation_id)
    assert operation.response_schema is not None
    errors = [f"{error.json_path}: {error.message}" for error in schema_validator(operation.response_schema)
              .iter_errors(answer)]
    assert not errors, f"{operation_id} answered outside its schema:\n" + "\n".join(errors[:5])


def test_a_file_keeps_its_bytes_until_it_is_deleted(client: openai.OpenAI) -> None:
    data = b'{"custom_id": "a", "method": "POST"}\n' * 3
    created = client.files.create(file=("input.jsonl", data), purpose="batch")
    assert created.id.startswith("file-") and created.filename == "input.jsonl" and created.bytes == len(data)
    assert created.purpose == "batch" and created.status == "processed" and created.object == "file"
    assert client.files.retrieve(created.id) == created
    assert client.files.content(created.id).read() == data
    assert [listed.id for listed in client.files.list()] == [created.id]
    deleted = client.files.delete(created.id)
    assert deleted.id == created.id and deleted.deleted is True
    with pytest.raises(openai.NotFoundError) as missing:
        client.files.retrieve(created.id)
    assert missing.value.body["message"] == f"No file found with id '{created.id}'."  # type: ignore[index]
    assert list(client.files.list()) == []


def test_nested_resources_belong_to_their_parent(client: openai.OpenAI) -> None:
    file = client.files.create(file=("notes.txt", b"hello"), purpose="assistants")
    store = client.vector_stores.create(name="docs", metadata={"team": "qa"})
    assert store.id.startswith("vs_") and store.name == "docs" and store.metadata == {"team": "qa"}
    attached = client.vector_stores.files.create(store.id, file_id=file.id)
    assert attached.id == file.id and attached.vector_store_id == store.id and attached.status == "in_progress"
    assert [item.id for item in client.vector_stores.files.list(store.id)] == [file.id]
    renamed = client.vector_stores.update(store.id, name="renamed")
    assert renamed.name == "renamed" and client.vector_stores.retrieve(store.id).name == "renamed"
    client.vector_stores.delete(store.id)
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.retrieve(file.id, vector_store_id=store.id)
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.list("vs_never_made").data  # noqa: B018 - the parent must exist


def test_threads_messages_and_an_action(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o", name="helper", instructions="Be brief.")
    assert assistant.id.startswith("asst_") and assistant.name == "helper" and assistant.model == "gpt-4o"
    thread = client.beta.threads.create()
    message = client.beta.threads.messages.create(thread.id, role="user", content="Hi")
    assert message.id.startswith("msg_") and message.thread_id == thread.id and message.role == "user"
    batch_file = client.files.create(file=("b.jsonl", b"{}\n"), purpose="batch")
    batch = client.batches.create(input_file_id=batch_file.id, endpoint="/v1/chat/completions",
                                  completion_window="24h")
    assert batch.id.startswith("batch_") and batch.input_file_id == batch_file.id
    cancelled = client.batches.cancel(batch.id)
    assert cancelled.id == batch.id and cancelled.status in ("cancelled", "cancelling")
    assert client.batches.retrieve(batch.id).status == cancelled.status


def test_lists_page_newest_first_with_after_and_limit(client: openai.OpenAI) -> None:
    made = [client.beta.assistants.create(model="gpt-4o", name=f"a{index}").id for index in range(5)]
    first = client.beta.assistants.list(limit=2)
    assert [item.id for item in first.data] == made[::-1][:2] and first.has_more is True
    assert [item.id for item in client.beta.assistants.list(limit=2)] == made[::-1]  # auto-paging follows `after`
    oldest_first = client.beta.assistants.list(order="asc", limit=10)
    assert [item.id for item in oldest_first.data] == made and oldest_first.has_more is False


def test_an_empty_list_names_no_first_or_last_item(server: MockServer) -> None:
    """As the live API: null, never an id nothing has (the spec types them as strings; the mock's reading of the
    official schemas makes every list's ``first_id``/``last_id`` nullable, documented in ``conformance``)."""
    server.reset()
    for path, operation_id in (("/assistants", "listAssistants"), ("/vector_stores", "listVectorStores")):
        listed = httpx2.get(server.url + path, headers={**AUTH, "OpenAI-Beta": "assistants=v2"}).json()
        assert listed["data"] == [] and listed["first_id"] is None and listed["last_id"] is None, listed
        assert listed["has_more"] is False
        conforms(operation_id, listed)


def test_same_request_same_answer(server: MockServer) -> None:
    """Determinism: the same call twice (time frozen) gives the same body, id included."""
    with MockServer(seed=3, freeze_time=True) as frozen, httpx2.Client(base_url=frozen.url, headers=AUTH) as http:
        body = {"input": "I want to hurt them.", "model": "omni-moderation-latest"}
        assert http.post("/moderations", json=body).json() == http.post("/moderations", json=body).json()
        made = http.post("/vector_stores", json={"name": "x"}).json()
        frozen.reset()
        assert http.post("/vector_stores", json={"name": "x"}).json() == made


def test_bad_bodies_are_a_400_naming_the_field(server: MockServer) -> None:
    with httpx2.Client(base_url=server.url, headers=AUTH) as http:
        missing = http.post("/vector_stores/vs_1/files", json={})  # the body is checked before the parent
        wrong = http.post("/batches", json={"input_file_id": 5, "endpoint": "/v1/chat/completions",
                                            "completion_window": "24h"})
        as_list = http.post("/vector_stores", json=[1])
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "file_id"
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "input_file_id"
    assert as_list.status_code == 400 and as_list.json()["error"]["code"] == "invalid_type"


def test_the_control_plane_reaches_spec_operations(server: MockServer) -> None:
    with httpx2.Client(base_url=server.url, headers=AUTH) as http:
        limited = http.get("/files", headers={"X-Mock-Fault": "rate_limit;retry_after_ms=5"})
        assert limited.status_code == 429 and limited.headers["retry-after-ms"] == "5"
        assert http.get("/files", headers={"X-Mock-Fault": "http_error;status=503"}).status_code == 503
    seen = [exchange for exchange in server.requests if exchange.path == "/v1/files"]
    assert [exchange.status for exchange in seen][-2:] == [429, 503]
    assert seen[-1].endpoint == "spec.listFiles"


def valid_body(operation: Operation, index: int) -> dict[str, Any] | None:
    """A body the operation's request schema accepts, drawn by the mock's own generator (None: it takes none)."""
    schema = operation.json_request
    if schema is None:
        return None
    root = {"$defs": official_document()["$defs"], **schema}
    try:
        body = jsongen.generate(root, random.Random(index))
    except jsongen.SchemaUnsupported:
        return {}
    return body if isinstance(body, dict) else {}


@pytest.mark.parametrize("validation", ["schema", "strict"])
def test_every_operation_of_the_spec_answers(validation: str) -> None:
    """Each operation, called with the path the spec gives it and a body its request schema accepts,
    answers (never an unknown URL, never a 5xx), and every JSON answer conforms to its operation's response
    schema. Strict validation then answers the made-up ids with 404s, which must be the envelope."""
    unanswered, outside, refused = [], [], []
    with MockServer(validation=validation, seed=5) as running, httpx2.Client(base_url=running.url, headers=AUTH,
                                                                           timeout=30) as http:
        served = {endpoint.operation.id for endpoint in endpoints_for(running.state.dialects["openai"].endpoints)
                  if endpoint.operation is not None}
        assert len(served) > 250
        for index, operation in enumerate(load_operations()):
            if operation.id not in served:  # a hand-written endpoint, tested with its family
                continue
            path = operation.path.replace("{", "x_").replace("}", "")
            if operation.json_request is not None:
                response = http.request(operation.method, path, json=valid_body(operation, index))
            elif operation.form_request is not None:
                fields = {name: "x" for name in _required(operation.form_request) if name != "file"}
                response = http.request(operation.method, path, data=fields,
                                        files={"file": ("upload.jsonl", b'{"a": 1}\n', "application/jsonl")})
            else:
                response = http.request(operation.method, path)
            answer = response.json() if response.headers.get("content-type", "").startswith(JSON) else None
            error = answer.get("error") if isinstance(answer, dict) else None
            if response.status_code >= 500 or (isinstance(error, dict) and error.get("code") == "unknown_url"):
                unanswered.append(f"{operation.method} {operation.path}: {response.status_code}")
            elif response.status_code < 300 and operation.response_schema is not None and answer is not None:
                problem = next(iter(schema_validator(operation.response_schema).iter_errors(answer)), None)
                if problem is not None:
                    outside.append(f"{operation.id}: {problem.json_path}: {problem.message[:120]}")
            elif response.status_code >= 400:
                refused.append(operation.id)
                assert isinstance(error, dict) and set(error) >= {"message", "type", "param", "code"}, answer
    assert not unanswered, unanswered
    assert not outside, "\n".join(outside)
    if validation == "schema":  # made-up ids are answered: only a body the generator could not draw is refused
        assert len(refused) < 15, refused


def _required(schema: dict[str, Any]) -> list[str]:
    from mockserver.endpoints.engine.schemas import resolved

    return list(resolved(schema).get("required", []))


def test_state_survives_a_restart_with_a_state_dir(tmp_path: Any) -> None:
    """--state-dir: files (bytes included), vector stores and their files are on disk, and so is a delete."""
    with MockServer(state_dir=str(tmp_path)) as first:
        client = openai.OpenAI(base_url=first.url, api_key=API_KEY, max_retries=0)
        kept = client.files.create(file=("kept.txt", b"kept bytes"), purpose="assistants")
        gone = client.files.create(file=("gone.txt", b"gone"), purpose="assistants")
        store = client.vector_stores.create(name="docs")
        client.vector_stores.files.create(store.id, file_id=kept.id)
        client.files.delete(gone.id)
    with MockServer(state_dir=str(tmp_path)) as second:
        client = openai.OpenAI(base_url=second.url, api_key=API_KEY, max_retries=0)
        assert client.files.retrieve(kept.id) == kept
        assert client.files.content(kept.id).read() == b"kept bytes"
        assert [item.id for item in client.files.list()] == [kept.id]
        assert [item.id for item in client.vector_stores.files.list(store.id)] == [kept.id]
        with pytest.raises(openai.NotFoundError):
            client.files.retrieve(gone.id)
        client.vector_stores.delete(store.id)
        second.reset()
        assert list(client.files.list()) == []


def test_moderation_flags_exactly_what_the_input_names(client: openai.OpenAI) -> None:
    from mockserver.endpoints.engine.semantics import MODERATION_CATEGORIES

    answer = client.moderations.create(model="omni-moderation-latest", input=[
        "A sunny walk in the park.", "This names flag:violence/graphic and flag:harassment.",
    ])
    calm, flagged = answer.results
    assert answer.model == "omni-moderation-latest" and answer.id.startswith("modr-")
    assert calm.flagged is False and not any(calm.categories.model_dump(by_alias=True).values())
    named = {name for name, value in flagged.categories.model_dump(by_alias=True).items() if value}
    assert flagged.flagged is True and named == {"violence", "violence/graphic", "harassment"}
    for result in (calm, flagged):
        scores = result.category_scores.model_dump(by_alias=True)
        flags = result.categories.model_dump(by_alias=True)
        assert set(scores) == set(MODERATION_CATEGORIES)
        assert all((scores[name] > 0.5) == flags[name] for name in MODERATION_CATEGORIES)
        assert result.category_applied_input_types.model_dump(by_alias=True)["violence"] == ["text"]
    image = client.moderations.create(model="omni-moderation-latest", input=[
        {"type": "text", "text": "flag:sexual"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}])
    applied = image.results[0].category_applied_input_types.model_dump(by_alias=True)
    assert applied["sexual"] == ["text", "image"] and applied["hate"] == ["text"] and image.results[0].flagged
    conforms("createModeration", image.model_dump(by_alias=True, exclude_unset=True))

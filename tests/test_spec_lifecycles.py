"""Long-running resources of the spec engine move through their statuses, through openai-python over a socket.

The server runs with ``--job-schedule 0.2,0.6``: every resource's first status holds 0.2 s and its last is
reached at 0.6 s. No test sleeps: between two reads a poll moves the mock's clock one tick forward
(``MockServer.advance``), so every status is seen and the loop is bounded by its ticks. Every answer is checked
against the official schema of its operation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import openai
import pytest

from mockserver import MockServer
from mockserver.conformance import validate_official

from helpers import API_KEY, sdk_client

SCHEDULE = "0.2,0.6"
T = TypeVar("T")


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the Assistants API is deprecated, not gone


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(seed=5, job_schedule=SCHEDULE) as running:
        yield running


@pytest.fixture
def client(server: MockServer) -> openai.OpenAI:
    server.reset()
    return sdk_client(server.url)


def conforms(name: str, value: Any) -> None:
    validate_official(name, value.model_dump(mode="json", exclude_unset=True) if hasattr(value, "model_dump") else value)


TICK = 0.1


def poll(server: MockServer, read: Callable[[], T], done: Callable[[T], bool], ticks: int = 50) -> tuple[T, list[str]]:
    """Read until ``done``, moving the server's clock a tick after each read (at most ``ticks``); the value and
    every status seen on the way."""
    seen: list[str] = []
    for _ in range(ticks):
        value = read()
        status = str(getattr(value, "status", ""))
        if not seen or seen[-1] != status:
            seen.append(status)
        if done(value):
            break
        server.advance(TICK)
    return value, seen


def chat_line(custom_id: str, content: Any) -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]}}


def upload_lines(client: openai.OpenAI, lines: list[Any]) -> str:
    data = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines).encode()
    return client.files.create(file=("input.jsonl", data), purpose="batch").id


def test_a_batch_answers_each_line_of_its_input_file(server: MockServer, client: openai.OpenAI) -> None:
    file_id = upload_lines(client, [chat_line(f"request-{n}", f"Tell me about {word}")
                                    for n, word in enumerate(("tides", "moons", "stars"), 1)])
    batch = client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
    conforms("Batch", batch)
    assert batch.status == "validating" and batch.request_counts is not None and batch.request_counts.total == 3
    batch, seen = poll(server, lambda: client.batches.retrieve(batch.id), lambda found: found.status == "completed")
    path = ["validating", "in_progress", "finalizing", "completed"]
    assert seen[0] == "validating" and seen[-1] == "completed" and seen == sorted(seen, key=path.index)
    conforms("Batch", batch)
    assert batch.request_counts is not None and (batch.request_counts.completed, batch.request_counts.failed) == (3, 0)
    assert batch.in_progress_at and batch.finalizing_at and batch.completed_at and batch.error_file_id is None
    assert batch.usage is not None and batch.usage.output_tokens > 0
    output = client.files.retrieve(str(batch.output_file_id))
    assert output.purpose == "batch_output" and output.filename == f"{batch.id}_output.jsonl"
    lines = [json.loads(line) for line in client.files.content(output.id).text.splitlines()]
    assert [line["custom_id"] for line in lines] == ["request-1", "request-2", "request-3"]
    for line in lines:
        assert line["response"]["status_code"] == 200 and line["id"].startswith("batch_req_")
        conforms("CreateChatCompletionResponse", line["response"]["body"])
    direct = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Tell me about tides"}])
    assert lines[0]["response"]["body"]["choices"][0]["message"]["content"] == direct.choices[0].message.content


def test_a_line_its_endpoint_refuses_goes_to_the_error_file(server: MockServer, client: openai.OpenAI) -> None:
    file_id = upload_lines(client, [chat_line("good", "hello"), chat_line("bad", 42)])
    batch = client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
    batch, _ = poll(server, lambda: client.batches.retrieve(batch.id), lambda found: found.status == "completed")
    assert batch.request_counts is not None and (batch.request_counts.completed, batch.request_counts.failed) == (1, 1)
    (error,) = [json.loads(line) for line in client.files.content(str(batch.error_file_id)).text.splitlines()]
    assert error["custom_id"] == "bad" and error["response"]["status_code"] == 400
    assert error["response"]["body"]["error"]["param"].startswith("messages[0].content")


def test_a_malformed_input_file_fails_the_batch_naming_each_line(server: MockServer, client: openai.OpenAI) -> None:
    mismatched = {**chat_line("c", "x"), "url": "/v1/embeddings"}
    file_id = upload_lines(client, [chat_line("a", "fine"), "{not json", chat_line("a", "again"), mismatched])
    batch = client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
    batch, seen = poll(server, lambda: client.batches.retrieve(batch.id), lambda found: found.status == "failed")
    assert seen[-1] == "failed" and "in_progress" not in seen and batch.failed_at
    conforms("Batch", batch)
    assert batch.errors is not None
    assert [(error.line, error.code) for error in batch.errors.data or []] == [
        (2, "invalid_json_line"), (3, "duplicate_custom_id"), (4, "mismatched_endpoint")]


def test_a_cancelled_batch_stays_cancelled(server: MockServer, client: openai.OpenAI) -> None:
    file_id = upload_lines(client, [chat_line("a", "hi")])
    batch = client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
    cancelled = client.batches.cancel(batch.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at
    server.advance(0.7)
    assert client.batches.retrieve(batch.id).status == "cancelled"


def test_a_batch_needs_an_uploaded_input_file(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.batches.create(input_file_id="file-never", endpoint="/v1/chat/completions", completion_window="24h")
    assert refused.value.body["param"] == "input_file_id"  # type: ignore[index]


def test_embeddings_batches_answer_with_vectors(server: MockServer, client: openai.OpenAI) -> None:
    line = {"custom_id": "e", "method": "POST", "url": "/v1/embeddings",
            "body": {"model": "text-embedding-3-small", "input": "hello"}}
    batch = client.batches.create(input_file_id=upload_lines(client, [line]), endpoint="/v1/embeddings",
                                  completion_window="24h")
    batch, _ = poll(server, lambda: client.batches.retrieve(batch.id), lambda found: found.status == "completed")
    (answer,) = [json.loads(line) for line in client.files.content(str(batch.output_file_id)).text.splitlines()]
    assert len(answer["response"]["body"]["data"][0]["embedding"]) == 1536


def test_a_vector_store_completes_when_its_files_do(server: MockServer, client: openai.OpenAI) -> None:
    first = client.files.create(file=("a.txt", b"alpha"), purpose="assistants")
    second = client.files.create(file=("b.txt", b"beta beta"), purpose="assistants")
    store = client.vector_stores.create(name="kb", file_ids=[first.id, second.id])
    conforms("VectorStoreObject", store)
    assert store.status == "in_progress" and store.file_counts.in_progress == 2 and store.usage_bytes == 14
    store, seen = poll(server, lambda: client.vector_stores.retrieve(store.id), lambda found: found.status == "completed")
    assert seen[-1] == "completed" and seen == sorted(seen, key=["in_progress", "completed"].index)
    assert (store.file_counts.completed, store.file_counts.total) == (2, 2)
    attached = list(client.vector_stores.files.list(store.id))
    assert {item.id for item in attached} == {first.id, second.id} and {item.status for item in attached} == {"completed"}
    for item in attached:
        conforms("VectorStoreFileObject", item)
    third = client.files.create(file=("c.txt", b"gamma"), purpose="assistants")
    added = client.vector_stores.files.create(store.id, file_id=third.id)
    assert added.status == "in_progress" and added.usage_bytes == 5
    assert client.vector_stores.retrieve(store.id).status == "in_progress"
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.create(store.id, file_id="file-never-uploaded")


def test_a_file_batch_counts_its_files(server: MockServer, client: openai.OpenAI) -> None:
    store = client.vector_stores.create(name="batched")
    ids = [client.files.create(file=(f"{n}.txt", b"x" * n), purpose="assistants").id for n in (1, 2, 3)]
    batch = client.vector_stores.file_batches.create(store.id, file_ids=ids)
    conforms("VectorStoreFileBatchObject", batch)
    assert batch.status == "in_progress" and batch.file_counts.in_progress == 3
    batch, _ = poll(server, lambda: client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id),
                    lambda found: found.status == "completed")
    assert batch.file_counts.completed == 3
    listed = client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)
    assert {item.id for item in listed} == set(ids) and {item.status for item in listed} == {"completed"}
    assert client.vector_stores.retrieve(store.id).usage_bytes == 6


def test_a_fine_tuning_job_makes_a_model_that_chat_serves(server: MockServer, client: openai.OpenAI) -> None:
    # the create counts the training tokens: the tokenizer's first load (0.2 s) would outlast the 0.2 s first step
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "warm up"}])
    training = client.files.create(file=("train.jsonl", b'{"messages": [{"role": "user", "content": "hi"}]}\n'),
                                   purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=training.id, suffix="demo",
                                         hyperparameters={"n_epochs": 2})
    conforms("FineTuningJob", job)
    assert job.status == "validating_files" and job.fine_tuned_model is None
    job, seen = poll(server, lambda: client.fine_tuning.jobs.retrieve(job.id), lambda found: found.status == "succeeded")
    path = ["validating_files", "queued", "running", "succeeded"]  # polling may start past the first
    assert seen[-1] == "succeeded" and seen == sorted(seen, key=path.index)
    conforms("FineTuningJob", job)
    model = str(job.fine_tuned_model)
    assert model.startswith("ft:gpt-4o-mini-2024-07-18:mockserver:demo:") and job.finished_at and job.trained_tokens
    events = client.fine_tuning.jobs.list_events(job.id, limit=100).data
    assert events[0].message == "The job has successfully completed"
    assert events[-1].message == f"Validating training file: {training.id}"
    checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert [checkpoint.step_number for checkpoint in checkpoints] == [20, 10]
    assert checkpoints[0].fine_tuned_model_checkpoint == model
    metrics = client.files.content(job.result_files[0]).text
    assert metrics.startswith("step,train_loss,train_accuracy\n1,") and metrics.count("\n") == 21
    assert model in [listed.id for listed in client.models.list()]
    assert client.models.retrieve(model).id == model
    reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    assert reply.model == model and reply.choices[0].message.content
    assert client.models.delete(model).deleted is True
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    assert model not in [listed.id for listed in client.models.list()]


def test_a_model_no_job_made_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="ft:gpt-4o-mini:org::never", messages=[{"role": "user", "content": "hi"}])
    assert missing.value.body["code"] == "model_not_found"  # type: ignore[index]


WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                           "required": ["city"]}}}


def test_a_run_with_a_function_tool_asks_for_its_output_then_replies(server: MockServer, client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o", instructions="You report the weather.", tools=[WEATHER])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "What is the weather in Paris?"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    conforms("RunObject", run)
    assert run.status == "queued" and run.tools[0].type == "function" and run.instructions == "You report the weather."
    run, seen = poll(server, lambda: client.beta.threads.runs.retrieve(run.id, thread_id=thread.id),
                     lambda found: found.status == "requires_action")
    assert seen[-1] == "requires_action" and run.required_action is not None
    conforms("RunObject", run)
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    assert call.function.name == "get_weather" and isinstance(json.loads(call.function.arguments)["city"], str)
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread.id, tool_outputs=[])
    run = client.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread.id,
                                                       tool_outputs=[{"tool_call_id": call.id, "output": "sunny"}])
    assert run.status == "in_progress" and run.required_action is None
    run, _ = poll(server, lambda: client.beta.threads.runs.retrieve(run.id, thread_id=thread.id),
                  lambda found: found.status == "completed")
    conforms("RunObject", run)
    assert run.status == "completed" and run.usage is not None and run.usage.total_tokens > 0
    messages = client.beta.threads.messages.list(thread.id).data
    assert [message.role for message in messages] == ["assistant", "user"]
    reply = messages[0]
    conforms("MessageObject", reply)
    assert reply.run_id == run.id and reply.content[0].type == "text" and reply.content[0].text.value  # type: ignore[union-attr]
    assert messages[1].content[0].text.value == "What is the weather in Paris?"  # type: ignore[union-attr]
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    assert sorted(step.type for step in steps) == ["message_creation", "tool_calls"]
    tool_step = next(step for step in steps if step.type == "tool_calls")
    assert tool_step.step_details.tool_calls[0].function.output == "sunny"  # type: ignore[union-attr]


def test_a_run_without_tools_replies_and_the_sdk_poller_sees_it(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o-mini")
    run = client.beta.threads.create_and_run_poll(assistant_id=assistant.id, poll_interval_ms=50, thread={
        "messages": [{"role": "user", "content": "Hello there"}]})
    assert run.status == "completed"
    messages = client.beta.threads.messages.list(run.thread_id).data
    assert [message.role for message in messages] == ["assistant", "user"]


def test_a_scripted_reply_answers_the_run(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o-mini")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50,
                                                   extra_headers={"X-Mock-Reply": "Scripted answer."})
    assert run.status == "completed"
    reply = client.beta.threads.messages.list(thread.id).data[0]
    assert reply.content[0].text.value == "Scripted answer."  # type: ignore[union-attr]


def test_a_cancelled_run_stays_cancelled(server: MockServer, client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o-mini")
    thread = client.beta.threads.create()
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    cancelled = client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at
    server.advance(0.7)
    assert client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "cancelled"
    assert client.beta.threads.messages.list(thread.id).data == []


def test_a_batch_goes_on_across_a_restart_with_state_dir(tmp_path: Path) -> None:
    with MockServer(state_dir=str(tmp_path), job_schedule="0.3,0.6") as first:
        client = openai.OpenAI(base_url=first.url, api_key=API_KEY, max_retries=0)
        file_id = upload_lines(client, [chat_line("kept", "hello")])
        batch = client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
    with MockServer(state_dir=str(tmp_path), job_schedule="0.3,0.6") as second:
        client = openai.OpenAI(base_url=second.url, api_key=API_KEY, max_retries=0)
        done, _ = poll(second, lambda: client.batches.retrieve(batch.id), lambda found: found.status == "completed")
        assert done.status == "completed"
        (line,) = [json.loads(line) for line in client.files.content(str(done.output_file_id)).text.splitlines()]
        assert line["custom_id"] == "kept"


def test_reset_forgets_every_life(server: MockServer, client: openai.OpenAI) -> None:
    file_id = upload_lines(client, [chat_line("a", "hi")])
    client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
    server.reset()
    assert server.state.stores.resources.items("/_mock/lives") == []


def test_batch_lines_do_not_spend_the_rate_limit() -> None:
    with MockServer(job_schedule="0,0.2", rpm=2) as limited:  # the upload and the create use both
        client = openai.OpenAI(base_url=limited.url, api_key=API_KEY, max_retries=0)
        file_id = upload_lines(client, [chat_line(f"r{n}", "hi") for n in range(3)])
        batch = client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
        batch, _ = poll(limited, lambda: client.batches.retrieve(batch.id), lambda found: found.status == "completed")
        assert batch.request_counts is not None and batch.request_counts.completed == 3


def test_an_upload_assembles_its_parts_in_the_order_named(client: openai.OpenAI) -> None:
    upload = client.uploads.create(filename="big.jsonl", purpose="batch", bytes=9, mime_type="text/jsonl")
    assert upload.status == "pending" and upload.id.startswith("upload_")
    first = client.uploads.parts.create(upload.id, data=b"abc")
    second = client.uploads.parts.create(upload.id, data=b"defghi")
    conforms("UploadPart", first)
    assert first.upload_id == upload.id and first.id != second.id
    with pytest.raises(openai.BadRequestError) as short:
        client.uploads.complete(upload.id, part_ids=[first.id])
    assert short.value.body["param"] == "part_ids"  # type: ignore[index]
    done = client.uploads.complete(upload.id, part_ids=[second.id, first.id])
    conforms("Upload", done)
    assert done.status == "completed" and done.file is not None and done.file.bytes == 9
    assert client.files.content(done.file.id).read() == b"defghiabc"
    assert client.files.retrieve(done.file.id).filename == "big.jsonl"
    with pytest.raises(openai.BadRequestError):
        client.uploads.parts.create(upload.id, data=b"late")
    cancelled = client.uploads.cancel(client.uploads.create(filename="x", purpose="batch", bytes=1,
                                                            mime_type="text/plain").id)
    assert cancelled.status == "cancelled"

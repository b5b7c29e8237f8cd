"""The mock's one clock: advancing it finishes every long-running resource and refills buckets, with no sleep.

The servers here run with ``freeze_time``: their clock does not move by itself, so whatever moves was moved by
an advance (``MockServer.advance`` or ``POST /_mock/clock``), never by the time a test happened to take.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx2
import openai
import pytest

from mockserver import MockServer
from mockserver.clock import FROZEN_EPOCH, Clock, ClockError

from helpers import API_KEY, sdk_client


@pytest.fixture
def frozen() -> Iterator[MockServer]:
    with MockServer(seed=4, freeze_time=True, job_schedule="10,20") as running:
        yield running


@pytest.fixture
def limited() -> Iterator[MockServer]:
    with MockServer(seed=4, freeze_time=True, rpm=3) as running:
        yield running


def test_an_advance_finishes_a_batch_a_fine_tuning_job_a_background_response_and_a_serika_job(
    frozen: MockServer,
) -> None:
    client = sdk_client(frozen.url)
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}}
    batch_file = client.files.create(file=("in.jsonl", json.dumps(line).encode()), purpose="batch")
    batch = client.batches.create(input_file_id=batch_file.id, endpoint="/v1/chat/completions",
                                  completion_window="24h")
    training = client.files.create(file=("t.jsonl", b'{"messages": [{"role": "user", "content": "hi"}]}\n'),
                                   purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=training.id)
    response = client.responses.create(model="gpt-4o-mini", input="Work on this", background=True)
    with httpx2.Client(base_url=frozen.url_for("serika"), headers={"Authorization": f"Bearer {API_KEY}"}) as http:
        serika_job = http.post("/jobs/image", json={"prompt": "a harbour", "size": "256x256"}).json()
        started = time.monotonic()
        # A frozen clock stands still: nothing moved while the test made its requests.
        assert client.batches.retrieve(batch.id).status == "validating"
        assert client.fine_tuning.jobs.retrieve(job.id).status == "validating_files"
        assert client.responses.retrieve(response.id).status == "queued"
        assert http.get(f"/jobs/{serika_job['id']}").json()["status"] == "queued"
        frozen.advance(9.5)  # --job-schedule 10,20: each is still in its first status
        assert client.batches.retrieve(batch.id).status == "validating"
        assert http.get(f"/jobs/{serika_job['id']}").json()["status"] == "queued"
        frozen.advance(10.5)  # twenty seconds finish everything
        assert client.batches.retrieve(batch.id).status == "completed"
        finished = client.fine_tuning.jobs.retrieve(job.id)
        assert finished.status == "succeeded" and finished.fine_tuned_model
        assert client.responses.retrieve(response.id).status == "completed"
        serika_done = http.get(f"/jobs/{serika_job['id']}").json()
        assert serika_done["status"] == "completed" and serika_done["completed_at"] == serika_job["created_at"] + 20
        assert time.monotonic() - started < 10, "nothing waited for the schedule on the wall clock"


def test_an_advance_refills_a_rate_limit_bucket_over_http(limited: MockServer) -> None:
    client = sdk_client(limited.url)
    for _ in range(3):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    moved = httpx2.post(limited.origin + "/_mock/clock", json={"advance": 20}).json()
    assert moved == {"now": FROZEN_EPOCH + 20, "iso": "2025-01-01T00:00:20Z", "frozen": True, "offset": 0.0}
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])  # 1 of 3 back
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    httpx2.post(limited.origin + "/_mock/clock", json={"set": FROZEN_EPOCH + 80})
    for _ in range(3):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])


def test_created_stamps_follow_the_clock(frozen: MockServer) -> None:
    client = sdk_client(frozen.url)
    first = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert first.created == FROZEN_EPOCH == frozen.now()
    frozen.advance(3600)
    later = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert later.created == FROZEN_EPOCH + 3600
    assert httpx2.get(frozen.origin + "/_mock/clock").json()["now"] == FROZEN_EPOCH + 3600


@pytest.mark.parametrize(("body", "param"), [
    ({"advance": -1}, "advance"),
    ({"advance": "soon"}, "advance"),
    ({"advance": 1e12}, "advance"),
    ({"set": 0}, "set"),
    ({"advance": 1, "set": 2}, "advance"),
    ({}, "advance"),
    ([1], "advance"),
])
def test_a_clock_move_it_cannot_make_is_a_400_naming_the_field(frozen: MockServer, body: object, param: str) -> None:
    answer = httpx2.post(frozen.origin + "/_mock/clock", json=body)
    assert answer.status_code == 400 and answer.json()["error"]["param"] == param
    assert answer.json()["error"]["code"] == "invalid_clock_move"
    assert frozen.now() == FROZEN_EPOCH


def test_a_running_clock_keeps_running_after_an_advance() -> None:
    clock = Clock()
    before = time.time()
    clock.advance(100)
    assert before + 100 <= clock.now() <= time.time() + 100 + 1
    assert clock.offset == 100
    with pytest.raises(ClockError):
        clock.set(before)
    frozen = Clock(frozen=True)
    assert frozen.now() == FROZEN_EPOCH and frozen.monotonic() == 0.0
    frozen.advance(1.5)
    assert (frozen.now(), frozen.monotonic()) == (FROZEN_EPOCH + 1.5, 1.5)

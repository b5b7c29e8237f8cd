"""``--state-dir``: async jobs and stored chat completions survive a restart, and a kill leaves nothing half-written."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path

import httpx2
import openai
import pytest

from mockserver import MockServer
from mockserver.storage.sqlite import DATABASE_NAME, PersistentCompletionStore, PersistentJobStore, StateDatabase

from helpers import ServeProcess, serve_process

ROOT = Path(__file__).resolve().parent.parent
KEY = {"Authorization": "Bearer sk-persist"}
HELLO = [{"role": "user", "content": "Remember me."}]


def test_jobs_and_stored_completions_survive_a_restart(tmp_path: Path) -> None:
    with MockServer(state_dir=str(tmp_path), job_schedule="0.2,0.4") as first:
        job = httpx2.post(first.url_for("serika") + "/jobs/image", json={"prompt": "A harbour", "size": "256x256"},
                          headers=KEY).json()
        client = openai.OpenAI(base_url=first.url, api_key="sk-persist", max_retries=0)
        kept = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, store=True, metadata={"run": "1"})
        gone = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, store=True)
        client.chat.completions.update(kept.id, metadata={"run": "2"})
        client.chat.completions.delete(gone.id)
    assert job["status"] == "queued"
    time.sleep(0.4)
    with MockServer(state_dir=str(tmp_path), job_schedule="0.2,0.4") as second:
        again = httpx2.get(second.url_for("serika") + f"/jobs/{job['id']}", headers=KEY).json()
        assert again["status"] == "completed" and again["created_at"] == job["created_at"]
        assert again["result"]["data"][0]["url"]
        client = openai.OpenAI(base_url=second.url, api_key="sk-persist", max_retries=0)
        restored = client.chat.completions.retrieve(kept.id)
        assert restored.choices[0].message.content == kept.choices[0].message.content
        assert restored.metadata == {"run": "2"}
        assert [item.id for item in client.chat.completions.list()] == [kept.id]
        assert [message.content for message in client.chat.completions.messages.list(kept.id)] == ["Remember me."]
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.retrieve(gone.id)


def test_without_state_dir_nothing_is_written(tmp_path: Path) -> None:
    with MockServer() as server:
        assert not isinstance(server.state.stores.jobs, PersistentJobStore)
        assert not isinstance(server.state.stores.completions, PersistentCompletionStore)


def test_the_stores_stay_bounded(tmp_path: Path) -> None:
    database = StateDatabase(tmp_path)
    jobs = PersistentJobStore(database, limit=3)
    for index in range(5):
        jobs.create(f"job_{index}", "image", {"prompt": str(index)}, created_at=index)
    assert [jobs.get(f"job_{index}") is not None for index in range(5)] == [False, False, True, True, True]
    completions = PersistentCompletionStore(database, capacity=2)
    for index in range(3):
        completions.put({"id": f"chatcmpl-{index}", "model": "m"}, [{"role": "user", "content": "x"}], None)
    assert [stored.body["id"] for stored in completions.values()] == ["chatcmpl-1", "chatcmpl-2"]


def start_serve(state_dir: Path) -> AbstractContextManager[ServeProcess]:
    return serve_process("--state-dir", str(state_dir), "--job-schedule", "0,0", cwd=ROOT)


@pytest.mark.slow
def test_sigkill_mid_run_loses_nothing_acknowledged(tmp_path: Path) -> None:
    with start_serve(tmp_path) as served:
        _write_until_killed(served, tmp_path)


def _write_until_killed(served: ServeProcess, tmp_path: Path) -> None:
    process, origin = served.process, served.origin
    jobs: list[str] = []
    completions: list[str] = []
    stop = threading.Event()

    def write(kind: str) -> None:
        with httpx2.Client(base_url=origin, headers=KEY, timeout=5) as http:
            for index in range(10_000):
                if stop.is_set():
                    return
                try:
                    if kind == "job":
                        response = http.post("/serika/api/openai/v1/jobs/image",
                                             json={"prompt": f"Picture {index}", "size": "256x256"})
                        jobs.append(response.json()["id"])
                    else:
                        response = http.post("/v1/chat/completions", json={
                            "model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"Note {index}"}],
                            "store": True})
                        completions.append(response.json()["id"])
                except httpx2.HTTPError:
                    return  # killed mid-request: that one was never acknowledged

    writers = [threading.Thread(target=write, args=(kind,)) for kind in ("job", "completion", "job", "completion")]
    try:
        for writer in writers:
            writer.start()
        deadline = time.monotonic() + 10
        while (len(jobs) < 50 or len(completions) < 50) and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(5)
    finally:
        stop.set()
        for writer in writers:
            writer.join(10)
        if process.poll() is None:
            process.kill()
    assert len(jobs) >= 50 and len(completions) >= 50

    with sqlite3.connect(tmp_path / DATABASE_NAME) as database:
        assert database.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    with start_serve(tmp_path) as restarted, httpx2.Client(base_url=restarted.origin, headers=KEY, timeout=5) as http:
        for job_id in jobs:
            job = http.get(f"/serika/api/openai/v1/jobs/{job_id}")
            assert job.status_code == 200 and job.json()["status"] == "completed", job_id
        for completion_id in completions:
            stored = http.get(f"/v1/chat/completions/{completion_id}")
            assert stored.status_code == 200 and stored.json()["choices"][0]["message"]["content"]

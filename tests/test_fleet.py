"""``--state redis://…``: mocks that share a real ``redis-server`` (started here on a free loopback port, never
assumed running) act as one for the journal, scripts, the clock, chaos and the ``--rpm`` / ``--tpm`` buckets;
Redis going away is a clear 503 in each provider's envelope within a bounded time, ``/_mock/health`` says so, and
service resumes when it is back."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import openai
import orjson
import pytest
import redis

from mockserver import MockServer

from helpers import RedisProcess, free_port

HELLO = [{"role": "user", "content": "Hi"}]
CHAT = {"model": "gpt-4o-mini", "messages": HELLO}
START_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = RedisProcess(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture()
def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"  # each test its own fleet on the one Redis


def chat(url: str, key: str = "sk-fleet") -> httpx2.Response:
    return httpx2.post(url + "/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {key}"}, timeout=10)


def test_two_nodes_admit_exactly_the_limit_between_them(redis_url: str, prefix: str) -> None:
    """``--rpm 5`` on two mocks sharing a fleet: five requests in all, whichever node serves them, with exact
    ``x-ratelimit-*`` headers counting down across nodes; the sixth is refused on either; another key and another
    fleet (prefix) have buckets of their own."""
    with MockServer(rpm=5, state=redis_url, state_prefix=prefix) as first, \
            MockServer(rpm=5, state=redis_url, state_prefix=prefix) as second:
        nodes = [first, second]
        remaining = []
        started = time.monotonic()
        for index in range(5):
            answer = chat(nodes[index % 2].url)
            assert answer.status_code == 200, answer.text
            remaining.append(answer.headers["x-ratelimit-remaining-requests"])
        assert remaining == ["4", "3", "2", "1", "0"]
        for node in nodes:
            refused = chat(node.url)
            assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limit_exceeded"
            took_ms = (time.monotonic() - started) * 1000  # one request refills in 60 s / 5, less what has since
            assert 12_000 - took_ms - 50 < int(refused.headers["retry-after-ms"]) <= 12_000
        assert chat(second.url, key="sk-other").status_code == 200
        with MockServer(rpm=5, state=redis_url, state_prefix=prefix + "-b") as elsewhere:
            assert chat(elsewhere.url).headers["x-ratelimit-remaining-requests"] == "4"
        shown = httpx2.get(first.origin + "/_mock/ratelimits").json()["buckets"]
        assert {(row["bucket"], row["remaining"]) for row in shown} == {("requests", 0), ("requests", 4)}
        # one reset on any node clears the fleet's buckets
        assert httpx2.post(second.origin + "/_mock/reset").status_code == 200
        assert chat(first.url).headers["x-ratelimit-remaining-requests"] == "4"


def test_token_buckets_and_the_sdk_see_the_fleet_s_limits(redis_url: str, prefix: str) -> None:
    """``--tpm`` across nodes through the openai SDK: a request larger than the limit is refused outright, and the
    tokens the other node spent are gone here."""
    with MockServer(tpm=1_000, state=redis_url, state_prefix=prefix) as first, \
            MockServer(tpm=1_000, state=redis_url, state_prefix=prefix) as second:
        client = openai.OpenAI(base_url=first.url, api_key="sk-fleet", max_retries=0)
        charged_after = time.monotonic()
        spent = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO,
                                                                  max_completion_tokens=600)
        assert spent.headers["x-ratelimit-remaining-tokens"] == "399"
        other = openai.OpenAI(base_url=second.url, api_key="sk-fleet", max_retries=0)
        with pytest.raises(openai.RateLimitError) as refused:
            other.chat.completions.create(model="gpt-4o-mini", messages=HELLO, max_completion_tokens=600)
        refilled = (time.monotonic() - charged_after) * 1_000 / 60  # the bucket refills 1,000 tokens a minute
        used = re.search(r"Limit 1000, Used (\d+), Requested 601", refused.value.message)
        assert refused.value.type == "tokens" and used is not None, refused.value.message
        assert 601 - refilled - 1 <= int(used[1]) <= 601
        with pytest.raises(openai.RateLimitError, match="Request too large"):
            other.chat.completions.create(model="gpt-4o-mini", messages=HELLO, max_completion_tokens=2_000)
        # a bucket lives in Redis only until it would be full again: the store is bounded by the keys in use
        keys = redis.Redis.from_url(redis_url).keys(f"{prefix}:ratelimit:*")
        assert len(keys) == 1 and 0 < redis.Redis.from_url(redis_url).pttl(keys[0]) <= 61_000


def test_redis_gone_is_a_503_naming_it_and_service_resumes(tmp_path: Path, prefix: str) -> None:
    backend = RedisProcess(tmp_path)
    backend.start()
    try:
        with MockServer(rpm=100, state=backend.url, state_prefix=prefix) as mock:
            assert chat(mock.url).status_code == 200
            assert httpx2.get(mock.origin + "/_mock/health").json()["state"]["reachable"] is True
            backend.stop()
            started = time.monotonic()
            refused = chat(mock.url)
            assert time.monotonic() - started < 1, "a request waited past the state timeout"
            assert refused.status_code == 503, refused.text
            error = refused.json()["error"]
            assert error["code"] == "state_backend_unavailable" and f"Redis at 127.0.0.1:{backend.port}/0" in \
                error["message"]
            anthropic = httpx2.post(mock.origin + "/anthropic/v1/messages", timeout=10, json={
                "model": "claude-sonnet-4-5", "max_tokens": 50, "messages": HELLO},
                headers={"x-api-key": "sk-fleet", "anthropic-version": "2023-06-01"})
            assert anthropic.status_code == 503 and anthropic.json()["type"] == "error"
            assert "Redis at" in anthropic.json()["error"]["message"]
            gemini = httpx2.post(mock.origin + "/v1beta/models/gemini-2.5-flash:generateContent", timeout=10,
                                 json={"contents": [{"parts": [{"text": "Hi"}]}]}, headers={"x-goog-api-key": "k"})
            assert gemini.status_code == 503 and gemini.json()["error"]["status"] == "UNAVAILABLE"
            health = httpx2.get(mock.origin + "/_mock/health")
            assert health.status_code == 503 and health.json()["state"]["reachable"] is False
            # every API request asks the fleet for its scripts, so it too is a 503; the admin API answers
            assert httpx2.get(mock.url + "/models", headers={"Authorization": "Bearer sk-fleet"}).status_code == 503
            assert httpx2.get(mock.origin + "/_mock/config").json()["state"] == backend.url
            backend.start()
            assert chat(mock.url).status_code == 200
            assert httpx2.get(mock.origin + "/_mock/health").status_code == 200
    finally:
        backend.stop()


def serve_node(redis_url: str, prefix: str, *flags: str) -> tuple[subprocess.Popen[bytes], str]:
    """A ``mockserver serve`` of the fleet on a free loopback port, once its health check answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--log-level", "warning",
         "--state", redis_url, "--state-prefix", prefix, *flags],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    origin = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        assert process.poll() is None, process.stderr.read().decode()  # type: ignore[union-attr]
        try:
            if httpx2.get(origin + "/_mock/health", timeout=1).status_code == 200:
                return process, origin
        except httpx2.TransportError:
            pass
        assert time.monotonic() < deadline, "mockserver serve did not answer in time"
        time.sleep(0.1)


def killed(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the process and its workers (its session's group), as a crashed node."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def test_two_serve_processes_are_one_fleet_and_a_killed_node_loses_nothing_acknowledged(redis_url: str,
                                                                                         prefix: str) -> None:
    """Two ``mockserver serve`` (one of two workers) on one Redis: ``--rpm 60`` admits 60 across them (and those
    the bucket refilled meanwhile, one a second); a file, a ``previous_response_id`` chain and a batch made on one
    are used on the other, and a reset on one clears both; a script posted to one and a clock advance made on it
    survive its SIGKILL and are used by the other, as are the limit's spent requests."""
    first, first_origin = serve_node(redis_url, prefix, "--rpm", "60", "--workers", "2")
    second, second_origin = serve_node(redis_url, prefix, "--rpm", "60")
    try:
        started = time.monotonic()
        statuses = [chat((first_origin, second_origin)[index % 2] + "/v1", key="sk-sixty").status_code
                    for index in range(75)]
        refilled = int(time.monotonic() - started) + 1
        assert statuses[:60] == [200] * 60 and set(statuses[60:]) <= {200, 429}
        assert statuses[60:].count(200) <= refilled and 429 in statuses  # a refill lands anywhere in those 15

        one, other = (openai.OpenAI(base_url=origin + "/v1", api_key="sk-stores", max_retries=0)
                      for origin in (first_origin, second_origin))
        lines = orjson.dumps({"custom_id": "r0", "method": "POST", "url": "/v1/chat/completions", "body": CHAT}) + b"\n"
        uploaded = one.files.create(file=("lines.jsonl", lines), purpose="batch")
        assert other.files.content(uploaded.id).content == lines
        said = one.responses.create(model="gpt-4o-mini", input="My name is Ada.")
        assert other.responses.create(model="gpt-4o-mini", input="And yours?",
                                      previous_response_id=said.id).previous_response_id == said.id
        batch = other.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                     completion_window="24h")
        httpx2.post(second_origin + "/_mock/clock", json={"advance": 60})
        done = one.batches.retrieve(batch.id)
        assert done.status == "completed" and other.files.content(str(done.output_file_id)).text.count("\n") == 1
        assert httpx2.post(second_origin + "/_mock/reset").status_code == 200
        with pytest.raises(openai.NotFoundError):
            one.files.retrieve(uploaded.id)
        assert chat(first_origin + "/v1", key="sk-sixty").status_code == 200  # its bucket is full again

        posted = httpx2.post(first_origin + "/_mock/script", json={"behaviors": [
            {"fault": "http_error", "status": 503, "times": 2}]})
        assert posted.status_code == 200
        moved = httpx2.post(first_origin + "/_mock/clock", json={"advance": 86_400}).json()["offset"]
        killed(first)
        assert [chat(second_origin + "/v1").status_code for _ in range(3)] == [503, 503, 200]
        assert httpx2.get(second_origin + "/_mock/clock").json()["offset"] == moved
        assert chat(second_origin + "/v1", key="sk-sixty").status_code == 200  # a day later: the bucket is full
    finally:
        for process in (first, second):
            if process.poll() is None:
                killed(process)


def test_a_state_url_that_is_not_redis_or_a_missing_server_is_said_at_start(prefix: str) -> None:
    port = free_port()  # nothing listens there
    with MockServer(rpm=5, state=f"redis://127.0.0.1:{port}/0", state_prefix=prefix) as mock:
        health = httpx2.get(mock.origin + "/_mock/health")
        assert health.status_code == 503 and f"127.0.0.1:{port}" in health.json()["state"]["at"]
    finished = subprocess.run([sys.executable, "-m", "mockserver", "serve", "--state", "memcached://x"],
                              capture_output=True, text=True, timeout=60)
    assert finished.returncode != 0 and "state must be memory or a Redis URL" in finished.stderr


def test_a_script_posted_to_one_node_answers_requests_on_any_exactly_its_times(redis_url: str, prefix: str) -> None:
    """``times: 3`` posted to one node is three requests in all, whichever node serves them, while the other node
    lists it with its uses left; a reply scripted through ``MockServer``'s Python API on one node answers on the
    other; a test's scripts answer only its requests and its reset clears only them, fleet-wide."""
    with MockServer(state=redis_url, state_prefix=prefix) as first, \
            MockServer(state=redis_url, state_prefix=prefix) as second:
        posted = httpx2.post(first.origin + "/_mock/script", json={"behaviors": [
            {"fault": "http_error", "status": 503, "times": 3}]})
        assert posted.status_code == 200, posted.text
        listed = httpx2.get(second.origin + "/_mock/script").json()["behaviors"]
        assert [(entry["remaining"], entry["used"]) for entry in listed] == [(3, 0)]
        statuses = [chat((first, second)[index % 2].url).status_code for index in range(5)]
        assert statuses == [503, 503, 503, 200, 200]
        assert httpx2.get(first.origin + "/_mock/script").json()["behaviors"] == []

        first.reply("said by the fleet")
        answer = openai.OpenAI(base_url=second.url, api_key="sk-fleet").chat.completions.create(
            model="gpt-4o-mini", messages=HELLO)
        assert answer.choices[0].message.content == "said by the fleet"

        for test_id in ("t-1", "t-2"):
            httpx2.post(second.origin + "/_mock/script", headers={"X-Mock-Test-Id": test_id},
                        json={"behaviors": [{"reply": f"for {test_id}", "times": "unlimited"}]})
        def ask(node: MockServer, test_id: str) -> str:
            return httpx2.post(node.url + "/chat/completions", json=CHAT, timeout=10, headers={
                "Authorization": "Bearer sk-fleet", "X-Mock-Test-Id": test_id}).json()["choices"][0]["message"][
                "content"]
        assert ask(first, "t-1") == "for t-1" and ask(first, "t-2") == "for t-2"
        httpx2.post(first.origin + "/_mock/reset", headers={"X-Mock-Test-Id": "t-1"})
        assert ask(second, "t-1") != "for t-1" and ask(second, "t-2") == "for t-2"


def test_requests_at_once_on_two_nodes_take_a_script_s_uses_exactly_once(redis_url: str, prefix: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with MockServer(state=redis_url, state_prefix=prefix) as first, \
            MockServer(state=redis_url, state_prefix=prefix) as second:
        first.fail(503, times=7)
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda index: chat((first, second)[index % 2].url).status_code, range(24)))
        assert statuses.count(503) == 7 and statuses.count(200) == 17


def test_a_share_draws_one_sequence_for_the_fleet(redis_url: str, prefix: str) -> None:
    """``share: 0.5`` across two nodes answers the same requests (by their order) as on one mock in memory."""
    script = {"behaviors": [{"fault": "http_error", "status": 500, "share": 0.5, "times": "unlimited"}]}
    with MockServer() as alone:
        httpx2.post(alone.origin + "/_mock/script", json=script)
        expected = [chat(alone.url).status_code for _ in range(12)]
    with MockServer(state=redis_url, state_prefix=prefix) as first, \
            MockServer(state=redis_url, state_prefix=prefix) as second:
        httpx2.post(second.origin + "/_mock/script", json=script)
        seen = [chat((first, second)[index % 2].url).status_code for index in range(12)]
    assert seen == expected and 0 < expected.count(500) < 12


def test_an_advance_on_one_node_moves_every_node_s_clock(redis_url: str, prefix: str) -> None:
    """``POST /_mock/clock`` (or ``MockServer.advance``) on one node: the others read the same time at once, and
    their requests are stamped with it; the clock only moves forward, fleet-wide."""
    with MockServer(freeze_time=True, state=redis_url, state_prefix=prefix) as first, \
            MockServer(freeze_time=True, state=redis_url, state_prefix=prefix) as second:
        start = httpx2.get(second.origin + "/_mock/clock").json()["now"]
        moved = httpx2.post(first.origin + "/_mock/clock", json={"advance": 3_600})
        assert moved.status_code == 200 and moved.json()["now"] == start + 3_600
        assert httpx2.get(second.origin + "/_mock/clock").json()["now"] == start + 3_600
        first.advance(60)
        assert second.now() == start + 3_660
        assert chat(second.url).json()["created"] == start + 3_660
        refused = httpx2.post(second.origin + "/_mock/clock", json={"set": start})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_clock_move"
        assert httpx2.post(second.origin + "/_mock/clock", json={"set": start + 7_200}).json()["now"] == start + 7_200
        assert chat(first.url).json()["created"] == start + 7_200


def test_chaos_draws_one_sequence_for_the_fleet(redis_url: str, prefix: str) -> None:
    """``--fault http_error;status=500=0.4`` on two nodes: the fleet's requests, in order, meet the faults one mock
    with the same seed would."""
    faults = ["http_error;status=500=0.4"]
    with MockServer(seed=11, fault=faults) as alone:
        expected = [chat(alone.url).status_code for _ in range(16)]
    with MockServer(seed=11, fault=faults, state=redis_url, state_prefix=prefix) as first, \
            MockServer(seed=11, fault=faults, state=redis_url, state_prefix=prefix) as second:
        seen = [chat((first, second)[index % 2].url).status_code for index in range(16)]
        httpx2.post(first.origin + "/_mock/reset")
        again = [chat((second, first)[index % 2].url).status_code for index in range(16)]
    assert seen == expected == again and 0 < expected.count(500) < 16


def test_the_journal_on_any_node_holds_every_node_s_requests(redis_url: str, prefix: str) -> None:
    """Requests served by two nodes: ``GET /_mock/requests`` on either lists them all (each naming its node and
    worker, ids unique in the fleet), an exchange's detail (its response) is read on the other node, the live feed
    on one node carries the other's requests, ``MockServer.requests`` sees them, and a test's reset on any node
    forgets that test's entries fleet-wide."""
    with MockServer(state=redis_url, state_prefix=prefix) as first, \
            MockServer(state=redis_url, state_prefix=prefix) as second:
        with httpx2.stream("GET", first.origin + "/_mock/events", timeout=10) as feed:
            lines = feed.iter_lines()
            assert next(lines) == ": connected"
            for index, test_id in enumerate(("t-a", "t-b", "t-a", "t-b")):
                node = (first, second)[index % 2]
                answered = httpx2.post(node.url + "/chat/completions", json=CHAT, timeout=10, headers={
                    "Authorization": "Bearer sk-fleet", "X-Mock-Test-Id": test_id})
                assert answered.status_code == 200
            fed = []
            while len(fed) < 4:
                line = next(lines)
                if line.startswith("data: "):
                    fed.append(orjson.loads(line[6:]))
        assert [entry["test_id"] for entry in fed] == ["t-a", "t-b", "t-a", "t-b"]
        deadline = time.monotonic() + 5
        while len(listed := httpx2.get(second.origin + "/_mock/requests").json()["data"]) < 4:
            assert time.monotonic() < deadline, listed
            time.sleep(0.05)
        assert len({entry["id"] for entry in listed}) == 4
        assert len({entry["worker"] for entry in listed}) == 1 and all(entry["node"] for entry in listed)
        assert {entry["id"] // 1_000_000_000 for entry in listed} == {
            entry["id"] // 1_000_000_000 for entry in fed}  # two nodes: two id ranges
        assert len({entry["id"] // 1_000_000_000 for entry in listed}) == 2
        served_by_first = listed[0]["id"]
        detail = httpx2.get(f"{second.origin}/_mock/requests/{served_by_first}").json()
        assert detail["status"] == 200 and '"chat.completion"' in detail["response"]
        seen = second.wait_for_requests(4, test_id=None)
        assert [exchange.test_id for exchange in seen] == ["t-a", "t-b", "t-a", "t-b"]
        httpx2.post(second.origin + "/_mock/reset", headers={"X-Mock-Test-Id": "t-a"})
        assert [entry["test_id"] for entry in httpx2.get(first.origin + "/_mock/requests").json()["data"]] == [
            "t-b", "t-b"]
        httpx2.post(first.origin + "/_mock/reset")
        assert httpx2.get(second.origin + "/_mock/requests").json()["data"] == []


def test_the_fleet_journal_keeps_its_bounds(redis_url: str, prefix: str) -> None:
    """``--journal-size`` and ``--journal-bytes`` hold for the fleet's list in Redis as for one mock's: the same
    entries kept, each counted as one mock counts it, Redis's own bytes at most twice that (a node writes what it
    still holds when it stops, so the lists are read once both have)."""
    with MockServer(state=redis_url, state_prefix=prefix, journal_size=5) as first, \
            MockServer(state=redis_url, state_prefix=prefix, journal_size=5) as second:
        for index in range(12):
            chat((first, second)[index % 2].url)
    with MockServer(state=redis_url, state_prefix=prefix + "-bytes", journal_bytes=20_000) as small:
        for _ in range(30):
            chat(small.url)
    with MockServer(state="memory", journal_bytes=20_000) as alone:
        for _ in range(30):
            chat(alone.url)
        kept_alone = len(alone.requests)
    client = redis.Redis.from_url(redis_url)
    assert client.llen(f"{prefix}:journal:list") == 5 and client.hlen(f"{prefix}:journal:detail") == 5
    listed = client.lrange(f"{prefix}-bytes:journal:list", 0, -1)
    held, counted = int(client.get(f"{prefix}-bytes:journal:bytes")), sum(int(entry.split(b"\n")[0].split()[1])
                                                                          for entry in listed)
    footprint = sum(map(len, listed)) + sum(map(len, client.hvals(f"{prefix}-bytes:journal:detail")))
    assert held == counted <= 20_000 and footprint <= 2 * held
    assert len(listed) == kept_alone < 30 and client.hlen(f"{prefix}-bytes:journal:detail") == kept_alone


def test_rules_added_at_run_time_on_one_node_are_served_by_every_node(redis_url: str, prefix: str,
                                                                       tmp_path: Path) -> None:
    """``MockServer.add_fixture`` on one node (a mapping, and a rule file read there): the other node's next
    request is answered by them, labelled with where they were written; a reset on any node forgets them."""
    (tmp_path / "rules.yaml").write_text("rules:\n  - match: {message_contains: weather}\n    reply: Sunny, says the file.\n")
    with MockServer(state=redis_url, state_prefix=prefix) as first, \
            MockServer(state=redis_url, state_prefix=prefix) as second:
        first.add_fixture({"match": {"message_contains": "capital"}, "reply": "Paris, says the fleet."},
                          tmp_path / "rules.yaml")

        def ask(node: MockServer, prompt: str) -> httpx2.Response:
            return httpx2.post(node.url + "/chat/completions", timeout=10, headers={"Authorization": "Bearer sk-f"},
                               json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]})

        assert ask(second, "The capital of France?").json()["choices"][0]["message"]["content"] == \
            "Paris, says the fleet."
        assert ask(second, "And the weather?").json()["choices"][0]["message"]["content"] == "Sunny, says the file."
        second.wait_for_requests(2, test_id=None)
        labels = [entry["decided_by"] for entry in httpx2.get(first.origin + "/_mock/requests").json()["data"]]
        assert labels[0] == "fixture add_fixture:1" and labels[1].endswith("rules.yaml:2"), labels
        httpx2.post(second.origin + "/_mock/reset")
        assert ask(first, "The capital of France?").json()["choices"][0]["message"]["content"] != \
            "Paris, says the fleet."


def test_a_node_holds_a_bounded_journal_queue_while_redis_is_away(tmp_path: Path, prefix: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Redis away: the exchanges a node finished wait for the writer, at most ``MAX_QUEUED`` (5 here), the oldest
    dropped and counted, while the health check answers (503) with both counts; back, the queue is written out."""
    from mockserver.fleet import journal

    monkeypatch.setattr(journal, "MAX_QUEUED", 5)
    backend = RedisProcess(tmp_path)
    backend.start()
    try:
        with MockServer(state=backend.url, state_prefix=prefix) as mock:
            backend.stop()
            for _ in range(12):
                assert chat(mock.url).status_code == 503
            health = httpx2.get(mock.origin + "/_mock/health", timeout=5).json()["state"]["journal"]
            assert health["unwritten"] <= 5 and health["dropped"] >= 12 - 5 - 1, health
            backend.start()
            deadline = time.monotonic() + 10
            while httpx2.get(mock.origin + "/_mock/health").json()["state"]["journal"]["unwritten"]:
                assert time.monotonic() < deadline, "the queue was not written once Redis was back"
                time.sleep(0.1)
            # the five it held (the health checks among them: admin calls are journaled too) are in the fleet's list
            assert redis.Redis.from_url(backend.url).llen(f"{prefix}:journal:list") >= 5
    finally:
        backend.stop()


def test_what_one_node_creates_every_node_reads_changes_and_deletes(redis_url: str, prefix: str) -> None:
    """Every store is the fleet's: a file and its bytes, a ``previous_response_id`` chain, a batch (finalized once
    however many nodes read it at the moment it is due: one output file), a stored completion changed and deleted
    on the other node, and a reset on one clearing them for both."""
    with MockServer(state=redis_url, state_prefix=prefix, job_schedule="0.5,1") as first, \
            MockServer(state=redis_url, state_prefix=prefix, job_schedule="0.5,1") as second:
        one, other = (openai.OpenAI(base_url=node.url, api_key="sk-fleet", max_retries=0) for node in (first, second))
        lines = b"".join(orjson.dumps({"custom_id": f"r{n}", "method": "POST", "url": "/v1/chat/completions",
                                       "body": {**CHAT, "messages": [{"role": "user", "content": f"Hi {n}"}]}}) + b"\n"
                         for n in range(3))
        uploaded = one.files.create(file=("lines.jsonl", lines), purpose="batch")
        assert other.files.retrieve(uploaded.id).bytes == len(lines)
        assert other.files.content(uploaded.id).content == lines

        said = one.responses.create(model="gpt-4o-mini", input="My name is Ada.")
        followed = other.responses.create(model="gpt-4o-mini", input="And yours?", previous_response_id=said.id)
        assert followed.previous_response_id == said.id
        assert [item.id for item in one.responses.input_items.list(followed.id).data][-1] in {
            item.id for item in other.responses.input_items.list(said.id).data}

        first.reply("From the batch.", times=3, match={"path": "/v1/chat/completions"})  # one run of the lines
        batch = one.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
        first.advance(5)  # due at once on both nodes: the readers below race to finalize it
        with ThreadPoolExecutor(6) as readers:
            seen = list(readers.map(lambda client: client.batches.retrieve(batch.id), [one, other] * 3))
        assert {found.status for found in seen} == {"completed"} and len({found.output_file_id for found in seen}) == 1
        output = other.files.content(str(seen[0].output_file_id)).text.splitlines()
        assert sorted(orjson.loads(line)["custom_id"] for line in output) == ["r0", "r1", "r2"]
        assert {orjson.loads(line)["response"]["body"]["choices"][0]["message"]["content"] for line in output} == {
            "From the batch."}

        stored = one.chat.completions.create(model="gpt-4o-mini", messages=HELLO, store=True)  # type: ignore[arg-type]
        other.chat.completions.update(stored.id, metadata={"seen_on": "second"})
        assert one.chat.completions.retrieve(stored.id).metadata == {"seen_on": "second"}
        assert [item.id for item in other.chat.completions.list()] == [stored.id]
        other.files.delete(uploaded.id)
        with pytest.raises(openai.NotFoundError):
            one.files.retrieve(uploaded.id)

        first.reset()
        for client in (one, other):
            with pytest.raises(openai.NotFoundError):
                client.chat.completions.retrieve(stored.id)
            with pytest.raises(openai.NotFoundError):
                client.batches.retrieve(batch.id)


def test_a_cassette_replays_in_recorded_order_across_the_fleet(redis_url: str, prefix: str, tmp_path: Path) -> None:
    """Two nodes replaying one cassette play its repeated requests as one mock would: the first recording to the
    first request, the second to the second whichever node serves it, then the last again; a reset starts over."""
    with MockServer(seed=5) as upstream, MockServer(record=str(tmp_path), record_mode="all",
                                                    upstream=[upstream.url]) as recorder:
        upstream.reply("answer 0")
        upstream.reply("answer 1")
        for _ in range(2):
            chat_as(recorder, "again")
    with MockServer(cassettes=str(tmp_path), state=redis_url, state_prefix=prefix) as first, \
            MockServer(cassettes=str(tmp_path), state=redis_url, state_prefix=prefix) as second:
        assert [chat_as(node, "again") for node in (first, second, first)] == ["answer 0", "answer 1", "answer 1"]
        second.reset()
        assert chat_as(first, "again") == "answer 0"


def chat_as(node: MockServer, test_id: str) -> str | None:
    client = openai.OpenAI(base_url=node.url, api_key="sk-fleet", max_retries=0,
                           default_headers={"X-Mock-Test-Id": test_id})
    return client.chat.completions.create(model="gpt-4o-mini", messages=HELLO).choices[0].message.content  # type: ignore[arg-type]


def test_under_a_frozen_clock_the_fleet_makes_the_ids_one_mock_would(redis_url: str, prefix: str) -> None:
    """``--freeze-time``: identical creates are distinct resources counted in the fleet, so two nodes never make
    one id and the fleet makes the ids one mock makes, in the order the creates arrive; a reset starts over."""
    def created(nodes: list[MockServer]) -> list[str]:
        return [openai.OpenAI(base_url=node.url, api_key="sk-fleet", max_retries=0).vector_stores.create(
            name="same").id for node in nodes]

    with MockServer(seed=1, freeze_time=True) as alone:
        expected = created([alone] * 4)
    with MockServer(seed=1, freeze_time=True, state=redis_url, state_prefix=prefix) as first, \
            MockServer(seed=1, freeze_time=True, state=redis_url, state_prefix=prefix) as second:
        assert created([first, second, first, second]) == expected and len(set(expected)) == 4
        second.reset()
        assert created([first]) == expected[:1]


def test_a_hung_redis_never_holds_the_event_loop(tmp_path: Path, prefix: str) -> None:
    """Redis stopped mid-run (SIGSTOP: connections open, no answers): requests that need it, stores among them,
    are 503s within the state timeout while the admin API answers at once meanwhile; a store call made from the
    event loop right after a failure fails at once instead of waiting out another timeout; SIGCONT: all is back."""
    from mockserver.fleet.backend import STATE_TIMEOUT, SharedState, StateUnavailable

    backend = RedisProcess(tmp_path)
    backend.start()
    assert backend.process is not None
    try:
        with MockServer(state=backend.url, state_prefix=prefix) as mock:
            client = openai.OpenAI(base_url=mock.url, api_key="sk-fleet", max_retries=0)
            kept = client.files.create(file=("a.jsonl", b'{"a": 1}\n'), purpose="batch")
            backend.process.send_signal(signal.SIGSTOP)
            with ThreadPoolExecutor(4) as pool:
                started = time.monotonic()
                waiting = [pool.submit(lambda: httpx2.get(f"{mock.url}/files/{kept.id}", timeout=10,
                                                          headers={"Authorization": "Bearer sk-fleet"}))
                           for _ in range(3)]
                time.sleep(0.2)
                asked = time.monotonic()
                assert httpx2.get(mock.origin + "/_mock/config", timeout=10).status_code == 200
                assert time.monotonic() - asked < 0.5, "the event loop was held while Redis hung"
                assert [future.result().status_code for future in waiting] == [503] * 3
                assert time.monotonic() - started < STATE_TIMEOUT + 2
            backend.process.send_signal(signal.SIGCONT)
            assert client.files.retrieve(kept.id).id == kept.id
    finally:
        if backend.process is not None:
            backend.process.send_signal(signal.SIGCONT)
        backend.stop()

    shared, calls = SharedState(f"redis://127.0.0.1:{free_port()}/0", prefix), []

    def refused() -> None:
        calls.append(time.monotonic())
        raise redis.ConnectionError("refused")

    for _ in range(3):
        with pytest.raises(StateUnavailable):
            shared.call_on_loop(refused)
    assert len(calls) == 1  # the second and third failed at once, within RETRY_AFTER of the first


def test_the_fleet_stores_keep_one_mock_s_bounds_order_and_nesting(redis_url: str, prefix: str) -> None:
    """A bounded map in Redis drops what the in-memory one drops, in the same order (by count, by bytes, the newest
    always kept, a key written again keeping its place); the resource store lists a collection's own, and deleting
    a resource forgets what is nested under it and its content."""
    from mockserver.fleet.backend import SharedState
    from mockserver.fleet.stores import FleetResourceStore, RedisBoundedMap
    from mockserver.storage.memory import BoundedMap
    from mockserver.storage.resources import MemoryResourceStore

    shared = SharedState(redis_url, prefix)
    fleet, memory = RedisBoundedMap(shared, "bounded", 3, 100), BoundedMap[bytes](3, 100)
    for member, size in [("a", 10), ("b", 10), ("c", 10), ("d", 10), ("b", 10), ("e", 75), ("f", 500), ("g", 1)]:
        fleet.put(member, member.encode() * size, size)
        memory.put(member, member.encode() * size, size)
        assert fleet.values() == memory.values() and fleet.bytes == memory.bytes
    assert fleet.members() == ["g"] and fleet.count() == 1  # f alone was past the bytes; g came after it

    stores = [FleetResourceStore(shared, 10_000), MemoryResourceStore(10_000)]
    for store in stores:
        store.put("/vector_stores", "vs_1", {"id": "vs_1"})
        store.put("/vector_stores/vs_1/files", "file-1", {"id": "file-1"})
        store.put("/files", "file-1", {"id": "file-1", "purpose": "assistants"})
        store.put("/files", "file-2", {"id": "file-2"})
        store.put("/files", "file-1", {"id": "file-1", "purpose": "batch"})  # kept in its place
        store.put_content("vs_1", b"bytes")
        store.delete("/vector_stores", "vs_1")
    fleet_store, memory_store = stores
    for collection in ("/vector_stores", "/vector_stores/vs_1/files", "/files"):
        assert fleet_store.items(collection) == memory_store.items(collection)
        assert fleet_store.ids(collection) == memory_store.ids(collection)
    assert fleet_store.ids("/files") == ["file-1", "file-2"] and fleet_store.items("/vector_stores") == []
    assert fleet_store.content("vs_1") is None and fleet_store.count() == memory_store.count() == 2
    fleet_store.clear()
    assert fleet_store.count() == 0 and fleet_store.items("/files") == []


def test_a_request_reads_the_waiting_scripts_again_only_when_they_changed(redis_url: str, prefix: str) -> None:
    """With scripts waiting in the fleet (other tests' 2,000 here), a node reads them once; a request after that
    brings only their version (no entry crosses the wire again) until one is added or gone on any node."""
    with MockServer(state=redis_url, state_prefix=prefix) as first, \
            MockServer(state=redis_url, state_prefix=prefix) as second:
        for test in range(2):
            posted = httpx2.post(first.origin + "/_mock/script", headers={"X-Mock-Test-Id": f"other-{test}"}, json={
                "behaviors": [{"reply": "not yours", "match": {"model": f"m-{n}"}} for n in range(1_000)]})
            assert posted.status_code == 200
        queue = second.state.control.scripts
        reads: list[int] = []
        parse = queue._entries  # type: ignore[attr-defined]
        queue._entries = lambda listed: reads.append(len(listed) // 5) or parse(listed)  # type: ignore[attr-defined]
        assert [chat(second.url).status_code for _ in range(5)] == [200] * 5 and reads == [2_000]
        first.reply("for anyone", times=1)  # added on the other node: read again, then taken (gone): again
        assert chat(second.url).json()["choices"][0]["message"]["content"] == "for anyone"
        assert chat(second.url).status_code == 200 and reads == [2_000, 2_001, 2_000]

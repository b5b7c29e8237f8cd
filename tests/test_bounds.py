"""Every size is checked before it is allocated, and every refusal is a clear 4xx, over a real socket.

Each test is one defect found by attacking ``mockserver serve`` as any client, cassette or fixture file can
(docs/reliability.md lists the bounds).
"""

from __future__ import annotations

import sqlite3
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import openai
import pytest
import yaml

from mockserver import Config, ConfigError, MockServer
from mockserver.cassettes.format import REDACTED, redacted
from mockserver.control.fixtures import load_rules
from mockserver.generation.audio_tags import MARKER, MAX_READ_BYTES, read_spoken
from mockserver.journal import MAX_LABEL_CHARS
from mockserver.storage.sqlite import DATABASE_NAME

from helpers import API_KEY, sdk_client

AUTH = {"Authorization": f"Bearer {API_KEY}"}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(seed=6) as running:
        yield running


def test_an_upload_part_named_again_is_refused_before_anything_is_joined(server: MockServer) -> None:
    client = sdk_client(server.url)
    upload = client.uploads.create(filename="x.jsonl", purpose="batch", bytes=64 * 1024 * 1024, mime_type="text/jsonl")
    part = client.uploads.parts.create(upload.id, data=b"a" * (1024 * 1024))
    started = time.monotonic()
    with pytest.raises(openai.BadRequestError) as repeated:
        client.uploads.complete(upload.id, part_ids=[part.id] * 64)
    assert repeated.value.body["param"] == "part_ids" and "named again" in repeated.value.body["message"]  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as short:
        client.uploads.complete(upload.id, part_ids=[part.id])
    assert "1048576 bytes" in short.value.body["message"]  # type: ignore[index]
    assert time.monotonic() - started < 2


def test_a_huge_model_name_is_short_in_the_journal_the_error_and_the_metrics(server: MockServer) -> None:
    name = "m" * (1024 * 1024)
    answer = httpx2.post(server.url + "/embeddings", json={"model": name, "input": "x"}, headers=AUTH)
    assert answer.status_code in (400, 404) and len(answer.content) < 4096
    entry = server.last_request
    assert entry.model is not None and len(entry.model) == MAX_LABEL_CHARS
    scrape = httpx2.get(server.origin + "/metrics").text
    assert len(scrape) < 64 * 1024 and "m" * 65 not in scrape


def test_a_scripted_429_is_counted_by_kind_not_by_script_number(server: MockServer) -> None:
    for _ in range(3):
        server.fail(429, times=1)
        httpx2.post(server.url + "/chat/completions", json=CHAT, headers=AUTH)
    scrape = httpx2.get(server.origin + "/metrics").text
    buckets = [line for line in scrape.splitlines() if line.startswith("mockserver_rate_limited_total{")]
    assert buckets == [line for line in buckets if 'bucket="script"' in line] and len(buckets) == 1


def test_an_entrys_headers_count_toward_the_journals_bound(server: MockServer) -> None:
    httpx2.get(server.url + "/models", headers={**AUTH, "X-Padding": "p" * 50_000})
    entry = server.state.journal.entries()[-1]
    assert entry.journal_bytes > 50_000


def test_a_transcript_tag_longer_than_the_mock_writes_is_not_read_back() -> None:
    def wav(comment: bytes) -> bytes:
        text = comment + b"\x00" * (len(comment) % 2)
        info = b"INFO" + b"ICMT" + struct.pack("<I", len(text)) + text
        listed = b"LIST" + struct.pack("<I", len(info)) + info
        return b"RIFF" + struct.pack("<I", 4 + len(listed)) + b"WAVE" + listed

    said = f"{MARKER}: (1.000 s) hello".encode()
    assert read_spoken(wav(said)) is not None
    assert read_spoken(wav(f"{MARKER}: (1.000 s) ".encode() + b"x" * (4 * 1024 * 1024))) is None
    assert MAX_READ_BYTES < 70_000


@pytest.mark.parametrize(("path", "param"), [
    ("/v1/files?limit=%C2%B2", "limit"),  # '²': a digit to str.isdigit(), not to int()
    ("/v1/files?limit=" + "9" * 5000, "limit"),  # more digits than int() takes
    ("/v1/chatkit/threads?limit=101", "limit"),  # above the operation's maximum (100)
    ("/v1/chat/completions?limit=%C2%B2", "limit"),
    ("/_mock/requests?limit=%C2%B2", "limit"),
    ("/_mock/requests?after=" + "1" * 5000, "after"),
    ("/v1/responses/resp_x?stream=true&starting_after=-3", "starting_after"),
])
def test_numbers_in_queries_are_ascii_digits_or_a_400(server: MockServer, path: str, param: str) -> None:
    answer = httpx2.get(server.origin + path, headers=AUTH)
    assert answer.status_code in (400, 404), answer.text[:300]
    if answer.status_code == 400:
        assert answer.json()["error"]["param"] == param


@pytest.mark.parametrize("digits", [30, 5000])
def test_a_form_integer_past_64_bits_is_a_400_and_the_journal_still_lists_it(server: MockServer, digits: int) -> None:
    """A form field read as an integer is read as a JSON body's would be (a float past 64 bits): once an int of
    30 digits broke every encoder after it, and ``GET /_mock/requests`` ended mid-body."""
    upload = httpx2.post(server.url + "/files", headers=AUTH, files={"file": ("a.jsonl", b'{"a": 1}\n')},
                         data={"purpose": "batch", "expires_after[anchor]": "created_at",
                               "expires_after[seconds]": "9" * digits})
    assert upload.status_code == 400 and upload.json()["error"]["param"] == "expires_after.seconds"
    listed = httpx2.get(server.origin + "/_mock/requests", params={"path": "/v1/files"})
    assert listed.status_code == 200 and listed.json()["data"][-1]["status"] == 400


@pytest.mark.parametrize(("field", "raw", "code"), [("max_tokens", b"1e30", "integer_above_max_value"),
                                                   ("seed", b"-1e30", "integer_below_min_value")])
def test_an_integral_float_past_64_bits_is_a_400_naming_it(server: MockServer, field: str, raw: bytes,
                                                           code: str) -> None:
    """``"max_tokens": 1e30`` is valid JSON Schema (an integral number): it became a Python int no encoder takes,
    and the journal's list broke after it. It is refused as the API refuses an integer past int64."""
    body = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "' + field.encode() + \
        b'": ' + raw + b"}"
    answer = httpx2.post(server.url + "/chat/completions", content=body,
                         headers={**AUTH, "content-type": "application/json"})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == field
    assert answer.json()["error"]["code"] == code
    assert httpx2.get(server.origin + "/_mock/requests").status_code == 200


def test_an_entry_no_encoder_takes_is_listed_with_its_big_integers_as_floats() -> None:
    """Whatever a handler leaves in a journaled body, the journal's list (and a fleet's writer) still encode it."""
    from mockserver.journal import Exchange

    with MockServer() as server:
        journal = server.state.journal
        odd = Exchange(id=journal.next_id(), time=0.0, method="POST", path="/v1/odd", query="")
        odd.body = {"huge": 10**30, "nested": [-(10**25), 3]}
        journal.append(odd)
        listed = httpx2.get(server.origin + "/_mock/requests", params={"path": "/v1/odd"}).json()["data"]
    assert listed[0]["body"] == {"huge": 1e30, "nested": [-1e25, 3]}


def test_a_corrupt_state_dir_row_is_skipped_not_fatal_to_its_list(tmp_path: Path) -> None:
    with MockServer(state_dir=str(tmp_path)) as first:
        client = sdk_client(first.url)
        kept = [client.files.create(file=(f"{n}.txt", b"x"), purpose="assistants").id for n in range(3)]
    with sqlite3.connect(tmp_path / DATABASE_NAME) as raw:
        raw.execute("UPDATE resources SET body = ? WHERE key LIKE ?", (b"{not json", f"%{kept[1]}"))
    with MockServer(state_dir=str(tmp_path)) as second:
        listed = [item.id for item in sdk_client(second.url).files.list()]
    assert kept[0] in listed and kept[2] in listed and kept[1] not in listed


def test_identical_creates_under_a_frozen_clock_are_distinct_and_reproducible() -> None:
    ids = []
    for _ in range(2):
        with MockServer(seed=1, freeze_time=True) as frozen:
            client = sdk_client(frozen.url)
            made = [client.vector_stores.create(name="same").id for _ in range(2)]
            assert made[0] != made[1]
            client.vector_stores.delete(made[0])
            assert client.vector_stores.retrieve(made[1]).id == made[1]
            ids.append(made)
    assert ids[0] == ids[1]


def test_a_share_draws_the_same_whatever_ran_before() -> None:
    def answered(before: int) -> list[int]:
        with MockServer(seed=1) as fresh:
            for _ in range(before):
                fresh.reply("earlier")
            fresh.reset()
            fresh.script({"reply": "shared", "times": "unlimited", "share": 0.5})
            client = sdk_client(fresh.url)
            return [client.chat.completions.create(**CHAT).choices[0].message.content == "shared"
                    for _ in range(12)]

    assert answered(0) == answered(7)


def test_yaml_aliases_are_refused_in_every_file_a_user_writes(tmp_path: Path) -> None:
    bomb = 'a: &a ["x", "x"]\nb: &b [*a, *a]\nc: [*b, *b]\n'
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - match: &m {model: gpt-4o}\n    reply: one\n  - match: *m\n    reply: two\n")
    with pytest.raises(Exception, match="aliases"):
        load_rules([str(rules)])
    config = tmp_path / "mock.yaml"
    config.write_text(bomb)
    with pytest.raises(ConfigError, match="aliases"):
        Config.load({}, env={}, file=config)
    cassettes = tmp_path / "cassettes"
    cassettes.mkdir()
    (cassettes / "bomb.yaml").write_text("interactions: []\n" + bomb)
    (cassettes / "folder.yaml").mkdir()
    with MockServer(cassettes=str(cassettes)) as replaying:
        for test_id, expected in (("bomb", "aliases"), ("folder", "cannot be read"), ("t" * 300, "cassette_miss")):
            answer = httpx2.post(replaying.url + "/chat/completions", json=CHAT,
                                 headers={**AUTH, "X-Mock-Test-Id": test_id})
            assert answer.status_code in (400, 404) and expected in answer.text, (test_id, answer.text[:300])
    assert yaml.safe_load("a: 1") == {"a": 1}


@pytest.mark.parametrize("secret", [
    "sk_live_" + "a" * 24, "rk_test_" + "b" * 24, "whsec_" + "c" * 24,
    "github_pat_" + "A" * 40, "ghs_" + "d" * 30,
    "xoxb-1234567890-abcdefghij", "AIza" + "e" * 35, "ya29." + "f" * 30, "ASIA" + "G" * 16,
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
])
def test_cassettes_redact_the_secrets_people_paste(secret: str) -> None:
    assert secret not in redacted(f"my key is {secret} ok") and REDACTED in redacted(f"my key is {secret} ok")


def test_cassettes_redact_credential_fields_and_a_named_aws_secret() -> None:
    body = {"password": "hunter2", "api_key": "k", "client_secret": "s", "content": "hello",
            "logprobs": [{"token": "hello"}], "env": "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
    cleaned = redacted(body)
    assert cleaned["password"] == cleaned["api_key"] == cleaned["client_secret"] == REDACTED
    assert cleaned["content"] == "hello" and cleaned["logprobs"] == [{"token": "hello"}]
    assert cleaned["env"] == f"AWS_SECRET_ACCESS_KEY={REDACTED}"


def test_a_batchs_files_hold_at_most_the_store_bytes() -> None:
    import json

    room = 200_000
    with MockServer(store_bytes=room, job_schedule="1,2") as bounded:
        client = sdk_client(bounded.url)
        line = {"method": "POST", "url": "/v1/embeddings",
                "body": {"model": "text-embedding-3-small", "input": ["a", "b"]}}
        data = "\n".join(json.dumps({**line, "custom_id": f"r{n}"}) for n in range(20)).encode()
        batch = client.batches.create(input_file_id=client.files.create(file=("in.jsonl", data), purpose="batch").id,
                                      endpoint="/v1/embeddings", completion_window="24h")
        bounded.advance(3)
        done = client.batches.retrieve(batch.id)
        assert done.status == "completed" and done.request_counts is not None
        assert 0 < done.request_counts.completed < 20 and done.request_counts.failed == 20 - done.request_counts.completed
        output = client.files.content(str(done.output_file_id)).content
        errors = client.files.content(str(done.error_file_id)).content
        assert len(output) + len(errors) <= room
        refused = [json.loads(text) for text in errors.decode().splitlines()]
        assert {entry["response"]["body"]["error"]["code"] for entry in refused} == {"batch_output_too_large"}
        answered = [json.loads(text) for text in output.decode().splitlines()]
        assert all(len(entry["response"]["body"]["data"]) == 2 for entry in answered)
        assert done.usage is not None and done.usage.input_tokens == 2 * done.request_counts.completed


def test_a_previous_response_id_chain_stores_each_turn_once(server: MockServer) -> None:
    client = sdk_client(server.url)
    server.reset()
    previous = None
    for turn in range(120):
        previous = client.responses.create(model="gpt-4o-mini", input=f"turn {turn}", previous_response_id=previous,
                                           max_output_tokens=16).id
    stored = server.state.stores.resources.count()
    assert stored < 120 * 4, f"{stored} resources for 120 turns: the history is stored again each turn"
    listed = client.responses.input_items.list(previous, order="asc", limit=1000).data
    assert len(listed) == 120 + 119  # every turn's input and every earlier turn's output
    assert listed[0].content[0].text == "turn 0"  # type: ignore[union-attr]


def test_a_responses_request_refused_by_its_schema_uses_up_no_script(server: MockServer) -> None:
    server.reset()
    server.reply("scripted once")
    refused = httpx2.post(server.url + "/responses", json={"model": "gpt-4o-mini", "input": "hi", "temperature": 7},
                          headers=AUTH)
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "temperature"
    answered = sdk_client(server.url).responses.create(model="gpt-4o-mini", input="hi")
    assert answered.output_text == "scripted once"


def test_identical_requests_sent_at_once_are_not_each_others_retries(server: MockServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    server.reset()
    # Every answer waits 400 ms (so the four overlap); only a first attempt fails.
    headers = {**AUTH, "X-Mock-Fault": "latency;ms=400,http_error;status=503;attempts=0"}
    body = {**CHAT, "messages": [{"role": "user", "content": "fan out"}]}

    def send(_: int) -> int:
        return httpx2.post(server.url + "/chat/completions", json=body, headers=headers, timeout=10).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(send, range(4)))
    assert statuses == [503] * 4, "four at once are four first attempts"
    assert httpx2.post(server.url + "/chat/completions", json=body, headers=headers).status_code == 200, \
        "the same request after an answer is its retry"


def test_a_responses_error_names_the_responses_field(server: MockServer) -> None:
    answer = httpx2.post(server.url + "/responses", headers=AUTH, json={
        "model": "gpt-4o-mini", "instructions": "Be brief.",
        "input": [{"type": "message", "role": "user", "content": "hi"},
                  {"type": "function_call_output", "call_id": "call_nope", "output": "x"}]})
    error = answer.json()["error"]
    assert answer.status_code == 400 and error["param"] == "input[1].call_id"
    assert "call_nope" in error["message"] and "messages" not in error["message"]


def test_a_recording_that_would_outgrow_its_cassette_is_refused_and_the_file_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mockserver.cassettes import format as cassette_format

    monkeypatch.setattr(cassette_format, "MAX_FILE_BYTES", 20_000)
    with MockServer(seed=3) as upstream, MockServer(record=str(tmp_path), upstream=[upstream.url]) as recorder:
        headers = {**AUTH, "X-Mock-Test-Id": "full"}
        upstream.reply("short")
        assert httpx2.post(recorder.url + "/chat/completions", json=CHAT, headers=headers).status_code == 200
        kept = (tmp_path / "full.yaml").read_text()
        upstream.reply("long " * 10_000)
        refused = httpx2.post(recorder.url + "/chat/completions", headers=headers,
                              json={**CHAT, "messages": [{"role": "user", "content": "the long one"}]})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_cassette"
        assert "more than 20,000 bytes" in refused.json()["error"]["message"]
        assert (tmp_path / "full.yaml").read_text() == kept


def test_a_transcription_of_a_clip_with_a_huge_tag_is_small_and_quick(server: MockServer) -> None:
    comment = f"{MARKER}: (1.000 s) ".encode() + b"x" * (4 * 1024 * 1024)
    info = b"INFO" + b"ICMT" + struct.pack("<I", len(comment)) + comment
    listed = b"LIST" + struct.pack("<I", len(info)) + info
    frames = b"data" + struct.pack("<I", 3200) + b"\x00" * 3200
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    clip = b"RIFF" + struct.pack("<I", 4 + len(fmt) + len(listed) + len(frames)) + b"WAVE" + fmt + listed + frames
    started = time.monotonic()
    answer = httpx2.post(server.url + "/audio/transcriptions", headers=AUTH, files={"file": ("a.wav", clip)},
                         data={"model": "whisper-1"}, timeout=30)
    assert answer.status_code == 200 and len(answer.content) < 64 * 1024, len(answer.content)
    assert time.monotonic() - started < 5


def test_the_live_feed_encodes_each_exchange_once(server: MockServer) -> None:
    from mockserver.app.admin import AdminApi

    api = AdminApi(server.state, lambda request: None)  # type: ignore[arg-type, return-value]
    httpx2.get(server.url + "/models", headers=AUTH)
    entry = server.state.journal.entries()[-1]
    assert api._event(entry) is api._event(entry)


@pytest.mark.parametrize("state_dir", [False, True], ids=["memory", "state-dir"])
def test_a_list_reads_only_the_resources_of_its_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     state_dir: bool) -> None:
    """A page of 2 out of 300 vector stores decodes 2 resources, not the collection (it decoded all 300 per
    call), in memory and with --state-dir."""
    settings = {"state_dir": str(tmp_path)} if state_dir else {}
    with MockServer(seed=1, **settings) as server:
        client = sdk_client(server.url)
        made = [client.vector_stores.create(name=f"store {n}").id for n in range(300)]
        store = server.state.stores.resources
        read: list[str] = []
        original = store.get
        monkeypatch.setattr(store, "get", lambda collection, found: read.append(found) or original(collection, found))
        whole = store.items
        monkeypatch.setattr(store, "items", lambda collection: pytest.fail("a list decoded its whole collection")
                            if collection == "/vector_stores" else whole(collection))
        page = client.vector_stores.list(limit=2, after=made[-5])
        assert [item.id for item in page.data] == [made[-6], made[-7]] and page.has_more
        assert sorted(found for found in read if found in made) == sorted([made[-6], made[-7]])


def test_the_prompt_cache_holds_a_bounded_number_of_prefixes_for_their_time() -> None:
    from mockserver.services.prompt_cache import PromptCache

    now = [1000.0]
    cache = PromptCache(lambda: now[0], max_entries=3)
    for key in (b"a", b"b", b"c", b"d"):
        assert cache.hit(key, 300) is False
    assert len(cache) == 3 and not cache.cached(b"a") and cache.cached(b"d")  # the oldest is forgotten
    now[0] += 299
    assert cache.hit(b"b", 300) is True  # a hit starts its life again
    now[0] += 2
    assert cache.cached(b"b") and not cache.cached(b"c")


def test_a_message_batch_holds_a_bounded_number_of_requests(server: MockServer,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from mockserver.endpoints.anthropic import batches

    monkeypatch.setattr(batches, "MAX_REQUESTS", 2)
    params = {"model": "claude-sonnet-4-6", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    refused = httpx2.post(server.origin + "/v1/messages/batches", timeout=10,
                          headers={"x-api-key": "k", "anthropic-version": "2023-06-01"},
                          json={"requests": [{"custom_id": str(n), "params": params} for n in range(3)]})
    assert refused.status_code == 400 and "1 to 2 requests, got 3" in refused.json()["error"]["message"]


def test_a_lease_is_held_by_one_at_a_time_and_forgotten_once_let_go() -> None:
    """The leases that let one request at a time move a resource along its lifecycle keep nothing once let go."""
    import asyncio

    from mockserver.storage.leases import LocalLeases

    leases, inside, most = LocalLeases(), 0, 0

    async def step(key: str) -> None:
        nonlocal inside, most
        async with leases.hold(key):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0)
            inside -= 1

    async def main() -> None:
        await asyncio.gather(*(step(f"batch-{n % 3}") for n in range(30)))

    asyncio.run(main())
    assert most == 3 and len(leases) == 0  # one holder per key at a time, three keys

"""Cassettes: record real traffic once through the SDK, replay it offline with the upstream gone.

The "real" upstream is a second mock with another seed (and, for pacing, a stream rate of its own); the
recorder is a mock with ``record=DIR``; the replayer a third with ``cassettes=DIR`` and nothing behind it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import httpx2
import openai
import pytest
import yaml

from mockserver import MockServer
from mockserver.cassettes import tools
from mockserver.cassettes.keys import match_key

SECRET = "sk-live-0123456789abcdefSECRET"
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "weather in a city", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
TIME = {"type": "function", "function": {"name": "get_time", "description": "time in a city", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
HELLO = [{"role": "user", "content": "Hello there"}]


def sdk(server: MockServer, test_id: str = "t", **headers: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key=SECRET, max_retries=0,
                         default_headers={"X-Mock-Test-Id": test_id, **headers})


def raw_stream(server: MockServer, body: dict, test_id: str = "t") -> tuple[bytes, list[float]]:
    """The stream's bytes and each frame's arrival, in ms from the request."""
    arrivals, chunks = [], []
    started = time.perf_counter()
    with httpx2.stream("POST", server.url + "/chat/completions", json={**body, "stream": True}, timeout=30,
                       headers={"Authorization": f"Bearer {SECRET}", "X-Mock-Test-Id": test_id}) as answer:
        pending = b""
        for chunk in answer.iter_raw():
            pending += chunk
            while b"\n\n" in pending:
                frame, pending = pending.split(b"\n\n", 1)
                chunks.append(frame + b"\n\n")
                arrivals.append((time.perf_counter() - started) * 1000)
    return b"".join(chunks), arrivals


def agent_loop(client: openai.OpenAI) -> list[object]:
    """Three turns: a tool call, another tool (required), then the answer."""
    messages: list = [{"role": "user", "content": "What are the weather and the time in Paris?"}]
    answers = []
    for choice in ("auto", "required", "auto"):
        message = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER, TIME],
                                                 tool_choice=choice).choices[0].message
        answers.append(message.model_dump(exclude_none=True))
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls or ():
            messages.append({"role": "tool", "tool_call_id": call.id, "content": f"{call.function.name}: done"})
    return answers


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Everything recorded once, with what the upstream said, and the upstream stopped afterwards."""
    directory = tmp_path_factory.mktemp("cassettes")
    paced = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Tell me about rivers."}]}
    with MockServer(seed=101) as upstream, MockServer(seed=102, record=str(directory), upstream=[upstream.url]) as recorder:
        client = sdk(recorder)
        plain = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
        stream_bytes, _ = raw_stream(recorder, {"model": "gpt-4o-mini", "messages": HELLO,
                                                "tools": [WEATHER], "tool_choice": "required"})
        loop = agent_loop(client)
        with MockServer(seed=103, fault=["tokens_per_second;rate=25=1"]) as slow, MockServer(
                seed=104, record=str(directory), upstream=[slow.url]) as slow_recorder:
            paced_bytes, _ = raw_stream(slow_recorder, paced, test_id="paced")
        decided = [exchange.decided_by for exchange in recorder.requests]
    return {"dir": directory, "plain": plain, "stream": stream_bytes, "loop": loop, "paced": paced,
            "paced_bytes": paced_bytes, "decided": decided}


@pytest.fixture
def replayer(recorded: dict) -> MockServer:
    with MockServer(seed=999, cassettes=str(recorded["dir"])) as server:
        yield server


def test_recording_goes_to_the_upstream_and_is_journaled_as_recorded(recorded: dict) -> None:
    assert recorded["decided"] and all(source.startswith("recorded:t.yaml#") for source in recorded["decided"])
    assert sorted(path.name for path in recorded["dir"].iterdir()) == ["paced.yaml", "t.yaml"]


def test_a_plain_chat_replays_with_the_upstream_gone(recorded: dict, replayer: MockServer) -> None:
    again = sdk(replayer).chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert again.model_dump() == recorded["plain"].model_dump()
    assert replayer.last_request.decided_by == "cassette:t.yaml#0"


def test_a_stream_replays_frame_for_frame_with_its_tool_call_deltas(recorded: dict, replayer: MockServer) -> None:
    body = {"model": "gpt-4o-mini", "messages": HELLO, "tools": [WEATHER], "tool_choice": "required"}
    again, _ = raw_stream(replayer, body)
    assert again == recorded["stream"] and b'"tool_calls":[{"index":0,"function":{"arguments":' in again


def test_a_three_turn_agent_loop_replays_turn_by_turn(recorded: dict, replayer: MockServer) -> None:
    assert agent_loop(sdk(replayer)) == recorded["loop"]
    names = [[call["function"]["name"] for call in turn.get("tool_calls", [])] for turn in recorded["loop"]]
    assert names[0] and names[1] and names[0] != names[1] and not names[2]  # the loop the upstream drove


@pytest.mark.timing  # wall-clock offsets: run with the other timing tests, alone
def test_replay_keeps_the_recorded_pace(recorded: dict, replayer: MockServer) -> None:
    cassette = yaml.safe_load((recorded["dir"] / "paced.yaml").read_text())
    offsets = [frame["t"] for frame in cassette["interactions"][0]["response"]["frames"]]
    assert offsets[-1] > 400  # 25 chunks a second: the upstream's pace is in the file
    again, arrivals = raw_stream(replayer, recorded["paced"], test_id="paced")
    assert again == recorded["paced_bytes"]
    for recorded_at, arrived_at in zip(offsets[1:], arrivals[1:], strict=True):  # measured from the first frame
        recorded_gap, arrived_gap = recorded_at - offsets[0], arrived_at - arrivals[0]
        assert abs(arrived_gap - recorded_gap) <= max(0.1 * recorded_gap, 15), (recorded_gap, arrived_gap)


def test_replay_speed_zero_is_as_fast_as_possible(recorded: dict) -> None:
    with MockServer(cassettes=str(recorded["dir"]), replay_speed=0) as fast:
        _, arrivals = raw_stream(fast, recorded["paced"], test_id="paced")
    assert arrivals[-1] < 200


def test_a_changed_request_is_a_loud_miss_naming_the_cassette_and_the_field(replayer: MockServer) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        sdk(replayer).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello!"}])
    error = raised.value.body
    assert isinstance(error, dict) and error["code"] == "cassette_miss"
    message = error["message"]
    assert "t.yaml" in message and "last_user: recorded 'Hello there', got 'Hello!'" in message
    assert "--record-mode new" in message


def test_a_dated_snapshot_matches_its_alias_and_volatile_fields_do_not_count(recorded: dict,
                                                                              replayer: MockServer) -> None:
    again = sdk(replayer).chat.completions.create(model="gpt-4o-mini-2024-07-18", messages=HELLO, user="someone",
                                                  metadata={"run": "42"})
    assert again.choices[0].message.content == recorded["plain"].choices[0].message.content


def test_no_secret_reaches_a_cassette_file(recorded: dict) -> None:
    for path in recorded["dir"].iterdir():
        text = path.read_text()
        assert SECRET not in text and "Bearer" not in text and "sk-" not in text, path
    assert tools.check([str(recorded["dir"])]) == []


def test_faults_act_on_a_replayed_stream(recorded: dict, replayer: MockServer) -> None:
    client = sdk(replayer, **{"X-Mock-Fault": "disconnect;after_chunks=2"})
    with pytest.raises(openai.APIConnectionError):
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, tools=[WEATHER],
                                                tool_choice="required", stream=True):
            pass
    limited = sdk(replayer, **{"X-Mock-Fault": "rate_limit;retry_after_ms=1"})
    with pytest.raises(openai.RateLimitError):
        limited.chat.completions.create(model="gpt-4o-mini", messages=HELLO)


def test_repeated_identical_requests_replay_in_recorded_order(tmp_path: Path) -> None:
    with MockServer(seed=5) as upstream, MockServer(record=str(tmp_path), record_mode="all",
                                                    upstream=[upstream.url]) as recorder:
        upstream.reply("answer 0")
        upstream.reply("answer 1")
        first = [sdk(recorder, "again").chat.completions.create(model="gpt-4o-mini", messages=HELLO)
                 .choices[0].message.content for _ in range(2)]
    assert first == ["answer 0", "answer 1"]  # mode all records every request, repeats included
    with MockServer(cassettes=str(tmp_path)) as replayer:
        again = [sdk(replayer, "again").chat.completions.create(model="gpt-4o-mini", messages=HELLO)
                 .choices[0].message.content for _ in range(3)]
    assert again == ["answer 0", "answer 1", "answer 1"]  # in order, then the last one again


def test_a_script_on_the_replayer_outranks_the_cassette(recorded: dict, replayer: MockServer) -> None:
    scripted = sdk(replayer, **{"X-Mock-Reply": "scripted"}).chat.completions.create(model="gpt-4o-mini",
                                                                                    messages=HELLO)
    assert scripted.choices[0].message.content == "scripted"


def test_modes_once_new_and_all(tmp_path: Path) -> None:
    with MockServer(seed=1) as first, MockServer(seed=2) as second:
        def content(server: MockServer, text: str) -> str:
            return sdk(server, "modes").chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": text}]).choices[0].message.content or ""

        with MockServer(record=str(tmp_path), record_mode="once", upstream=[first.url]) as once:
            recorded = content(once, "one")
        with MockServer(record=str(tmp_path), record_mode="once", upstream=[first.url]) as once_again:
            assert content(once_again, "one") == recorded
            with pytest.raises(openai.NotFoundError):
                content(once_again, "two")  # the cassette exists: once records no more
        with MockServer(record=str(tmp_path), upstream=[second.url]) as new:  # --record's default mode: new
            assert content(new, "one") == recorded
            added = content(new, "two")
        with MockServer(record=str(tmp_path), record_mode="all", upstream=[second.url]) as everything:
            rerecorded = content(everything, "one")
        assert rerecorded != recorded
        cassette = yaml.safe_load((tmp_path / "modes.yaml").read_text())
        assert [item["request"]["body"]["messages"][0]["content"] for item in cassette["interactions"]] == ["one"]
        assert added


def test_seeded_ids_and_recomputed_usage(recorded: dict) -> None:
    with MockServer(seed=7, cassettes=str(recorded["dir"]), replay_ids="seeded", replay_usage="recomputed") as server:
        again = sdk(server).chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    plain = recorded["plain"]
    assert again.id != plain.id and again.id.startswith("chatcmpl-") and len(again.id) == len(plain.id)
    assert again.choices[0].message.content == plain.choices[0].message.content
    assert again.usage.completion_tokens == plain.usage.completion_tokens  # the same tokenizer, the same text
    assert again.usage.prompt_tokens > 0


def test_recording_without_an_upstream_says_how_to_give_one(tmp_path: Path) -> None:
    with MockServer(record=str(tmp_path)) as recorder, pytest.raises(openai.InternalServerError) as raised:
        sdk(recorder).chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert "--upstream" in str(raised.value)


def test_an_upstream_answer_outside_the_spec_is_recorded_with_its_drift(tmp_path: Path) -> None:
    off_spec = {"id": "chatcmpl-x", "object": "chat.completion", "created": 1, "model": "m", "choices": "none"}
    with MockServer(seed=1) as upstream, MockServer(record=str(tmp_path), upstream=[upstream.url]) as recorder:
        upstream.script({"fault": "http_error", "status": 200, "body": json.dumps(off_spec)})
        answer = httpx2.post(recorder.url + "/chat/completions", json={"model": "gpt-4o-mini", "messages": HELLO},
                             headers={"X-Mock-Test-Id": "drift", "Authorization": "Bearer k"}, timeout=10)
    assert answer.json() == off_spec  # the client gets what the upstream said
    drift = yaml.safe_load((tmp_path / "drift.yaml").read_text())["interactions"][0]["drift"]
    assert drift and "choices" in drift[0]


def test_check_reports_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\ninteractions:\n- request: {method: POST, path: /chat/completions}\n"
                      "  response: {status: 200}\n")
    assert tools.check([str(broken)]) == [f"{broken}:3: interaction 0: the response has neither a 'body' nor 'frames'"]
    (tmp_path / "bad.yaml").write_text("interactions: [\n")
    assert tools.check([str(tmp_path / "bad.yaml")])[0].startswith(f"{tmp_path / 'bad.yaml'}:")
    leaked = tmp_path / "leaked.yaml"
    leaked.write_text(yaml.safe_dump({"interactions": [{"request": {"method": "POST", "path": "/x", "headers": {
        "x": "Bearer abcdefghijklmnop"}}, "response": {"status": 200, "body": None}}]}))
    assert any("secret-looking" in problem for problem in tools.check([str(leaked)]))
    done = subprocess.run([sys.executable, "-m", "mockserver", "cassettes", "check", str(broken)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1 and ":3: interaction 0" in done.stderr


def test_to_fixtures_turns_recordings_into_rules_that_answer_alike(recorded: dict, tmp_path: Path) -> None:
    rules = tmp_path / "rules" / "recorded.yaml"
    assert tools.to_fixtures([str(recorded["dir"] / "t.yaml")], str(rules)) >= 4
    done = subprocess.run([sys.executable, "-m", "mockserver", "check-fixtures", str(rules.parent)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    with MockServer(fixtures=[str(rules.parent)]) as server:
        answer = sdk(server).chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert answer.choices[0].message.content == recorded["plain"].choices[0].message.content


def test_a_vcrpy_cassette_of_an_openai_call_imports_and_replays(tmp_path: Path) -> None:
    import vcr

    body = {"model": "gpt-4o-mini", "messages": HELLO}
    with MockServer(seed=12) as upstream, vcr.use_cassette(str(tmp_path / "vcr" / "call.yaml"),
                                                           decode_compressed_response=True):
        live = httpx.post(upstream.url + "/chat/completions", json=body, timeout=10,
                          headers={"Authorization": f"Bearer {SECRET}"}).json()
    assert tools.import_vcr([str(tmp_path / "vcr")], str(tmp_path / "imported")) == 1
    assert SECRET not in (tmp_path / "imported" / "call.yaml").read_text()
    with MockServer(cassettes=str(tmp_path / "imported")) as replayer:
        again = sdk(replayer, "call").chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert again.model_dump(exclude_none=True) == openai.types.chat.ChatCompletion.model_validate(live).model_dump(
        exclude_none=True)


def test_the_responses_api_records_and_replays_its_typed_stream(tmp_path: Path) -> None:
    def both(server: MockServer) -> tuple[str, list[str]]:
        client = sdk(server, "responses")
        text = client.responses.create(model="gpt-4o-mini", input="Name a river").output_text
        events = [event.type for event in client.responses.create(model="gpt-4o-mini", input="Name a lake",
                                                                    stream=True)]
        return text, events

    with MockServer(seed=3) as upstream, MockServer(record=str(tmp_path), upstream=[upstream.url]) as recorder:
        recorded = both(recorder)
    with MockServer(cassettes=str(tmp_path)) as replayer:
        assert both(replayer) == recorded
    assert recorded[1][0] == "response.created" and recorded[1][-1] == "response.completed"
    turns = [item["turn"] for item in yaml.safe_load((tmp_path / "responses.yaml").read_text())["interactions"]]
    assert [bool(turn["text"]) for turn in turns] == [True, True]


def test_the_match_key_reads_the_conversation() -> None:
    base = match_key("POST", "/chat/completions", {"model": "gpt-4o-2024-08-06", "messages": [
        {"role": "system", "content": "Be brief"}, {"role": "user", "content": "Hi"}]})
    assert base.model == "gpt-4o" and base.last_user == "Hi" and base.turn == 0 and not base.tool_results
    other_system = match_key("POST", "/chat/completions", {"model": "gpt-4o", "messages": [
        {"role": "system", "content": "Be long"}, {"role": "user", "content": "Hi"}]})
    assert base.differences(other_system) == ["system"]


def test_a_reset_keeps_the_parsed_cassette_and_a_changed_file_is_read_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mockserver.cassettes import format as cassette_format

    with MockServer(seed=5) as upstream, MockServer(record=str(tmp_path), record_mode="all",
                                                    upstream=[upstream.url]) as recorder:
        upstream.reply("answer 0")
        sdk(recorder, "kept").chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    reads: list[Path] = []
    load = cassette_format.Cassette.load.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(cassette_format.Cassette, "load",
                        classmethod(lambda cls, path: reads.append(path) or load(cls, path)))
    with MockServer(cassettes=str(tmp_path)) as replayer:
        for _ in range(3):
            said = sdk(replayer, "kept").chat.completions.create(model="gpt-4o-mini", messages=HELLO)
            assert said.choices[0].message.content == "answer 0"
            replayer.reset()
        assert len(reads) == 1, "read once, kept across resets"
        cassette = tmp_path / "kept.yaml"
        cassette.write_text(cassette.read_text().replace("answer 0", "answer 9"))
        said = sdk(replayer, "kept").chat.completions.create(model="gpt-4o-mini", messages=HELLO)
        assert said.choices[0].message.content == "answer 9" and len(reads) == 2

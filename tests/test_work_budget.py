"""No single request may hold the worker: user-supplied patterns run on RE2 (linear time).

Each hostile request goes over a real socket to a ``mockserver serve`` process while a health check keeps
asking; the health check must answer within 100 ms the whole time, and the hostile request must be
answered (a 200 or a clear 400) within its own bound.
"""

from __future__ import annotations

import base64
import json
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import orjson
import pytest

from mockserver import MockServer
from mockserver.patterns import MAX_PATTERN_LENGTH, PatternUnsupported, compile_pattern

from helpers import raw_exchange, serve_process, uvicorn_thread

AUTH = {"Authorization": "Bearer sk-budget"}
# Tests that bound wall-clock time (a health check within 100 ms): the README runs them after the suite, one
# at a time, as on a loaded 2-core machine the other tests' processes would be what they measure.
timing = pytest.mark.timing
HEALTH_WITHIN = 0.1
ANSWER_WITHIN = 5.0
# Exponential on a backtracking engine: Python's re takes minutes on these with 40 characters of input.
CATASTROPHIC = r"(a+)+$"


@dataclass
class Served:
    origin: str

    @property
    def url(self) -> str:
        return self.origin + "/v1"

    @property
    def port(self) -> int:
        return int(self.origin.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    """A server process of its own: the health check measures its event loop, not this process's threads."""
    with serve_process("--seed", "11", "--log-level", "warning", measured=False) as running:
        served = Served(running.origin)
        chat(served)()  # a first request, so nothing measured pays for a cold start
        yield served
        logged = "".join(running.stderr)
    assert "Traceback" not in logged and "ERROR" not in logged, logged[-3000:]


# The health check runs in a process of its own: a thread of this one would also wait for this process's GIL,
# which a hostile request's client (parsing a 100 MB answer) can hold for a long while.
HEALTH_PROBE = """
import http.client, select, sys, time
port, within = int(sys.argv[1]), float(sys.argv[2])
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
connection.request("GET", "/_mock/health")  # this process's own first request (connecting, first parse) took
connection.getresponse().read()              # 50-90 ms of its own on a busy machine: made before measuring
slowest, started = 0.0, time.monotonic()
print("ready", flush=True)
while not select.select([sys.stdin], [], [], 0)[0] and time.monotonic() - started < within:
    asked = time.monotonic()
    connection.request("GET", "/_mock/health")
    answer = connection.getresponse()
    answer.read()
    assert answer.status == 200, answer.status
    slowest = max(slowest, time.monotonic() - asked)
    time.sleep(0.005)
print(slowest, flush=True)
"""


def while_healthy(server: Served, hostile: Callable[[], httpx2.Response]) -> httpx2.Response:
    """Send ``hostile`` while a probe process checks /_mock/health every 5 ms; both bounds are asserted."""
    probe = subprocess.Popen([sys.executable, "-c", HEALTH_PROBE, str(server.port), str(ANSWER_WITHIN)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert probe.stdin is not None and probe.stdout is not None
    try:
        assert probe.stdout.readline().strip() == "ready"
        answer: list[httpx2.Response] = []
        thread = threading.Thread(target=lambda: answer.append(hostile()), daemon=True)
        thread.start()
        thread.join(ANSWER_WITHIN)
        probe.stdin.close()
        slowest = float(probe.stdout.readline())
    finally:
        probe.kill()
        probe.wait(5)
    assert answer, f"the hostile request was not answered within {ANSWER_WITHIN} s"
    assert slowest < HEALTH_WITHIN, f"the health check waited {slowest * 1000:.0f} ms"
    return answer[0]


def chat(server: Served, **body: object) -> Callable[[], httpx2.Response]:
    payload = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], **body}
    return lambda: httpx2.post(server.url + "/chat/completions", json=payload, headers=AUTH, timeout=30)


@timing
def test_a_lookahead_pattern_in_a_response_schema_is_a_clear_400(server: Served) -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^(?=.)(.|.)*#$"}},
              "required": ["code"], "additionalProperties": False}
    response_format = {"type": "json_schema", "json_schema": {"name": "c", "schema": schema, "strict": True}}
    answer = while_healthy(server, chat(server, response_format=response_format))
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid_json_schema" and error["param"] == "response_format.json_schema.schema"
    assert "linear-time" in error["message"] and "#/properties/code" in error["message"]


@timing
def test_a_catastrophic_pattern_is_generated_for_in_linear_time(server: Served) -> None:
    """(a+)+$ is fine for RE2: the value is generated and checked without backtracking."""
    tool = {"type": "function", "function": {"name": "store", "parameters": {
        "type": "object", "required": ["key"],
        "properties": {"key": {"anyOf": [{"type": "string", "pattern": CATASTROPHIC, "minLength": 30}]}},
    }}}
    answer = while_healthy(server, chat(server, tools=[tool], tool_choice="required"))
    assert answer.status_code == 200, answer.text
    arguments = answer.json()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    assert compile_pattern(CATASTROPHIC).search(httpx2.Response(200, content=arguments).json()["key"])


@timing
def test_a_catastrophic_message_regex_matches_in_linear_time(server: Served) -> None:
    script = {"behaviors": [{"reply": "matched", "match": {"message_regex": CATASTROPHIC}, "times": "unlimited"}]}
    assert httpx2.post(server.origin + "/_mock/script", json=script, headers={"X-Mock-Test-Id": "re2"}).status_code == 200
    hostile = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "a" * 5_000 + "b"}]}

    def send() -> httpx2.Response:
        headers = {**AUTH, "X-Mock-Test-Id": "re2"}
        return httpx2.post(server.url + "/chat/completions", json=hostile, headers=headers, timeout=30)

    answer = while_healthy(server, send)
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] != "matched"
    httpx2.post(server.origin + "/_mock/reset", headers={"X-Mock-Test-Id": "re2"})


@timing
def test_a_huge_prompt_is_counted_off_the_event_loop(server: Served) -> None:
    """18 MB of prompt is 3 million tokens to count, 0.6 s of work: counted in slices that free the loop, then a 400."""
    messages = [{"role": "user", "content": "hello world " * 1_500_000}]
    answer = while_healthy(server, chat(server, model="gpt-4.1", messages=messages))
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "context_length_exceeded"


@timing
def test_reading_the_json_a_hostile_prompt_describes_is_bounded(server: Served) -> None:
    """Sixteen messages of field-sentence bait and unclosed objects nested 14,000 deep (under the body's bracket
    limit): read within the bounds, and answered."""
    bait = "Respond in JSON with the keys " + ", ".join(f"'k{n}'" for n in range(2_000)) + ". "
    text = bait + '{"a": [' * 7_000 + "x" * 100_000
    messages = [{"role": "user", "content": text} for _ in range(16)]
    answer = while_healthy(server, chat(server, model="gpt-4.1", messages=messages, response_format={"type": "json_object"}))
    assert answer.status_code == 200, answer.text
    value = httpx2.Response(200, content=answer.json()["choices"][0]["message"]["content"]).json()
    assert isinstance(value, dict) and value


HOSTILE_TOOLS = "".join(f"({n}) t{n}, whose description is <desc>d</desc>. It takes arguments {{" + "{" * 20 + "\n"
                        for n in range(5_000))[:65_536]
DSPY_ASK = ("[[ ## question ## ]]\nWhat is the weather in Paris?\n\nRespond with the corresponding output fields, "
            "starting with the field `[[ ## next_tool_name ## ]]` (must be formatted as a valid Python "
            "Literal['t1', 'finish']), and then ending with the marker for `[[ ## completed ## ]]`.")
REACT_BAIT = ("Action: the action to take, should be one of [" + ", ".join(f"t{n}" for n in range(5_000)) +
              "]\nAction Input: the input\nFinal Answer: the answer\n" +
              "\n".join(f"t{n}: a tool" for n in range(5_000)))[:65_536]
TYPE_BAIT = ("Respond in JSON with the fields " + "'a' (" * 10_000)[:65_536]
CODE_AGENT_BAIT = ("Use `final_answer`. The code sequence must be opened with '<code>', and closed with '</code>'.\n" +
                   "".join(f'def t{n}({", ".join(f"a{k}: string" for k in range(40))}) -> string:\n    """d"""\n'
                           for n in range(5_000)))[:65_536]


@timing
@pytest.mark.parametrize("messages", [
    [{"role": "system", "content": HOSTILE_TOOLS}] * 16 + [{"role": "user", "content": DSPY_ASK}],
    [{"role": "user", "content": REACT_BAIT}] * 16,
    [{"role": "user", "content": TYPE_BAIT}] * 16,
    [{"role": "system", "content": CODE_AGENT_BAIT}] + [{"role": "user", "content": "Observation: " * 5_000}] * 64,
], ids=["dspy-tools", "react-actions", "python-types", "code-agent"])
def test_reading_a_prompt_protocol_is_bounded(server: Served, messages: list) -> None:
    """Prompts shaped to make the protocol readers work hard: 5,000 listed tools with unclosed argument literals, a
    ReAct prompt of 5,000 actions, field names each followed by an unclosed parenthesis, a code agent's 5,000 tools
    of 40 parameters and 64 turns of observations. Unbounded, reading them held
    the loop 70 s, 15 s and 29 s; now a 200 while the health check answers."""
    answer = while_healthy(server, chat(server, model="gpt-4.1", messages=messages))
    assert answer.status_code == 200, answer.text


GEMINI_TURNS = [{"role": "user", "parts": [{"text": "word " * 400}]}] + [
    turn for _ in range(250) for turn in (
        {"role": "model", "parts": [{"text": "word " * 400}, {"functionCall": {"name": "t1", "args": {"a": 1}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "t1", "response": {"r": "x " * 400}}},
                                   {"text": "more " * 400}]})]
GEMINI_TOOLS = [{"functionDeclarations": [{"name": f"t{n}", "description": "d" * 200, "parameters": {
    "type": "OBJECT", "properties": {f"p{k}": {"type": "ARRAY", "items": {"type": "STRING"}} for k in range(40)}}}
    for n in range(250)]}]


@timing
@pytest.mark.parametrize("hostile", ["gemini-turns", "gemini-count", "ollama-context", "ollama-tools"])
def test_a_large_native_request_is_answered_while_the_loop_keeps_answering(server: Served, hostile: str) -> None:
    """The other families' large bodies: 500 Gemini turns of calls and results with 250 declared functions of 40
    parameters (read, translated and counted: 300,000 tokens), four times the turns counted by countTokens, an
    Ollama generate carrying a million tokens of earlier context (5 MB of ids: only its last 32,768 are decoded),
    and an Ollama chat with 1,000 tools (past the model's window, which Ollama truncates rather than refuses). Each
    answered while the health check answers within 100 ms. (Parsing a body holds the loop about 10 ms a MB, as
    orjson holds the GIL: --max-body bounds it; the baits stay a few MB so what is measured is the mock's work.)"""
    gemini = f"{server.origin}/v1beta/models/gemini-2.5-flash"
    key = {"x-goog-api-key": "k"}
    sent = {
        "gemini-turns": lambda: httpx2.post(f"{gemini}:generateContent", headers=key, timeout=30,
                                            json={"contents": GEMINI_TURNS, "tools": GEMINI_TOOLS}),
        "gemini-count": lambda: httpx2.post(f"{gemini}:countTokens", headers=key, timeout=30,
                                            json={"contents": GEMINI_TURNS * 4}),
        "ollama-context": lambda: httpx2.post(f"{server.origin}/api/generate", timeout=30, json={
            "model": "llama3.2", "prompt": "Go on", "stream": False, "context": [1000] * 1_000_000}),
        "ollama-tools": lambda: httpx2.post(f"{server.origin}/api/chat", timeout=30, json={
            "model": "llama3.2", "stream": False, "messages": [{"role": "user", "content": "t1 please " * 5_000}],
            "tools": [{"type": "function", "function": {"name": f"t{n}", "description": "d" * 200, "parameters": {
                "type": "object", "properties": {f"p{k}": {"type": "string"} for k in range(40)}}}}
                for n in range(1_000)]}),
    }
    answer = while_healthy(server, sent[hostile])
    assert answer.status_code == 200, answer.text[:500]


@timing
def test_a_realtime_session_full_of_loud_audio_is_heard_while_the_loop_keeps_answering(server: Served) -> None:
    """15 MiB of loud pcm16 (about five minutes: the input buffer's bound) appended to a Realtime session in MiB
    events with server VAD on: every 20 ms frame's energy is measured, and the health check answers throughout;
    one more byte is the buffer's error, and the session goes on."""
    from websockets.sync.client import connect

    loud = base64.b64encode(struct.pack("<h", 12_000) * (512 * 1024)).decode()  # 1 MiB

    def session() -> httpx2.Response:
        with connect(server.origin.replace("http", "ws", 1) + "/v1/realtime?model=gpt-realtime", max_queue=None,
                     additional_headers=AUTH, open_timeout=10, max_size=None) as socket:
            socket.recv(timeout=10)  # session.created
            for _ in range(15):
                socket.send(json.dumps({"type": "input_audio_buffer.append", "audio": loud}))
            socket.send(json.dumps({"type": "input_audio_buffer.append", "audio": loud}))
            said = [json.loads(socket.recv(timeout=20)) for _ in range(2)]
        kinds = [event["type"] for event in said]
        assert kinds == ["input_audio_buffer.speech_started", "error"], kinds
        assert said[1]["error"]["code"] == "input_audio_buffer_full"
        return httpx2.Response(200)

    assert while_healthy(server, session).status_code == 200


def test_a_message_regex_re2_cannot_run_is_refused_naming_it(server: Served) -> None:
    script = {"behaviors": [{"reply": "x", "match": {"message_regex": r"(\w)\1"}}]}
    answer = httpx2.post(server.origin + "/_mock/script", json=script)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid_script" and error["param"] == "behaviors[0].match.message_regex"
    assert "backreferences" in error["message"]


def test_patterns_are_bounded_in_length() -> None:
    with pytest.raises(PatternUnsupported, match="at most"):
        compile_pattern("a" * (MAX_PATTERN_LENGTH + 1))
    assert compile_pattern("(?i)weather in (paris|oslo)").search("Weather in Oslo?")


def tool_with(parameters: dict) -> dict:
    return {"type": "function", "function": {"name": "fill", "parameters": parameters}}


@timing
@pytest.mark.parametrize(("field", "parameters", "says"), [
    ("text", {"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "minLength": 1_000_000}}},
     "minLength 1000000 is above"),
    ("rows", {"type": "object", "required": ["rows"], "properties": {"rows": {
        "type": "array", "minItems": 40_000, "items": {"type": "string", "minLength": 1000}}}},
     "minItems 40000 is above"),
    ("rows", {"type": "object", "required": ["rows"], "properties": {"rows": {
        "type": "array", "minItems": 100, "items": {"type": "string", "minLength": 1000}}}},
     "more than 65536 characters"),
    ("code", {"type": "object", "required": ["code"], "properties": {"code": {
        "type": "string", "pattern": "^(ab|cd)+$", "minLength": 20_000, "maxLength": 20_001}}},
     "within 16384 characters of candidates"),
    ("code", {"type": "object", "required": ["code"], "properties": {"code": {
        "type": "string", "pattern": "^[a-z]+$", "minLength": 5_000}}},
     None),
])
def test_generation_from_a_schema_is_bounded(server: Served, field: str, parameters: dict, says: str | None) -> None:
    answer = while_healthy(server, chat(server, tools=[tool_with(parameters)], tool_choice="required"))
    if says is None:
        assert answer.status_code == 200, answer.text
        assert len(answer.content) < 200_000
        return
    assert answer.status_code == 400, answer.text[:300]
    error = answer.json()["error"]
    assert error["code"] == "invalid_json_schema" and error["param"] == "tools[0].function.parameters"
    assert says in error["message"] and f"#/properties/{field}" in error["message"]


def test_reset_forgets_stored_completions_jobs_and_deleted_models() -> None:
    """What one test stores never reaches the next: POST /_mock/reset and MockServer.reset() empty every store."""
    with MockServer() as server, httpx2.Client(base_url=server.origin, headers=AUTH, timeout=10) as http:
        for reset in (lambda: http.post("/_mock/reset"), server.reset):
            stored = http.post("/v1/chat/completions", json={
                "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Keep me"}], "store": True}).json()
            job = http.post("/serika/api/openai/v1/jobs/image", json={"prompt": "A boat", "size": "256x256"}).json()
            model = f"ft:gpt-4o-mini:acme::{id(reset)}"
            assert http.delete(f"/v1/models/{model}").status_code == 200
            assert http.delete(f"/v1/models/{model}").status_code == 404  # deleted once
            assert http.get("/v1/chat/completions").json()["data"]
            reset()
            assert http.get(f"/v1/chat/completions/{stored['id']}").status_code == 404
            assert http.get("/v1/chat/completions").json()["data"] == []
            assert http.get(f"/serika/api/openai/v1/jobs/{job['id']}").status_code == 404
            assert http.delete(f"/v1/models/{model}").status_code == 200  # forgotten, so deletable again


def test_the_journal_is_bounded_in_bytes_and_keeps_large_bodies_cut() -> None:
    from mockserver.journal import ENTRY_OVERHEAD_BYTES, JOURNAL_BODY_BYTES

    bound = 1_000_000
    entry = ENTRY_OVERHEAD_BYTES + JOURNAL_BODY_BYTES
    with MockServer(journal_bytes=bound) as server, httpx2.Client(base_url=server.url, headers=AUTH, timeout=30) as http:
        large = "word " * 40_000  # 200 KB of message
        for index in range(20):
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"{index} {large}"}]}
            assert http.post("/chat/completions", json=body).status_code == 200
        small = http.post("/chat/completions", json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
        assert small.status_code == 200
        journal = server.state.journal
        kept = server.wait_for_requests(1)
        large_kept = [exchange for exchange in kept if exchange.body_bytes > JOURNAL_BODY_BYTES]
        assert journal.bytes <= bound and len(large_kept) == (bound - kept[-1].journal_bytes) // entry < 20
        assert kept[-1].body["messages"][0]["content"] == "hi"  # a small body is kept whole
        cut = kept[0].body
        assert cut["truncated"] is True and cut["bytes"] == kept[0].body_bytes > 200_000
        assert len(cut["preview"]) == JOURNAL_BODY_BYTES and cut["preview"].startswith('{"model":"gpt-4o-mini"')
        listed = httpx2.get(server.origin + "/_mock/requests")
        assert listed.status_code == 200 and len(listed.content) < bound * 1.5
        server.reset()
        assert journal.bytes == 0


@timing
def test_reading_a_full_journal_is_streamed_while_the_server_answers() -> None:
    """A journal at its default bound (64 MiB, bodies cut at 64 KiB) leaves in pieces, never as one string."""
    from mockserver.journal import JOURNAL_BODY_BYTES

    with serve_process("--log-level", "warning", measured=False) as served:
        served_at = Served(served.origin)
        large = "word " * 20_000  # 100 KB of message
        with httpx2.Client(base_url=served_at.url, headers=AUTH, timeout=30) as http:
            for index in range(900):
                body = {"model": "gpt-4o-mini", "max_tokens": 1, "messages": [{"role": "user", "content": f"{index} {large}"}]}
                assert http.post("/chat/completions", json=body).status_code == 200
        rss_before = _rss_kib(served.process.pid)

        pieces: list[bytes] = []

        def read_journal() -> httpx2.Response:
            with httpx2.stream("GET", served.origin + "/_mock/requests", timeout=30) as listed:
                pieces.extend(listed.iter_raw())
                return listed

        listed = while_healthy(served_at, read_journal)
        assert listed.status_code == 200 and "content-length" not in listed.headers
        assert listed.headers["transfer-encoding"] == "chunked" and len(pieces) > 100
        entries = orjson.loads(b"".join(pieces))["data"]
        assert len(entries) == 900 and all(len(entry["body"]["preview"]) == JOURNAL_BODY_BYTES for entry in entries)
        assert _rss_kib(served.process.pid) - rss_before < 64 * 1024  # no second copy of the journal


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


@pytest.mark.parametrize("on_disk", [False, True], ids=["memory", "state-dir"])
def test_stored_completions_and_jobs_are_bounded_in_bytes(on_disk: bool, tmp_path: Path) -> None:
    """--store-bytes: 200 KB requests into a 1 MB store keep the newest few, by bytes, not 10,000 of them."""
    bound = 1_000_000
    state = {"state_dir": str(tmp_path)} if on_disk else {}
    large = "word " * 40_000
    with MockServer(store_bytes=bound, **state) as server, httpx2.Client(base_url=server.url, headers=AUTH,
                                                                        timeout=30) as http:
        ids = []
        for index in range(12):
            stored = http.post("/chat/completions", json={"model": "gpt-4o-mini", "store": True, "messages": [
                {"role": "user", "content": f"{index} {large}"}]})
            ids.append(stored.json()["id"])
        kept = [completion_id for completion_id in ids if http.get(f"/chat/completions/{completion_id}").status_code == 200]
        assert 3 <= len(kept) <= 5 and kept == ids[-len(kept):]  # ~200 KB each: the newest that fit in 1 MB
        listed = http.get("/chat/completions", params={"limit": 100}).json()["data"]
        assert sorted(item["id"] for item in listed) == sorted(kept)
    serika = {"dialect": "serika", "store_bytes": bound // 10, **state}
    prompt = "hill " * 6_000  # 30 KB: the longest prompt gpt-image-1 takes is 32,000 characters
    with MockServer(**serika) as server, httpx2.Client(base_url=server.url, headers=AUTH, timeout=30) as http:
        jobs = [http.post("/jobs/image", json={"model": "gpt-image-1", "prompt": f"{index} {prompt}"}).json()["id"]
                for index in range(12)]
        found = [job for job in jobs if http.get(f"/jobs/{job}").status_code == 200]
        assert 3 <= len(found) <= 5 and found == jobs[-len(found):]
        if not on_disk:
            assert server.state.stores.jobs._jobs.bytes <= bound // 10  # type: ignore[attr-defined]


def test_scripts_are_capped_overall_and_per_test() -> None:
    from mockserver.control.plane import MAX_SCRIPTS_PER_TEST

    with MockServer() as server:
        many = {"behaviors": [{"reply": "x"}] * MAX_SCRIPTS_PER_TEST}
        headers = {"X-Mock-Test-Id": "flood"}
        assert httpx2.post(server.origin + "/_mock/script", json=many, headers=headers).status_code == 200
        refused = httpx2.post(server.origin + "/_mock/script", json={"behaviors": [{"reply": "x"}]}, headers=headers)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_script"
        assert "at most 1000" in refused.json()["error"]["message"]
        assert len(server.state.control.scripts.pending("flood")) == MAX_SCRIPTS_PER_TEST  # all or none
        other = httpx2.post(server.origin + "/_mock/script", json={"behaviors": [{"reply": "y"}]})
        assert other.status_code == 200  # another test's queue is its own


def test_rate_limit_buckets_and_deleted_models_are_bounded() -> None:
    from mockserver.control.ratelimit import RateLimiter
    from mockserver.storage.memory import IdSet

    clock = [0.0]
    limiter = RateLimiter(rpm=10, tpm=None, clock=lambda: clock[0], max_keys=100)
    limiter.take("busy", 1, "m")  # one request taken: its bucket is not full
    for index in range(500):
        assert limiter.take(f"key-{index}", 1, "m")[0] is None
    assert len(limiter) <= 100
    deleted = IdSet(capacity=3)
    for model in ("ft:a", "ft:b", "ft:c", "ft:d"):
        deleted.add(model)
    assert len(deleted) == 3 and "ft:a" not in deleted and "ft:d" in deleted


@pytest.mark.parametrize("status", ["204", "205", "304"])
def test_an_http_error_fault_needs_a_status_with_a_body(status: str) -> None:
    with MockServer() as server:
        answer = httpx2.post(server.url + "/chat/completions", headers={**AUTH, "X-Mock-Fault": f"http_error;status={status}"},
                             json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]})
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_control_header"
        assert "carry a body" in answer.json()["error"]["message"]


def test_a_deeply_nested_fault_body_is_refused() -> None:
    import json

    body = json.dumps(json.loads("[" * 300 + "]" * 300))
    with MockServer() as server:
        script = {"behaviors": [{"fault": "http_error", "status": 418, "body": body}]}
        answer = httpx2.post(server.origin + "/_mock/script", json=script)
        assert answer.status_code == 400 and "nests deeper than 64" in answer.json()["error"]["message"]


def test_credentials_are_redacted_from_the_journal() -> None:
    secrets = ["sk-proxy-secret", "goog-secret", "query-secret"]
    with MockServer() as server:
        httpx2.get(server.url + "/models", params={"api_key": secrets[2], "limit": "5"}, headers={
            **AUTH, "Proxy-Authorization": f"Basic {secrets[0]}", "x-goog-api-key": secrets[1]})
        (entry,) = server.wait_for_requests(1)
        journaled = str(entry.as_dict())
        assert not any(secret in journaled for secret in secrets)
        assert entry.query == "api_key=[redacted]&limit=5"
        assert entry.headers["proxy-authorization"] == entry.headers["x-goog-api-key"] == "[redacted]"


def test_the_openapi_document_leaves_out_the_admin_api_under_no_control() -> None:
    with MockServer(control=False) as server:
        paths = httpx2.get(server.origin + "/openapi.json").json()["paths"]
    assert "/_mock/health" in paths and not [path for path in paths if path.startswith(("/_mock/script", "/_mock/requests"))]


@timing
def test_a_body_of_ten_million_empty_arrays_is_refused_before_parsing(server: Served) -> None:
    from mockserver.asgi.body import MAX_JSON_CONTAINERS

    arrays = b"[" + b"[]," * 10_000_000 + b"[]]"  # 28.6 MiB, under the 32 MiB --max-body

    def send() -> httpx2.Response:
        headers = {**AUTH, "Content-Type": "application/json"}
        return httpx2.post(server.url + "/chat/completions", content=arrays, headers=headers, timeout=30)

    answer = while_healthy(server, send)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_json"
    assert f"more than {MAX_JSON_CONTAINERS}" in answer.json()["error"]["message"]


def test_the_head_limit_is_per_request(server: Served) -> None:
    """5,000 pipelined GETs on one connection are all answered; one header above the limit is a 431."""
    from mockserver.asgi.protocol import MAX_HEAD_BYTES

    one = b"GET /_mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    answered = raw_exchange(server.port, one * 4_999 + b"GET /_mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert answered.count(b"HTTP/1.1 200 OK") == 5_000 and b" 431 " not in answered
    big = b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (MAX_HEAD_BYTES + 6_000) + b"\r\n\r\n"
    refused = raw_exchange(server.port, big)
    assert refused.startswith(b"HTTP/1.1 431 ") and b"request_header_fields_too_large" in refused


@pytest.mark.parametrize("closing", ["Connection: close", "HTTP/1.0"])
def test_a_413_is_read_by_a_client_that_closes_the_connection(closing: str) -> None:
    """The body (24 MB) is larger than the socket buffers: the answer must arrive while it is still being sent."""
    with serve_process("--max-body", "1048576", "--log-level", "warning", measured=False) as served:
        body = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "' + b"x" * 24_000_000 + b'"}]}'
        version, extra = ("HTTP/1.0", b"") if closing == "HTTP/1.0" else ("HTTP/1.1", b"Connection: close\r\n")
        head = (f"POST /v1/chat/completions {version}\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n").encode() + extra + b"\r\n"
        answer = raw_exchange(served.port, head + body)
    assert answer.split(b"\r\n", 1)[0].endswith(b"413 Request Entity Too Large"), answer[:200]
    assert b"request_too_large" in answer


def test_the_async_sdk_client_of_the_plugin_sees_the_413() -> None:
    """The plugin's async_openai_client sends Connection: close; a body over --max-body is its 413, not a reset."""
    import asyncio

    import openai

    async def call(url: str) -> int:
        client = openai.AsyncOpenAI(base_url=url, api_key="sk", max_retries=0,
                                    default_headers={"Connection": "close"})
        try:
            await client.chat.completions.create(model="gpt-4o-mini",
                                                 messages=[{"role": "user", "content": "x" * 20_000_000}])
        except openai.APIStatusError as error:
            return error.status_code
        finally:
            await client.close()
        return 200

    with serve_process("--max-body", "1048576", "--log-level", "warning", measured=False) as served:
        assert asyncio.run(call(served.origin + "/v1")) == 413


def test_a_client_leaving_mid_upload_is_journaled_without_a_traceback() -> None:
    import socket

    with serve_process() as served:
        head = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
        with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
            sock.sendall(head + b'{"model": "gpt-4o-mini", "messages": [' + b" " * 1000)
        line = served.wait_for_line("ended=client_disconnect")
        assert "POST /v1/chat/completions" in line and "-> no response" in line
        assert httpx2.get(served.origin + "/_mock/health").status_code == 200
        entries = httpx2.get(served.origin + "/_mock/requests").json()["data"]
    assert [(entry["status"], entry["ended"]) for entry in entries] == [(None, "client_disconnect")]
    assert "Traceback" not in "".join(served.stderr) and "500" not in "".join(served.stderr)


@timing
def test_slow_and_silent_clients_are_let_go() -> None:
    """--request-timeout: a head trickling in gets a 408; a connection that sends nothing is closed."""
    import socket

    with serve_process("--request-timeout", "0.5", "--log-level", "warning") as served:
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", served.port), timeout=5) as slow:
            slow.sendall(b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and nothing more: slowloris
            answer = slow.recv(65536)
            assert slow.recv(65536) == b""  # then the connection is closed
        assert answer.startswith(b"HTTP/1.1 408 ") and b"request_timeout" in answer
        assert 0.4 < time.monotonic() - started < 3
        with socket.create_connection(("127.0.0.1", served.port), timeout=5) as silent:
            assert silent.recv(65536).startswith(b"HTTP/1.1 408 ")
        # A request that arrives in time is served, however long its answer takes.
        held = httpx2.post(served.origin + "/v1/chat/completions", timeout=10, headers={**AUTH, "X-Mock-Fault": "latency;ms=1200"},
                           json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]})
        assert held.status_code == 200


@timing
def test_more_idle_sockets_than_descriptors_do_not_lock_new_clients_out() -> None:
    """Idle connections are closed after --request-timeout, so clients arriving after a flood are served.

    While every descriptor is taken, the event loop (libuv's) accepts and drops each new connection, so a
    client retries, as the SDKs do; without the timeout it would retry forever.
    """
    import socket

    limit, idle = 256, 320
    with serve_process("--request-timeout", "0.5", "--log-level", "error", descriptor_limit=limit) as served:
        sockets = [socket.create_connection(("127.0.0.1", served.port), timeout=5) for _ in range(idle)]
        try:
            started, answer = time.monotonic(), None
            while answer is None and time.monotonic() - started < 5:
                try:
                    answer = httpx2.get(served.origin + "/v1/models", headers=AUTH, timeout=5)
                except httpx2.TransportError:
                    time.sleep(0.05)
            assert answer is not None and answer.status_code == 200, "no client got in within 5 s"
            assert time.monotonic() - started < 2
        finally:
            for sock in sockets:
                sock.close()


def forged_image_url(origin: str, seed: int, side: int, fmt: str = "webp", index: int = 0) -> str:
    """The URL anyone who knows the server seed can forge: the check is no secret."""
    from mockserver.services.images import ImageOrder, file_name

    order = ImageOrder(model="m", family="other", prompt="", n=index + 1, width=side, height=side, quality="high",
                       background="transparent", output_format=fmt, response_format="url", stream=False,
                       partial_images=0, picture_seed=bytes(16))
    return f"{origin}/_mock/files/images/{file_name(order, index, seed)}"


@timing
def test_forged_urls_for_the_largest_picture_are_drawn_off_the_event_loop(server: Served) -> None:
    """Four 4096x4096 lossless pictures (64 MiB each) at once: the health check keeps answering."""
    path = forged_image_url("", 11, 4096)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    answers: list[bytes] = []

    def four_at_once() -> httpx2.Response:
        # Raw sockets: four httpx clients reading 64 MiB each would hold this process's GIL, and the health
        # check measured here would wait for them rather than for the server.
        fetchers = [threading.Thread(target=lambda: answers.append(raw_exchange(server.port, request, 30)))
                    for _ in range(4)]
        for fetcher in fetchers:
            fetcher.start()
        for fetcher in fetchers:
            fetcher.join(30)
        return httpx2.Response(200)

    while_healthy(server, four_at_once)
    assert [answer.split(b"\r\n", 1)[0] for answer in answers] == [b"HTTP/1.1 200 OK"] * 4
    head, _, picture = answers[0].partition(b"\r\n\r\n")
    assert b"content-type: image/webp" in head and len(picture) > 4096 * 4096 * 4


@pytest.mark.parametrize(("side", "index"), [(4096, 1), (0, 0)])
def test_a_url_the_mock_never_issues_is_a_404(server: Served, side: int, index: int) -> None:
    """Past the per-request pixel budget (a second 4096x4096 picture) or an empty one: signed, but never issued."""
    answer = httpx2.get(forged_image_url(server.origin, 11, side, index=index), timeout=10)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "file_not_found"


def test_a_request_for_more_pixels_than_the_budget_is_a_400_naming_the_field() -> None:
    body = {"model": "my-image-model", "prompt": "a hill", "size": "4096x4096", "n": 2}
    with serve_process("--validation", "off", "--log-level", "warning") as served:
        answer = httpx2.post(served.origin + "/v1/images/generations", json=body, headers=AUTH, timeout=10)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["param"] == "n" and "18,350,080" in error["message"]


@timing
def test_the_largest_inline_answer_is_drawn_off_the_event_loop(server: Served) -> None:
    """Ten 1792x1024 lossless pictures with transparency, inline as base64 (~100 MB of JSON)."""
    body = orjson.dumps({"model": "my-image-model", "prompt": "a hill", "size": "1792x1024", "n": 10,
                         "output_format": "webp", "background": "transparent", "response_format": "b64_json"})
    request = (b"POST /v1/images/generations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk-budget\r\n"
               b"Content-Type: application/json\r\nConnection: close\r\nContent-Length: "
               + str(len(body)).encode() + b"\r\n\r\n" + body)
    answers: list[bytes] = []

    def ask() -> httpx2.Response:
        answers.append(raw_exchange(server.port, request, 30))  # a raw socket: see the forged URLs' test
        return httpx2.Response(200)

    while_healthy(server, ask)
    head, _, content = answers[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"content-length: " + str(len(content)).encode() in head
    data = orjson.loads(content)["data"]
    assert [len(item["b64_json"]) > 1792 * 1024 * 5 for item in data] == [True] * 10


@timing
def test_a_batch_of_thousands_of_lines_is_answered_while_the_server_answers_others(server: Served) -> None:
    """The read that finalizes a batch answers every line through chat; it yields between lines."""
    lines = b"\n".join(orjson.dumps({"custom_id": f"r{n}", "method": "POST", "url": "/v1/chat/completions",
                                     "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"{n}"}]}})
                       for n in range(2000))
    uploaded = httpx2.post(server.url + "/files", headers=AUTH, files={"file": ("in.jsonl", lines)},
                           data={"purpose": "batch"}, timeout=30).json()
    batch = httpx2.post(server.url + "/batches", headers=AUTH, timeout=30, json={
        "input_file_id": uploaded["id"], "endpoint": "/v1/chat/completions", "completion_window": "24h"}).json()
    time.sleep(2.1)  # the default --job-schedule 1,2: the next read finalizes it
    answer = while_healthy(server, lambda: httpx2.get(f"{server.url}/batches/{batch['id']}", headers=AUTH, timeout=30))
    assert answer.json()["status"] == "completed" and answer.json()["request_counts"]["completed"] == 2000


@timing
def test_the_longest_speech_is_made_off_the_event_loop(server: Served) -> None:
    """300 seconds of flac (14 MB, CRCs computed in Python) is drawn on a worker thread."""
    speech = {"model": "tts-1", "voice": "alloy", "input": "word " * 800, "response_format": "flac"}
    answer = while_healthy(server, lambda: httpx2.post(server.url + "/audio/speech", json=speech, headers=AUTH,
                                                       timeout=30))
    assert answer.status_code == 200 and answer.content[:4] == b"fLaC" and len(answer.content) > 14_000_000


@timing
def test_truncation_of_a_long_conversation_counts_each_message_once(server: Served) -> None:
    """A 3.8 MiB conversation under ``truncation: auto`` (it recounted the whole prompt per dropped turn, 30 s
    and more on the event loop): each message is counted once, between slices, and the answer fits the window."""
    turns = [{"type": "message", "role": "user" if n % 2 == 0 else "assistant",
              "content": f"turn {n} " + "words and more words " * 90} for n in range(2_000)]
    body = {"model": "gpt-4o-mini", "input": turns, "truncation": "auto", "max_output_tokens": 16}
    answer = while_healthy(server, lambda: httpx2.post(server.url + "/responses", json=body, headers=AUTH,
                                                       timeout=30))
    assert answer.status_code == 200, answer.text[:300]
    assert 0 < answer.json()["usage"]["input_tokens"] <= 128_000


@timing
def test_a_large_cassette_is_recorded_and_replayed_off_the_event_loop(tmp_path: Path) -> None:
    """A 4 MB answer recorded into a cassette, then replayed by another server: neither the writing nor the reading
    holds the event loop (pure-Python YAML on it took half a minute). libyaml still holds the GIL while it emits one
    answer, about 10 ms a megabyte, which is what bounds the size here."""
    big = "word " * 800_000
    headers = {**AUTH, "X-Mock-Test-Id": "big"}
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "the long answer"}]}
    with MockServer(seed=1) as upstream:
        upstream.reply(big)
        with serve_process("--record", str(tmp_path), "--upstream", upstream.url, "--log-level", "warning",
                           measured=False) as recorder:
            served = Served(recorder.origin)
            recorded = while_healthy(served, lambda: httpx2.post(served.url + "/chat/completions", json=body,
                                                                 headers=headers, timeout=30))
    assert recorded.status_code == 200 and (tmp_path / "big.yaml").stat().st_size > 4_000_000
    with serve_process("--cassettes", str(tmp_path), "--replay-speed", "0", "--log-level", "warning",
                       measured=False) as replayer:
        served = Served(replayer.origin)
        replayed = while_healthy(served, lambda: httpx2.post(served.url + "/chat/completions", json=body,
                                                             headers=headers, timeout=30))
    assert replayed.status_code == 200 and replayed.json()["choices"][0]["message"]["content"] == big


@timing
def test_a_large_cached_anthropic_prompt_is_counted_off_the_event_loop() -> None:
    """A 1.3 million-token system prompt (7 MB) in four blocks, each a cache breakpoint, under --validation schema
    (no context window to refuse it): the chat's count and every prefix the cache counts (3.2 million tokens,
    which held the loop about 400 ms at once) go in slices, and the health check answers within 100 ms;
    count_tokens counts the same way."""
    system = [{"type": "text", "text": f"part {part} " + "words and more words " * 80_000,
               "cache_control": {"type": "ephemeral"}} for part in range(4)]
    body = {"model": "claude-sonnet-4-6", "max_tokens": 50, "system": system,
            "messages": [{"role": "user", "content": "hi"}]}
    headers = {"x-api-key": "sk-ant", "anthropic-version": "2023-06-01"}
    with serve_process("--validation", "schema", "--log-level", "warning", measured=False) as running:
        server = Served(running.origin)
        chat(server)()  # a first request, so nothing measured pays for a cold start
        answer = while_healthy(server, lambda: httpx2.post(server.origin + "/v1/messages", json=body,
                                                           headers=headers, timeout=30))
        assert answer.status_code == 200, answer.text[:300]
        assert answer.json()["usage"]["cache_creation_input_tokens"] > 1_000_000
        asked = {key: value for key, value in body.items() if key != "max_tokens"}
        counted = while_healthy(server, lambda: httpx2.post(server.origin + "/v1/messages/count_tokens",
                                                            json=asked, headers=headers, timeout=30))
    assert counted.json()["input_tokens"] == sum(answer.json()["usage"][key] for key in (
        "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))


@timing
def test_a_kept_alive_connection_s_one_timer_watches_both_limits() -> None:
    """The protocol keeps one timer a connection: after an answer it watches the keep-alive (an idle connection
    closed without a word) and the next request's --request-timeout (a head trickling in gets a 408), whichever
    comes first, and a request in time is served on the same connection."""
    import socket

    from mockserver.app.assembly import create_app
    from mockserver.app.server import uvicorn_config
    from mockserver.config import Config

    def head_then(connection: socket.socket, then: bytes) -> bytes:
        connection.sendall(b"GET /_mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = connection.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200 ")
        connection.sendall(then)
        return answer

    for keep_alive, request_timeout in ((0.3, 30.0), (30.0, 0.5)):
        config = Config(port=0, log_level="warning", request_timeout=request_timeout)
        settings = uvicorn_config(create_app(config), config, timeout_keep_alive=keep_alive)
        with uvicorn_thread(settings) as port, socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            for _ in range(3):  # answers on one connection: each re-arms the limits, none fires early
                head_then(connection, b"")
                time.sleep(min(keep_alive, request_timeout) / 3)
            started = time.monotonic()
            head_then(connection, b"GET /_mock/health HTTP/1.1\r\n" if request_timeout < keep_alive else b"")
            last = connection.recv(65536)
            waited = time.monotonic() - started
            if request_timeout < keep_alive:
                assert last.startswith(b"HTTP/1.1 408 ") and b"request_timeout" in last
                assert connection.recv(65536) == b""
            else:
                assert last == b""  # the keep-alive: closed without a word
            assert min(keep_alive, request_timeout) * 0.8 < waited < min(keep_alive, request_timeout) + 2

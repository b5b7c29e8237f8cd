"""The fast paths give exactly what the plain code they replace gives.

Each shortcut taken for throughput (see bench/README.md) is checked here
against the straightforward version: the same words, ids, bytes, routing and
journal entries.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import hashlib
import itertools
import json
import random
import types
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver import journal
from mockserver.app import create_app
from mockserver.asgi.protocol import INVALID_NAME, INVALID_VALUE, CoalescingTransport, RequestCycle
from mockserver.config import Config
from mockserver.control.decision import Decision, Script
from mockserver.determinism import _ALPHANUMERIC, HashRandom, _alphanumeric
from mockserver.dialects.catalog import load_characters
from mockserver.endpoints.chat.encode import MAX_OBFUSCATION, OBFUSCATION_ALPHABET, _text_deltas, sse_frames
from mockserver.generation import prose, tokens
from mockserver.generation.tokens import ROLES, tokenizer
from mockserver.validation import validator_for

CHAT = "/v1/chat/completions"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "What is the capital of France?"}]}


def _reference_sentence(rng: random.Random) -> str:
    count = rng.randint(*prose.SENTENCE_WORDS)
    words = [rng.choice(prose.words()) for _ in range(count)]
    if count > 8 and rng.random() < 0.5:
        words[rng.randint(3, count - 3)] += ","
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


def test_prose_draws_the_words_random_choice_draws() -> None:
    for seed in range(500):
        fast, reference = random.Random(seed), random.Random(seed)
        assert prose.paragraph(fast, 3) == " ".join(_reference_sentence(reference) for _ in range(3))
        assert fast.random() == reference.random()  # and leaves the generator in the same state


def test_ids_are_base62_digits_that_depend_on_every_byte_of_the_material() -> None:
    seen = set()
    for value in range(2000):
        material = value.to_bytes(4, "big")
        for length in (1, 24, 29, 64):
            digits = _alphanumeric(material, length)
            assert len(digits) == length and set(digits) <= set(_ALPHANUMERIC)
            assert _alphanumeric(material, length) == digits
        seen.add(_alphanumeric(material, 24))
    assert len(seen) == 2000
    # Well spread: every digit turns up, none more than twice as often as the average.
    counts = collections.Counter("".join(seen))
    assert set(counts) == set(_ALPHANUMERIC)
    assert max(counts.values()) < 2 * sum(counts.values()) / 62


def test_hash_random_is_a_pure_function_of_its_key_and_serves_every_random_method() -> None:
    def draws(generator: random.Random) -> list[Any]:
        items = list(range(20))
        generator.shuffle(items)
        return [generator.randint(1, 6), generator.random(), generator.gauss(0, 1), generator.choice("abcdef"),
                generator.uniform(2, 3), generator.sample(range(100), 5), items, generator.getrandbits(700),
                generator.randbytes(9), generator.choices("xyz", k=4)]

    assert draws(HashRandom(b"key")) == draws(HashRandom(b"key"))
    assert draws(HashRandom(b"key")) != draws(HashRandom(b"kez"))
    generator = HashRandom(b"state")
    generator.random()
    state = generator.getstate()
    after = draws(generator)
    generator.setstate(state)
    assert draws(generator) == after
    with pytest.raises(TypeError):
        HashRandom("a string")  # type: ignore[arg-type]


def test_hash_random_draws_are_uniform() -> None:
    generator = HashRandom(b"uniform")
    counts = collections.Counter(generator.randint(1, 6) for _ in range(60_000))
    assert set(counts) == set(range(1, 7))
    assert all(abs(count - 10_000) < 500 for count in counts.values())  # > 10 standard deviations of slack
    mean = sum(generator.random() for _ in range(20_000)) / 20_000
    assert abs(mean - 0.5) < 0.01


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_phrasebook_pieces_are_the_tokenizer_pieces_of_the_text(name: str) -> None:
    vocabulary = tokenizer(name)
    book = prose.phrasebook(vocabulary)
    generator = random.Random(name)
    for _ in range(400):
        first = generator.random() < 0.5
        pieces, counts = book.paragraph(generator, generator.randint(1, 5), first=first)
        text = "".join(pieces)
        assert text.startswith(" ") is not first
        assert (pieces, counts) == vocabulary.pieces(text)


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_text_before_a_phrasebook_paragraph_keeps_every_token_boundary(name: str) -> None:
    """Persona openers and the reasoning opening are tokenized alone, then joined to a paragraph."""
    vocabulary = tokenizer(name)
    book = prose.phrasebook(vocabulary)
    openers = [opener for character in load_characters().values() for opener in character.openers]
    openers += ["The user asks: 'What is 2+2?'.", "The user asks: 'ünïcode 😀 …'.", "Hi", "Well...", "42"]
    for position, opener in enumerate(openers):
        head, head_counts = vocabulary.pieces(opener)
        pieces, counts = book.paragraph(random.Random(position), 2, first=False)
        assert (head + pieces, head_counts + counts) == vocabulary.pieces(opener + "".join(pieces)), opener


@pytest.mark.parametrize("text", ["", "Paris", ' "quoted" \\ back', "Ünïcödé テスト 😀", "\n\t\x00\x1f", "</script>"])
def test_text_deltas_are_the_bytes_of_the_whole_chunk(text: str) -> None:
    def chunk(delta: dict[str, Any]) -> bytes:
        return orjson.dumps({"index": 2, "delta": delta, "logprobs": None, "finish_reason": None})

    assert _text_deltas(2, b'{"content":', [text], b"", b"") == [chunk({"content": text})]
    assert _text_deltas(2, b'{"reasoning_content":', [text], b"", b"") == [chunk({"reasoning_content": text})]
    opening = b'{"tool_calls":[{"index":1,"function":{"arguments":'
    assert _text_deltas(2, opening, [text], b"", b"", closing=b"}}]") == [
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": text}}]})
    ]


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_a_count_is_the_length_of_the_encoding(name: str) -> None:
    """``count`` asks the tokenizer for the number; ``encode`` makes the ids: they agree on every kind of text."""
    vocabulary = tokenizer(name)
    generator = random.Random(name)
    long = " ".join(prose.sentence(random.Random(seed)) for seed in range(3_000))  # past one slice
    texts = ["", " ", "Paris", "Ünïcödé テスト 😀", "\ud800 lone", "a" * 20_000, "<|endoftext|>", long]
    texts += ["".join(chr(generator.randint(32, 0x2FFF)) for _ in range(generator.randint(1, 60))) for _ in range(300)]
    for text in texts:
        assert vocabulary.count(text) == len(vocabulary.encode(text)), text[:40]


def _padded_after(frames: list[bytes], seed: bytes) -> list[bytes]:
    """The plain way: every frame made, then copied with its pad drawn from one digest of the whole stream."""
    step = MAX_OBFUSCATION + 1
    noise = hashlib.shake_256(seed).digest(len(frames) * step).translate(OBFUSCATION_ALPHABET)
    return [frame[:-3] + b',"obfuscation":"' + noise[position * step + 1: position * step + 2
                                                     + noise[position * step] % MAX_OBFUSCATION] + b'"}\n\n'
            for position, frame in enumerate(frames)]


@pytest.mark.parametrize("extra", [{}, {"model": "o3-mini", "reasoning_effort": "high"}, {"logprobs": True},
                                   {"tool_choice": "required", "tools": [{"type": "function", "function": {
                                       "name": "f", "parameters": {"type": "object", "properties": {
                                           "a": {"type": "string"}, "b": {"type": "integer"}}}}}]}])
@pytest.mark.parametrize("reply", [None, "A reply long enough to make more than thirty-two frames: " * 8])
def test_a_stream_s_frames_made_with_their_pads_are_the_frames_padded_after(extra: dict[str, Any],
                                                                            reply: str | None) -> None:
    state = create_app(Config()).state.mock
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Tell me about Paris."}], "stream": True,
            **extra}
    decision = Decision() if reply is None or "tools" in extra else Decision(source="test", script=Script(reply=reply))
    completion = state.chat.complete(state.dialects["openai"], body, decision)
    for usage in (False, True):
        plain = sse_frames(completion, include_usage=usage, reasoning_content=True)
        padded = sse_frames(completion, include_usage=usage, reasoning_content=True, obfuscation=True)
        assert plain[-1] == padded[-1] == b"data: [DONE]\n\n"
        assert padded[:-1] == _padded_after(plain[:-1], completion.id.encode())
        assert reply is None or "tools" in extra or len(padded) > 33


def test_role_counts_are_the_counts_of_the_roles() -> None:
    for name in ("o200k_base", "cl100k_base"):
        vocabulary = tokenizer(name)
        for role in ROLES:
            message = [{"role": role, "content": "Hello there"}]
            expected = 3 + 3 + vocabulary.count(role) + vocabulary.count("Hello there")  # priming, framing, text
            assert vocabulary.count_prompt(message, None) == expected


def _call(app: Any, method: str, path: str, body: Any = None, headers: tuple = (), sent: list | None = None) -> list:
    """Run one request through an ASGI app in-process; every message it sends (into ``sent`` if given), with
    the processing time left out."""
    raw = b"" if body is None else orjson.dumps(body)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"mock"), (b"authorization", b"Bearer sk-test"), (b"content-type", b"application/json"),
                    *headers],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }
    received = False
    sent = [] if sent is None else sent

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:  # the client stays connected: nothing more until the response is over
            await asyncio.get_running_loop().create_future()
        received = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [h for h in message["headers"] if h[0] != b"openai-processing-ms"]}
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", CHAT, BODY, 200, None),
        ("POST", CHAT, {**BODY, "stream": True, "stream_options": {"include_usage": True}}, 200, None),
        ("POST", CHAT, {**BODY, "temperature": 3}, 400, "decimal_above_max_value"),
        ("POST", CHAT, None, 400, None),
        ("GET", "/v1/models", None, 200, None),
        ("HEAD", "/v1/models", None, 200, None),
        ("GET", "/v1/models/gpt-4o-mini", None, 200, None),
        ("GET", "/v1/models/ft:gpt-4o-mini:org/with/slashes", None, 404, "model_not_found"),
        ("PUT", CHAT, BODY, 405, "method_not_allowed"),
        ("GET", "/v1/nowhere", None, 404, "unknown_url"),
        ("GET", CHAT + "/", None, 404, "unknown_url"),
        ("GET", "/_mock/health", None, 200, None),
        ("GET", "/v1/files/file-1", None, 404, "not_found"),
        ("DELETE", "/v1/responses/resp_1", None, 404, None),
    ],
)
def test_the_route_table_answers_each_kind_of_request(method: str, path: str, body: Any, status: int,
                                                      code: str | None) -> None:
    app = create_app(Config(seed=3, freeze_time=True))
    sent = _call(app, method, path, body)
    assert sent[0]["status"] == status
    headers = dict(sent[0]["headers"])
    if path != "/_mock/health":
        assert headers[b"openai-version"] and headers[b"x-request-id"].startswith(b"req_")
    if status == 405:
        assert headers[b"allow"] == b"GET, POST"  # GET lists stored completions
    if code is not None:
        assert json.loads(b"".join(message.get("body", b"") for message in sent[1:]))["error"]["code"] == code
    (entry,) = app.state.mock.journal.entries()
    assert entry.status == status and entry.path == path


def test_an_unhandled_error_is_a_500_in_the_envelope_and_reraised(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise ZeroDivisionError("boom")

    app = create_app(Config(seed=3, freeze_time=True))
    monkeypatch.setattr(app.state.mock.keys, "authenticate", broken)
    sent: list = []
    with pytest.raises(ZeroDivisionError):  # re-raised after the 500, so the server logs it
        _call(app, "POST", CHAT, BODY, sent=sent)
    entry = app.state.mock.journal.entries()[-1]
    assert sent[0]["status"] == entry.status == 500
    assert json.loads(sent[1]["body"])["error"]["code"] == "internal_error"


def test_a_stream_without_faults_leaves_in_one_send_and_counts_every_frame() -> None:
    app = create_app(Config(seed=1))
    sent = _call(app, "POST", CHAT, {**BODY, "stream": True})
    frames = sent[1]["body"].count(b"\n\n")
    assert len(sent) == 2 and sent[1]["more_body"] is False
    assert app.state.mock.journal.entries()[-1].chunks_sent == frames > 3


def test_a_journal_entry_read_from_what_arrived_is_what_the_plain_code_kept() -> None:
    """The entry keeps the header list and the body's bytes; read, they are the redacted dict and the parsed body the
    journal kept before it did, and an entry that was never read counts the bytes the request brought."""
    app = create_app(Config(seed=1))
    body = {**BODY, "metadata": {"note": "ünïcode 😀", "big": "x" * 300}, "temperature": 0.5}
    sent_headers = ((b"x-api-key", b"sk-other"), (b"referer", b"http://page/?key=secret&a=1"), (b"x-trace", b"1"))
    _call(app, "POST", CHAT, body, sent_headers)
    entry = app.state.mock.journal.entries()[-1]
    arrived = [(b"host", b"mock"), (b"authorization", b"Bearer sk-test"), (b"content-type", b"application/json"),
               *sent_headers]
    assert entry.raw_body == orjson.dumps(body) and entry.journal_bytes == entry.counted_bytes
    assert entry.body == body and entry.raw_body is None
    assert entry.headers == journal.redact_headers(arrived)
    assert entry.headers["authorization"] == entry.headers["x-api-key"] == journal.REDACTED
    assert entry.headers["referer"] == f"http://page/?key={journal.REDACTED}&a=1"
    assert entry.as_dict()["body"] == body and "sk-test" not in orjson.dumps(entry.as_dict()).decode()


def test_a_stream_with_faults_leaves_frame_by_frame() -> None:
    app = create_app(Config(seed=1))
    sent = _call(app, "POST", CHAT, {**BODY, "stream": True}, ((b"x-mock-fault", b"ttft;ms=1"),))
    bodies = [message["body"] for message in sent[1:] if message["body"]]
    assert all(body.count(b"\n\n") == 1 for body in bodies)
    assert app.state.mock.journal.entries()[-1].chunks_sent == len(bodies) > 3


BAD_FIELDS = {
    "temperature": 3.5,
    "n": "two",
    "stop": ["a", "b", "c", "d", "e"],
    "messages": [{"role": "wizard", "content": "hi"}],
    "tools": [{"type": "function"}],
    "max_tokens": -1,
    "top_p": "high",
    "response_format": {"type": "xml"},
    "tool_choice": {"type": "function"},
    "unknown_argument": 1,
}


@pytest.mark.parametrize("dialect", ["openai", "openserv", "samurai", "serika"])
def test_a_400_names_the_error_the_full_python_walk_meets_first(dialect: str) -> None:
    validator = validator_for("chat_completion", dialect)
    bodies = [
        {**BODY, **{name: BAD_FIELDS[name] for name in names}}
        for size in (1, 2, 3)
        for names in itertools.combinations(BAD_FIELDS, size)
    ]
    bodies += [{"messages": BODY["messages"], "temperature": 3.5}, {"model": 4, "messages": "no"}]
    for body in bodies:
        full = next(validator._precise.iter_errors(body), None)
        fast = validator._first_error(body)
        if full is None:  # a field this dialect does not refuse
            assert fast is None and validator._fast.is_valid(body), body
            continue
        assert fast is not None, body
        assert (fast.message, list(fast.absolute_path), fast.validator) == (
            full.message, list(full.absolute_path), full.validator
        ), body


class _RecordingTransport:
    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes]] = []

    def write(self, data: bytes) -> None:
        self.calls.append(("write", data))

    def close(self) -> None:
        self.calls.append(("close", b""))

    def abort(self) -> None:
        self.calls.append(("abort", b""))

    def write_eof(self) -> None:
        self.calls.append(("write_eof", b""))

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


@pytest.mark.parametrize("ending", ["close", "abort", "write_eof"])
def test_the_coalescing_transport_sends_one_step_in_one_write_and_never_reorders(ending: str) -> None:
    async def scenario() -> list[tuple[str, bytes]]:
        real = _RecordingTransport()
        transport = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(b"body")
        assert real.calls == []  # nothing leaves before the step ends
        await asyncio.sleep(0)
        assert real.calls == [("write", b"HTTP/1.1 200 OK\r\n\r\nbody")]
        transport.write(b"half a frame")
        getattr(transport, ending)()  # what is waiting goes first, then the connection ends
        await asyncio.sleep(0)
        assert transport.get_extra_info("socket") == "info:socket" and transport.is_closing() is False
        return real.calls[1:]

    assert asyncio.run(scenario()) == [("write", b"half a frame"), (ending, b"")]


@settings(max_examples=300, deadline=None)
@given(name=st.binary(max_size=12), value=st.binary(max_size=12))
def test_a_response_head_is_refused_exactly_where_the_header_patterns_find_a_forbidden_byte(name: bytes,
                                                                                           value: bytes) -> None:
    written: list[bytes] = []
    protocol = types.SimpleNamespace(server_state=types.SimpleNamespace(default_headers=[]),
                                     transport=types.SimpleNamespace(write=written.append))
    cycle = RequestCycle(protocol, {"method": "GET"}, True, False)  # type: ignore[arg-type]
    headers = [(b"content-type", b"text/plain"), (name or b"x", value), (b"content-length", b"0")]
    forbidden = INVALID_NAME.search(name.lower() or b"x") or INVALID_VALUE.search(value)
    if forbidden:
        with pytest.raises(RuntimeError, match="Invalid HTTP header"):
            cycle._start(200, headers)
        assert written == []
    else:
        cycle._start(200, headers)
        assert written == [b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n%s: %s\r\ncontent-length: 0\r\n\r\n"
                           % ((name or b"x").lower(), value)]


def test_only_a_body_with_an_integer_field_has_its_integral_floats_made_integers() -> None:
    validator = validator_for("chat_completion", "openai")
    plain = {**BODY, "temperature": 1.0}
    validator.validate(plain)
    assert type(plain["temperature"]) is float
    counted = {**BODY, "n": 2.0, "max_completion_tokens": 16.0, "temperature": 1.0}
    validator.validate(counted)
    assert counted == {**BODY, "n": 2, "max_completion_tokens": 16, "temperature": 1.0}
    assert type(counted["n"]) is int and type(counted["max_completion_tokens"]) is int


def test_serving_runs_on_uvloop_and_httptools() -> None:
    import httptools
    from uvicorn.server import ServerState

    from mockserver.app.server import uvicorn_config
    from mockserver.asgi.protocol import MockHttpProtocol

    settings = uvicorn_config(create_app(Config()), Config())
    loop = settings.get_loop_factory()()  # type: ignore[misc]
    try:
        assert type(loop).__module__.startswith("uvloop")
        assert settings.http is MockHttpProtocol and not settings.proxy_headers
        protocol = MockHttpProtocol(settings, ServerState(), {}, _loop=loop)
        assert isinstance(protocol.parser, httptools.HttpRequestParser)
    finally:
        loop.close()


def test_requests_read_no_files_and_no_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    """Everything a request needs is loaded when the app is built; none of it is read again per request."""
    import builtins
    import io
    import pathlib

    import yaml

    app = create_app(Config(seed=2))
    requests = [
        ("POST", CHAT, BODY),
        ("POST", CHAT, {**BODY, "stream": True, "n": 2, "logprobs": True}),
        ("POST", CHAT, {**BODY, "tools": [{"type": "function", "function": {"name": "f", "parameters": {
            "type": "object", "properties": {"when": {"type": "string", "format": "date-time"}}}}}],
            "tool_choice": "required"}),
        ("POST", CHAT, {**BODY, "messages": [{"role": "user", "content": "Answer in JSON."}],
                        "response_format": {"type": "json_object"}}),
        ("POST", CHAT, {**BODY, "model": "o3-mini", "reasoning_effort": "high"}),
        ("POST", CHAT, {**BODY, "temperature": 3}),
        ("GET", "/v1/models", None),
        ("POST", "/v1/embeddings", {"model": "text-embedding-3-small", "input": "hi"}),
    ]
    for request in requests:  # first use of each path: vocabularies and phrasebooks load here, once
        _call(app, *request)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"read during a request: {args[:1]!r}")

    for owner, name in [(builtins, "open"), (io, "open"), (pathlib.Path, "open"), (pathlib.Path, "read_text"),
                        (pathlib.Path, "read_bytes"), (yaml, "load"), (yaml, "safe_load")]:
        monkeypatch.setattr(owner, name, refuse)
    for method, path, body in requests:
        status = _call(app, method, path, body)[0]["status"]
        assert status == (400 if body and body.get("temperature") == 3 else 200)


def test_a_large_prompt_counted_in_yielding_slices_counts_the_same() -> None:
    vocabulary = tokenizer("o200k_base")
    text = " ".join(prose.sentence(random.Random(seed)) for seed in range(6_000))  # past several slices
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": text},
        {"role": "user", "name": "ann", "content": [{"type": "text", "text": text[:50_000]},
                                                     {"type": "image_url", "image_url": {"url": "x", "detail": "low"}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "done"},
    ]
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    assert len(text) > 100_000
    assert asyncio.run(vocabulary.count_prompt_yielding(messages, tools)) == vocabulary.count_prompt(messages, tools)


def test_a_recurring_reply_s_pieces_are_remembered_within_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scripted and fixture replies recur: their pieces are the tokenizer's, made once, and the caller's to keep;
    the memory holds at most FIXED_TEXTS texts (the least recently used go first), none longer than
    FIXED_TEXT_CHARACTERS."""
    monkeypatch.setattr(tokens, "FIXED_TEXTS", 3)
    vocabulary = tokens.Tokenizer("o200k_base")
    text = "The capital of France is Paris, a city on the Seine."
    first = vocabulary.fixed_pieces(text)
    assert first == vocabulary.pieces(text)
    first[0].append("mutated")
    assert vocabulary.fixed_pieces(text) == vocabulary.pieces(text)
    for other in ("one", "two", "three"):
        vocabulary.fixed_pieces(other)
    assert list(vocabulary._fixed) == ["one", "two", "three"]  # the reply, least recently used, went first
    vocabulary.fixed_pieces("one")
    assert list(vocabulary._fixed) == ["two", "three", "one"]
    long = "word " * (tokens.FIXED_TEXT_CHARACTERS // 5 + 1)
    assert vocabulary.fixed_pieces(long) == vocabulary.pieces(long) and long not in vocabulary._fixed


@pytest.mark.parametrize(("rule", "digested"), [({"reply": "Fixed."}, False),
                                                 ({"error": {"status": 503, "attempts": "0"}}, True)])
def test_a_request_is_digested_for_its_repeats_only_where_a_rule_reads_the_attempt(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, rule: dict[str, Any], digested: bool) -> None:
    """Counting repeats costs a canonical dump and a digest of the body: a rule that answers the same on every
    attempt does not need it (the same-text benchmark row serves such a rule)."""
    (tmp_path / "rules.json").write_text(json.dumps({"rules": [{"match": {"message_contains": "France"}, **rule}]}))
    app = create_app(Config(fixtures=[str(tmp_path)]))
    plane = app.state.mock.control
    calls: list[bytes] = []
    digest = plane.repeats.digest
    monkeypatch.setattr(plane.repeats, "digest", lambda *parts: calls.append(parts[-1]) or digest(*parts))
    sent = _call(app, "POST", CHAT, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "France?"}]})
    assert sent[0]["status"] == (503 if digested else 200) and bool(calls) is digested


def test_a_fast_constructor_makes_what_its_class_makes() -> None:
    from mockserver.asgi.context import Outcome, RequestContext, new_outcome
    from mockserver.constructors import fast_constructor
    from mockserver.control.decision import new_decision, new_script
    from mockserver.generation.chat import Choice, Completion, new_choice, new_completion
    from mockserver.journal import Exchange, new_exchange

    opened = {"id": 7, "time": 1.5, "method": "POST", "path": CHAT, "query": "", "raw_headers": [(b"a", b"b")],
              "attempt": 2, "test_id": "t", "admin": False, "node": "n", "worker": 3}
    made, twin = new_exchange(**opened), new_exchange(**opened)
    assert made == Exchange(**opened) and type(made) is Exchange
    assert made.faults == [] and made.faults is not twin.faults and made.response_parts is not twin.response_parts
    assert new_exchange(7, 1.5, "POST", CHAT, "", faults=["x"]).faults == ["x"]
    outcome = {"dialect": "openai", "endpoint": "chat.completions", "key_id": None, "tokens_in": 3}
    assert new_outcome(**outcome) == Outcome(**outcome) and type(new_outcome(**outcome)) is Outcome
    assert new_script(reply="r") == Script(reply="r")
    assert new_decision(source="s", script=Script("r")) == Decision(source="s", script=Script("r"))
    assert new_decision().faults is not new_decision().faults
    choice = {"content": ["a"], "finish_reason": "stop", "completion_tokens": 1}
    assert new_choice(0, **choice) == Choice(0, **choice)
    completion = {"id": "c", "created": 1, "model": "m", "fingerprint": "f", "choices": [], "prompt_tokens": 2,
                  "request_id": "r"}
    assert new_completion(**completion) == Completion(**completion)
    context = RequestContext.from_scope({"path": CHAT, "headers": [(b"authorization", b"Bearer k")]})
    assert context == RequestContext(path=CHAT, raw_headers=[(b"authorization", b"Bearer k")], api_key="k",
                                     headers={b"authorization": b"Bearer k"})
    with pytest.raises(TypeError):
        new_exchange(7, 1.5, "POST", CHAT, "", unknown=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="frozen"):
        fast_constructor(_Frozen)
    with pytest.raises(TypeError, match="init=False"):
        fast_constructor(_Derived)


@dataclasses.dataclass(frozen=True)
class _Frozen:
    value: int = 0


@dataclasses.dataclass
class _Derived:
    value: int = 0
    twice: int = dataclasses.field(init=False, default=0)


def _variants(value: Any, rng: random.Random) -> list[Any]:
    """``value`` and a few ways to break it: a field dropped, a field of the wrong type, an unknown field."""
    if not isinstance(value, dict) or not value:
        return [value, {"unknown": 1}, [value]]
    names = sorted(value)
    dropped = {key: item for key, item in value.items() if key != rng.choice(names)}
    wrong = {**value, rng.choice(names): {"not": ["what", "was", "asked"]}}
    retyped = {**value, rng.choice(names): 12345}
    return [value, dropped, wrong, retyped, {**value, "surely_unknown_field": True}, []]


def test_the_compiled_verdicts_of_the_spec_engine_are_the_python_validators() -> None:
    """Every operation's request and response schema: the compiled checker (``jsonschema_rs``, with the request
    reading written into the schema) says valid exactly where the Python validator finds no error, on bodies drawn
    from each schema and broken in a few ways each."""
    from mockserver.conformance import (
        official_document,
        request_schema_checker,
        request_schema_validator,
        schema_checker,
        schema_validator,
    )
    from mockserver.endpoints.engine.operations import every_operation
    from mockserver.generation import jsongen

    rng = random.Random(17)
    components = official_document()["$defs"]
    compared = disagreements = 0
    for operation in every_operation():
        schemas = [(schema, request_schema_checker, request_schema_validator) for schema in operation.request.values()]
        if operation.response_schema is not None:
            schemas.append((operation.response_schema, schema_checker, schema_validator))
        for schema, checker_for, validator_for_schema in schemas:
            checker, validator = checker_for(schema), validator_for_schema(schema)
            for _ in range(3):
                try:
                    drawn = jsongen.generate({"$defs": components, **schema}, rng)
                except jsongen.SchemaUnsupported:
                    continue
                for body in _variants(drawn, rng):
                    compared += 1
                    if checker.is_valid(body) != (next(iter(validator.iter_errors(body)), None) is None):
                        disagreements += 1
                        print(operation.id, body)
    assert compared > 2000 and disagreements == 0


def test_the_compiled_request_verdict_reads_one_of_as_the_api_does() -> None:
    """A message that is both an EasyInputMessage and an InputMessage: under ``oneOf`` as written it would be
    refused (valid under two branches); the API takes it, and so do both of the mock's readings."""
    import jsonschema_rs

    from mockserver.conformance import request_schema_checker, request_schema_validator
    from mockserver.endpoints.engine.schemas import by_id

    schema = by_id("createResponse").request["application/json"]
    body = {"model": "gpt-4o", "input": [{"role": "user", "type": "message",
                                          "content": [{"type": "input_text", "text": "hi"}]}]}
    assert request_schema_checker(schema).is_valid(body)
    assert next(iter(request_schema_validator(schema).iter_errors(body)), None) is None
    strict = request_schema_checker({"oneOf": [{"type": "object"}, {"required": ["model"]}]})
    assert strict.is_valid(body)  # valid under both branches: taken
    assert not jsonschema_rs.Draft202012Validator({"oneOf": [{"type": "object"}, {"required": ["model"]}]}).is_valid(body)

"""Every fault of the vocabulary, as the official openai SDK sees it over a real socket.

The expected outcome of each test is a row of the README's fault table.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx2
import openai
import pytest
import uvicorn

from mockserver import MockServer
from mockserver.app.server import uvicorn_config
from mockserver.asgi.protocol import TRANSPORT_KEY, MockHttpProtocol
from mockserver.config import Config
from mockserver.journal import Exchange

from helpers import sdk_client, uvicorn_thread

HELLO = [{"role": "user", "content": "Tell me about the weather."}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}


def sdk(server: MockServer, *, retries: int = 0, timeout: float = 10, **headers: str) -> tuple[openai.OpenAI, str]:
    """An SDK client whose requests carry a fresh test id (to find them in the journal) and ``headers``."""
    test_id = uuid.uuid4().hex
    default_headers = {"X-Mock-Test-Id": test_id, **{key.replace("_", "-"): value for key, value in headers.items()}}
    client = sdk_client(server.url, retries=retries, timeout=timeout, **default_headers)
    return client, test_id


def journal(server: MockServer, test_id: str, count: int) -> list[Exchange]:
    """The test's exchanges once ``count`` of them are journaled (the server appends as a response ends)."""
    return server.wait_for_requests(count, test_id=test_id)


def stream_text(client: openai.OpenAI, received: list[str] | None = None, **extra: Any) -> str:
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True, **extra)
    text = received if received is not None else []
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text.append(chunk.choices[0].delta.content)
    return "".join(text)


# ---------------------------------------------------------------------- HTTP errors and retries


def test_rate_limit_on_attempts_0_1_then_success(server: MockServer) -> None:
    client, test_id = sdk(server, retries=2, X_Mock_Fault="rate_limit;retry_after_ms=1;attempts=0-1")
    sdk(server)[0].chat.completions.create(model="gpt-4o-mini", messages=HELLO)  # the first chat's lazy loads
    started = time.perf_counter()
    response = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and response.retries_taken == 2
    assert response.parse().choices[0].message.content
    exchanges = journal(server, test_id, 3)
    assert [(exchange.attempt, exchange.status) for exchange in exchanges] == [(0, 429), (1, 429), (2, 200)]
    assert [exchange.faults for exchange in exchanges] == [["rate_limit;retry_after_ms=1;attempts=0-1"]] * 2 + [[]]
    assert exchanges[0].decided_by == "header" and exchanges[2].decided_by is None
    # The SDK's own backoff would wait at least 0.375 s + 0.75 s; retry-after-ms=1 makes it immediate.
    assert elapsed < 0.75


def test_retry_after_is_honoured(server: MockServer) -> None:
    plain, _ = sdk(server, X_Mock_Fault="rate_limit;retry_after_ms=1200")
    with pytest.raises(openai.RateLimitError) as raised:
        plain.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    headers = raised.value.response.headers
    assert headers["retry-after-ms"] == "1200" and headers["retry-after"] == "2"
    assert headers["x-ratelimit-remaining-requests"] == "0" and headers["x-ratelimit-reset-requests"] == "1.2s"
    assert raised.value.code == "rate_limit_exceeded" and raised.value.type == "requests"

    client, test_id = sdk(server, retries=1, X_Mock_Fault="rate_limit;retry_after_ms=1200;attempts=0")
    client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    first, second = journal(server, test_id, 2)
    # The SDK's own first backoff is at most 0.5 s: waiting 1.2 s means it read retry-after-ms.
    assert second.time - first.time >= 1.2


def test_http_error_503_is_retried_unless_should_retry_false(server: MockServer) -> None:
    client, test_id = sdk(server, retries=1, X_Mock_Fault="http_error;status=503;retry_after_ms=1")
    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert raised.value.status_code == 503 and raised.value.type == "server_error"
    assert [exchange.status for exchange in journal(server, test_id, 2)] == [503, 503]

    client, test_id = sdk(server, retries=2, X_Mock_Fault="http_error;status=503;should_retry=false")
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert len(journal(server, test_id, 1)) == 1  # the client returned after one try: nothing else can arrive


def test_http_error_with_custom_status_and_body(server: MockServer) -> None:
    client, _ = sdk(server, X_Mock_Fault='http_error;status=409;body={"error": {"message": "busy"%2C "code": "busy"}}')
    with pytest.raises(openai.ConflictError) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert raised.value.body == {"message": "busy", "code": "busy"} and raised.value.code == "busy"


def test_context_overflow(server: MockServer) -> None:
    client, _ = sdk(server, X_Mock_Fault="context_overflow")
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert raised.value.code == "context_length_exceeded" and raised.value.param == "messages"


# ---------------------------------------------------------------------- stream faults


def test_disconnect_mid_stream(server: MockServer) -> None:
    client, test_id = sdk(server, X_Mock_Fault="disconnect;after_chunks=3")
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError) as raised:
        stream_text(client, received)
    assert isinstance(raised.value.__cause__, httpx2.RemoteProtocolError)
    assert len(received) == 2  # the role chunk, then two content chunks
    (exchange,) = journal(server, test_id, 1)
    assert exchange.ended == "disconnect" and exchange.chunks_sent == 3 and exchange.status == 200


@pytest.mark.parametrize("stream", [True, False])
def test_disconnect_mid_frame_after_bytes(server: MockServer, stream: bool) -> None:
    client, test_id = sdk(server, X_Mock_Fault="disconnect;after_bytes=150")
    with pytest.raises(openai.APIConnectionError):
        if stream:
            stream_text(client)
        else:
            client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    (exchange,) = journal(server, test_id, 1)
    assert exchange.ended == "disconnect"


def test_truncate_ends_cleanly_with_partial_text(server: MockServer) -> None:
    client, test_id = sdk(server)
    full = stream_text(client)
    client, test_id = sdk(server, X_Mock_Fault="truncate;after_chunks=4")
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True)
    chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert text and full.startswith(text) and len(text) < len(full)
    assert all(chunk.choices[0].finish_reason is None for chunk in chunks)
    (exchange,) = journal(server, test_id, 1)
    assert exchange.ended == "truncate" and exchange.chunks_sent == 4


def test_error_event_after_200(server: MockServer) -> None:
    client, test_id = sdk(server, X_Mock_Fault="error_event;after_chunks=2;code=overloaded")
    with pytest.raises(openai.APIError) as raised:
        stream_text(client)
    assert not isinstance(raised.value, openai.APIStatusError)
    assert raised.value.code == "overloaded" and raised.value.type == "server_error"
    (exchange,) = journal(server, test_id, 1)
    assert exchange.status == 200 and exchange.ended == "error_event"


@pytest.mark.parametrize("stream", [True, False])
def test_malformed_chunk_raises_json_error(server: MockServer, stream: bool) -> None:
    client, _ = sdk(server, X_Mock_Fault="malformed")
    with pytest.raises(json.JSONDecodeError):
        if stream:
            stream_text(client)
        else:
            client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)


def test_stall_with_client_timeout(server: MockServer) -> None:
    client, test_id = sdk(server, timeout=0.3, X_Mock_Fault="stall;after_chunks=2;seconds=5")
    received: list[str] = []
    started = time.perf_counter()
    with pytest.raises(openai.APITimeoutError):
        stream_text(client, received)
    assert time.perf_counter() - started < 2
    assert len(received) == 1  # the socket stayed open after two chunks
    (exchange,) = journal(server, test_id, 1)
    assert exchange.ended == "client_disconnect" and exchange.chunks_sent == 2


def test_hang_times_out(server: MockServer) -> None:
    client, test_id = sdk(server, timeout=0.3, X_Mock_Fault="hang")
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    (exchange,) = journal(server, test_id, 1)
    assert exchange.ended == "hang" and exchange.status is None


def test_latency_ttft_and_pacing(server: MockServer) -> None:
    client, test_id = sdk(server, X_Mock_Fault="latency;ms=150")
    client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    (exchange,) = journal(server, test_id, 1)
    assert exchange.first_byte_ms >= 150

    client, test_id = sdk(server, X_Mock_Fault="ttft;ms=150")
    stream_text(client)
    (exchange,) = journal(server, test_id, 1)
    assert exchange.first_byte_ms < 100 and exchange.duration_ms >= 150  # headers at once, tokens later

    client, test_id = sdk(server, X_Mock_Fault="tokens_per_second;rate=200")
    stream_text(client)
    (exchange,) = journal(server, test_id, 1)
    assert exchange.duration_ms >= (exchange.chunks_sent - 1) / 200 * 1000


# ---------------------------------------------------------------------- socket faults


@pytest.mark.parametrize(
    ("fault", "cause", "words"),
    [
        ("reset", httpx2.ReadError, "reset"),
        ("empty", httpx2.RemoteProtocolError, "without sending a response"),
        ("garbage", httpx2.RemoteProtocolError, "illegal status line"),
    ],
)
def test_socket_faults(server: MockServer, fault: str, cause: type, words: str) -> None:
    client, test_id = sdk(server, retries=1, X_Mock_Fault=fault)
    with pytest.raises(openai.APIConnectionError) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert isinstance(raised.value.__cause__, cause) and words in str(raised.value.__cause__).lower()
    exchanges = journal(server, test_id, 2)
    assert [(exchange.attempt, exchange.ended, exchange.status) for exchange in exchanges] == [
        (0, fault, None), (1, fault, None)
    ]


def test_protocol_hook_puts_the_transport_in_the_scope() -> None:
    """The one piece of uvicorn internals we rely on (uvicorn is pinned for it)."""
    assert uvicorn.__version__ == "0.54.0"
    seen: list[Any] = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        seen.append(scope.get(TRANSPORT_KEY))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    config = uvicorn_config(app, Config(port=0, log_level="warning"))
    assert config.http is MockHttpProtocol
    with uvicorn_thread(config) as port:
        assert httpx2.get(f"http://127.0.0.1:{port}/").status_code == 204
    assert seen and hasattr(seen[0], "abort") and hasattr(seen[0], "get_extra_info")


# ---------------------------------------------------------------------- scripted content


def test_forced_tool_call(server: MockServer) -> None:
    client, _ = sdk(server, X_Mock_Tool_Call="get_weather", X_Mock_Tool_Args='{"city": "Oslo", "unit": "c"}')
    message = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, tools=[WEATHER_TOOL]).choices[0]
    assert message.finish_reason == "tool_calls"
    (call,) = message.message.tool_calls
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Oslo", "unit": "c"}


def test_forced_tool_call_arguments_from_the_schema(server: MockServer) -> None:
    client, _ = sdk(server, X_Mock_Tool_Call="get_weather")
    (call,) = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], tools=[WEATHER_TOOL]
    ).choices[0].message.tool_calls
    arguments = json.loads(call.function.arguments)
    assert set(arguments) == {"city", "unit"} and arguments["unit"] in ("c", "f")


@pytest.mark.parametrize("kind", ["malformed_arguments", "unknown_tool"])
def test_broken_tool_call(server: MockServer, kind: str) -> None:
    client, _ = sdk(server, X_Mock_Fault=f"broken_tool_call;kind={kind}")
    (call,) = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, tools=[WEATHER_TOOL]).choices[
        0
    ].message.tool_calls
    if kind == "unknown_tool":
        assert call.function.name != "get_weather"
        json.loads(call.function.arguments)
    else:
        assert call.function.name == "get_weather"
        with pytest.raises(json.JSONDecodeError):
            json.loads(call.function.arguments)


def test_tool_call_then_disconnect_compose(server: MockServer) -> None:
    client, _ = sdk(server, X_Mock_Tool_Call="get_weather", X_Mock_Fault="disconnect;after_chunks=2")
    names: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in client.chat.completions.create(
            model="gpt-4o-mini", messages=HELLO, tools=[WEATHER_TOOL], stream=True
        ):
            for call in chunk.choices[0].delta.tool_calls or ():
                names.append(call.function.name or "")
    assert names == ["get_weather"]


def test_reply_header_streams_exact_text(server: MockServer) -> None:
    client, _ = sdk(server, X_Mock_Reply="Exactly this, and nothing else.")
    assert stream_text(client) == "Exactly this, and nothing else."


def test_a_client_without_the_retry_header_has_its_repeats_counted_as_attempts() -> None:
    """curl, the AI SDK, LiteLLM: no x-stainless-retry-count. The same request again is the next attempt."""
    with MockServer(retry_window=5.0) as running, httpx2.Client(base_url=running.url, timeout=10) as http:
        body = {"model": "gpt-4o-mini", "messages": HELLO}
        headers = {"Authorization": "Bearer sk-test", "X-Mock-Fault": "rate_limit;attempts=0;retry_after_ms=1"}
        first, second = (http.post("/chat/completions", json=body, headers=headers) for _ in range(2))
        assert (first.status_code, second.status_code) == (429, 200)
        other = http.post("/chat/completions", json={**body, "seed": 1}, headers=headers)
        assert other.status_code == 429  # another body: a first attempt
        entries = running.requests
        assert [(entry.attempt, entry.attempt_from) for entry in entries] == [(0, "repeat"), (1, "repeat"), (0, "repeat")]
        with_header = http.post("/chat/completions", json=body, headers={**headers, "x-stainless-retry-count": "0"})
        assert with_header.status_code == 429 and running.requests[-1].attempt_from == "header"  # the header wins
    with MockServer(retry_window=0) as running, httpx2.Client(base_url=running.url, timeout=10) as http:
        answers = [http.post("/chat/completions", json=body, headers=headers).status_code for _ in range(2)]
        assert answers == [429, 429]  # --retry-window 0: every request a first attempt

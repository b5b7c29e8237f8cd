"""Hostile input and security: every bad request is a clear 4xx in the provider envelope, and the server goes on.

Each case of the bad-input matrix is sent over a real socket, then a plain
request checks that the server still answers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest

from mockserver import MockServer
from mockserver.asgi.body import MAX_JSON_DEPTH
from mockserver.asgi.context import key_id
from mockserver.asgi.protocol import MAX_HEAD_BYTES
from mockserver.cli import exposure_warning
from mockserver.config import Config

from helpers import raw_exchange

KEY = "sk-reliability-secret-0001"
AUTH = {"Authorization": f"Bearer {KEY}"}
JSON = {**AUTH, "Content-Type": "application/json"}
LIMIT = 1024 * 1024
HELLO = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(seed=4, max_body=LIMIT) as running:
        yield running


@pytest.fixture(scope="module")
def lenient() -> Iterator[MockServer]:
    with MockServer(seed=4, validation="off", max_body=LIMIT) as running:
        yield running


def chunked(size: int) -> Iterator[bytes]:
    """A body without Content-Length (Transfer-Encoding: chunked), ``size`` bytes in 64 KiB pieces."""
    piece = b" " * 65536
    for _ in range(size // len(piece)):
        yield piece


def multipart(parts: int) -> Iterator[bytes]:
    yield b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n'
    for _ in range(parts):
        yield b"\0" * 65536
    yield b'\r\n--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nA hat\r\n--b--\r\n'


def nested(depth: int) -> bytes:
    return json.dumps({**HELLO, "metadata": None}).encode().replace(b"null", b"[" * depth + b"]" * depth)


MATRIX: list[tuple[str, dict[str, Any], int, str | None]] = [
    ("malformed JSON", {"content": b'{"model": "gpt-4o", '}, 400, "invalid_json"),
    ("JSON array", {"content": b"[1, 2]"}, 400, "invalid_type"),
    ("JSON scalar", {"content": b'"hello"'}, 400, "invalid_type"),
    ("JSON null", {"content": b"null"}, 400, "invalid_type"),
    ("wrong content type", {"content": json.dumps(HELLO).encode(), "headers": {**AUTH, "Content-Type": "text/plain"}},
     415, "unsupported_content_type"),
    ("missing content type", {"content": json.dumps(HELLO).encode(), "headers": AUTH}, 415, "unsupported_content_type"),
    ("empty body", {"content": b""}, 400, "invalid_json"),
    ("declared body above --max-body", {"content": b" " * (LIMIT + 1)}, 413, "request_too_large"),
    ("chunked body above --max-body", {"content": chunked(2 * LIMIT)}, 413, "request_too_large"),
    ("deeply nested JSON", {"content": nested(MAX_JSON_DEPTH + 1)}, 400, "invalid_json"),
    ("nesting past the parser's limit", {"content": b"[" * 5000 + b"]" * 5000}, 400, "invalid_json"),
    ("invalid UTF-8", {"content": b'{"model": "gpt-4o\xff", "messages": []}'}, 400, "invalid_json"),
    ("NaN", {"content": b'{"model": "gpt-4o", "temperature": NaN, "messages": []}'}, 400, "invalid_json"),
    ("Infinity", {"content": b'{"model": "gpt-4o", "top_p": Infinity, "messages": []}'}, 400, "invalid_json"),
    ("invalid X-Mock-Fault", {"json": HELLO, "headers": {**AUTH, "X-Mock-Fault": "explode"}}, 400,
     "invalid_control_header"),
    ("X-Mock-Reply percent-encoded but not UTF-8", {"json": HELLO, "headers": {**AUTH, "X-Mock-Reply": "caf%E9"}},
     400, "invalid_control_header"),
    ("X-Mock-Tool-Args not JSON",
     {"json": HELLO, "headers": {**AUTH, "X-Mock-Tool-Call": "f", "X-Mock-Tool-Args": "{"}}, 400,
     "invalid_control_header"),
]


@pytest.mark.parametrize(("case", "request_", "status", "code"), MATRIX, ids=[case[0] for case in MATRIX])
def test_bad_input_is_a_clear_4xx(
    server: MockServer, case: str, request_: dict[str, Any], status: int, code: str | None
) -> None:
    request_ = {"headers": JSON, **request_}
    with httpx2.Client(base_url=server.url, timeout=10) as http:
        response = http.post("/chat/completions", **request_)
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["code"] == code and error["message"]
        if code == "invalid_control_header":
            assert request_["headers"].keys() - AUTH.keys() & {word.strip(".:") for word in error["message"].split()}
        assert http.get("/models", headers=AUTH).status_code == 200  # still serving


def test_control_header_error_names_the_header(server: MockServer) -> None:
    response = httpx2.post(server.url + "/chat/completions", json=HELLO, headers={**AUTH, "X-Mock-Fault": "explode"})
    assert "X-Mock-Fault" in response.json()["error"]["message"]


def test_thousands_of_messages(server: MockServer) -> None:
    messages = [{"role": "user" if index % 2 else "assistant", "content": f"Message {index}."} for index in range(5000)]
    client = openai.OpenAI(base_url=server.url, api_key=KEY, max_retries=0)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages[1:])
    assert reply.choices[0].message.content and reply.usage.prompt_tokens > 5000 * 4


def test_a_million_characters_in_one_message() -> None:
    """bpe-openai refuses a single string of 1,000,000 characters: the tokenizer slices it instead of a 500."""
    with MockServer(max_body=4 * LIMIT) as big:
        client = openai.OpenAI(base_url=big.url, api_key=KEY, max_retries=0)
        reply = client.chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": "word " * 250_000}], max_tokens=5
        )
        assert reply.usage.prompt_tokens >= 250_000


def test_integral_floats_are_integers(server: MockServer) -> None:
    """``"n": 2.0`` is a JSON Schema integer (schemathesis found it crashed generation)."""
    body = {**HELLO, "n": 2.0, "logprobs": True, "top_logprobs": 2.0}
    response = httpx2.post(server.url + "/chat/completions", json=body, headers=AUTH)
    assert response.status_code == 200 and len(response.json()["choices"]) == 2


def test_samurai_n_is_capped_at_128(server: MockServer) -> None:
    body = {**HELLO, "model": "gpt-4o", "n": 129}
    response = httpx2.post(server.url_for("samurai") + "/chat/completions", json=body, headers=AUTH)
    assert response.status_code == 400 and response.json()["error"]["param"] == "n"
    assert "128" in response.json()["error"]["message"]


@pytest.mark.parametrize("parts", [2 * LIMIT // 65536], ids=["chunked"])
def test_multipart_upload_above_max_body(server: MockServer, parts: int) -> None:
    headers = {**AUTH, "Content-Type": "multipart/form-data; boundary=b"}
    with httpx2.Client(base_url=server.url, timeout=10) as http:
        chunked_upload = http.post("/images/edits", content=multipart(parts), headers=headers)
        declared = http.post("/images/edits", content=b"".join(multipart(parts)), headers=headers)
        for response in (chunked_upload, declared):
            assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"
        assert http.get("/models", headers=AUTH).status_code == 200


def test_unknown_admin_script_field(server: MockServer) -> None:
    response = httpx2.post(server.origin + "/_mock/script", json={"behaviors": [{"reply": "x", "colour": "red"}]})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_script" and error["param"] == "behaviors[0].colour"
    top = httpx2.post(server.origin + "/_mock/script", json={"behaviours": []})
    assert top.status_code == 400 and top.json()["error"]["param"] == "behaviours"


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"NOT HTTP AT ALL\r\n\r\n", 400, "invalid_http_request"),
        (b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (2 * MAX_HEAD_BYTES) + b"\r\n\r\n", 431,
         "request_header_fields_too_large"),
        (b"GET /" + b"a" * (2 * MAX_HEAD_BYTES) + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431,
         "request_header_fields_too_large"),
    ],
    ids=["garbage request line", "header too large", "URL too long"],
)
def test_protocol_level_refusals_use_the_envelope(server: MockServer, data: bytes, status: int, code: str) -> None:
    head, _, body = raw_exchange(server.port, data).partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()) and b"connection: close" in head
    assert json.loads(body)["error"]["code"] == code
    assert httpx2.get(server.url + "/models", headers=AUTH).status_code == 200


def test_headers_below_the_limit_pass(server: MockServer) -> None:
    response = httpx2.get(server.url + "/models", headers={**AUTH, "X-Padding": "a" * (MAX_HEAD_BYTES - 2048)})
    assert response.status_code == 200


# ---------------------------------------------------------------------- --validation off


def test_off_mode_unknown_audio_format_is_a_400(lenient: MockServer) -> None:
    body = {**HELLO, "modalities": ["text", "audio"], "audio": {"voice": "alloy", "format": "xyz"}}
    response = httpx2.post(lenient.url + "/chat/completions", json=body, headers=AUTH)
    assert response.status_code == 400 and response.json()["error"]["param"] == "audio.format"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/embeddings", [1, 2]),
        ("/embeddings", {}),
        ("/embeddings", {"model": "text-embedding-3-small", "input": "x", "dimensions": [None]}),
        ("/images/generations", "a fox"),
    ],
)
def test_off_mode_unusable_bodies_are_400s(lenient: MockServer, path: str, body: Any) -> None:
    response = httpx2.post(lenient.url + path, json=body, headers=AUTH)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] in ("invalid_type", "unusable_request")


# ---------------------------------------------------------------------- security


def test_loopback_by_default_and_a_warning_elsewhere() -> None:
    assert Config().host == "127.0.0.1"
    with MockServer() as running:
        assert running.origin.startswith("http://127.0.0.1:")
    assert exposure_warning(Config()) is None and exposure_warning(Config(host="::1")) is None
    warning = exposure_warning(Config(host="0.0.0.0"))
    assert warning is not None and "--admin-token" in warning and "--no-control" in warning
    assert exposure_warning(Config(host="0.0.0.0", control=False)) is None


def test_authorization_is_never_journaled_or_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with MockServer(api_key=[KEY], admin_token="admin-secret-token") as guarded:
        client = openai.OpenAI(base_url=guarded.url, api_key=KEY, max_retries=0)
        client.chat.completions.create(**HELLO)
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model="gpt-4o", messages=[])
        admin = {"X-Mock-Admin-Token": "admin-secret-token"}
        journal = httpx2.get(guarded.origin + "/_mock/requests", headers={**admin, **AUTH}).text
        config = httpx2.get(guarded.origin + "/_mock/config", headers=admin).text
        entries = [entry.as_dict() for entry in guarded.state.journal.entries()]
    assert '"authorization":"[redacted]"' in journal
    journaled_admin = [entry["headers"] for entry in entries if entry["admin"]]
    assert journaled_admin and all(headers["x-mock-admin-token"] == "[redacted]" for headers in journaled_admin)
    everything = journal + config + json.dumps(entries) + caplog.text
    assert KEY not in everything and "admin-secret-token" not in everything
    assert all(entry["key_id"] in (None, key_id(KEY)) for entry in entries)
    assert key_id(KEY) is not None and key_id(KEY).startswith("key_") and KEY[3:] not in key_id(KEY)


@pytest.mark.parametrize("admin_token", [None, "t0ken"])
def test_journal_view_is_per_key(admin_token: str | None) -> None:
    mine, theirs = "sk-tenant-mine", "sk-tenant-theirs"
    with MockServer(api_key=[mine, theirs], admin_token=admin_token) as shared:
        for key, count in ((mine, 2), (theirs, 1)):
            client = openai.OpenAI(base_url=shared.url, api_key=key, max_retries=0)
            for _ in range(count):
                client.models.list()

        def view(**headers: str) -> httpx2.Response:
            return httpx2.get(shared.origin + "/_mock/requests", headers=headers)

        own = view(Authorization=f"Bearer {mine}").json()["data"]
        assert len(own) == 2 and {entry["key_id"] for entry in own} == {key_id(mine)}
        assert [entry["key_id"] for entry in view(Authorization=f"Bearer {theirs}").json()["data"]] == [key_id(theirs)]
        anonymous = view()
        assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "invalid_api_key"
        if admin_token is not None:
            assert len(view(**{"X-Mock-Admin-Token": admin_token}).json()["data"]) == 3
            assert view(**{"X-Mock-Admin-Token": "wrong"}).status_code == 401
            # The rest of the admin API still needs the token.
            config = httpx2.get(shared.origin + "/_mock/config", headers={"Authorization": f"Bearer {mine}"})
            assert config.status_code == 401


def test_without_api_keys_the_journal_is_shared(server: MockServer) -> None:
    httpx2.get(server.url + "/models", headers={"Authorization": "Bearer sk-someone-else"})
    assert httpx2.get(server.origin + "/_mock/requests", params={"path": "/models"}).json()["data"]

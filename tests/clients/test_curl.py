"""curl: the wire without an SDK. Retries are curl's own (``--retry``, which honours ``Retry-After``)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from mockserver import MockServer

from cells import (
    API_KEY,
    CUT,
    FIRST_ATTEMPT_LIMITED,
    JOKE_PROMPT,
    JSON_MODE_PROMPT,
    MODEL,
    QUESTION,
    RATE_LIMIT,
    WEATHER_PARAMETERS,
    WEATHER_QUESTION,
    Joke,
    attempts,
    control,
    weather,
)

PACKAGE = "curl"

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_PARAMETERS}}]


def curl(server: MockServer, body: dict[str, Any], *options: str,
         headers: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = ["curl", "--silent", "--show-error", "--fail-with-body", "--max-time", "20", "--no-buffer",
               "-H", "Content-Type: application/json", "-H", f"Authorization: Bearer {API_KEY}", *options]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command += ["--data-binary", json.dumps(body), server.url + "/chat/completions"]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def body(prompt: str = QUESTION, **fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": prompt}], **fields}


def answer(server: MockServer, request: dict[str, Any], *options: str, headers: dict[str, str] | None = None) -> Any:
    done = curl(server, request, *options, headers=headers)
    assert done.returncode == 0, done.stderr
    return bodies(done.stdout)[-1]


def bodies(stdout: str) -> list[Any]:
    """Every JSON body curl wrote: with ``--retry`` it writes each attempt's body, one after another."""
    decoder, found, position = json.JSONDecoder(), [], 0
    while position < len(stdout):
        value, position = decoder.raw_decode(stdout, position)
        found.append(value)
    return found


def events(stdout: str) -> list[dict[str, Any]]:
    frames = [line.removeprefix("data: ") for line in stdout.split("\n\n") if line.startswith("data: ")]
    assert frames[-1] == "[DONE]"
    return [json.loads(frame) for frame in frames[:-1]]


def test_plain(server: MockServer) -> None:
    assert answer(server, body())["choices"][0]["message"]["content"]


def test_stream(server: MockServer) -> None:
    done = curl(server, body(stream=True))
    assert done.returncode == 0, done.stderr
    text = "".join(event["choices"][0]["delta"].get("content") or "" for event in events(done.stdout)
                   if event["choices"])
    assert text == answer(server, body())["choices"][0]["message"]["content"]


def test_tool_loop(server: MockServer) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": WEATHER_QUESTION}]
    first = answer(server, {"model": MODEL, "messages": messages, "tools": TOOLS})["choices"][0]["message"]
    call = first["tool_calls"][0]
    messages += [first, {"role": "tool", "tool_call_id": call["id"],
                         "content": weather(**json.loads(call["function"]["arguments"]))}]
    second = answer(server, {"model": MODEL, "messages": messages, "tools": TOOLS})["choices"][0]
    assert second["finish_reason"] == "stop" and second["message"]["content"]


def test_stream_tool(server: MockServer) -> None:
    done = curl(server, body(WEATHER_QUESTION, tools=TOOLS, tool_choice="required", stream=True))
    assert done.returncode == 0, done.stderr
    arguments = "".join(call["function"].get("arguments", "") for event in events(done.stdout) if event["choices"]
                        for call in event["choices"][0]["delta"].get("tool_calls") or ())
    assert json.loads(arguments)["city"]


def test_structured(server: MockServer) -> None:
    schema = {"name": "joke", "strict": True, "schema": {**Joke.model_json_schema(), "additionalProperties": False}}
    content = answer(server, body(JOKE_PROMPT, response_format={"type": "json_schema", "json_schema": schema}))
    Joke.model_validate_json(content["choices"][0]["message"]["content"])


def test_json_mode(server: MockServer) -> None:
    content = answer(server, body(JSON_MODE_PROMPT, response_format={"type": "json_object"}))
    Joke.model_validate_json(content["choices"][0]["message"]["content"])


def test_rate_limit(server: MockServer) -> None:
    test_id, headers = control(RATE_LIMIT)
    done = curl(server, body(), "--retry", "2", headers=headers)
    assert done.returncode == 22 and "429" in done.stderr  # curl's "HTTP error" after its retries
    assert [error["error"]["code"] for error in bodies(done.stdout)] == ["rate_limit_exceeded"] * 3
    assert attempts(server, test_id) == 3


def test_retry(server: MockServer) -> None:
    test_id, headers = control(FIRST_ATTEMPT_LIMITED)
    assert answer(server, body(), "--retry", "1", headers=headers)["choices"][0]["message"]["content"]
    assert attempts(server, test_id) == 2


def test_cut_stream(server: MockServer) -> None:
    _, headers = control(CUT)
    done = curl(server, body(stream=True), headers=headers)
    assert done.returncode == 18, (done.returncode, done.stderr)  # "transfer closed with outstanding read data"
    assert "[DONE]" not in done.stdout

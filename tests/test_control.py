"""The four control surfaces and their one precedence: headers > scripts > fixture rules > chaos."""

from __future__ import annotations

import re
import textwrap
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2
import openai
import pytest

from mockserver import MockServer
from mockserver.cli import main as cli_main
from mockserver.config import ConfigError

from helpers import sdk_client

HELLO = [{"role": "user", "content": "Hello there"}]

RULES = """\
rules:
  - match: {message_regex: "(?i)weather in (paris|oslo)", has_tool_result: false}
    tool_calls:
      - name: get_weather
        arguments: {city: Paris}
  - match: {model: gpt-4o, has_tool_result: true}
    reply: "It is sunny in Paris."
  - match: {message_contains: "explode"}
    error: {status: 502, message: "upstream exploded"}
  - match: {message_contains: "cut me", turn: 1}
    fault: "truncate;after_chunks=2"
  - match: {model: [gpt-4o, gpt-4o-mini], system_contains: pirate}
    reply: "Arr."
  - match: {message_contains: "scripted"}
    reply: "from the fixture"
"""


def client_for(server: MockServer, retries: int = 0, **headers: str) -> openai.OpenAI:
    return sdk_client(server.url, retries=retries, **headers)


def say(client: openai.OpenAI, text: str, model: str = "gpt-4o-mini", **extra: object) -> str | None:
    messages = [{"role": "user", "content": text}]
    return client.chat.completions.create(model=model, messages=messages, **extra).choices[0].message.content


def post_script(server: MockServer, behaviors: list[dict], test_id: str | None = None) -> httpx2.Response:
    headers = {"X-Mock-Test-Id": test_id} if test_id else {}
    return httpx2.post(server.origin + "/_mock/script", json={"behaviors": behaviors}, headers=headers)


@pytest.fixture(scope="module")
def ruled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    directory = tmp_path_factory.mktemp("rules")
    (directory / "10-rules.yaml").write_text(RULES)
    (directory / "20-more.json").write_text('{"rules": [{"match": {"message_contains": "json rule"}, "reply": "ok"}]}')
    with MockServer(seed=3, fixtures=[str(directory)], fault=["http_error;status=500=1"]) as server:
        yield server


@pytest.fixture(autouse=True)
def clean(server: MockServer) -> Iterator[None]:
    yield
    httpx2.post(server.origin + "/_mock/reset")


# ---------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    ("header", "value", "named"),
    [
        ("X-Mock-Fault", "explode", "X-Mock-Fault"),
        ("X-Mock-Fault", "disconnect;after_chunks=soon", "X-Mock-Fault"),
        ("X-Mock-Fault", "rate_limit;retry_after_mss=1", "X-Mock-Fault"),
        ("X-Mock-Fault", "rate_limit;attempts=two", "X-Mock-Fault"),
        ("X-Mock-Tool-Args", "{not json", "X-Mock-Tool-Args"),
        ("X-Mock-Tool-Call", "not a name!", "X-Mock-Tool-Call"),
    ],
)
def test_invalid_control_header_is_400_naming_it(server: MockServer, header: str, value: str, named: str) -> None:
    headers = {header: value}
    if header == "X-Mock-Tool-Args":
        headers["X-Mock-Tool-Call"] = "get_weather"
    with pytest.raises(openai.BadRequestError) as raised:
        say(client_for(server, **headers), "Hi")
    assert named in raised.value.message and raised.value.code == "invalid_control_header"


def test_several_faults_in_one_header(server: MockServer) -> None:
    client = client_for(server, **{"X-Mock-Fault": "latency;ms=1, rate_limit;retry_after_ms=1"})
    with pytest.raises(openai.RateLimitError):
        say(client, "Hi")


# ---------------------------------------------------------------------- scripts


def test_script_times_then_normal_replies(server: MockServer) -> None:
    response = post_script(server, [{"fault": "rate_limit", "retry_after_ms": 1, "times": 2}, {"reply": "third"}])
    assert response.status_code == 200
    client = client_for(server)
    for _ in range(2):
        with pytest.raises(openai.RateLimitError):
            say(client, "Hi")
    assert say(client, "Hi") == "third"
    assert say(client, "Hi") != "third"


def test_script_retries_are_consumed_by_the_sdk(server: MockServer) -> None:
    post_script(server, [{"fault": "http_error;status=503;retry_after_ms=1", "times": 2}])
    client = client_for(server, retries=2)
    response = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO)
    assert response.retries_taken == 2 and httpx2.get(server.origin + "/_mock/script").json() == {"behaviors": []}


def test_script_match_and_unlimited(server: MockServer) -> None:
    post_script(server, [
        {"reply": "for 4o only", "times": "unlimited", "match": {"model": "gpt-4o", "message_contains": "ping"}},
        {"tool_call": {"name": "lookup", "arguments": {"id": 7}}, "match": {"path": "/chat/completions"}},
    ])
    client = client_for(server)
    assert say(client, "ping", model="gpt-4o") == "for 4o only"
    assert say(client, "ping", model="gpt-4o") == "for 4o only"
    (call,) = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO).choices[0].message.tool_calls
    assert call.function.name == "lookup" and call.function.arguments == '{"id":7}'
    pending = httpx2.get(server.origin + "/_mock/script").json()["behaviors"]
    assert [entry["remaining"] for entry in pending] == ["unlimited"]


@pytest.mark.parametrize(
    ("behavior", "field"),
    [
        ({"fault": "rate_limit", "retry_afterr": 1}, "retry_afterr"),
        ({"reply": "x", "tiems": 2}, "tiems"),
        ({"reply": "x", "match": {"modle": "gpt-4o"}}, "modle"),
        ({"tool_call": {"name": "f", "args": {}}}, "args"),
        ({"reply": "x", "times": 0}, "times"),
        ({"fault": "nope"}, "nope"),
    ],
)
def test_script_mistakes_are_400_naming_the_field(server: MockServer, behavior: dict, field: str) -> None:
    response = post_script(server, [behavior])
    assert response.status_code == 400
    error = response.json()["error"]
    assert field in error["message"] and error["code"] == "invalid_script"
    assert httpx2.get(server.origin + "/_mock/script").json() == {"behaviors": []}


def test_script_unknown_top_level_field(server: MockServer) -> None:
    response = httpx2.post(server.origin + "/_mock/script", json={"behaviours": []})
    assert response.status_code == 400 and "behaviours" in response.json()["error"]["message"]


def test_parallel_tests_see_only_their_own_scripts(server: MockServer) -> None:
    results: dict[str, list[str | None]] = {}
    barrier = threading.Barrier(2)

    def run(name: str) -> None:
        test_id = f"{name}-{uuid.uuid4().hex}"
        post_script(server, [{"reply": f"only for {name}", "times": "unlimited"}], test_id)
        client = client_for(server, **{"X-Mock-Test-Id": test_id})
        barrier.wait(5)
        results[name] = [say(client, "Hi") for _ in range(8)]

    threads = [threading.Thread(target=run, args=(name,)) for name in ("alpha", "beta")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == {"alpha": ["only for alpha"] * 8, "beta": ["only for beta"] * 8}
    assert say(client_for(server), "Hi") not in ("only for alpha", "only for beta")


# ---------------------------------------------------------------------- precedence


def test_headers_beat_scripts(server: MockServer) -> None:
    post_script(server, [{"reply": "from the script"}])
    assert say(client_for(server, **{"X-Mock-Reply": "from the header"}), "Hi") == "from the header"
    assert say(client_for(server), "Hi") == "from the script"


def test_precedence_headers_scripts_rules_chaos(ruled: MockServer) -> None:
    httpx2.post(ruled.origin + "/_mock/reset")
    # chaos (every request a 500) is the lowest surface: anything above it wins
    with pytest.raises(openai.InternalServerError):
        say(client_for(ruled), "nothing matches this")
    assert say(client_for(ruled), "this is scripted") == "from the fixture"
    post_script(ruled, [{"reply": "from the script"}])
    assert say(client_for(ruled), "this is scripted") == "from the script"
    assert say(client_for(ruled, **{"X-Mock-Reply": "from the header"}), "this is scripted") == "from the header"
    assert say(client_for(ruled), "a json rule") == "ok"
    requests = httpx2.get(ruled.origin + "/_mock/requests").json()["data"]
    decided = [entry["decided_by"] for entry in requests]
    assert decided[0] == "chaos" and decided[1].startswith("fixture ") and decided[1].endswith("10-rules.yaml:14")
    assert decided[2:4] == ["script #1", "header"] and decided[4].endswith("20-more.json:1")


# ---------------------------------------------------------------------- fixture rules


def test_fixture_rule_matched_by_regex_then_tool_result(ruled: MockServer) -> None:
    client = client_for(ruled)
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    first = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "What is the Weather in Paris?"}], tools=tools
    ).choices[0].message
    (call,) = first.tool_calls
    assert call.function.name == "get_weather" and call.function.arguments == '{"city":"Paris"}'
    second = client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "user", "content": "What is the weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "22C"},
        ],
        tools=tools,
    )
    assert second.choices[0].message.content == "It is sunny in Paris."


def test_fixture_rule_answers(ruled: MockServer) -> None:
    with ruled.scope("fixture-rule-answers"):
        _answers_by_rules(ruled, client_for(ruled))


def _answers_by_rules(ruled: MockServer, client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as raised:
        say(client, "please explode")
    assert raised.value.status_code == 502 and raised.value.body["message"] == "upstream exploded"
    system = [{"role": "system", "content": "You are a PIRATE."}, {"role": "user", "content": "hello"}]
    assert client.chat.completions.create(model="gpt-4o", messages=system).choices[0].message.content == "Arr."
    cut = [{"role": "user", "content": "cut me"}]
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=cut, stream=True))
    # truncate;after_chunks=2: the role chunk and one token, then the stream ends without a finish or [DONE].
    assert len(chunks) == 2 and chunks[0].choices[0].delta.role == "assistant" and chunks[1].choices[0].delta.content
    assert all(chunk.choices[0].finish_reason is None for chunk in chunks)
    truncated = ruled.wait_for_requests(3)[-1]
    assert (truncated.ended, truncated.chunks_sent, truncated.faults) == ("truncate", 2, ["truncate;after_chunks=2"])
    assert re.fullmatch(r"fixture .*/10-rules\.yaml:\d+", truncated.decided_by or "")
    # The rule asks for turn 1: a second turn is not its to answer (chaos answers it, with its 500).
    later = [*cut, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "cut me"}]
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="gpt-4o", messages=later, stream=True)
    assert ruled.wait_for_requests(4)[-1].decided_by == "chaos"


def test_check_fixtures_reports_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "good.yaml").write_text(RULES)
    assert cli_main(["check-fixtures", str(tmp_path)]) == 0
    assert "6 rule(s) in 1 file(s): OK" in capsys.readouterr().out
    (tmp_path / "bad.yaml").write_text(textwrap.dedent("""\
        rules:
          - match: {model: gpt-4o}
            reply: fine
          - match:
              model: gpt-4o
              mesage_contains: typo
            reply: never
          - match: {message_regex: "(unclosed"}
            reply: never
          - match: {turn: 1}
            fault: "disconnect;after_chunk=2"
        """))
    assert cli_main(["check-fixtures", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    bad = str(tmp_path / "bad.yaml")
    assert out[0].startswith(f"{bad}:6: rules[1].match.mesage_contains: unknown match key 'mesage_contains'")
    assert out[1].startswith(f"{bad}:8: rules[2].match.message_regex:")
    assert out[2].startswith(f"{bad}:11: rules[3].fault:") and "after_chunk" in out[2]
    (tmp_path / "broken.yaml").write_text("rules:\n  - match: {model: [gpt-4o\n")
    assert cli_main(["check-fixtures", str(tmp_path / "broken.yaml")]) == 1
    assert capsys.readouterr().out.startswith(f"{tmp_path / 'broken.yaml'}:3: not valid YAML/JSON")


def test_example_rules_are_valid(capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).parent.parent / "fixtures" / "rules"
    assert cli_main(["check-fixtures", str(example)]) == 0, capsys.readouterr().out


def test_broken_fixtures_refuse_to_start(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text("rules:\n  - match: {model: gpt-4o}\n    repyl: x\n")
    with pytest.raises(ConfigError, match=r"rules.yaml:3: rules\[0\].repyl: unknown field"):
        MockServer(fixtures=[str(tmp_path)])


# ---------------------------------------------------------------------- chaos and --no-control


def chaos_statuses(seed: int) -> list[int]:
    with MockServer(seed=seed, fault=["http_error;status=500=0.3", "rate_limit=0.2"]) as server:
        client = client_for(server)
        statuses = []
        for _ in range(25):
            try:
                say(client, "Hi")
                statuses.append(200)
            except openai.APIStatusError as error:
                statuses.append(error.status_code)
        return statuses


def test_chaos_is_reproducible_with_a_seed() -> None:
    first, again, other = chaos_statuses(11), chaos_statuses(11), chaos_statuses(12)
    assert first == again and first != other
    assert {200, 429, 500} <= set(first)


def test_no_control_ignores_headers() -> None:
    with MockServer(control=False) as server:
        client = client_for(server, **{"X-Mock-Fault": "rate_limit", "X-Mock-Reply": "scripted"})
        assert say(client, "Hi") != "scripted"
        assert httpx2.post(server.origin + "/_mock/script", json={"behaviors": [{"reply": "x"}]}).status_code == 404


def test_a_script_with_a_share_answers_that_part_of_the_requests_reproducibly() -> None:
    from mockserver import MockServer

    def outcomes() -> list[int]:
        with MockServer() as server:
            server.script({"fault": "rate_limit", "retry_after_ms": 1, "share": 0.3, "times": "unlimited"})
            return [httpx2.post(server.url + "/chat/completions", timeout=10,
                                json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
                                headers={"Authorization": "Bearer k"}).status_code for _ in range(60)]

    first = outcomes()
    assert 8 <= first.count(429) <= 30 and set(first) == {200, 429}
    assert outcomes() == first


def test_a_share_outside_zero_to_one_is_refused() -> None:
    from mockserver import MockServer

    with MockServer() as server:
        answer = httpx2.post(server.origin + "/_mock/script", timeout=10,
                             json={"behaviors": [{"fault": "rate_limit", "share": 1.5}]})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "behaviors[0].share"

"""Property tests generated from the request schemas the server validates with.

For every dialect, bodies are drawn from that dialect's merged chat request schema
(``load_request_schema``) by hypothesis-jsonschema and sent over a real socket to a
server running ``--validation schema``:

* a schema-valid body gets a 2xx whose JSON body, or every SSE chunk, is valid under
  OpenAI's official response schema; the only 4xx allowed are the documented
  semantic ones listed in ``SEMANTIC_ERRORS``;
* the same body with one top-level field made invalid gets a 400 whose ``param``
  names that field;
* nothing ever gets a 5xx.

The schema is narrowed before drawing, never widened: short strings, at most three
items per array (so one to three messages), small objects, few choices, and the
dialect's own catalog models and characters, so the bodies stay small, the run
stays well under a minute, and generation reaches the 2xx paths instead of 404s.
"""

from __future__ import annotations

import copy
from typing import Any, Iterator

import httpx2
import orjson
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator

from mockserver import MockServer
from mockserver.conformance import official_errors
from mockserver.resources import fixtures_dir
from mockserver.validation import load_request_schema

DIALECTS = ("openai", "serika", "openserv", "samurai")
MOUNTS = {"openai": "/v1", "serika": "/serika/api/openai/v1", "openserv": "/openserv/v1", "samurai": "/samurai/v1"}
MAX_EXAMPLES = 50
PROPERTY_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
SEMANTIC_ERRORS = {
    # openserv's docs: the conversation "must include a system or developer message".
    "missing_system_message",
    # A tool's parameters or a json_schema the generator cannot satisfy (e.g. contradictory bounds).
    "invalid_json_schema",
    # tool_choice naming a function that is not in tools.
    "invalid_value",
}
STRING_LIMIT, ARRAY_LIMIT, OBJECT_LIMIT, INTEGER_LIMIT = 12, 3, 3, 2**53
NARROWED = {"n": 3, "top_logprobs": 3, "max_tokens": 400, "max_completion_tokens": 400}
INVALID_CANDIDATES: tuple[Any, ...] = (True, "zz-invalid", {"zz": 1}, [["zz"]], 10**12, -(10**12), 0.5)


def _catalog(dialect: str) -> list[str]:
    data = yaml.safe_load((fixtures_dir() / "models" / f"{dialect}.yaml").read_text())
    return [entry["id"] for entry in data["models"] if entry.get("kind", "chat") == "chat"]


def _characters() -> list[str]:
    data = yaml.safe_load((fixtures_dir() / "characters.yaml").read_text())
    return [str(entry["id"]) for entry in data["characters"]]


def _bound(node: Any) -> Any:
    """Narrow every string, array and open object in a schema, recursively."""
    if isinstance(node, list):
        return [_bound(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: (value if key in ("enum", "const") else _bound(value)) for key, value in node.items()}
    types = node.get("type", [])
    types = [types] if isinstance(types, str) else types
    if "string" in types and "enum" not in node:
        node["maxLength"] = min(node.get("maxLength", STRING_LIMIT), STRING_LIMIT)
    if "array" in types:
        node["maxItems"] = min(node.get("maxItems", ARRAY_LIMIT), ARRAY_LIMIT)
    if "object" in types:
        node["maxProperties"] = min(node.get("maxProperties", OBJECT_LIMIT), OBJECT_LIMIT)
    if "integer" in types:
        node["minimum"] = max(node.get("minimum", -INTEGER_LIMIT), -INTEGER_LIMIT)
        node["maximum"] = min(node.get("maximum", INTEGER_LIMIT), INTEGER_LIMIT)
    return node


def generation_schema(dialect: str) -> dict[str, Any]:
    """The dialect's request schema, narrowed for drawing (see the module docstring)."""
    schema = _bound(copy.deepcopy(load_request_schema(dialect)))
    schema.pop("$id")  # hypothesis-jsonschema resolves the local $refs against the empty base URI
    properties = schema["properties"]
    properties["model"] = {"enum": _catalog(dialect)}
    for name, limit in NARROWED.items():
        properties[name] = {**properties[name], "maximum": min(properties[name].get("maximum", limit), limit)}
    if "character_id" in properties:
        properties["character_id"] = {"enum": _characters()}
    return schema


@pytest.fixture(scope="module")
def http() -> Iterator[httpx2.Client]:
    with MockServer(validation="schema", reply_sentences="1-2") as server:
        with httpx2.Client(base_url=server.origin, headers={"Authorization": "Bearer sk-prop"}, timeout=30) as client:
            yield client


def _post(http: httpx2.Client, dialect: str, body: dict[str, Any]) -> httpx2.Response:
    return http.post(MOUNTS[dialect] + "/chat/completions", content=orjson.dumps(body),
                     headers={"content-type": "application/json"})


def _check_success(response: httpx2.Response, body: dict[str, Any]) -> None:
    if body.get("stream") is True:
        assert response.headers["content-type"].startswith("text/event-stream")
        frames = response.content.decode().split("\n\n")
        assert frames[-1] == "" and frames[-2] == "data: [DONE]"
        for frame in frames[:-2]:
            assert frame.startswith("data: ")
            chunk = orjson.loads(frame[len("data: "):])
            assert not official_errors("CreateChatCompletionStreamResponse", chunk), official_errors(
                "CreateChatCompletionStreamResponse", chunk)
    else:
        document = response.json()
        errors = official_errors("CreateChatCompletionResponse", document)
        assert not errors, errors


def _make_property(dialect: str):
    schema = generation_schema(dialect)
    validator = Draft202012Validator(load_request_schema(dialect))

    @PROPERTY_SETTINGS
    @given(body=from_schema(schema))
    def valid_bodies_succeed(http: httpx2.Client, body: dict[str, Any]) -> None:
        assert validator.is_valid(body), "the narrowed schema only draws bodies the real one accepts"
        response = _post(http, dialect, body)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            error = response.json()["error"]
            assert response.status_code == 400 and error["code"] in SEMANTIC_ERRORS, (body, error)
            assert error["param"], error
            return
        _check_success(response, body)

    @PROPERTY_SETTINGS
    @given(body=from_schema(schema), data=st.data())
    def one_invalid_field_is_named(http: httpx2.Client, body: dict[str, Any], data: st.DataObject) -> None:
        field = data.draw(st.sampled_from(sorted(schema["properties"])), label="field")
        broken = None
        for candidate in INVALID_CANDIDATES:
            attempt = {**body, field: candidate}
            if not validator.is_valid(attempt):
                broken = attempt
                break
        if broken is None:
            return  # the field accepts anything (e.g. an open object): nothing to break
        response = _post(http, dialect, broken)
        assert response.status_code == 400, (broken, response.text)
        param = response.json()["error"]["param"]
        assert param == field or param.startswith((field + "[", field + ".")), (field, broken[field], param)

    return valid_bodies_succeed, one_invalid_field_is_named


for _dialect in DIALECTS:
    _valid, _invalid = _make_property(_dialect)
    globals()[f"test_{_dialect}_valid_bodies_succeed"] = _valid
    globals()[f"test_{_dialect}_one_invalid_field_is_named"] = _invalid


@pytest.mark.parametrize("dialect", DIALECTS)
def test_required_fields_missing_are_named(http: httpx2.Client, dialect: str) -> None:
    body = {"model": _catalog(dialect)[0], "messages": [{"role": "user", "content": "hi"}]}
    for field in ("model", "messages"):
        response = _post(http, dialect, {key: value for key, value in body.items() if key != field})
        assert response.status_code == 400 and response.json()["error"]["param"] == field

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

Image generation bodies, drawn the same way from the image request schema, must get a
200 whose body is an official ``ImagesResponse`` (or whose events are official
``ImageGenStreamEvent``s) carrying files of the format it claims.

The schema is narrowed before drawing, never widened: short strings, at most three
items per array (so one to three messages), small objects, few choices, and the
dialect's own catalog models and characters, so the bodies stay small, the run
stays well under a minute, and generation reaches the 2xx paths instead of 404s.
"""

from __future__ import annotations

import base64
import copy
import os
from collections.abc import Iterator
from functools import cache
from typing import Any

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

pytestmark = pytest.mark.server_thread_coverage  # the generator runs in the test's thread, the mock in its server's
DIALECTS = ("openai", "serika", "openserv", "samurai")
MOUNTS = {"openai": "/v1", "serika": "/serika/api/openai/v1", "openserv": "/openserv/v1", "samurai": "/samurai/v1"}
MAX_EXAMPLES = int(os.environ.get("MOCKSERVER_PROPERTY_EXAMPLES", "40"))  # tests/fleet_state/run takes fewer
PROPERTY_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
SEMANTIC_ERRORS = {
    # openserv's docs: the conversation "must include a system or developer message".
    ("missing_system_message", "messages"),
    # A tool's parameters or a json_schema the generator cannot satisfy (e.g. contradictory bounds).
    ("invalid_json_schema", "tools"),
    ("invalid_json_schema", "response_format"),
    # tool_choice naming a tool that is not in tools.
    ("invalid_value", "tool_choice"),
    # Custom tool calls in a stream: the official spec defines no chunk shape for them.
    ("unsupported_value", "stream"),
}
SYSTEM_MESSAGE = {"role": "system", "content": "You are terse."}
STRING_LIMIT, ARRAY_LIMIT, OBJECT_LIMIT, INTEGER_LIMIT = 12, 3, 3, 2**53
NARROWED = {"n": 3, "top_logprobs": 3, "max_tokens": 400, "max_completion_tokens": 400}
OPEN_VALUE = {
    "type": ["null", "boolean", "integer", "string"], "minimum": -99, "maximum": 99, "maxLength": STRING_LIMIT,
}
"""What the extra keys of an open object (tool parameters, metadata-like maps) hold when drawn."""
INVALID_CANDIDATES: tuple[Any, ...] = (True, "zz-invalid", {"zz": 1}, [["zz"]], 10**12, -(10**12), 0.5)


def _catalog(dialect: str) -> list[str]:
    data = yaml.safe_load((fixtures_dir() / "models" / f"{dialect}.yaml").read_text())
    return [entry["id"] for entry in data["models"] if entry.get("kind", "chat") == "chat"]


def _dialect_entry(dialect: str) -> dict[str, Any]:
    return yaml.safe_load((fixtures_dir() / "dialects.yaml").read_text())["dialects"][dialect]


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
        node.setdefault("additionalProperties", OPEN_VALUE)
    if "integer" in types:
        node["minimum"] = max(node.get("minimum", -INTEGER_LIMIT), -INTEGER_LIMIT)
        node["maximum"] = min(node.get("maximum", INTEGER_LIMIT), INTEGER_LIMIT)
    return node


def generation_schema(dialect: str) -> dict[str, Any]:
    """The dialect's request schema, narrowed for drawing (see the module docstring)."""
    schema = _bound(copy.deepcopy(load_request_schema(dialect)))
    properties = schema["properties"]
    properties["model"] = {"enum": _catalog(dialect)}
    for name, limit in NARROWED.items():
        properties[name] = {**properties[name], "maximum": min(properties[name].get("maximum", limit), limit)}
    if "character_id" in properties:
        properties["character_id"] = {"enum": _characters()}
    return schema


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value.rsplit("/", 1)[1]
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _with_defs(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node`` as a standalone schema: with the ``$defs`` it reaches, and nothing else."""
    needed: set[str] = set()
    pending = set(_refs(node))
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.add(name)
            pending |= set(_refs(schema["$defs"][name])) - needed
    return {**node, "$defs": {name: schema["$defs"][name] for name in sorted(needed)}} if needed else node


@cache
def _from_schema(canonical: bytes) -> st.SearchStrategy[Any]:
    """One strategy per distinct sub-schema: the dialects share most of them (messages above all,
    whose assistant branch alone takes hypothesis-jsonschema seconds to canonicalise)."""
    return from_schema(orjson.loads(canonical))


def _object(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """The schema's known properties: required ones always, each optional one independently."""
    strategies = {name: _from_schema(orjson.dumps(_with_defs(schema, node), option=orjson.OPT_SORT_KEYS))
                  for name, node in schema["properties"].items()}
    required = {name: strategies.pop(name) for name in schema["required"]}
    return st.fixed_dictionaries(required, optional=strategies)


@cache
def bodies(dialect: str) -> st.SearchStrategy[dict[str, Any]]:
    """Request bodies valid for ``dialect``: each property drawn by hypothesis-jsonschema from its schema.

    The top-level object is assembled here (required keys always, optional keys
    sometimes, and a few unknown keys where the dialect accepts them) because
    hypothesis-jsonschema re-merges every property schema on each draw of a
    large object, which costs seconds per example for the chat request.
    """
    schema = generation_schema(dialect)
    known = _object(schema)
    if _dialect_entry(dialect).get("require_system_message"):
        # Mostly give the dialect what it demands, so the 2xx paths get exercised too.
        known = st.builds(lambda body, add: {**body, "messages": [SYSTEM_MESSAGE, *body["messages"]]} if add else body,
                          known, st.integers(0, 4).map(bool))
    if "additionalProperties" in schema:
        return known
    unknown = st.dictionaries(st.from_regex(r"x_[a-z]{1,8}", fullmatch=True),
                              st.one_of(st.none(), st.booleans(), st.integers(-9, 9), st.text(max_size=5)), max_size=2)
    return st.builds(lambda body, extra: {**extra, **body}, known, unknown)


@pytest.fixture(scope="module")
def http() -> Iterator[httpx2.Client]:
    with (
        MockServer(validation="schema", reply_sentences="1-2") as server,
        httpx2.Client(base_url=server.origin, headers={"Authorization": "Bearer sk-prop"}, timeout=30) as client,
    ):
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
    names = sorted(load_request_schema(dialect)["properties"])
    validator = Draft202012Validator(load_request_schema(dialect))

    drawn = st.deferred(lambda: bodies(dialect))  # built when first drawn: collection (every worker's) stays cheap

    @PROPERTY_SETTINGS
    @given(body=drawn)
    def valid_bodies_succeed(http: httpx2.Client, body: dict[str, Any]) -> None:
        assert validator.is_valid(body), "the narrowed schema only draws bodies the real one accepts"
        response = _post(http, dialect, body)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            error = response.json()["error"]
            assert response.status_code == 400 and error["param"], (body, error)
            assert (error["code"], error["param"].split(".")[0].split("[")[0]) in SEMANTIC_ERRORS, (body, error)
            return
        _check_success(response, body)

    @PROPERTY_SETTINGS
    @given(body=drawn, data=st.data())
    def one_invalid_field_is_named(http: httpx2.Client, body: dict[str, Any], data: st.DataObject) -> None:
        field = data.draw(st.sampled_from(names), label="field")
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


IMAGE_DIALECTS = ("openai", "serika")
IMAGE_MODELS = ["gpt-image-1", "gpt-image-1.5", "dall-e-2", "dall-e-3", "some-image-model", None]
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "jpeg": b"\xff\xd8\xff", "webp": b"RIFF"}


@cache
def image_bodies(dialect: str) -> st.SearchStrategy[dict[str, Any]]:
    """Image requests drawn from the dialect's image schema, with few, known-ish models and n <= 2."""
    schema = _bound(copy.deepcopy(load_request_schema(dialect, "image_generation")))
    schema["properties"]["model"] = {"enum": IMAGE_MODELS}
    schema["properties"]["n"] = {**schema["properties"]["n"], "maximum": 2}
    return _object(schema)


def _check_images(response: httpx2.Response, body: dict[str, Any]) -> None:
    if body.get("stream") is True:
        frames = response.content.decode().split("\n\n")
        assert frames[-1] == "" and len(frames) > 1
        for frame in frames[:-1]:
            event_line, data_line = frame.split("\n")
            event = orjson.loads(data_line.removeprefix("data: "))
            assert event_line == "event: " + event["type"]
            assert not official_errors("ImageGenStreamEvent", event), official_errors("ImageGenStreamEvent", event)
        return
    document = response.json()
    assert not official_errors("ImagesResponse", document), official_errors("ImagesResponse", document)
    fmt = document.get("output_format", "png")
    for item in document["data"]:
        if "b64_json" in item:
            assert base64.b64decode(item["b64_json"]).startswith(MAGIC[fmt])
        else:
            assert item["url"].endswith("." + fmt)


@pytest.mark.parametrize("dialect", IMAGE_DIALECTS)
def test_valid_image_bodies_succeed(http: httpx2.Client, dialect: str) -> None:
    @settings(PROPERTY_SETTINGS, max_examples=20)
    @given(body=image_bodies(dialect))
    def check(body: dict[str, Any]) -> None:
        response = http.post(MOUNTS[dialect] + "/images/generations", content=orjson.dumps(body),
                             headers={"content-type": "application/json"})
        assert response.status_code == 200, (body, response.text)
        _check_images(response, body)

    check()

"""The vendored OpenAI schemas, the tool that makes them, and the conformance oracle."""

from __future__ import annotations

import copy
import importlib.util
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mockserver.conformance import official_document, official_errors, validate_official
from mockserver.resources import schemas_dir


def _vendor_tool() -> Any:
    path = schemas_dir() / "tools" / "vendor_openapi.py"
    spec = importlib.util.spec_from_file_location("vendor_openapi", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


vendor = _vendor_tool()

# Transcribed from the examples in OpenAI's OpenAPI document (x-oaiMeta of each path).
CHAT_RESPONSE = {
    "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    "object": "chat.completion",
    "created": 1741569952,
    "model": "gpt-5.4",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello! How can I assist you today?",
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 19,
        "completion_tokens": 10,
        "total_tokens": 29,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
    "service_tier": "default",
}
STREAM_CHUNKS = [
    {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    for delta, finish in (({"role": "assistant", "content": ""}, None), ({"content": "Hello"}, None), ({}, "stop"))
]
MODELS = {
    "object": "list",
    "data": [
        {"id": "model-id-0", "object": "model", "created": 1686935002, "owned_by": "organization-owner",
         "shutdown_date": None},
        {"id": "model-id-2", "object": "model", "created": 1686935002, "owned_by": "openai",
         "shutdown_date": "2026-10-23"},
    ],
}
EMBEDDINGS = {
    "object": "list",
    "data": [{"object": "embedding", "embedding": [0.0023064255, -0.009327292, -0.0028842222], "index": 0}],
    "model": "text-embedding-ada-002",
    "usage": {"prompt_tokens": 8, "total_tokens": 8},
}
IMAGES = {
    "created": 1713833628,
    "data": [{"b64_json": "..."}],
    "usage": {
        "total_tokens": 100,
        "input_tokens": 50,
        "output_tokens": 50,
        "input_tokens_details": {"text_tokens": 10, "image_tokens": 40},
    },
}
ERROR = {
    "error": {
        "message": "Invalid 'temperature': number above maximum value. Expected a value <= 2, but got 3.5 instead.",
        "type": "invalid_request_error",
        "param": "temperature",
        "code": "decimal_above_max_value",
    }
}


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return official_document()


@pytest.mark.server_thread_coverage  # the meta-schema check walks the document (read in the fixture, traced)
def test_the_components_hold_every_root_and_are_a_valid_2020_12_schema(document: dict[str, Any]) -> None:
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(vendor.ROOTS) <= document["$defs"].keys()
    Draft202012Validator.check_schema(document)


def test_the_components_are_plain_json_schema() -> None:
    """No OpenAPI-only vocabulary survives, and every $ref points inside the file."""
    defs = official_document()["$defs"]
    for node in _walk(defs):
        assert "nullable" not in node
        assert not [key for key in node if isinstance(key, str) and key.startswith("x-")]
        ref = node.get("$ref")
        if isinstance(ref, str):
            assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in defs


@pytest.mark.parametrize(
    ("name", "instance"),
    [
        ("CreateChatCompletionResponse", CHAT_RESPONSE),
        *[("CreateChatCompletionStreamResponse", chunk) for chunk in STREAM_CHUNKS],
        ("ListModelsResponse", MODELS),
        ("CreateEmbeddingResponse", EMBEDDINGS),
        ("ImagesResponse", IMAGES),
        ("ErrorResponse", ERROR),
        ("ChatCompletionDeleted", {"object": "chat.completion.deleted", "id": "chatcmpl-1", "deleted": True}),
    ],
)
def test_official_examples_conform(name: str, instance: dict[str, Any]) -> None:
    validate_official(name, instance)


def test_reasoning_content_is_allowed_where_the_mock_emits_it() -> None:
    response = copy.deepcopy(CHAT_RESPONSE)
    response["choices"][0]["message"]["reasoning_content"] = "The user greets me."
    validate_official("CreateChatCompletionResponse", response)
    chunk = copy.deepcopy(STREAM_CHUNKS[1])
    chunk["choices"][0]["delta"] = {"reasoning_content": "Thinking"}
    validate_official("CreateChatCompletionStreamResponse", chunk)


def test_choice_without_logprobs_is_rejected() -> None:
    response = copy.deepcopy(CHAT_RESPONSE)
    del response["choices"][0]["logprobs"]
    assert official_errors("CreateChatCompletionResponse", response) == [
        "$.choices[0]: 'logprobs' is a required property"
    ]


def test_null_tool_calls_is_rejected_with_its_path() -> None:
    response = copy.deepcopy(CHAT_RESPONSE)
    response["choices"][0]["message"]["tool_calls"] = None
    with pytest.raises(AssertionError, match=r"\$\.choices\[0\]\.message\.tool_calls: None is not of type 'array'"):
        validate_official("CreateChatCompletionResponse", response)


def test_every_error_is_listed() -> None:
    response = copy.deepcopy(CHAT_RESPONSE)
    del response["id"]
    del response["choices"][0]["message"]["refusal"]
    response["usage"] = None
    errors = official_errors("CreateChatCompletionResponse", response)
    assert errors == [
        "$: 'id' is a required property",
        "$.choices[0].message: 'refusal' is a required property",
        "$.usage: None is not of type 'object'",
    ]


def test_union_errors_name_the_closest_branch() -> None:
    chunk = copy.deepcopy(STREAM_CHUNKS[0])
    chunk["usage"] = {"prompt_tokens": "many"}
    (line,) = official_errors("CreateChatCompletionStreamResponse", chunk)
    assert line.startswith("$.usage: ")
    assert "closest: $.usage" in line


def test_unknown_schema_name() -> None:
    with pytest.raises(KeyError):
        validate_official("NoSuchSchema", {})


def test_vendor_tool_rewrites_openapi_into_2020_12() -> None:
    spec = {
        "info": {"version": "0.0.1"},
        "components": {
            "schemas": {
                "Thing": {
                    "type": "object",
                    "description": "dropped",
                    "x-oaiMeta": {"name": "dropped"},
                    "required": ["kind"],
                    "properties": {
                        "kind": {"type": "string", "enum": ["a", "b"], "nullable": True},
                        "description": {"type": "string", "example": "a property, kept"},
                        "part": {"$ref": "#/components/schemas/Part", "nullable": True},
                        "count": {"type": "integer", "nullable": True, "minimum": 1},
                    },
                },
                "Part": {"oneOf": [{"type": "string"}], "discriminator": {"propertyName": "type"}},
                "Unused": {"type": "string"},
            }
        },
    }
    built = vendor.build(spec, roots=("Thing",))
    assert built["$defs"] == {
        "Part": {"oneOf": [{"type": "string"}]},
        "Thing": {
            "type": "object",
            "required": ["kind"],
            "properties": {
                "kind": {"type": ["string", "null"], "enum": ["a", "b", None]},
                "description": {"type": "string"},
                "part": {"anyOf": [{"$ref": "#/$defs/Part"}, {"type": "null"}]},
                "count": {"type": ["integer", "null"], "minimum": 1},
            },
        },
    }
    Draft202012Validator.check_schema(built)

"""Vendor the Gemini API's request and answer schemas from the official Python SDK's types (``google-genai``).

``google-genai`` (Apache-2.0; licence in ``schemas/gemini/LICENSE``) types every part of a request and an answer as
a pydantic model whose JSON names are the API's camelCase (its ``alias_generator``). This script asks pydantic for
each one's JSON Schema and writes ``schemas/gemini/<Name>.json``:

- requests (open to both spellings): the API parses protobuf JSON, which takes a field by its camelCase name or
  its proto (snake_case) name, and current SDKs send both (``parameters_json_schema``, ``property_ordering`` inside
  camelCase bodies), so every object property is listed under both names; and a schema's ``type`` is taken in
  either case (``STRING`` or ``string``), as the API takes it (litellm and LangChain send lower case). Unknown
  fields are refused, as the API refuses them (``Invalid JSON payload received. Unknown name "x"``).
- answers (closed, camelCase only): a field the SDK does not declare, or an enum value it does not know (the SDK
  only warns on one), fails conformance. Where the SDK reads a REST shape through a converter rather than a type
  (models, embeddings), the schema is the REST shape the converter reads, with the SDK's types for its parts.

Usage::

    python schemas/tools/vendor_gemini.py

Rerun it when the pinned SDK version (``pyproject.toml``) changes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pydantic
from google.genai import types
from google.genai import version as genai_version

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "schemas" / "gemini"
SCHEMA = "https://json-schema.org/draft/2020-12/schema"
SDK_ONLY = ("sdkHttpResponse", "automaticFunctionCallingHistory", "parsed")
"""Fields of the SDK's answer types that the SDK fills in itself; the API never sends them."""
TOP_LEVEL = {
    "contents": list[types.Content], "systemInstruction": types.Content, "tools": list[types.Tool],
    "toolConfig": types.ToolConfig, "safetySettings": list[types.SafetySetting], "cachedContent": str,
    "generationConfig": types.GenerationConfig, "labels": dict[str, str], "serviceTier": str, "store": bool,
}
"""What ``models/{model}:generateContent`` reads from its body (the SDK's ``_GenerateContentConfig_to_mldev``)."""
EXTRA_GENERATION = {"responseModalities": list[str], "imageConfig": types.ImageConfig}
"""``generationConfig`` fields the SDK writes that its ``GenerationConfig`` type does not name."""


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def schema_of(kind: Any) -> dict[str, Any]:
    return pydantic.TypeAdapter(kind).json_schema(by_alias=True, mode="validation")


def _clean(node: Any, *, both_spellings: bool) -> None:
    """Drop pydantic's titles and the SDK-only fields; close declared objects; for requests, add each property's
    snake_case name beside its camelCase one."""
    if isinstance(node, dict):
        if isinstance(node.get("title"), str):
            node.pop("title")
        node.pop("default", None)
        properties = node.get("properties")
        if isinstance(properties, dict) and node.get("type") == "object":
            for name in SDK_ONLY:
                properties.pop(name, None)
            if both_spellings:
                for name in list(properties):
                    properties.setdefault(_snake(name), properties[name])
            node["additionalProperties"] = False
        for value in list(node.values()):
            _clean(value, both_spellings=both_spellings)
    elif isinstance(node, list):
        for value in node:
            _clean(value, both_spellings=both_spellings)


def document(root: dict[str, Any], definitions: dict[str, Any], *, both_spellings: bool) -> dict[str, Any]:
    out = {"$schema": SCHEMA, "$defs": definitions, **root}
    _clean(out, both_spellings=both_spellings)
    if both_spellings and "Type" in definitions:  # a request's schema types, in either case
        kinds = definitions["Type"]["enum"]
        definitions["Type"]["enum"] = kinds + [kind.lower() for kind in kinds if kind.lower() not in kinds]
    return out


def _merged(*schemas: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The schemas without their ``$defs``, and all their definitions in one table."""
    definitions: dict[str, Any] = {}
    bodies = []
    for schema in schemas:
        definitions.update(schema.pop("$defs", {}))
        bodies.append(schema)
    return bodies, definitions


def generate_content_request() -> dict[str, Any]:
    bodies, definitions = _merged(*(schema_of(kind) for kind in TOP_LEVEL.values()),
                                  *(schema_of(kind) for kind in EXTRA_GENERATION.values()))
    properties = dict(zip(TOP_LEVEL, bodies[:len(TOP_LEVEL)], strict=True))
    generation = properties["generationConfig"]["properties"]
    for name, body in zip(EXTRA_GENERATION, bodies[len(TOP_LEVEL):], strict=True):
        generation.setdefault(name, body)
    return document({"type": "object", "required": ["contents"], "properties": properties}, definitions,
                    both_spellings=True)


def count_tokens_request() -> dict[str, Any]:
    bodies, definitions = _merged(schema_of(list[types.Content]), schema_of(dict[str, Any]))
    properties = {"contents": bodies[0], "generateContentRequest": {"type": "object"}}
    return document({"type": "object", "properties": properties}, definitions, both_spellings=True)


def embed_request() -> dict[str, Any]:
    """One ``EmbedContentRequest`` (``:embedContent``'s body, and each of ``:batchEmbedContents``' requests)."""
    bodies, definitions = _merged(schema_of(types.Content))
    properties = {"model": {"type": "string"}, "content": bodies[0], "taskType": {"type": "string"},
                  "title": {"type": "string"}, "outputDimensionality": {"type": "integer", "minimum": 1}}
    return {"type": "object", "required": ["content"], "properties": properties, "$defs": definitions}


def embed_requests() -> tuple[dict[str, Any], dict[str, Any]]:
    single = embed_request()
    definitions = single.pop("$defs")
    definitions["EmbedContentRequest"] = single
    one = document({"$ref": "#/$defs/EmbedContentRequest"}, dict(definitions), both_spellings=True)
    batch = document({"type": "object", "required": ["requests"], "properties": {
        "requests": {"type": "array", "items": {"$ref": "#/$defs/EmbedContentRequest"}}}}, dict(definitions),
        both_spellings=True)
    return one, batch


def answer(kind: Any) -> dict[str, Any]:
    schema = schema_of(kind)
    definitions = schema.pop("$defs", {})
    return document(schema, definitions, both_spellings=False)


def streamed_array() -> dict[str, Any]:
    """``:streamGenerateContent`` without ``alt=sse``: the chunks as one JSON array."""
    chunk = answer(types.GenerateContentResponse)
    chunk.pop("$schema")
    definitions = chunk.pop("$defs")
    definitions["GenerateContentResponse"] = chunk
    return {"$schema": SCHEMA, "$defs": definitions, "type": "array",
            "items": {"$ref": "#/$defs/GenerateContentResponse"}}


def embed_answers() -> tuple[dict[str, Any], dict[str, Any]]:
    embedding = schema_of(types.ContentEmbedding)
    definitions = embedding.pop("$defs", {})
    definitions["ContentEmbedding"] = embedding
    ref = {"$ref": "#/$defs/ContentEmbedding"}
    one = document({"type": "object", "required": ["embedding"], "properties": {"embedding": ref}},
                   dict(definitions), both_spellings=False)
    batch = document({"type": "object", "required": ["embeddings"], "properties": {
        "embeddings": {"type": "array", "items": ref}}}, dict(definitions), both_spellings=False)
    return one, batch


def model_answers() -> tuple[dict[str, Any], dict[str, Any]]:
    """A model as the REST API sends it (the fields ``_Model_from_mldev`` reads), and a page of them."""
    thinking = {"type": "boolean"}
    model = {"type": "object", "required": ["name"], "additionalProperties": False, "properties": {
        "name": {"type": "string", "pattern": "^models/"}, "baseModelId": {"type": "string"},
        "version": {"type": "string"}, "displayName": {"type": "string"}, "description": {"type": "string"},
        "inputTokenLimit": {"type": "integer"}, "outputTokenLimit": {"type": "integer"},
        "supportedGenerationMethods": {"type": "array", "items": {"type": "string"}},
        "temperature": {"type": "number"}, "maxTemperature": {"type": "number"}, "topP": {"type": "number"},
        "topK": {"type": "integer"}, "thinking": thinking}}
    one = {"$schema": SCHEMA, **model}
    page = {"$schema": SCHEMA, "type": "object", "additionalProperties": False, "properties": {
        "models": {"type": "array", "items": model}, "nextPageToken": {"type": "string"}}}
    return one, page


ERROR = {
    "$schema": SCHEMA, "type": "object", "required": ["error"], "additionalProperties": False,
    "properties": {"error": {"type": "object", "required": ["code", "message", "status"], "additionalProperties": False,
                             "properties": {"code": {"type": "integer"}, "message": {"type": "string"},
                                            "status": {"type": "string"},
                                            "details": {"type": "array", "items": {
                                                "type": "object", "required": ["@type"],
                                                "properties": {"@type": {"type": "string"}}}}}}},
}
"""Google's error envelope (``google.rpc.Status`` as JSON), which the SDK's ``APIError`` reads."""


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    one_embedding, batch_embeddings = embed_answers()
    one_model, model_page = model_answers()
    embed_one, embed_batch = embed_requests()
    written = {
        "GenerateContentRequest": generate_content_request(),
        "CountTokensRequest": count_tokens_request(),
        "EmbedContentRequest": embed_one,
        "BatchEmbedContentsRequest": embed_batch,
        "GenerateContentResponse": answer(types.GenerateContentResponse),
        "StreamGenerateContentResponse": streamed_array(),
        "CountTokensResponse": answer(types.CountTokensResponse),
        "EmbedContentResponse": one_embedding,
        "BatchEmbedContentsResponse": batch_embeddings,
        "Model": one_model,
        "ListModelsResponse": model_page,
        "ErrorResponse": ERROR,
    }
    for name, schema in written.items():
        (OUT / f"{name}.json").write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(written)} schemas from google-genai {genai_version.__version__} to {OUT}")


if __name__ == "__main__":
    main()

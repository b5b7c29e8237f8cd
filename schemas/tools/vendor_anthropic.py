"""Vendor Anthropic's request and answer schemas, and its model list, from the official Python SDK's types.

The ``anthropic`` package (Apache-2.0 since 2.0; licence in ``schemas/anthropic/LICENSE``) describes every body
the Messages API takes as a ``TypedDict`` and every body it answers as a pydantic model. This script asks
pydantic for each one's JSON Schema and writes ``schemas/anthropic/<Name>.json`` (each self-contained, its
definitions under ``$defs``), and the models the SDK names (its ``Model`` literal) to
``fixtures/models/anthropic.yaml``.

Answers are made strict: every object refuses fields the SDK does not declare, so a field the mock invents is
caught by the conformance tests. Requests keep the SDK's shape, with unknown fields refused too, as the API
refuses them (``Extra inputs are not permitted``).

Usage::

    python schemas/tools/vendor_anthropic.py

Rerun it when the pinned SDK version (``pyproject.toml``) changes.
"""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path
from typing import Any

import anthropic
import pydantic
from anthropic.types import (
    Message,
    MessageTokensCount,
    ModelInfo,
    RawMessageStreamEvent,
    message_count_tokens_params,
    message_create_params,
)
from anthropic.types.messages import (
    DeletedMessageBatch,
    MessageBatch,
    MessageBatchIndividualResponse,
    batch_create_params,
)
from anthropic.types.shared import ErrorResponse

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "schemas" / "anthropic"
CATALOG = ROOT / "fixtures" / "models" / "anthropic.yaml"

REQUESTS: dict[str, Any] = {
    "MessageCreateParams": message_create_params.MessageCreateParamsBase,
    "MessageCountTokensParams": message_count_tokens_params.MessageCountTokensParams,
    "BatchCreateParams": batch_create_params.BatchCreateParams,
}
ANSWERS: dict[str, Any] = {
    "Message": Message,
    "RawMessageStreamEvent": RawMessageStreamEvent,
    "MessageTokensCount": MessageTokensCount,
    "ModelInfo": ModelInfo,
    "MessageBatch": MessageBatch,
    "MessageBatchIndividualResponse": MessageBatchIndividualResponse,
    "DeletedMessageBatch": DeletedMessageBatch,
    "ErrorResponse": ErrorResponse,
}
# The legacy Text Completions API left the SDK with 2.0; its request and answer as the 1.x SDK typed them.
LEGACY: dict[str, dict[str, Any]] = {
    "CompletionCreateParams": {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "additionalProperties": False,
        "required": ["model", "prompt", "max_tokens_to_sample"],
        "properties": {
            "model": {"type": "string"}, "prompt": {"type": "string"},
            "max_tokens_to_sample": {"type": "integer", "minimum": 1},
            "stop_sequences": {"type": "array", "items": {"type": "string"}},
            "stream": {"type": "boolean"}, "temperature": {"type": "number", "minimum": 0, "maximum": 1},
            "top_p": {"type": "number"}, "top_k": {"type": "integer", "minimum": 0},
            "metadata": {"type": "object", "properties": {"user_id": {"type": ["string", "null"]}},
                         "additionalProperties": False},
        },
    },
    "Completion": {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "additionalProperties": False,
        "required": ["id", "completion", "model", "stop_reason", "type"],
        "properties": {
            "id": {"type": "string"}, "completion": {"type": "string"}, "model": {"type": "string"},
            "stop_reason": {"anyOf": [{"enum": ["stop_sequence", "max_tokens"]}, {"type": "null"}]},
            "type": {"const": "completion"},
        },
    },
}
MAX_OUTPUT = (
    (("claude-haiku-4-5", "claude-opus-4-5", "claude-sonnet-4-5"), 64_000),
    (("claude-fable-5", "claude-mythos", "claude-opus-4-6", "claude-opus-4-7", "claude-opus-4-8", "claude-opus-5",
      "claude-sonnet-4-6", "claude-sonnet-5", "claude-haiku-5"), 128_000),
)
"""The ``max_tokens`` Anthropic's Models API reports for each model, by id prefix (the SDK's types carry no
figures; clients send these as their defaults, pydantic-ai 128,000 for Sonnet 4.6). A model none names stops the
script: a new SDK's model needs its figure looked up, not guessed."""


def schema_of(kind: Any, *, strict: bool) -> dict[str, Any]:
    schema = pydantic.TypeAdapter(kind).json_schema(mode="serialization" if strict else "validation")
    _close(schema, strict)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def _close(node: Any, strict: bool) -> None:
    """Objects with declared properties take no others; titles (pydantic's) are dropped."""
    if isinstance(node, dict):
        if isinstance(node.get("title"), str):  # pydantic's label; a property named "title" is a dict
            node.pop("title")
        declared = node.get("type") == "object" and "properties" in node
        if declared and (strict or node.get("additionalProperties") is not True):
            node["additionalProperties"] = False
        for value in node.values():
            _close(value, strict)
    elif isinstance(node, list):
        for value in node:
            _close(value, strict)


def page_of(kind: Any) -> dict[str, Any]:
    """The list page the SDK reads (``SyncPage``): ``data``, ``has_more``, ``first_id``, ``last_id``."""
    item = schema_of(kind, strict=True)
    item.pop("$schema")
    definitions = item.pop("$defs", {})
    nullable_id = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": definitions, "type": "object",
            "additionalProperties": False, "required": ["data", "has_more", "first_id", "last_id"],
            "properties": {"data": {"type": "array", "items": item}, "has_more": {"type": "boolean"},
                           "first_id": nullable_id, "last_id": nullable_id}}


def model_ids() -> list[str]:
    literal = typing.get_args(anthropic.types.Model)[0]
    return list(typing.get_args(literal))


def max_output(model_id: str) -> int:
    found = next((tokens for prefixes, tokens in MAX_OUTPUT if model_id.startswith(prefixes)), None)
    if found is None:
        raise SystemExit(f"{model_id}: no max_tokens figure in MAX_OUTPUT; look it up and add it")
    return found


def catalog_entry(model_id: str) -> str:
    dated = re.search(r"-(\d{8})$", model_id)
    name = re.sub(r"-\d{8}$", "", model_id).removeprefix("claude-")
    words = name.split("-")
    version = ".".join(word for word in words if word.isdigit())
    line = " ".join(word.capitalize() for word in words if not word.isdigit())
    display = f"Claude {line} {version}".strip()
    fields = [f"id: {model_id}", f"name: {display}", "context_window: 200000",
              f"max_output_tokens: {max_output(model_id)}", "reasoning: true"]
    if dated:
        fields.append(f"released: '{dated.group(1)[:4]}-{dated.group(1)[4:6]}-{dated.group(1)[6:]}'")
    return "  - {" + ", ".join(fields) + "}"


def output_format(schema: dict[str, Any]) -> dict[str, Any]:
    """``output_format``, the structured-outputs beta's name for ``output_config.format``: the SDK dropped it, the
    API still takes it (litellm sends it), typed as ``output_config.format`` is."""
    config = schema["properties"]["output_config"]
    reference = next(branch["$ref"] for branch in config.get("anyOf", [config]) if "$ref" in branch)
    return schema["$defs"][reference.removeprefix("#/$defs/")]["properties"]["format"]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, kind in REQUESTS.items():
        schema = schema_of(kind, strict=False)
        if name == "MessageCreateParams":  # the SDK's two request types differ only in ``stream``
            schema["properties"]["stream"] = {"type": "boolean"}
            schema["properties"]["output_format"] = output_format(schema)
        (OUT / f"{name}.json").write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
    for name, kind in ANSWERS.items():
        (OUT / f"{name}.json").write_text(json.dumps(schema_of(kind, strict=True), indent=1, sort_keys=True) + "\n")
    (OUT / "ModelListPage.json").write_text(json.dumps(page_of(ModelInfo), indent=1, sort_keys=True) + "\n")
    (OUT / "MessageBatchListPage.json").write_text(json.dumps(page_of(MessageBatch), indent=1, sort_keys=True) + "\n")
    for name, schema in LEGACY.items():
        (OUT / f"{name}.json").write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
    # The SDK skips ``ping`` events without a type of their own: their whole shape, for the document.
    ping = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
            "additionalProperties": False, "required": ["type"], "properties": {"type": {"const": "ping"}}}
    (OUT / "PingEvent.json").write_text(json.dumps(ping, indent=1, sort_keys=True) + "\n")
    lines = [
        f"# Anthropic's models as the official SDK (anthropic {anthropic.__version__}) names them; written by",
        "# schemas/tools/vendor_anthropic.py. Every one can think (extended thinking), when a request asks.",
        "dialect: anthropic",
        "owned_by: anthropic",
        "created: 1735689600",
        "models:",
        *(catalog_entry(model_id) for model_id in model_ids()),
    ]
    CATALOG.write_text("\n".join(lines) + "\n")
    print(f"wrote {len(REQUESTS) + len(ANSWERS)} schemas to {OUT} and {len(model_ids())} models to {CATALOG}")


if __name__ == "__main__":
    main()

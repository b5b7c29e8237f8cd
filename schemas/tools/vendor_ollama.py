"""Vendor Ollama's native API schemas from the official Python client's types (``ollama``, MIT; licence in
``schemas/ollama/LICENSE``).

The client types every request it sends and every answer it reads as a pydantic model (``ollama/_types.py``). This
script asks pydantic for each one's JSON Schema, as it goes on the wire (serialization mode, JSON names), and writes
``schemas/ollama/<Name>.json``:

- requests stay open to fields the client does not name: Ollama's server decodes bodies with Go's
  ``encoding/json``, which ignores unknown fields; a wrong type is its 400;
- answers are closed: a field the client does not declare fails conformance.

Usage::

    python schemas/tools/vendor_ollama.py

Rerun it when the pinned client version (``pyproject.toml``) changes.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pydantic
from ollama import _types as types

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "schemas" / "ollama"
SCHEMA = "https://json-schema.org/draft/2020-12/schema"
REQUESTS = {
    "ChatRequest": types.ChatRequest, "GenerateRequest": types.GenerateRequest, "EmbedRequest": types.EmbedRequest,
    "EmbeddingsRequest": types.EmbeddingsRequest, "ShowRequest": types.ShowRequest, "PullRequest": types.PullRequest,
    "PushRequest": types.PushRequest, "CreateRequest": types.CreateRequest, "CopyRequest": types.CopyRequest,
    "DeleteRequest": types.DeleteRequest,
}
ANSWERS = {
    "ChatResponse": types.ChatResponse, "GenerateResponse": types.GenerateResponse,
    "EmbedResponse": types.EmbedResponse, "EmbeddingsResponse": types.EmbeddingsResponse,
    "ListResponse": types.ListResponse, "ShowResponse": types.ShowResponse, "ProcessResponse": types.ProcessResponse,
    "ProgressResponse": types.ProgressResponse,
}
HAND_WRITTEN = {
    "ErrorResponse": {"$schema": SCHEMA, "type": "object", "required": ["error"], "additionalProperties": False,
                      "properties": {"error": {"type": "string"}}},
    "VersionResponse": {"$schema": SCHEMA, "type": "object", "required": ["version"], "additionalProperties": False,
                        "properties": {"version": {"type": "string"}}},
}
"""What the client reads without a type: an error (``ResponseError`` takes ``error``) and ``/api/version``."""
REQUIRED = {"ChatRequest": ["model"], "GenerateRequest": ["model"], "EmbedRequest": ["model", "input"],
            "EmbeddingsRequest": ["model"], "ShowRequest": ["model"], "PullRequest": ["model"],
            "PushRequest": ["model"], "CreateRequest": ["model"], "CopyRequest": ["source", "destination"],
            "DeleteRequest": ["model"]}
"""What the server refuses a request without (its 400 ``model is required``); the client types them optional."""
NAMED = ("ShowRequest", "PullRequest", "PushRequest", "CreateRequest", "DeleteRequest")
"""Requests the server also takes with the model under its older key, ``name`` (litellm sends ``/api/show`` so)."""
IMAGE = {"type": "string", "contentEncoding": "base64"}
"""An image on the wire: the client's ``Image`` serializes to its base64 text."""
LIVE_FIELDS = {"ListResponse": {"Model": {"name": {"type": "string"}}},
               "ProcessResponse": {"Model": {"name": {"type": "string"}}}}
"""Fields the server sends that the client's types leave out (and ignore): a listed model's ``name`` beside its
``model``, as ``ollama list`` and ``ollama ps`` read it."""


def schema_of(kind: Any, *, closed: bool) -> dict[str, Any]:
    schema = pydantic.TypeAdapter(kind).json_schema(by_alias=True, mode="serialization")
    _clean(schema, closed)
    return {"$schema": SCHEMA, **schema}


def _clean(node: Any, closed: bool) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("title"), str):
            node.pop("title")
        node.pop("default", None)
        if closed and node.get("type") == "object" and "properties" in node:
            node["additionalProperties"] = False
        for value in node.values():
            _clean(value, closed)
    elif isinstance(node, list):
        for value in node:
            _clean(value, closed)


def _patched(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    definitions = schema.get("$defs", {})
    if "Image" in definitions:
        definitions["Image"] = IMAGE
    for definition, fields in LIVE_FIELDS.get(name, {}).items():
        definitions[definition]["properties"].update(fields)
    return schema


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, kind in REQUESTS.items():
        schema = _patched(name, schema_of(kind, closed=False))
        if name in NAMED:
            schema["properties"]["name"] = schema["properties"]["model"]
            schema.pop("required", None)
            schema["anyOf"] = [{"required": ["model"]}, {"required": ["name"]}]
        else:
            schema["required"] = REQUIRED[name]
        (OUT / f"{name}.json").write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
    for name, kind in ANSWERS.items():
        schema = _patched(name, schema_of(kind, closed=True))
        (OUT / f"{name}.json").write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
    for name, schema in HAND_WRITTEN.items():
        (OUT / f"{name}.json").write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
    count = len(REQUESTS) + len(ANSWERS) + len(HAND_WRITTEN)
    print(f"wrote {count} schemas from ollama {version('ollama')} to {OUT}")


if __name__ == "__main__":
    main()

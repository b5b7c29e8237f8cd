"""Vendor the part of OpenAI's OpenAPI document that the mock must conform to.

The official document is about 3 MB of YAML, mostly endpoints the mock never
serves. This script keeps only the ``components.schemas`` entries reachable
from the roots below, rewrites them as plain JSON Schema 2020-12 and writes
``schemas/openai/openapi-subset.json``, so the project can check its own
responses against OpenAI's contract without shipping, or fetching, the whole
spec.

Usage::

    python schemas/tools/vendor_openapi.py path/to/openapi.yaml [--out FILE]

The rewrite:

* ``$ref: '#/components/schemas/X'`` becomes ``$ref: '#/$defs/X'``;
* OpenAPI 3.0's ``nullable: true`` becomes ``"type": [T, "null"]`` (with
  ``null`` added to any ``enum``), or an ``anyOf`` with ``{"type": "null"}``
  when the schema is a ``$ref`` or a composition, because 2020-12 has no
  ``nullable`` and ignoring it would reject every ``null`` OpenAI sends;
* documentation-only keywords (``description``, ``title``, ``example(s)``,
  ``discriminator`` and every ``x-*`` extension) are dropped to keep the file
  small and free of OpenAPI-only vocabulary.

Keywords are only recognised where JSON Schema puts keywords: the keys of
``properties`` are property names, so a property called ``description`` (as
in ``ResponseFormatJsonSchema``) survives.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

ROOTS = (
    "CreateChatCompletionRequest",
    "CreateChatCompletionResponse",
    "CreateChatCompletionStreamResponse",
    "ChatCompletionList",
    "ChatCompletionMessageList",
    "ChatCompletionDeleted",
    "ListModelsResponse",
    "Model",
    "DeleteModelResponse",
    "CreateImageRequest",
    "ImagesResponse",
    "ImageGenStreamEvent",
    "ImageEditStreamEvent",
    "CreateImageEditRequest",
    "CreateImageVariationRequest",
    "CreateEmbeddingRequest",
    "CreateEmbeddingResponse",
    "ErrorResponse",
    "Error",
)

COMPONENT_PREFIX = "#/components/schemas/"
DROPPED = {"description", "title", "example", "examples", "discriminator"}
SCHEMA_MAPS = {"properties", "patternProperties", "$defs", "dependentSchemas"}
SCHEMA_LISTS = {"allOf", "anyOf", "oneOf", "prefixItems"}
SCHEMA_SINGLES = {
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
}
COMPOSITIONS = {"$ref", "allOf", "anyOf", "oneOf", "not"}


def closure(schemas: dict[str, Any], roots: tuple[str, ...]) -> list[str]:
    """Names of every component schema reachable from ``roots`` through ``$ref``."""
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        if name not in schemas:
            raise SystemExit(f"components.schemas has no {name!r}")
        seen.add(name)
        pending.extend(_refs(schemas[name]))
    return sorted(seen)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = []
        for key, value in node.items():
            if key == "$ref":
                if not value.startswith(COMPONENT_PREFIX):
                    raise SystemExit(f"unsupported $ref {value!r}")
                found.append(value.removeprefix(COMPONENT_PREFIX))
            else:
                found.extend(_refs(value))
        return found
    if isinstance(node, list):
        return [name for item in node for name in _refs(item)]
    return []


def convert(schema: Any) -> Any:
    """Rewrite one OpenAPI schema object as a JSON Schema 2020-12 one."""
    if not isinstance(schema, dict):
        return schema  # boolean schemas
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in DROPPED or key.startswith("x-") or key == "nullable":
            continue
        if key == "$ref":
            out[key] = "#/$defs/" + value.removeprefix(COMPONENT_PREFIX)
        elif key in SCHEMA_MAPS:
            out[key] = {name: convert(sub) for name, sub in value.items()}
        elif key in SCHEMA_LISTS:
            out[key] = [convert(sub) for sub in value]
        elif key in SCHEMA_SINGLES:
            out[key] = convert(value)
        else:
            out[key] = value
    if schema.get("nullable") is True:
        out = _allow_null(out)
    return out


def _allow_null(schema: dict[str, Any]) -> dict[str, Any]:
    if COMPOSITIONS & schema.keys():
        return {"anyOf": [schema, {"type": "null"}]}
    kind = schema.get("type")
    if kind is None:
        return schema  # no type constraint: null is already accepted
    schema["type"] = [*kind, "null"] if isinstance(kind, list) else [kind, "null"]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


def build(spec: dict[str, Any], roots: tuple[str, ...] = ROOTS) -> dict[str, Any]:
    """The subset document for ``roots`` of an already-parsed OpenAPI ``spec``."""
    schemas = spec["components"]["schemas"]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": (
            f"Generated by schemas/tools/vendor_openapi.py from OpenAI's OpenAPI document "
            f"version {spec['info']['version']}; do not edit by hand. See README.md."
        ),
        "$defs": {name: convert(schemas[name]) for name in closure(schemas, roots)},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path, help="OpenAI's openapi.yaml")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "openai" / "openapi-subset.json",
    )
    args = parser.parse_args(argv)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with args.spec.open(encoding="utf-8") as handle:
        spec = yaml.load(handle, Loader=loader)
    subset = build(spec)
    args.out.write_text(json.dumps(subset, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(subset['$defs'])} schemas to {args.out}")


if __name__ == "__main__":
    main()

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
* OpenAPI 3.0's boolean ``exclusiveMinimum``/``exclusiveMaximum`` become the
  2020-12 numeric form, a repeated name in ``required`` is listed once, and a
  2019-09 ``$recursiveRef: "#"`` becomes a ``$ref`` to its component;
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
import re
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


def convert(schema: Any, home: str | None = None) -> Any:
    """Rewrite one OpenAPI schema object as a JSON Schema 2020-12 one.

    ``home`` is the component the schema belongs to: a 2019-09 ``$recursiveRef: "#"`` in it (the spec's
    ``CompoundFilter`` nests itself so) becomes a ``$ref`` to that component, and ``$recursiveAnchor``
    goes.
    """
    if not isinstance(schema, dict):
        return schema  # boolean schemas
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in DROPPED or key.startswith("x-") or key in ("nullable", "$recursiveAnchor"):
            continue
        if key == "$ref":
            out[key] = "#/$defs/" + value.removeprefix(COMPONENT_PREFIX)
        elif key == "$recursiveRef":
            if value != "#" or home is None:
                raise SystemExit(f"unsupported $recursiveRef {value!r} outside a component")
            out["$ref"] = f"#/$defs/{home}"
        elif key in SCHEMA_MAPS:
            out[key] = {name: convert(sub, home) for name, sub in value.items()}
        elif key in SCHEMA_LISTS:
            out[key] = [convert(sub, home) for sub in value]
        elif key in SCHEMA_SINGLES:
            out[key] = convert(value, home)
        elif key == "required" and isinstance(value, list):
            out[key] = list(dict.fromkeys(value))  # the spec repeats some names, which 2020-12 refuses
        else:
            out[key] = value
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        # OpenAPI 3.0: a flag on the bound; 2020-12: the bound itself.
        if isinstance(out.get(exclusive), bool) and out.pop(exclusive) and bound in out:
            out[exclusive] = out.pop(bound)
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


def build(spec: dict[str, Any], roots: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The components of an already-parsed OpenAPI ``spec`` as one JSON Schema document: every one, or
    those reachable from ``roots``."""
    schemas = spec["components"]["schemas"]
    names = sorted(schemas) if roots is None else closure(schemas, roots)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": _generated(spec),
        "$defs": {name: convert(schemas[name], name) for name in names},
    }


def _generated(spec: dict[str, Any]) -> str:
    return (
        f"Generated by schemas/tools/vendor_openapi.py from OpenAI's OpenAPI document "
        f"version {spec['info']['version']}; do not edit by hand. See README.md."
    )


METHODS = ("get", "post", "put", "patch", "delete")
_EXAMPLE_ID = re.compile(r'"id"\s*:\s*"([A-Za-z]+[-_])[A-Za-z0-9]')


def operations(spec: dict[str, Any]) -> dict[str, Any]:
    """Every operation of ``spec``: method, path, parameters, request and response media types with their
    schemas (converted), and the id prefix its documented example answers with.

    Paths that only differ by a query string (``/responses?beta=true``) repeat an operation under another
    name and are left out.
    """
    found = []
    for path, item in spec["paths"].items():
        if "?" in path:
            continue
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            found.append({
                "id": operation["operationId"],
                "method": method.upper(),
                "path": path,
                "parameters": [
                    {"name": parameter["name"], "in": parameter["in"], "required": parameter.get("required", False),
                     "schema": convert(parameter.get("schema", {}))}
                    for parameter in operation.get("parameters", [])
                ],
                "request": _contents(operation.get("requestBody")),
                "responses": {
                    status: _contents(response)
                    for status, response in operation["responses"].items()
                    if status.startswith("2") and "$ref" not in response
                },
                "id_prefix": _example_id_prefix(operation),
                "example_object": _example_object(operation),
            })
    return {"$comment": _generated(spec), "operations": found}


def _contents(body: dict[str, Any] | None) -> dict[str, Any]:
    if not body:
        return {}
    return {media: convert(content.get("schema", {})) for media, content in (body.get("content") or {}).items()}


_EXAMPLE_OBJECT = re.compile(r'"object"\s*:\s*"([A-Za-z_.]+)"')


def _example_id_prefix(operation: dict[str, Any]) -> str | None:
    return _example_match(operation, _EXAMPLE_ID)


def _example_object(operation: dict[str, Any]) -> str | None:
    """The top-level ``object`` of the documented example answer (the spec often types it a plain string);
    for an example that is not plain JSON, the first ``object`` in it."""
    examples = operation.get("x-oaiMeta", {}).get("examples")
    for example in examples if isinstance(examples, list) else [examples]:
        response = example.get("response") if isinstance(example, dict) else None
        try:
            parsed = json.loads(response) if isinstance(response, str) else None
        except ValueError:
            continue
        if isinstance(parsed, dict) and isinstance(parsed.get("object"), str):
            return parsed["object"]
    return _example_match(operation, _EXAMPLE_OBJECT)


def _example_match(operation: dict[str, Any], pattern: re.Pattern[str]) -> str | None:
    examples = operation.get("x-oaiMeta", {}).get("examples")
    for example in examples if isinstance(examples, list) else [examples]:
        response = example.get("response") if isinstance(example, dict) else None
        match = pattern.search(response) if isinstance(response, str) else None
        if match:
            return match.group(1)
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path, help="OpenAI's openapi.yaml")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "openai",
                        help="the folder to write openapi-components.json and operations.json to")
    args = parser.parse_args(argv)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with args.spec.open(encoding="utf-8") as handle:
        spec = yaml.load(handle, Loader=loader)
    components = build(spec)
    (args.out / "openapi-components.json").write_text(_compact(components), encoding="utf-8")
    index = operations(spec)
    (args.out / "operations.json").write_text(_compact(index), encoding="utf-8")
    print(f"wrote {len(components['$defs'])} schemas and {len(index['operations'])} operations to {args.out}")


def _compact(document: dict[str, Any]) -> str:
    """One line per top-level entry: small enough to ship, and a re-vendoring still diffs by schema."""
    key = "$defs" if "$defs" in document else "operations"
    head = {name: value for name, value in document.items() if name != key}
    entries = document[key]
    if isinstance(entries, dict):
        body = ",\n".join(
            f"{json.dumps(name)}: {json.dumps(value, ensure_ascii=False)}" for name, value in entries.items()
        )
        return json.dumps(head)[:-1] + f', "{key}": {{\n{body}\n}}}}\n'
    body = ",\n".join(json.dumps(value, ensure_ascii=False) for value in entries)
    return json.dumps(head)[:-1] + f', "{key}": [\n{body}\n]}}\n'



if __name__ == "__main__":
    main()

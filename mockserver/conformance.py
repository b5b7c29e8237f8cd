"""Check documents against OpenAI's own published schemas.

The mock's request validation uses hand-written schemas (``schemas/requests``)
tuned for readable errors; this module is the independent oracle on the other
side: the official OpenAPI components, vendored in
``schemas/openai/openapi-components.json``, answer "would the real contract accept
this?" for responses, chunks and errors the mock produces. Tests use it, and
so can the server's own ``/openapi.json``; the spec engine checks its requests and
answers against the same schemas, through their compiled verdicts (the ``*_checker``
functions) and, to name what is wrong, the Python validators.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import jsonschema_rs
import orjson
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mockserver.resources import schemas_dir

COMPONENTS_URI = "urn:mockserver:openai-openapi-components"


SDK_PREFIX = "sdk."
"""The ``$defs`` names of the schemas derived from openai-python's types (``schemas/openai/sdk-operations.json``)."""
ANTHROPIC_PREFIX = "anthropic."
"""The ``$defs`` names of the schemas of Anthropic's API beyond the Messages family, from its SDK's types
(``schemas/anthropic/operations.json``): the spec engine answers them on Anthropic's wire."""


NULLABLE_ID = {"type": ["string", "null"]}
LIVE_API_PATCHES: dict[str, dict[str, Any]] = {
    # encoding_format=base64 answers the vector as a base64 string of float32s (the SDK decodes it).
    "Embedding": {"embedding": {"anyOf": [{"type": "array", "items": {"type": "number"}},
                                          {"type": "string", "contentEncoding": "base64"}]}},
}
"""Where the live API is known to answer outside the official schema, and the mock answers as the API does. Besides
these, every list's ``first_id`` and ``last_id`` may be null: an empty page has no first or last item, and the API
sends null for both (the spec types them as strings)."""


@cache
def official_document() -> dict[str, Any]:
    """Every vendored component: ``{"$schema", "$comment", "$defs": {Name: schema}}``; with them, under
    ``sdk.`` names, the schemas of the operations the SDK calls beyond the pinned spec, from its own types, and
    under ``anthropic.`` names those of Anthropic's other operations, from its SDK's; with
    :data:`LIVE_API_PATCHES` applied."""
    document: dict[str, Any] = orjson.loads((schemas_dir() / "openai" / "openapi-components.json").read_bytes())
    for beyond in (schemas_dir() / "openai" / "sdk-operations.json", schemas_dir() / "anthropic" / "operations.json"):
        document["$defs"].update(orjson.loads(beyond.read_bytes())["$defs"])
    for name, fields in LIVE_API_PATCHES.items():
        document["$defs"][name]["properties"].update(fields)
    for schema in document["$defs"].values():
        properties = schema.get("properties") if isinstance(schema, dict) else None
        if isinstance(properties, dict) and "data" in properties:
            for key in ("first_id", "last_id"):
                if properties.get(key, {}).get("type") == "string":
                    properties[key] = {**properties[key], **NULLABLE_ID}
    return document


@cache
def _registry() -> Registry:
    resource = Resource.from_contents(official_document(), default_specification=DRAFT202012)
    return Registry().with_resource(COMPONENTS_URI, resource)


@cache
def _validator(name: str) -> Draft202012Validator:
    if name not in official_document()["$defs"]:
        raise KeyError(f"the official components have no schema named {name!r}")
    return Draft202012Validator({"$ref": f"{COMPONENTS_URI}#/$defs/{name}"}, registry=_registry())


def schema_validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator of ``schema``, whose ``#/$defs/X`` references name official components (as in
    ``schemas/openai/operations.json``)."""
    text = orjson.dumps(schema).replace(b'"#/$defs/', f'"{COMPONENTS_URI}#/$defs/'.encode())
    return Draft202012Validator(orjson.loads(text), registry=_registry())


def _required_unless_nullable(validator: Any, required: Any, instance: Any, schema: dict[str, Any]) -> Any:
    """``required``, less the properties that may be null (the spec marks a request field that clients leave
    out as required and nullable, a function tool's ``strict``, and the API takes it left out) and those the
    object does not declare."""
    properties = schema.get("properties")
    if properties is None:
        needed = list(required)
    else:  # a name the object does not declare is the spec's slip (MCPApprovalResponse's request_id)
        needed = [name for name in required if name in properties and not _nullable(properties[name])]
    yield from Draft202012Validator.VALIDATORS["required"](validator, needed, instance, schema)


def _nullable(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    kinds = schema.get("type")
    return kinds == "null" or (isinstance(kinds, list) and "null" in kinds) or any(
        _nullable(branch) for branch in schema.get("anyOf", []) + schema.get("oneOf", []))


# The request validator reads the spec as the API behaves. A request valid under more than one branch of a
# ``oneOf`` is one the API takes (an input message is both an EasyInputMessage and an InputMessage), and a
# required field that may be null may be left out.
_RequestValidator = validators.extend(Draft202012Validator, {"oneOf": Draft202012Validator.VALIDATORS["anyOf"],
                                                             "required": _required_unless_nullable})


def request_schema_validator(schema: dict[str, Any]) -> Draft202012Validator:
    """:func:`schema_validator` for request bodies: each ``oneOf`` read as the union it means (``anyOf``)."""
    text = orjson.dumps(schema).replace(b'"#/$defs/', f'"{COMPONENTS_URI}#/$defs/'.encode())
    validator: Draft202012Validator = _RequestValidator(orjson.loads(text), registry=_registry())
    return validator


def schema_checker(schema: dict[str, Any]) -> jsonschema_rs.Validator:
    """A compiled validator (``jsonschema_rs``) whose verdict (``is_valid``) is :func:`schema_validator`'s: the
    official components ``schema`` refers to go under its ``$defs``. The spec engine asks it for verdicts and keeps
    the Python validator's walk for naming what is wrong (the walk of a Responses request was more than half of
    what the request cost)."""
    return _compiled(schema, _as_written)


def request_schema_checker(schema: dict[str, Any]) -> jsonschema_rs.Validator:
    """:func:`schema_checker` with :func:`request_schema_validator`'s verdict: the request reading is written into
    the schema itself (each ``oneOf`` an ``anyOf`` inside an ``allOf``, beside an ``anyOf`` the object may have;
    each ``required`` without the fields the object declares as nullable or does not declare), and into the
    components it refers to."""
    return _compiled(schema, _read_as_requests)


def _compiled(schema: dict[str, Any], read: Callable[[Any], Any]) -> jsonschema_rs.Validator:
    components = official_document()["$defs"]
    names: set[str] = set()
    pending = _references(schema)
    while pending:
        name = pending.pop()
        if name not in names:
            names.add(name)
            pending += _references(components[name])
    root = {**read(schema), "$defs": {name: read(components[name]) for name in names}}
    return jsonschema_rs.Draft202012Validator(root, validate_formats=False)


def _as_written(schema: Any) -> Any:
    return schema


_SUBSCHEMA = frozenset({"additionalItems", "additionalProperties", "contains", "else", "if", "items", "not",
                        "propertyNames", "then", "unevaluatedItems", "unevaluatedProperties"})
_SUBSCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SUBSCHEMA_MAPS = frozenset({"$defs", "definitions", "dependentSchemas", "patternProperties", "properties"})
"""Where a schema holds schemas (everything else, ``enum``, ``const``, ``default``..., holds values)."""


def _read_as_requests(schema: Any) -> Any:
    """``schema`` with :data:`_RequestValidator`'s reading of ``oneOf`` and ``required`` written into it."""
    if not isinstance(schema, dict):
        return schema
    read: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SUBSCHEMA:
            read[key] = _read_as_requests(value)
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            read[key] = [_read_as_requests(branch) for branch in value]
        elif key in _SUBSCHEMA_MAPS and isinstance(value, dict):
            read[key] = {name: _read_as_requests(branch) for name, branch in value.items()}
        else:
            read[key] = value
    if isinstance(read.get("oneOf"), list):
        read["allOf"] = [*read.get("allOf", []), {"anyOf": read.pop("oneOf")}]
    properties = schema.get("properties")
    if isinstance(read.get("required"), list) and isinstance(properties, dict):
        read["required"] = [name for name in read["required"]
                            if name in properties and not _nullable(properties[name])]
    return read


def _references(schema: Any) -> list[str]:
    """The names of the components ``schema`` refers to (``{"$ref": "#/$defs/Name"}``), at any depth."""
    found: list[str] = []
    pending = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                found.append(reference[len("#/$defs/"):].replace("~1", "/").replace("~0", "~"))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


def official_errors(name: str, instance: Any) -> list[str]:
    """Every way ``instance`` breaks official schema ``name``, as ``"$.path: message"``.

    An ``anyOf``/``oneOf`` failure on its own only says "not valid under any of
    the given schemas", which names no culprit; the closest branch error is
    appended so the line says what actually went wrong.
    """
    lines = []
    for error in sorted(_validator(name).iter_errors(instance), key=lambda e: e.json_path):
        lines.append(f"{error.json_path}: {_describe(error)}")
    return lines


def _describe(error: ValidationError) -> str:
    if not error.context:
        return error.message
    closest = best_match(error.context)
    return f"{error.message} (closest: {closest.json_path}: {_describe(closest)})"


def validate_official(name: str, instance: Any) -> None:
    """Raise ``AssertionError`` listing every error unless ``instance`` conforms.

    An assertion because the callers are tests and self-checks: a mock response
    that breaks the official contract is a bug in the mock, not a bad request.
    """
    errors = official_errors(name, instance)
    if errors:
        raise AssertionError(f"not a valid OpenAI {name}:\n  " + "\n  ".join(errors))

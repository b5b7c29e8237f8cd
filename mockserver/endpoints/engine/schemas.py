"""The spec's schemas as the engine reads them: validators compiled on first use, and object shapes."""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator

from mockserver.conformance import (
    official_document,
    request_schema_checker,
    request_schema_validator,
    schema_checker,
)
from mockserver.endpoints.engine.operations import Operation, every_operation


@cache
def request_validator(operation_id: str, media_type: str) -> Draft202012Validator:
    return request_schema_validator(by_id(operation_id).request[media_type])


@cache
def request_checker(operation_id: str, media_type: str) -> jsonschema_rs.Validator:
    """The compiled verdict of :func:`request_validator` (valid or not, without the error): the fast path."""
    return request_schema_checker(by_id(operation_id).request[media_type])


@cache
def response_checker(operation_id: str) -> jsonschema_rs.Validator:
    """Whether an answer is valid against the operation's response schema (compiled: the engine asks it of every
    answer it shapes, and of each change it tries)."""
    schema = by_id(operation_id).response_schema
    assert schema is not None
    return schema_checker(schema)


@cache
def by_id(operation_id: str) -> Operation:
    return next(operation for operation in every_operation() if operation.id == operation_id)


def invalid(operation: Operation, answer: Any) -> bool:
    return operation.response_schema is not None and not response_checker(operation.id).is_valid(answer)


def allowed(schema: dict[str, Any]) -> list[Any]:
    """The values an enum-like property schema (or a ``$ref`` / ``anyOf`` of them) allows."""
    schema = resolved(schema)
    values = list(schema.get("enum", [])) + ([schema["const"]] if "const" in schema else [])
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        values += allowed(branch)
    return values


def properties(operation: Operation) -> dict[str, Any]:
    return resolved(operation.response_schema or {}).get("properties", {})


def resolved(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema's own object shape: through a top-level ``$ref`` and ``allOf``, properties merged."""
    defs = official_document()["$defs"]
    seen = 0
    while "$ref" in schema and seen < 16:
        schema = defs.get(schema["$ref"].removeprefix("#/$defs/"), {})
        seen += 1
    if "allOf" in schema:
        merged: dict[str, Any] = {"properties": {}, "required": []}
        for part in schema["allOf"]:
            part = resolved(part)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        merged["properties"].update(schema.get("properties", {}))
        return merged
    return schema

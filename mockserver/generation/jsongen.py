"""Deterministic JSON values that validate against a JSON Schema.

The mock answers tool calls and ``response_format: json_schema`` requests with
values generated here, so clients that parse and validate model output (the
SDK's ``parse()`` helpers, Pydantic, hand-written validators) receive data that
is both valid and plausible. A value is a pure function of the schema and the
caller's ``random.Random``: a seeded request always yields the same JSON, which
is what makes recordings made against the mock reproducible.

Generation is constructive (each keyword steers the value as it is built), and
only the keywords that cannot be built in (``oneOf`` exclusivity, ``not``,
``if``, conflicting ``allOf`` parts) fall back to drawing candidates and
checking them with ``jsonschema``, because validating every value would blow
the time budget of a typical tool call.

Realistic strings come from Faker's word lists drawn with the caller's ``rng``
rather than from a ``Faker`` instance: Faker's formatter methods cost 50-150 µs
each, more than a whole tool call is allowed to take, and a shared instance
would need reseeding (and locking) on every use.
"""

from __future__ import annotations

import copy
import math
import random
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from functools import cache, lru_cache
from typing import Any, overload
from urllib.parse import unquote

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from mockserver.config import whole_number
from mockserver.errors import MockserverError
from mockserver.patterns import PatternUnsupported, compile_pattern

__all__ = ["SchemaUnsupported", "arguments_for", "entity_of", "generate"]

Path = tuple[str, ...]
"""A location in the schema as JSON Pointer segments; rendered by :func:`_pointer`."""

MAX_DEPTH = 4
"""Value nesting from which optional content is dropped, so recursive schemas end."""

_MAX_FRAMES = 150
"""Schema frames on the stack before a ``$ref`` cycle is declared endless (well under Python's limit)."""

_ATTEMPTS = 20
"""Candidates drawn by each generate-and-check loop before giving up."""

_MAX_STEPS = 50_000
"""Schema frames one call may visit: retries nested in failing branches multiply, and a request must not hang."""

MAX_STRING_LENGTH = 32_768
"""The longest string generated for one schema (a larger ``minLength`` is refused)."""

MAX_ITEMS = 4096
"""The most items generated for one array (a larger ``minItems`` is refused)."""

MAX_GENERATED_CHARS = 65_536
"""Characters of strings one value may hold in all: a few tens of ms of generation, so no request holds the loop."""

_ANNOTATIONS = frozenset({
    "$schema", "$id", "$anchor", "$comment", "$defs", "definitions", "title", "description",
    "default", "examples", "deprecated", "readOnly", "writeOnly", "discriminator", "strict",
})
"""Keywords that never constrain a value: a subschema made only of these is the empty schema."""

_ALL_TYPES = ("string", "integer", "number", "boolean", "null", "object", "array")

_KEYWORD_TYPES = {
    "properties": "object", "required": "object", "additionalProperties": "object",
    "patternProperties": "object", "minProperties": "object", "maxProperties": "object",
    "propertyNames": "object",
    "items": "array", "prefixItems": "array", "minItems": "array", "maxItems": "array",
    "uniqueItems": "array", "contains": "array",
    "minLength": "string", "maxLength": "string", "pattern": "string", "format": "string",
    "minimum": "number", "maximum": "number", "exclusiveMinimum": "number",
    "exclusiveMaximum": "number", "multipleOf": "number",
}
"""The type a schema without ``type`` is taken to describe, judged by its keywords."""


class SchemaUnsupported(MockserverError, ValueError):
    """The schema admits no value, or asks for something this generator cannot produce.

    ``path`` is a JSON Pointer fragment into the schema (``#/properties/unit``)
    so the server's 400 answer can name the offending field.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def generate(schema: dict[str, Any] | bool, rng: random.Random, *, hint: str = "") -> Any:
    """Return a JSON value valid against ``schema``, drawn only from ``rng``.

    ``hint`` is context text such as the user's last message: a city-, place-
    or name-like string property reuses its first capitalized phrase (``"What's
    the weather in Paris?"`` gives ``{"city": "Paris"}``), which makes demos
    read naturally. Raises :class:`SchemaUnsupported` when no value can be made.
    """
    return _gen(schema, _Context(rng, schema, hint), (), 0, "")


def arguments_for(properties: dict[str, Any], rng: random.Random, *, hint: str = "") -> dict[str, Any]:
    """A value for every one of ``properties`` (names to JSON Schemas, as a prompt lists a tool's arguments), made
    for its schema with ``hint`` (the ask) to draw on; ``{}`` when none are listed or they cannot be made."""
    if not properties:
        return {}
    try:
        made = generate({"type": "object", "properties": properties, "required": list(properties)}, rng, hint=hint)
    except SchemaUnsupported:
        return {}
    return made if isinstance(made, dict) else {}


class _Context:
    """What every step of one :func:`generate` call shares."""

    __slots__ = ("_validator", "frames", "generated", "hint_phrase", "rng", "root", "steps")

    def __init__(self, rng: random.Random, root: dict[str, Any] | bool, hint: str) -> None:
        self.rng = rng
        self.root = root
        self.hint_phrase = _hint_phrase(hint) if hint else None
        self.frames = 0
        self.steps = 0
        self.generated = 0
        self._validator: Any = None

    def enter(self, path: Path) -> None:
        """Count a schema frame; a ``$ref`` cycle that builds no value would otherwise never stop."""
        self.frames += 1
        self.steps += 1
        if self.frames > _MAX_FRAMES:
            raise SchemaUnsupported(_pointer(path), "the schema recurses without end")
        if self.steps > _MAX_STEPS:
            raise SchemaUnsupported(_pointer(path), "the schema is too costly to satisfy")

    def spend(self, text: str, path: Path) -> str:
        """Count ``text`` against :data:`MAX_GENERATED_CHARS`; the value is refused once past it."""
        self.generated += len(text)
        if self.generated > MAX_GENERATED_CHARS:
            raise SchemaUnsupported(
                _pointer(path), f"the value would hold more than {MAX_GENERATED_CHARS} characters of text"
            )
        return text

    def is_valid(self, schema: Any, value: Any) -> bool:
        """Check ``value`` against a subschema whose ``$ref``s point into the root schema."""
        if self._validator is None:
            self._validator = _Validator(self.root, format_checker=Draft202012Validator.FORMAT_CHECKER)
        return self._validator.evolve(schema=schema).is_valid(value)


# -- dispatch -----------------------------------------------------------------


def _gen(schema: Any, ctx: _Context, path: Path, depth: int, name: str) -> Any:
    """Generate for any subschema; ``name`` is the property it belongs to, for realistic strings."""
    if schema is True:
        schema = {}
    elif schema is False:
        raise SchemaUnsupported(_pointer(path), "the schema `false` admits no value")
    elif not isinstance(schema, dict):
        raise SchemaUnsupported(_pointer(path), f"a schema must be an object or a boolean, not {type(schema).__name__}")
    ctx.enter(path)
    try:
        return _dispatch(schema, ctx, path, depth, name)
    finally:
        ctx.frames -= 1


def _dispatch(schema: dict[str, Any], ctx: _Context, path: Path, depth: int, name: str) -> Any:
    """Peel the applicator keywords off one at a time, then build a value of a concrete type."""
    if "$ref" in schema or "allOf" in schema:
        if "allOf" not in schema and not _constrains(schema, "$ref"):
            target, target_path = _resolve(schema["$ref"], ctx, path)
            return _gen(target, ctx, target_path, depth, name)
        merged, checks = _merge_all(schema, ctx, path)
        return _gen_checked(merged, checks, "allOf", ctx, path, depth, name)
    if "anyOf" in schema:
        return _gen_any_of(schema, ctx, path, depth, name)
    if "oneOf" in schema:
        return _gen_one_of(schema, ctx, path, depth, name)
    if "if" in schema:
        return _gen_conditional(schema, ctx, path, depth, name)
    if "not" in schema:
        return _gen_not(schema, ctx, path, depth, name)
    if "const" in schema:
        if not _admits(schema, schema["const"], "const", ctx, path):
            raise SchemaUnsupported(_pointer(path), "the const value contradicts the other keywords")
        return copy.deepcopy(schema["const"])
    if "enum" in schema:
        options = [option for option in schema["enum"] if _admits(schema, option, "enum", ctx, path)]
        if not options:
            raise SchemaUnsupported(_pointer(path), "no enum value satisfies the other keywords")
        return copy.deepcopy(ctx.rng.choice(options))
    kind = _choose_type(schema, ctx, path, depth)
    return _GENERATORS[kind](schema, ctx, path, depth, name)


def _gen_checked(
    schema: dict[str, Any], checks: list[Any], what: str, ctx: _Context, path: Path, depth: int, name: str
) -> Any:
    """Draw values from ``schema`` until one also satisfies every schema in ``checks``."""
    if not checks:
        return _gen(schema, ctx, path, depth, name)
    for _ in range(_ATTEMPTS):
        value = _gen(schema, ctx, path, depth, name)
        if all(ctx.is_valid(check, value) for check in checks):
            return value
    raise SchemaUnsupported(_pointer(path), f"no value satisfying {what} found in {_ATTEMPTS} attempts")


def _gen_any_of(schema: dict[str, Any], ctx: _Context, path: Path, depth: int, name: str) -> Any:
    """Any branch will do, so take them in a seeded order until one can be satisfied."""
    branches = _branches(schema, "anyOf", path)
    rest = _without(schema, "anyOf")
    failure: SchemaUnsupported | None = None
    for index in _branch_order(branches, ctx, depth):
        try:
            return _gen(_with_branch(rest, branches[index]), ctx, (*path, "anyOf", str(index)), depth, name)
        except SchemaUnsupported as error:
            failure = error
    raise SchemaUnsupported(_pointer(path), "no anyOf branch can be satisfied") from failure


def _gen_one_of(schema: dict[str, Any], ctx: _Context, path: Path, depth: int, name: str) -> Any:
    """Build from one branch and reject values that another branch also accepts."""
    branches = _branches(schema, "oneOf", path)
    rest = _without(schema, "oneOf")
    failure: SchemaUnsupported | None = None
    for index in _branch_order(branches, ctx, depth):
        others = branches[:index] + branches[index + 1:]
        branch_schema = _with_branch(rest, branches[index])
        branch_path = (*path, "oneOf", str(index))
        try:
            for _ in range(_ATTEMPTS):
                value = _gen(branch_schema, ctx, branch_path, depth, name)
                if not any(ctx.is_valid(other, value) for other in others):
                    return value
        except SchemaUnsupported as error:
            failure = error
    raise SchemaUnsupported(_pointer(path), "no value matches exactly one oneOf branch") from failure


def _gen_conditional(schema: dict[str, Any], ctx: _Context, path: Path, depth: int, name: str) -> Any:
    """Aim at ``if`` + ``then`` or at ``else`` (in seeded order), then confirm the whole conditional holds."""
    rest = _without(schema, "if", "then", "else")
    conditional = {key: schema[key] for key in ("if", "then", "else") if key in schema}
    targets = [{"allOf": [rest, schema["if"], schema.get("then", True)]}, {"allOf": [rest, schema.get("else", True)]}]
    ctx.rng.shuffle(targets)
    failure: SchemaUnsupported | None = None
    for target in targets:
        try:
            return _gen_checked(target, [conditional], "if/then/else", ctx, path, depth, name)
        except SchemaUnsupported as error:
            failure = error
    raise SchemaUnsupported(_pointer(path), "neither the then nor the else side can be satisfied") from failure


def _gen_not(schema: dict[str, Any], ctx: _Context, path: Path, depth: int, name: str) -> Any:
    """Rule out negated types up front (the common ``not: {type: ...}``), check anything else after."""
    negated = schema["not"]
    rest = _without(schema, "not")
    if isinstance(negated, dict) and "type" in negated and not _constrains(negated, "type"):
        excluded = _type_list(negated["type"], path)
        allowed = [
            kind for kind in (_types_of(rest, path) or _ALL_TYPES)
            if kind not in excluded and not (kind == "integer" and "number" in excluded)
        ]
        if not allowed:
            raise SchemaUnsupported(_pointer(path), "`not` excludes every type the schema allows")
        rest["type"] = allowed
    return _gen_checked(rest, [{"not": negated}], "not", ctx, path, depth, name)


def _branches(schema: dict[str, Any], keyword: str, path: Path) -> list[Any]:
    branches = schema[keyword]
    if not isinstance(branches, list) or not branches:
        raise SchemaUnsupported(_pointer(path), f"{keyword} must be a non-empty array of schemas")
    return branches


def _branch_order(branches: list[Any], ctx: _Context, depth: int) -> list[int]:
    """A seeded order of branch indices.

    Past :data:`MAX_DEPTH` branches without ``$ref`` come first so recursion
    stops; otherwise a ``null`` branch usually goes last, because ``Optional``
    fields that are mostly null make dull demos.
    """
    order = list(range(len(branches)))
    ctx.rng.shuffle(order)
    if depth >= MAX_DEPTH:
        order.sort(key=lambda index: _mentions_ref(branches[index]))
    elif ctx.rng.random() < 0.8:
        order.sort(key=lambda index: isinstance(branches[index], dict) and branches[index].get("type") == "null")
    return order


def _with_branch(rest: dict[str, Any], branch: Any) -> Any:
    """The branch conjoined with its parent's other keywords (usually just annotations)."""
    return {"allOf": [rest, branch]} if _constrains(rest) else branch


def _choose_type(schema: dict[str, Any], ctx: _Context, path: Path, depth: int) -> str:
    """Pick the concrete type to build: declared, else implied by keywords, else a string."""
    types = _types_of(schema, path) or ["string"]
    if len(types) == 1:
        return types[0]
    if depth >= MAX_DEPTH:
        if "null" in types:
            return "null"
        types = [kind for kind in types if kind not in ("object", "array")] or types
    non_null = [kind for kind in types if kind != "null"]
    if non_null and ctx.rng.random() < 0.9:
        return ctx.rng.choice(non_null)
    return ctx.rng.choice(types)


def _types_of(schema: dict[str, Any], path: Path) -> list[str]:
    if "type" in schema:
        return _type_list(schema["type"], path)
    return list(dict.fromkeys(_KEYWORD_TYPES[key] for key in schema if key in _KEYWORD_TYPES))


def _type_list(declared: Any, path: Path) -> list[str]:
    kinds = [declared] if isinstance(declared, str) else declared
    if not isinstance(kinds, list) or not kinds:
        raise SchemaUnsupported(_pointer(path), "type must be a type name or a non-empty array of them")
    for kind in kinds:
        if kind not in _ALL_TYPES:
            raise SchemaUnsupported(_pointer(path), f"unknown type {kind!r}")
    return kinds


def _admits(schema: dict[str, Any], value: Any, own: str, ctx: _Context, path: Path) -> bool:
    """Whether a ``const``/``enum`` value meets the schema's other keywords; cheap when only ``type`` is there."""
    if "type" in schema and not any(_is_type(value, kind) for kind in _type_list(schema["type"], path)):
        return False
    if any(key not in _ANNOTATIONS and key not in ("type", own) for key in schema):
        return ctx.is_valid(schema, value)
    return True


def _is_type(value: Any, kind: str) -> bool:
    """JSON Schema's notion of type, where ``1.0`` is an integer and ``true`` is not a number."""
    if kind == "integer":
        if isinstance(value, float):
            return value.is_integer()
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _PYTHON_TYPES[kind])


_PYTHON_TYPES = {"string": str, "boolean": bool, "null": type(None), "object": dict, "array": list}


# -- $ref and allOf -------------------------------------------------------------


def _resolve(ref: Any, ctx: _Context, path: Path) -> tuple[Any, Path]:
    """Follow a local ``$ref`` (``#``, ``#/$defs/X``, ``#/definitions/X``, any JSON Pointer)."""
    if not isinstance(ref, str) or not ref.startswith("#") or ref[1:2] not in ("", "/"):
        raise SchemaUnsupported(_pointer(path), f"only local JSON Pointer $refs are supported, not {ref!r}")
    segments = tuple(unquote(part).replace("~1", "/").replace("~0", "~") for part in ref[1:].split("/")[1:])
    node = ctx.root
    for segment in segments:
        if isinstance(node, dict) and segment in node:
            node = node[segment]
        elif isinstance(node, list) and (index := whole_number(segment)) is not None and index < len(node):
            node = node[index]
        else:
            raise SchemaUnsupported(_pointer(path), f"$ref {ref!r} does not resolve")
    return node, segments


def _merge_all(schema: dict[str, Any], ctx: _Context, path: Path) -> tuple[dict[str, Any], list[Any]]:
    """Flatten ``$ref``/``allOf`` into one schema, plus the parts that could not be merged.

    The leftovers (two different patterns, two ``anyOf``s...) are checked
    against each generated value instead.
    """
    parts: list[dict[str, Any]] = []
    _flatten(schema, ctx, path, parts)
    merged: dict[str, Any] = {}
    checks: list[Any] = []
    for part in parts:
        merged = _merge(merged, part, checks, path)
    return merged, checks


def _flatten(schema: Any, ctx: _Context, path: Path, parts: list[dict[str, Any]]) -> None:
    """Append the ``$ref``- and ``allOf``-free pieces whose conjunction ``schema`` means."""
    if schema is True:
        return
    if schema is False:
        raise SchemaUnsupported(_pointer(path), "the schema `false` admits no value")
    if not isinstance(schema, dict):
        raise SchemaUnsupported(_pointer(path), f"a schema must be an object or a boolean, not {type(schema).__name__}")
    ctx.enter(path)
    try:
        if "$ref" in schema:
            target, target_path = _resolve(schema["$ref"], ctx, path)
            _flatten(target, ctx, target_path, parts)
        if "allOf" in schema:
            for index, part in enumerate(_branches(schema, "allOf", path)):
                _flatten(part, ctx, (*path, "allOf", str(index)), parts)
        rest = _without(schema, "$ref", "allOf")
        if _constrains(rest):
            parts.append(rest)
    finally:
        ctx.frames -= 1


_LOWER_BOUNDS = frozenset({"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains"})
_UPPER_BOUNDS = frozenset({"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains"})
_SUBSCHEMA_KEYWORDS = frozenset({"items", "additionalProperties", "contains", "propertyNames"})


def _merge(mine: dict[str, Any], theirs: dict[str, Any], checks: list[Any], path: Path) -> dict[str, Any]:
    """Conjoin two schemas keyword by keyword; what cannot be conjoined goes to ``checks``."""
    merged = dict(mine)
    if "if" in mine and "if" in theirs and mine["if"] != theirs["if"]:
        checks.append({key: theirs[key] for key in ("if", "then", "else") if key in theirs})
        theirs = _without(theirs, "if", "then", "else")
    for key, value in theirs.items():
        if key not in merged:
            merged[key] = value
            continue
        current = merged[key]
        if key in _ANNOTATIONS or current == value:
            continue
        if key == "type":
            merged[key] = _intersect_types(_type_list(current, path), _type_list(value, path), path)
        elif key == "required":
            merged[key] = list(dict.fromkeys([*current, *value]))
        elif key in ("properties", "patternProperties"):
            merged[key] = {**current, **{k: _conjoin(current[k], v) if k in current else v for k, v in value.items()}}
        elif key in _SUBSCHEMA_KEYWORDS:
            merged[key] = _conjoin(current, value)
        elif key == "not":
            merged[key] = {"anyOf": [current, value]}
        elif key in _LOWER_BOUNDS:
            merged[key] = max(current, value)
        elif key in _UPPER_BOUNDS:
            merged[key] = min(current, value)
        elif key == "enum":
            allowed = {_freeze(option) for option in value}
            merged[key] = [option for option in current if _freeze(option) in allowed]
            if not merged[key]:
                raise SchemaUnsupported(_pointer(path), "allOf parts have no enum value in common")
        elif key == "const":
            if _freeze(current) != _freeze(value):
                raise SchemaUnsupported(_pointer(path), "allOf parts require different const values")
        elif key == "uniqueItems":
            merged[key] = current or value
        elif key == "multipleOf" and isinstance(current, int) and isinstance(value, int):
            merged[key] = math.lcm(current, value)
        else:
            checks.append({key: value})
    return merged


def _conjoin(first: Any, second: Any) -> Any:
    """Both subschemas at once, keeping the boolean forms literal so ``items: false`` stays recognisable."""
    if first is False or second is False:
        return False
    if first is True:
        return second
    if second is True:
        return first
    return {"allOf": [first, second]}


def _intersect_types(first: list[str], second: list[str], path: Path) -> list[str]:
    """Types allowed by both lists, where ``integer`` counts as a kind of ``number``."""
    common = []
    for kind in first:
        if kind in second:
            common.append(kind)
        elif (kind == "number" and "integer" in second) or (kind == "integer" and "number" in second):
            common.append("integer")
    if not common:
        raise SchemaUnsupported(_pointer(path), f"allOf parts require types {first} and {second} at once")
    return list(dict.fromkeys(common))


# -- objects --------------------------------------------------------------------


def _gen_object(schema: dict[str, Any], ctx: _Context, path: Path, depth: int, name: str) -> dict[str, Any]:
    """Required properties always, optional ones by coin flip, in declaration order like a model writes them.

    OpenAI strict mode (every property required, ``additionalProperties:
    false``) therefore always gets every property. Undeclared keys appear only
    when ``minProperties`` cannot be met otherwise.
    """
    properties = schema.get("properties", {})
    required = list(dict.fromkeys(schema.get("required", [])))
    low = _count(schema, "minProperties", path, 0)
    high = _count(schema, "maxProperties", path, None)
    if high is not None and max(len(required), low) > high:
        needed = max(len(required), low)
        raise SchemaUnsupported(_pointer(path), f"maxProperties {high} is less than the {needed} properties required")
    chosen = set(required)
    optional = [key for key in properties if key not in chosen]
    if depth < MAX_DEPTH:
        for key in optional:
            if ctx.rng.random() < 0.5 and (high is None or len(chosen) < high):
                chosen.add(key)
    for key in optional:
        if len(chosen) >= low:
            break
        chosen.add(key)
    dependencies = schema.get("dependentRequired", {})
    pending = list(chosen)
    while pending:
        for dependency in dependencies.get(pending.pop(), ()):
            if dependency not in chosen:
                chosen.add(dependency)
                pending.append(dependency)
    keys = [key for key in properties if key in chosen] + [key for key in required if key not in properties]
    value: dict[str, Any] = {}
    for key in keys:
        subschema, subpath = _property_schema(schema, key, path)
        value[key] = _gen(subschema, ctx, subpath, depth + 1, key)
    if len(value) < low:
        _add_undeclared(schema, value, low, ctx, path, depth)
    return value


def _property_schema(schema: dict[str, Any], key: str, path: Path) -> tuple[Any, Path]:
    """The schema a property's value must meet: its declaration, matching patterns, or additionalProperties."""
    parts: list[tuple[Any, Path]] = []
    properties = schema.get("properties", {})
    if key in properties:
        parts.append((properties[key], (*path, "properties", key)))
    for pattern, subschema in schema.get("patternProperties", {}).items():
        if _compile(pattern, (*path, "patternProperties")).search(key):
            parts.append((subschema, (*path, "patternProperties", pattern)))
    if not parts:
        extra = schema.get("additionalProperties", True)
        if extra is False:
            raise SchemaUnsupported(_pointer(path), f"property {key!r} is required but additionalProperties is false")
        return extra, (*path, "additionalProperties")
    if len(parts) == 1:
        return parts[0]
    return {"allOf": [part for part, _ in parts]}, parts[0][1]


def _add_undeclared(
    schema: dict[str, Any], value: dict[str, Any], low: int, ctx: _Context, path: Path, depth: int
) -> None:
    """Invent keys (from patternProperties, propertyNames or plain words) until ``minProperties`` is met."""
    patterns = list(schema.get("patternProperties", {}))
    extra = schema.get("additionalProperties", True)
    names = schema.get("propertyNames")
    if extra is False and not patterns:
        raise SchemaUnsupported(
            _pointer(path), f"minProperties {low} needs more properties than additionalProperties: false allows"
        )
    while len(value) < low:
        for _ in range(_ATTEMPTS):
            if patterns and (extra is False or ctx.rng.random() < 0.5):
                pattern = ctx.rng.choice(patterns)
                key = _string_from_pattern(pattern, None, 0, None, ctx, (*path, "patternProperties"))
                longer = key + _words(ctx.rng, 1)  # "^S_" alone only ever builds "S_"
                if key in value and _compile(pattern, path).search(longer):
                    key = longer
            elif names is not None:
                key = _gen(names, ctx, (*path, "propertyNames"), depth, "")
            else:
                key = _words(ctx.rng, 1)
            if isinstance(key, str) and key not in value:
                break
        else:
            raise SchemaUnsupported(_pointer(path), f"cannot invent {low} distinct property names")
        subschema, subpath = _property_schema(schema, key, path)
        value[key] = _gen(subschema, ctx, subpath, depth + 1, key)


# -- arrays ---------------------------------------------------------------------


def _gen_array(schema: dict[str, Any], ctx: _Context, path: Path, depth: int, name: str) -> list[Any]:
    """One to three items unless the bounds say otherwise; none beyond ``minItems`` once deep."""
    prefix = schema.get("prefixItems", [])
    items = schema.get("items", True)
    low = _count(schema, "minItems", path, 0)
    high = _count(schema, "maxItems", path, None)
    if items is False:
        high = len(prefix) if high is None else min(high, len(prefix))
    elif prefix and "items" not in schema and high is None:
        high = max(low, len(prefix))  # a bare tuple gets no untyped extra items
    contains = schema.get("contains")
    wanted = _count(schema, "minContains", path, 1) if contains is not None else 0
    low = max(low, wanted)
    if high is not None and low > high:
        raise SchemaUnsupported(_pointer(path), f"the array needs at least {low} items but at most {high} are allowed")
    if low > MAX_ITEMS:
        raise SchemaUnsupported(_pointer(path), f"minItems {low} is above the {MAX_ITEMS} items the mock generates")
    size = _array_size(low, high, len(prefix), ctx, depth)
    hits = set(ctx.rng.sample(range(size), wanted))
    unique = schema.get("uniqueItems", False)
    seen: set[Any] = set()
    result: list[Any] = []
    for index in range(size):
        if index < len(prefix):
            subschema, subpath = prefix[index], (*path, "prefixItems", str(index))
        else:
            subschema, subpath = items, (*path, "items")
        if index in hits:
            subschema = _conjoin(subschema, contains)
        item = _gen(subschema, ctx, subpath, depth + 1, name)
        if unique:
            for _ in range(5 * _ATTEMPTS):  # small domains (an enum of four, minItems 4) need many redraws
                if _freeze(item) not in seen:
                    break
                item = _gen(subschema, ctx, subpath, depth + 1, name)
            else:
                if index < low or hits & set(range(index, size)):
                    raise SchemaUnsupported(_pointer(path), f"cannot find {low} distinct items for uniqueItems")
                break
            seen.add(_freeze(item))
        result.append(item)
    return result


def _array_size(low: int, high: int | None, prefix: int, ctx: _Context, depth: int) -> int:
    """A seeded length: all tuple positions if allowed, otherwise 1-3, within the bounds."""
    if depth >= MAX_DEPTH:
        return low
    bottom = max(low, prefix, 1)
    top = max(bottom, 3)
    if high is not None:
        top = min(top, high)
        bottom = min(bottom, top)
    return ctx.rng.randint(bottom, top)


# -- strings --------------------------------------------------------------------


def _gen_string(schema: dict[str, Any], ctx: _Context, path: Path, depth: int, name: str) -> str:
    return ctx.spend(_string_value(schema, ctx, path, name), path)


def _string_value(schema: dict[str, Any], ctx: _Context, path: Path, name: str) -> str:
    """Pattern first, then format, then a value fitting the property's name, then plain words."""
    low = _count(schema, "minLength", path, 0)
    if low > MAX_STRING_LENGTH:
        raise SchemaUnsupported(
            _pointer(path), f"minLength {low} is above the {MAX_STRING_LENGTH} characters the mock generates"
        )
    high = _count(schema, "maxLength", path, None)
    if high is not None and low > high:
        raise SchemaUnsupported(_pointer(path), f"minLength {low} is greater than maxLength {high}")
    fmt = schema.get("format")
    if "pattern" in schema:
        return _string_from_pattern(schema["pattern"], fmt, low, high, ctx, path)
    maker = _FORMATS.get(fmt) if isinstance(fmt, str) else None
    if maker is not None:
        for _ in range(_ATTEMPTS):
            text = maker(ctx.rng)
            if low <= len(text) and (high is None or len(text) <= high):
                return text
        raise SchemaUnsupported(_pointer(path), f"no {fmt} value has a length between {low} and {high}")
    named = _named_string(name, ctx)
    if named is not None and low <= len(named) and (high is None or len(named) <= high):
        return named
    return _fit(_words(ctx.rng, ctx.rng.randint(1, 3)), low, high, ctx.rng)


_SPAN_STEPS = 32
# Characters all the candidates for one pattern may take together: past it the pattern is refused.
_PATTERN_BUDGET = 16_384
_LONG_STRING = 64


class _Spent(Exception):
    """The candidates for one pattern used up :data:`_PATTERN_BUDGET`."""


def _string_from_pattern(
    pattern: Any, fmt: Any, low: int, high: int | None, ctx: _Context, path: Path
) -> str:
    """Build strings from the parsed pattern; if it is beyond the subset, try stock candidates against it."""
    regex = _compile(pattern, path)

    def fits(text: str) -> bool:
        return (
            low <= len(text)
            and (high is None or len(text) <= high)
            and regex.search(text) is not None
            and (fmt not in _FORMATS or Draft202012Validator.FORMAT_CHECKER.conforms(text, fmt))
        )

    tree = _parse_regex(pattern)
    spent = 0

    def emit(span: int, *, stretch: bool = False, shortest: bool = False) -> str:
        nonlocal spent
        out: list[str] = []
        _emit(tree, ctx.rng, span, out, stretch=stretch, shortest=shortest)  # type: ignore[arg-type]
        text = "".join(out)
        spent += len(text)
        if spent > _PATTERN_BUDGET:
            raise _Spent
        return text

    if tree is not None:
        try:
            found = _from_tree(emit, fits, low, high)
        except _Spent:
            raise SchemaUnsupported(
                _pointer(path), f"no string matching {pattern!r} with length {low}..{high} was found within "
                f"{_PATTERN_BUDGET} characters of candidates"
            ) from None
        if found is not None:
            return found
        for _ in range(_ATTEMPTS):  # a pattern is searched for, not anchored: a short match padded may fit
            text = _fit(emit(0, shortest=True), low, high, ctx.rng)
            if fits(text):
                return text
    makers = [_FORMATS[fmt]] if fmt in _FORMATS else []
    makers += _FALLBACK_MAKERS
    for _ in range(_ATTEMPTS):
        for maker in makers:
            text = maker(ctx.rng)
            if fits(text):
                return text
    raise SchemaUnsupported(
        _pointer(path), f"cannot produce a string matching pattern {pattern!r} with length {low}..{high}"
    )


def _from_tree(emit: Callable[..., str], fits: Callable[[str], bool], low: int, high: int | None) -> str | None:
    """Draw candidates from the parsed pattern until one fits the length window, or None."""
    span = max(3, low)
    # Half the attempts run every open-ended repeat to its longest, to reach a large minLength: those first
    # when the minLength is large (random draws would spend the budget on short strings).
    stretch_first = low > _LONG_STRING
    for attempt in range(_ATTEMPTS):
        text = emit(span, stretch=(attempt < _ATTEMPTS // 2) == stretch_first)
        if fits(text):
            return text
    for _ in range(_ATTEMPTS):  # a tight maxLength: every repeat at its minimum ("[A-Z]{2,4}\d*" in 2)
        text = emit(0, shortest=True)
        if fits(text):
            return text
    # A length window the draws above keep missing ("(ab|cd)+" in 8..10): sweep how far repeats may run.
    widest = max(low, high or 0, 3)
    for span in sorted({round(step * widest / (_SPAN_STEPS - 1)) for step in range(_SPAN_STEPS)}):
        for _ in range(4):
            text = emit(span)
            if fits(text):
                return text
    return None


def _fit(text: str, low: int, high: int | None, rng: random.Random) -> str:
    """Pad with words or cut so the length lands in ``[low, high]``."""
    while len(text) < low:
        text += " " + _words(rng, 1)
    if high is not None and len(text) > high:
        text = text[:high]
        if len(text.rstrip()) >= low:
            text = text.rstrip()
    return text


def _named_string(name: str, ctx: _Context) -> str | None:
    """A realistic value for a property called ``name`` (``city``, ``email``, ``created_at``...), if it suggests one."""
    if not name:
        return None
    found = _named_maker(name)
    if found is None:
        return None
    key, maker = found
    if key in _HINTABLE and ctx.hint_phrase is not None:
        return ctx.hint_phrase
    return maker(ctx.rng)


@lru_cache(maxsize=1024)
def _named_maker(name: str) -> tuple[str, Callable[[random.Random], str]] | None:
    """Match the whole name (``firstName``), then its last word (``departure_city``), also without a plural ``s``."""
    tokens = [token.lower() for token in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)]
    if not tokens:
        return None
    candidates = ["".join(tokens)]
    if len(tokens) > 1 and tokens[-1] not in _WHOLE_NAME_ONLY:
        candidates.append(tokens[-1])
    for candidate in candidates:
        for key in (candidate, candidate[:-1] if candidate.endswith("s") else None):
            if key in _NAMED:
                return key, _NAMED[key]
    return None


_WORD = re.compile(r"[^\W\d_][\w'’-]*")


_PREPOSITION = re.compile(r"\b(?:in|for|of|at|to|from|near|about|on|around|between)\s+(?=[A-Z])")
_QUOTED = re.compile(r"[\"“]([^\"”\n]{1,60})[\"”]|(?<![\w])'([^'\n]{1,60})'(?![\w])")
_NOT_AN_ENTITY = frozenset({
    "what", "who", "whom", "whose", "where", "when", "which", "how", "why", "is", "are", "was", "were", "do", "does",
    "did", "can", "could", "would", "should", "will", "shall", "may", "might", "please", "hello", "hi", "hey",
    "thanks", "thank", "the", "a", "an", "i", "it", "its", "this", "that", "these", "those", "there", "here", "my",
    "your", "our", "tell", "give", "find", "say", "get", "use", "call", "show", "list", "check", "look", "let",
    "task", "question", "answer", "observation", "thought", "action", "input", "output", "final", "result",
    "results", "context", "instructions", "note", "user", "assistant", "system", "tool", "tools", "yes", "no", "ok",
    "sunny", "cloudy", "rainy", "today", "tomorrow", "yesterday", "now", "then", "also", "and", "or", "but",
})
"""Capitalised words that are not what a request is about: question words, labels of text protocols (``Task:``,
``Observation:``), greetings, weather words a tool result starts with."""


def entity_of(text: str) -> str | None:
    """The entity ``text`` asks about ("What is the weather in Paris?" gives "Paris"), or None."""
    return _hint_phrase(text)


def _hint_phrase(hint: str) -> str | None:
    """The entity the text asks about: a quoted string, else the capitalised phrase after a preposition ("the
    weather in New York" gives "New York"), else the first capitalised phrase that opens no sentence, line or
    label and is no question word, label or stop word."""
    quoted = _QUOTED.search(hint)
    if quoted is not None:
        return (quoted.group(1) or quoted.group(2)).strip() or None
    for match in _PREPOSITION.finditer(hint):
        phrase = _capitalised_phrase(hint, match.end())
        if phrase is not None:
            return phrase
    for match in _WORD.finditer(hint):
        word, start = match.group(), match.start()
        if not word[0].isupper():
            continue
        before = start - 1
        while before >= 0 and hint[before] in " \t":
            before -= 1
        if before < 0 or hint[before] in ".!?:\n":
            continue
        phrase = _capitalised_phrase(hint, start)
        if phrase is not None:
            return phrase
    return None


def _capitalised_phrase(hint: str, start: int) -> str | None:
    """The run of capitalised words from ``start`` ("New York"), or None when its first word is no entity."""
    words: list[str] = []
    end = start
    for match in _WORD.finditer(hint, start):
        if hint[end:match.start()].strip() or not match.group()[0].isupper():
            break
        if not words and match.group().lower() in _NOT_AN_ENTITY:
            return None
        words.append(match.group())
        end = match.end()
    return " ".join(words) or None


# -- regex subset ---------------------------------------------------------------

_Node = tuple[Any, ...]
_EMPTY: _Node = ("seq", ())
_NICE = ((48, 57), (65, 90), (97, 122))
"""What ``.`` and negated classes draw from: letters and digits read better than punctuation."""
_PRINTABLE = ((32, 126),)
_SHORTHANDS = {
    "d": ((48, 57),),
    "w": ((48, 57), (65, 90), (95, 95), (97, 122)),
    "s": ((32, 32),),
}
_CONTROL = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v"}
_QUANTIFIER = re.compile(r"\{(\d+)(,(\d*))?\}")


class _RegexUnsupported(Exception):
    """The pattern uses syntax outside the subset (lookaround, backreference, \\b, \\p...)."""


@lru_cache(maxsize=512)
def _parse_regex(pattern: str) -> _Node | None:
    """Parse into a tree for :func:`_emit`, or None when the pattern is beyond the subset."""
    try:
        return _RegexParser(pattern).parse()
    except _RegexUnsupported:
        return None


class _RegexParser:
    """Recursive descent over literals, classes, ``\\d \\w \\s``, quantifiers, groups, alternation and anchors."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> _Node:
        node = self._alternation()
        if self.pos != len(self.text):
            raise _RegexUnsupported
        return node

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _take(self) -> str:
        if self.pos >= len(self.text):
            raise _RegexUnsupported
        char = self.text[self.pos]
        self.pos += 1
        return char

    def _alternation(self) -> _Node:
        options = [self._sequence()]
        while self._peek() == "|":
            self.pos += 1
            options.append(self._sequence())
        return options[0] if len(options) == 1 else ("alt", tuple(options))

    def _sequence(self) -> _Node:
        items = []
        while self._peek() not in ("", "|", ")"):
            items.append(self._quantified(self._atom()))
        return ("seq", tuple(items))

    def _atom(self) -> _Node:
        char = self._take()
        if char == "(":
            return self._group()
        if char == "[":
            return self._class()
        if char == ".":
            return _char_set(_NICE)
        if char in "^$":
            return _EMPTY
        if char == "\\":
            return self._escape(in_class=False)
        if char in "*+?":
            raise _RegexUnsupported
        return ("lit", char)

    def _quantified(self, atom: _Node) -> _Node:
        char = self._peek()
        if char in ("*", "+", "?"):
            self.pos += 1
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[char]
        elif char == "{" and (match := _QUANTIFIER.match(self.text, self.pos)):
            self.pos = match.end()
            low = int(match[1])
            high = low if match[2] is None else (int(match[3]) if match[3] else None)
        else:
            return atom
        if self._peek() in ("?", "+"):  # lazy and possessive forms match the same strings
            self.pos += 1
        return ("rep", atom, low, high)

    def _group(self) -> _Node:
        rest = self.text[self.pos:]
        if rest.startswith("?:"):
            self.pos += 2
        elif rest.startswith("?P<"):
            self.pos = self.text.index(">", self.pos) + 1
        elif rest.startswith("?"):
            raise _RegexUnsupported
        node = self._alternation()
        if self._take() != ")":
            raise _RegexUnsupported
        return node

    def _class(self) -> _Node:
        negate = self._peek() == "^"
        if negate:
            self.pos += 1
        ranges: list[tuple[int, int]] = []
        first = True
        while True:
            char = self._take()
            if char == "]" and not first:
                break
            first = False
            if char == "\\":
                escaped = self._escape(in_class=True)
                if escaped[0] == "set":
                    ranges.extend(escaped[1])
                    continue
                char = escaped[1]
            if self._peek() == "-" and self.text[self.pos + 1:self.pos + 2] not in ("]", ""):
                self.pos += 1
                end = self._take()
                if end == "\\":
                    escaped = self._escape(in_class=True)
                    if escaped[0] == "set":
                        raise _RegexUnsupported
                    end = escaped[1]
                ranges.append((ord(char), ord(end)))
            else:
                ranges.append((ord(char), ord(char)))
        if negate:
            ranges = _complement(ranges)
        if not ranges:
            raise _RegexUnsupported
        return _char_set(tuple(ranges))

    def _escape(self, in_class: bool) -> _Node:
        char = self._take()
        if char.lower() in _SHORTHANDS:
            ranges = _SHORTHANDS[char.lower()]
            return _char_set(ranges if char.islower() else tuple(_complement(list(ranges))))
        if char in _CONTROL:
            return ("lit", _CONTROL[char])
        if char in ("x", "u"):
            digits = self.text[self.pos:self.pos + (2 if char == "x" else 4)]
            if not re.fullmatch(r"[0-9a-fA-F]{2}|[0-9a-fA-F]{4}", digits):
                raise _RegexUnsupported
            self.pos += len(digits)
            return ("lit", chr(int(digits, 16)))
        if char in ("A", "Z") and not in_class:
            return _EMPTY
        if char.isalnum():
            raise _RegexUnsupported
        return ("lit", char)


def _char_set(ranges: tuple[tuple[int, int], ...]) -> _Node:
    return ("set", ranges, sum(high - low + 1 for low, high in ranges))


def _complement(ranges: list[tuple[int, int]] | tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    """Characters outside ``ranges``: letters and digits if any qualify, else printable ASCII."""
    for universe in (_NICE, _PRINTABLE):
        chars = [
            code for low, high in universe for code in range(low, high + 1)
            if not any(start <= code <= end for start, end in ranges)
        ]
        if chars:
            return [(code, code) for code in chars]
    return []


def _emit(
    node: _Node, rng: random.Random, span: int, out: list[str], *, stretch: bool = False, shortest: bool = False
) -> None:
    """Append one random string of ``node``'s language.

    Open-ended repeats run at most ``span`` past their minimum; with
    ``stretch`` they always run that far, with ``shortest`` never past it.
    """
    kind = node[0]
    if kind == "lit":
        out.append(node[1])
    elif kind == "set":
        out.append(_pick_char(node[1], node[2], rng))
    elif kind == "seq":
        for child in node[1]:
            _emit(child, rng, span, out, stretch=stretch, shortest=shortest)
    elif kind == "alt":
        _emit(rng.choice(node[1]), rng, span, out, stretch=stretch, shortest=shortest)
    else:
        _, child, low, high = node
        top = low + span if high is None else min(high, low + span)
        stretched = stretch and high is None
        count = low if shortest else top if stretched else rng.randint(low, top)
        for _ in range(count):
            _emit(child, rng, span, out, stretch=stretch, shortest=shortest)


def _pick_char(ranges: tuple[tuple[int, int], ...], total: int, rng: random.Random) -> str:
    """A uniform draw from the ranges, skipping lone surrogates, which no JSON encoder accepts."""
    while True:
        index = rng.randrange(total)
        for low, high in ranges:
            if index <= high - low:
                code = low + index
                break
            index -= high - low + 1
        if not 0xD800 <= code <= 0xDFFF:
            return chr(code)


def _compile(pattern: Any, path: Path) -> Any:
    """Compile on RE2 (linear time), the engine the values are checked with too (:data:`_Validator`)."""
    if not isinstance(pattern, str):
        raise SchemaUnsupported(_pointer(path), "pattern must be a string")
    try:
        return compile_pattern(pattern)
    except PatternUnsupported as error:
        raise SchemaUnsupported(_pointer(path), f"invalid pattern: {error}") from None


# jsonschema checks ``pattern`` and ``patternProperties`` with Python's backtracking ``re``; the checks of
# generated values use RE2 instead, so a client's pattern never runs on a backtracking engine.
def _re2_pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and _safe_pattern(pattern).search(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _re2_pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        regex = _safe_pattern(pattern)
        for key, value in instance.items():
            if regex.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _re2_additional_properties(
    validator: Any, additional: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    declared = schema.get("properties", {})
    patterns = [_safe_pattern(pattern) for pattern in schema.get("patternProperties", {})]
    extras = [
        key for key in instance
        if key not in declared and not any(regex.search(key) for regex in patterns)
    ]
    if validator.is_type(additional, "object"):
        for key in extras:
            yield from validator.descend(instance[key], additional, path=key)
    elif additional is False and extras:
        yield ValidationError(f"additional properties are not allowed ({', '.join(map(repr, sorted(extras)))})")


def _safe_pattern(pattern: str) -> Any:
    try:
        return compile_pattern(pattern)
    except PatternUnsupported:
        return _NEVER  # generation has refused such a pattern already; as a check it matches nothing


_NEVER = compile_pattern(r"[^\s\S]")
_Validator = validators.extend(Draft202012Validator, {
    "pattern": _re2_pattern,
    "patternProperties": _re2_pattern_properties,
    "additionalProperties": _re2_additional_properties,
})


# -- numbers --------------------------------------------------------------------


def _gen_integer(schema: dict[str, Any], ctx: _Context, path: Path, depth: int, name: str) -> int:
    if "multipleOf" in schema:
        return int(_multiple_in_range(schema, True, ctx, path))
    lower, lower_strict, upper, upper_strict = _bounds(schema, path)
    low = None if lower is None else (math.floor(lower) + 1 if lower_strict else math.ceil(lower))
    high = None if upper is None else (math.ceil(upper) - 1 if upper_strict else math.floor(upper))
    low, high = _default_range(low, high, 100)
    if low > high:
        raise SchemaUnsupported(_pointer(path), f"no integer lies between {lower} and {upper}")
    return ctx.rng.randint(low, high)


def _gen_number(schema: dict[str, Any], ctx: _Context, path: Path, depth: int, name: str) -> int | float:
    """Prefer two decimals, then finer grids, so values read like a model wrote them."""
    if "multipleOf" in schema:
        return _multiple_in_range(schema, False, ctx, path)
    lower, lower_strict, upper, upper_strict = _bounds(schema, path)
    low, high = _default_range(lower, upper, 100)
    exact_low, exact_high = _exact(low), _exact(high)
    for decimals in (2, 4, 6, 9, 12, 15):
        scale = 10**decimals
        first = math.ceil(exact_low * scale)
        last = math.floor(exact_high * scale)
        if lower_strict and first == exact_low * scale:
            first += 1
        if upper_strict and last == exact_high * scale:
            last -= 1
        if first <= last:
            value = ctx.rng.randint(first, last) / scale
            if _in_bounds(value, lower, lower_strict, upper, upper_strict):
                return value
    middle = low / 2 + high / 2
    if _in_bounds(middle, lower, lower_strict, upper, upper_strict):
        return middle
    raise SchemaUnsupported(_pointer(path), f"no number lies between {lower} and {upper}")


def _exact(number: int | float) -> int | Fraction:
    """The exact value of a bound, so scaling it cannot round; ints stay ints because Fraction is slow."""
    return number if isinstance(number, int) else Fraction(number)


def _multiple_in_range(schema: dict[str, Any], integer: bool, ctx: _Context, path: Path) -> int | float:
    """A multiple of ``multipleOf`` within the bounds that also passes ``jsonschema``'s float arithmetic.

    ``multipleOf: 0.1`` is read as the decimal 1/10, the user's intent; values
    whose float quotient is not integral (``0.3 / 0.1``) are redrawn.
    """
    divisor = schema["multipleOf"]
    if isinstance(divisor, bool) or not isinstance(divisor, (int, float)) or not divisor > 0:
        raise SchemaUnsupported(_pointer(path), "multipleOf must be a number greater than 0")
    lower, lower_strict, upper, upper_strict = _bounds(schema, path)
    step = Fraction(str(divisor))
    if integer:
        step = Fraction(step.numerator)  # the smallest integer multiple of p/q in lowest terms is p
    low, high = _default_range(lower, upper, 100 * step)
    first = math.ceil(Fraction(low) / step)
    last = math.floor(Fraction(high) / step)
    if first > last:
        raise SchemaUnsupported(_pointer(path), f"no multiple of {divisor} lies between {lower} and {upper}")
    for _ in range(_ATTEMPTS):
        exact = ctx.rng.randint(first, last) * step
        value = int(exact) if exact.denominator == 1 else float(exact)
        if _in_bounds(value, lower, lower_strict, upper, upper_strict) and _is_multiple(value, divisor):
            return value
    raise SchemaUnsupported(_pointer(path), f"no multiple of {divisor} found between {lower} and {upper}")


def _bounds(schema: dict[str, Any], path: Path) -> tuple[Any, bool, Any, bool]:
    """(lower, lower is exclusive, upper, upper is exclusive), the tighter of each inclusive/exclusive pair."""
    found: list[Any] = []
    for inclusive, exclusive, tighter in (("minimum", "exclusiveMinimum", max), ("maximum", "exclusiveMaximum", min)):
        bound, strict = _number(schema, inclusive, path), False
        limit = _number(schema, exclusive, path)
        if limit is not None and (bound is None or tighter(bound, limit) == limit):
            bound, strict = limit, True
        found += [bound, strict]
    lower, lower_strict, upper, upper_strict = found
    if lower is not None and upper is not None and (
        lower > upper or (lower == upper and (lower_strict or upper_strict))
    ):
        raise SchemaUnsupported(_pointer(path), f"the lower bound {lower} is not below the upper bound {upper}")
    return lower, lower_strict, upper, upper_strict


WIDE_RANGE = 1_000_000
"""Bounds further apart than this only guard a type's limits (a safe integer's ±2^53): values stay near zero."""


def _default_range(low: Any, high: Any, span: Any) -> tuple[Any, Any]:
    """Fill a missing bound so open ranges give small, friendly numbers (0-100 when fully open); a range whose
    bounds only guard the type's limits is read the same way, from its end nearest zero."""
    if low is None and high is None:
        return 0, span
    if low is None:
        return (0 if high > 0 else high - span), high
    if high is None:
        return low, max(low, 0) + span
    if high - low > WIDE_RANGE:
        if low <= 0 <= high:
            return 0, min(high, span)
        return (low, low + span) if low > 0 else (high - span, high)
    return low, high


def _in_bounds(value: Any, lower: Any, lower_strict: bool, upper: Any, upper_strict: bool) -> bool:
    if lower is not None and (value < lower or (lower_strict and value == lower)):
        return False
    return upper is None or not (value > upper or (upper_strict and value == upper))


def _is_multiple(value: int | float, divisor: int | float) -> bool:
    """``jsonschema``'s own test, float quirks included, so its validator agrees with us."""
    if isinstance(divisor, float):
        quotient = value / divisor
        try:
            return int(quotient) == quotient
        except OverflowError:
            return (Fraction(value) / Fraction(divisor)).denominator == 1
    return value % divisor == 0


def _number(schema: dict[str, Any], key: str, path: Path) -> int | float | None:
    value = schema.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise SchemaUnsupported(_pointer(path), f"{key} must be a number")
    return value


@overload
def _count(schema: dict[str, Any], key: str, path: Path, default: int) -> int: ...


@overload
def _count(schema: dict[str, Any], key: str, path: Path, default: None) -> int | None: ...


def _count(schema: dict[str, Any], key: str, path: Path, default: int | None) -> int | None:
    value = schema.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SchemaUnsupported(_pointer(path), f"{key} must be a non-negative integer")
    return value


def _gen_boolean(schema: dict[str, Any], ctx: _Context, path: Path, depth: int, name: str) -> bool:
    return ctx.rng.random() < 0.5


def _gen_null(schema: dict[str, Any], ctx: _Context, path: Path, depth: int, name: str) -> None:
    return None


_GENERATORS: dict[str, Callable[[dict[str, Any], _Context, Path, int, str], Any]] = {
    "string": _gen_string,
    "integer": _gen_integer,
    "number": _gen_number,
    "boolean": _gen_boolean,
    "null": _gen_null,
    "object": _gen_object,
    "array": _gen_array,
}


# -- realistic values -------------------------------------------------------------


@dataclass(frozen=True)
class _Pools:
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    words: tuple[str, ...]
    states: tuple[str, ...]
    countries: tuple[str, ...]
    street_suffixes: tuple[str, ...]
    company_suffixes: tuple[str, ...]
    colors: tuple[str, ...]
    currencies: tuple[str, ...]
    uri_paths: tuple[str, ...]
    uri_pages: tuple[str, ...]
    safe_domains: tuple[str, ...]


@cache
def _pools() -> _Pools:
    """Faker's en_US word lists, imported on first use because the import costs ~0.1 s."""
    from faker.providers.address.en_US import Provider as Address
    from faker.providers.color.en_US import Provider as Color
    from faker.providers.company.en_US import Provider as Company
    from faker.providers.currency.en_US import Provider as Currency
    from faker.providers.internet.en_US import Provider as Internet
    from faker.providers.lorem.en_US import Provider as Lorem
    from faker.providers.person.en_US import Provider as Person

    return _Pools(
        first_names=tuple(Person.first_names),
        last_names=tuple(Person.last_names),
        words=tuple(Lorem.word_list),
        states=tuple(Address.states),
        countries=tuple(country for country in Address.countries if "(" not in country),
        street_suffixes=tuple(Address.street_suffixes),
        company_suffixes=tuple(Company.company_suffixes),
        colors=tuple(Color.all_colors),
        currencies=tuple(code for code, _ in Currency.currencies),
        uri_paths=tuple(Internet.uri_paths),
        uri_pages=tuple(Internet.uri_pages),
        safe_domains=tuple(Internet.safe_domain_names),
    )


_CITIES = (
    ("San Francisco", "CA"), ("New York", "NY"), ("Chicago", "IL"), ("Boston", "MA"), ("Seattle", "WA"),
    ("Austin", "TX"), ("Denver", "CO"), ("Miami", "FL"), ("Paris", "France"), ("London", "UK"),
    ("Tokyo", "Japan"), ("Berlin", "Germany"), ("Madrid", "Spain"), ("Toronto", "Canada"),
    ("Sydney", "Australia"), ("Bogotá", "Colombia"), ("Mumbai", "India"), ("Seoul", "South Korea"),
)
_EPOCH = date(2020, 1, 1)


def _words(rng: random.Random, count: int) -> str:
    words = _pools().words
    return " ".join(rng.choice(words) for _ in range(count))


def _first_name(rng: random.Random) -> str:
    return rng.choice(_pools().first_names)


def _last_name(rng: random.Random) -> str:
    return rng.choice(_pools().last_names)


def _full_name(rng: random.Random) -> str:
    return f"{_first_name(rng)} {_last_name(rng)}"


def _city(rng: random.Random) -> str:
    return rng.choice(_CITIES)[0]


def _location(rng: random.Random) -> str:
    city, region = rng.choice(_CITIES)
    return f"{city}, {region}"


def _street_address(rng: random.Random) -> str:
    return f"{rng.randint(1, 9999)} {_last_name(rng)} {rng.choice(_pools().street_suffixes)}"


def _username(rng: random.Random) -> str:
    return f"{_first_name(rng).lower()}{_last_name(rng)[0].lower()}{rng.randint(1, 99)}"


def _company(rng: random.Random) -> str:
    return f"{_last_name(rng)} {rng.choice(_pools().company_suffixes)}"


def _phone(rng: random.Random) -> str:
    return f"+1-{rng.randint(201, 989)}-555-{rng.randrange(10000):04d}"


def _postcode(rng: random.Random) -> str:
    return f"{rng.randrange(1000, 100000):05d}"


def _title(rng: random.Random) -> str:
    return _words(rng, rng.randint(2, 5)).capitalize()


def _sentence(rng: random.Random) -> str:
    return _words(rng, rng.randint(5, 12)).capitalize() + "."


def _date(rng: random.Random) -> str:
    return (_EPOCH + timedelta(days=rng.randrange(7 * 365))).isoformat()


def _time(rng: random.Random) -> str:
    return f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z"


def _date_time(rng: random.Random) -> str:
    return f"{_date(rng)}T{_time(rng)}"


def _duration(rng: random.Random) -> str:
    form = rng.randrange(3)
    if form == 0:
        return f"P{rng.randint(1, 30)}D"
    if form == 1:
        return f"PT{rng.randint(1, 12)}H{rng.randint(1, 59)}M"
    return f"P{rng.randint(1, 4)}W"


def _email(rng: random.Random) -> str:
    return f"{_first_name(rng).lower()}.{_last_name(rng).lower()}@{rng.choice(_pools().safe_domains)}"


def _hostname(rng: random.Random) -> str:
    prefix = rng.choice(("www", "api", "app", "mail"))
    return f"{prefix}.{_last_name(rng).lower()}.{rng.choice(('com', 'net', 'org', 'io'))}"


def _ipv4(rng: random.Random) -> str:
    return f"{rng.randint(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(1, 254)}"


def _ipv6(rng: random.Random) -> str:
    """Inside 2001:db8::/32, the range reserved for documentation."""
    return "2001:db8:" + ":".join(f"{rng.getrandbits(16):x}" for _ in range(6))


def _uri(rng: random.Random) -> str:
    return f"https://{_hostname(rng)}{_uri_reference(rng)}"


def _uri_reference(rng: random.Random) -> str:
    pools = _pools()
    return f"/{rng.choice(pools.uri_paths)}/{rng.choice(pools.uri_pages)}"


def _uri_template(rng: random.Random) -> str:
    return f"https://{_hostname(rng)}/{rng.choice(_pools().uri_paths)}/{{id}}"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _regex(rng: random.Random) -> str:
    return rng.choice(("^[a-z]+$", r"^\d{3}-\d{4}$", "^[A-Z][a-z]*$", r"^[\w.]+@[\w.]+$"))


def _json_pointer(rng: random.Random) -> str:
    return f"/{_words(rng, 1)}/{rng.randrange(10)}"


def _relative_json_pointer(rng: random.Random) -> str:
    return f"{rng.randrange(3)}/{_words(rng, 1)}"


_FORMATS: dict[str, Callable[[random.Random], str]] = {
    "date-time": _date_time,
    "date": _date,
    "time": _time,
    "duration": _duration,
    "email": _email,
    "idn-email": _email,
    "hostname": _hostname,
    "idn-hostname": _hostname,
    "ipv4": _ipv4,
    "ipv6": _ipv6,
    "uri": _uri,
    "iri": _uri,
    "uri-reference": _uri_reference,
    "iri-reference": _uri_reference,
    "uri-template": _uri_template,
    "uuid": _uuid,
    "regex": _regex,
    "json-pointer": _json_pointer,
    "relative-json-pointer": _relative_json_pointer,
}

_FALLBACK_MAKERS: list[Callable[[random.Random], str]] = [
    lambda rng: _words(rng, 1),
    lambda rng: _words(rng, 3),
    lambda rng: str(rng.randrange(10**rng.randint(1, 6))),
    _full_name, _email, _date, _uri, _uuid, _phone,
]
"""Stock strings tried against a pattern the regex subset cannot build from."""

_NAMED: dict[str, Callable[[random.Random], str]] = {
    "city": _city, "town": _city,
    "location": _location, "place": _location, "destination": _location, "origin": _location,
    "address": _street_address, "street": _street_address,
    "country": lambda rng: rng.choice(_pools().countries),
    "state": lambda rng: rng.choice(_pools().states),
    "zip": _postcode, "zipcode": _postcode, "postcode": _postcode, "postalcode": _postcode,
    "name": _full_name, "fullname": _full_name, "author": _full_name, "person": _full_name,
    "firstname": _first_name, "givenname": _first_name, "lastname": _last_name, "surname": _last_name,
    "username": _username, "user": _username, "handle": _username,
    "email": _email, "mail": _email,
    "url": _uri, "uri": _uri, "website": _uri, "link": _uri, "homepage": _uri,
    "phone": _phone, "phonenumber": _phone, "mobile": _phone,
    "company": _company, "organization": _company, "organisation": _company,
    "date": _date, "day": _date, "birthday": _date, "birthdate": _date, "dob": _date,
    "time": _time, "timestamp": _date_time, "datetime": _date_time, "at": _date_time,
    "query": lambda rng: _words(rng, rng.randint(2, 4)), "q": lambda rng: _words(rng, rng.randint(2, 4)),
    "search": lambda rng: _words(rng, rng.randint(2, 4)), "keyword": lambda rng: _words(rng, 1),
    "topic": lambda rng: _words(rng, rng.randint(1, 2)),
    "title": _title, "subject": _title, "headline": _title,
    "description": _sentence, "summary": _sentence, "text": _sentence, "content": _sentence,
    "message": _sentence, "comment": _sentence, "body": _sentence, "reason": _sentence, "note": _sentence,
    "id": _uuid, "uuid": _uuid,
    "color": lambda rng: rng.choice(_pools().colors), "colour": lambda rng: rng.choice(_pools().colors),
    "currency": lambda rng: rng.choice(_pools().currencies),
}
"""Property names (lower-cased, separators removed) that suggest a kind of value."""

_WHOLE_NAME_ONLY = frozenset({"name", "q", "user", "handle", "text", "body", "content"})
"""Last words too vague to decide by: ``file_name`` is no person, though ``name`` alone probably is."""

_HINTABLE = frozenset({"city", "location", "place", "destination", "name", "fullname", "person"})
"""Keys whose value may be lifted from the hint text."""


# -- small helpers ---------------------------------------------------------------


def _constrains(schema: dict[str, Any], *ignored: str) -> bool:
    """Whether any keyword besides annotations (and ``ignored``) restricts values."""
    return any(key not in _ANNOTATIONS and key not in ignored for key in schema)


def _without(schema: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if key not in keys}


def _mentions_ref(schema: Any) -> bool:
    """Whether a ``$ref`` appears anywhere inside, i.e. the branch may recurse."""
    if isinstance(schema, dict):
        return "$ref" in schema or any(_mentions_ref(value) for value in schema.values())
    if isinstance(schema, list):
        return any(_mentions_ref(value) for value in schema)
    return False


def _freeze(value: Any) -> Any:
    """A hashable stand-in with JSON Schema's equality: ``1 == 1.0``, but ``true != 1``."""
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, dict):
        return ("object", frozenset((key, _freeze(item)) for key, item in value.items()))
    if isinstance(value, list):
        return ("array", tuple(_freeze(item) for item in value))
    return value


def _pointer(path: Path) -> str:
    """Render a schema location as a JSON Pointer fragment, ``#/properties/unit``."""
    return "#" + "".join("/" + segment.replace("~", "~0").replace("/", "~1") for segment in path)

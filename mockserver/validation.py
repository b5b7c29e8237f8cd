"""Request body validation with OpenAI's error wording.

A body is checked against a JSON Schema built once at start-up from
``schemas/requests/<kind>.json`` and the dialect's overlay in
``schemas/dialects/<dialect>.json``. Valid bodies, nearly all of them, take a
compiled Rust validator (``jsonschema_rs``) and cost a few microseconds. Only
an invalid body is walked again by the pure-Python ``jsonschema``, whose
errors carry the paths and schema context needed to answer as OpenAI does::

    Invalid 'temperature': number above maximum value. Expected a value <= 2, but got 3.5 instead.

with ``param`` in OpenAI's notation (``messages[1].role``) and OpenAI's
``code`` (``decimal_above_max_value``).

Unions are written as ``anyOf`` (messages by ``role``, content parts and
tools by ``type``, content as string or array) and are resolved to the branch
the client meant before an error is reported, so a bad message says which
field of which message is wrong rather than "not valid under any of the given
schemas".
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema_rs
import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError

from mockserver.config import INT64
from mockserver.errors import ApiError, invalid_request
from mockserver.resources import schemas_dir

KINDS = ("chat_completion", "embeddings", "image_generation")
OVERLAY_KEYS = {"$comment", "allow_unknown", "properties", "required"}

_ARTICLES = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}
_PLURALS = {
    "string": "strings",
    "number": "numbers",
    "integer": "integers",
    "boolean": "booleans",
    "object": "objects",
    "array": "arrays",
}


def load_request_schema(dialect: str, kind: str = "chat_completion") -> dict[str, Any]:
    """The request schema of endpoint ``kind`` as provider ``dialect`` accepts it.

    A dialect overlay names, per endpoint, only what the provider changes:

    * ``allow_unknown``: ``true`` when the provider forwards or ignores
      arguments it does not know, where OpenAI refuses them;
    * ``properties``: property schemas added or replacing OpenAI's;
    * ``required``: names added to the required list.

    Keeping overlays this small keeps each provider's differences readable in
    one screen and lets every dialect inherit fixes to the OpenAI base.
    """
    if "/" in kind:  # a provider's schema vendored from its SDK (``anthropic/MessageCreateParams``): no overlay
        vendored = schemas_dir() / f"{kind}.json"
        if not vendored.is_file():
            raise ValueError(f"unknown request schema {kind!r}: there is no schemas/{kind}.json")
        schema: dict[str, Any] = orjson.loads(vendored.read_bytes())
        return schema
    if kind not in KINDS:
        raise ValueError(f"unknown request kind {kind!r}; expected one of {', '.join(KINDS)}")
    overlay_path = schemas_dir() / "dialects" / f"{dialect}.json"
    if not overlay_path.is_file():
        raise ValueError(f"unknown dialect {dialect!r}: there is no schemas/dialects/{dialect}.json")
    base = orjson.loads((schemas_dir() / "requests" / f"{kind}.json").read_bytes())
    overlay = orjson.loads(overlay_path.read_bytes()).get(kind, {})
    unknown = overlay.keys() - OVERLAY_KEYS
    if unknown:
        raise ValueError(f"dialect {dialect!r} overlay for {kind!r} has unknown keys: {sorted(unknown)}")
    if not overlay:
        return base
    schema = copy.deepcopy(base)
    schema["$id"] = f"{base['$id']}:{dialect}"
    schema["title"] = f"{base['title']} as {dialect} accepts it"
    if overlay.get("allow_unknown"):
        schema.pop("additionalProperties", None)
    schema["properties"].update(overlay.get("properties", {}))
    schema["required"] += [name for name in overlay.get("required", []) if name not in schema["required"]]
    return schema


@dataclass(frozen=True)
class Checks:
    """What ``--validation`` asks of every step, read off the mode in this one place.

    ``strict`` checks bodies against their schema and the provider's rules beyond it; ``schema`` (contract
    tests) checks the schema alone, lets unknown top-level arguments through and answers an unknown id with a
    made-up resource; ``off`` checks nothing, and endpoints make what they can of any body.
    """

    schema: bool  # bodies are checked against their request schema
    provider_rules: bool  # the rules the provider enforces beyond its schema (a model's kind, a file's purpose)
    synthesize_missing: bool  # an id the mock never made is answered with a made-up resource, not a 404
    ignore_unknown: bool  # unknown top-level arguments pass the schema check

    @classmethod
    def for_mode(cls, mode: str) -> Checks:
        return cls(schema=mode != "off", provider_rules=mode == "strict", synthesize_missing=mode == "schema",
                   ignore_unknown=mode == "schema")


def require_object(body: Any) -> None:
    """Every JSON endpoint takes an object, whatever the validation mode: 400 for an array or a scalar."""
    if not isinstance(body, dict):
        raise invalid_request(f"Request body must be a JSON object, got {_got(body)}.", code="invalid_type")


@cache
def validator_for(kind: str, dialect: str, *, ignore_unknown: bool = False) -> BodyValidator:
    """The shared validator of endpoint ``kind`` for ``dialect``, compiled on first use.

    ``ignore_unknown`` drops the top-level "no unknown arguments" rule: the
    ``schema`` validation mode checks every known field but lets newer SDKs
    send fields this mock does not know yet.
    """
    schema = load_request_schema(dialect, kind)
    if ignore_unknown:
        schema = {key: value for key, value in schema.items() if key != "additionalProperties"}
    return BodyValidator(schema)


class BodyValidator:
    """Checks decoded JSON bodies against one request schema.

    Build it once: compiling is the expensive part, and :meth:`validate` on a
    valid body is then only the Rust check. A schema that is not valid JSON
    Schema 2020-12 raises :class:`SchemaError` here: ``jsonschema_rs``'s
    compiler checks it against the metaschema in about a millisecond, where
    ``jsonschema``'s own ``check_schema`` took 50 ms per schema and made every
    server start cost 0.6 s.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        try:
            self._fast = jsonschema_rs.validator_for(schema)
        except jsonschema_rs.ValidationError as error:
            raise SchemaError(f"invalid request schema: {error}") from None
        self._precise = Draft202012Validator(schema)
        self._field_order = {name: position for position, name in enumerate(schema.get("properties", {}))}
        self._field_validators: dict[str, Draft202012Validator] = {}
        self._integers = [
            name for name, prop in schema.get("properties", {}).items() if "integer" in _types_of(prop)
        ]
        self._integer_names = frozenset(self._integers)

    def validate(self, body: Any) -> None:
        """Return if ``body`` is valid, else raise the :class:`ApiError` OpenAI would send.

        Unknown top-level arguments get OpenAI's ``Unrecognized request
        argument supplied: foo`` with ``param`` and ``code`` null, exactly as
        the live API sends them: SDK users match on that envelope, and the
        message already names the argument. Unknown keys deeper in the body
        get ``Unknown parameter: 'a.b'`` with ``param`` set and code
        ``unknown_parameter``, which is what OpenAI sends for those.
        """
        require_object(body)
        if self._fast.is_valid(body):
            self._integral(body)
            return
        error = self._first_error(body)
        if error is not None:
            raise self._explain(error)
        # Should the two validators ever disagree, the Python one is the
        # reference and its verdict (valid) stands.
        self._integral(body)

    def _first_error(self, body: dict[str, Any]) -> ValidationError | None:
        """The error the Python validator's walk of ``body`` meets first, without walking the valid fields.

        The walk takes the root's keywords in order (``additionalProperties``,
        ``required``, ...) and then the fields in ``properties`` order, so when
        every error ``jsonschema_rs`` finds lies inside a top-level field, the
        first is in the earliest of those fields, and only that field is
        walked. A long conversation before a bad ``temperature`` then costs
        nothing: the Python walk of ``messages`` was most of a 400's time.
        """
        fields: set[str] = set()
        for error in self._fast.iter_errors(body):
            field = error.instance_path[0] if error.instance_path else None
            if not isinstance(field, str) or field not in self._field_order:
                return next(self._precise.iter_errors(body), None)
            fields.add(field)
        if not fields:
            return next(self._precise.iter_errors(body), None)
        first = min(fields, key=self._field_order.__getitem__)
        return next(self._field_validator(first).iter_errors(body), None)

    def _field_validator(self, name: str) -> Draft202012Validator:
        """A validator of the field ``name`` alone (the root's definitions kept for its ``$ref``s)."""
        if name not in self._field_validators:
            root = {key: value for key, value in self.schema.items() if key in ("$schema", "$id", "$defs")}
            schema = {**root, "properties": {name: self.schema["properties"][name]}}
            self._field_validators[name] = Draft202012Validator(schema)
        return self._field_validators[name]

    def _integral(self, body: dict[str, Any]) -> None:
        """Turn ``2.0`` into ``2`` in the top-level integer fields of a valid body.

        JSON Schema counts any number with no fractional part as an integer, so
        ``"n": 2.0`` is valid (OpenAI accepts it too); generation then needs a
        real ``int`` (``range(n)``), not a float.
        """
        if self._integer_names.isdisjoint(body):
            return
        for name in self._integers:
            value = body.get(name)
            if type(value) is float:
                if not -INT64 <= value < INT64:  # as the API reads an int64 (int() would make one of any size)
                    above = value > 0
                    raise invalid_request(
                        f"Invalid '{name}': integer {'above maximum' if above else 'below minimum'} value. Expected "
                        f"a value {'<=' if above else '>='} {INT64 - 1 if above else -INT64}, but got "
                        f"{_number(value)} instead.", param=name,
                        code="integer_above_max_value" if above else "integer_below_min_value")
                body[name] = int(value)

    def _explain(self, error: ValidationError) -> ApiError:
        while error.validator == "anyOf":
            narrowed = self._narrow(error)
            if isinstance(narrowed, ApiError):
                return narrowed
            error = narrowed
        return _describe(error)

    def _narrow(self, error: Any) -> ValidationError | ApiError:
        """Pick the union branch the client meant and return its error.

        Branches are first filtered by JSON type; among objects, a property
        that every branch pins with ``const`` (``role``, ``type``) picks the
        branch. If several branches remain, the one the body most nearly
        fits (fewest errors, then the deepest error) names the cause.
        """
        instance, path = error.instance, list(error.absolute_path)
        branches = [self._resolve(branch) for branch in error.validator_value]
        fitting = [i for i, branch in enumerate(branches) if self._fits_type(branch, instance)]
        if not fitting:
            return _type_error(path, self._expected(branches), instance)
        if len(fitting) > 1 and isinstance(instance, dict):
            key = self._discriminator([branches[i] for i in fitting])
            if key is not None:
                if key not in instance:
                    return _missing([*path, key])
                value = instance[key]
                if not isinstance(value, str):
                    return _type_error([*path, key], ["string"], value)
                matching = [i for i in fitting if self._const(branches[i], key) == value]
                if not matching:
                    return _invalid_value([*path, key], value, [self._const(branches[i], key) for i in fitting])
                fitting = matching
        by_branch: dict[int, list[ValidationError]] = {i: [] for i in fitting}
        for sub in error.context:
            if sub.relative_schema_path[0] in by_branch:
                by_branch[sub.relative_schema_path[0]].append(sub)
        closest = min(by_branch.values(), key=lambda errs: (len(errs), -max(len(e.absolute_path) for e in errs)))
        return closest[0]

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow local ``$ref``s (the only kind request schemas use)."""
        while "$ref" in schema:
            target: Any = self.schema
            for part in schema["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            schema = target
        return schema

    def _types(self, schema: dict[str, Any]) -> list[str] | None:
        """JSON types a schema can accept, or ``None`` when it does not say."""
        schema = self._resolve(schema)
        if "type" in schema:
            kind = schema["type"]
            return [kind] if isinstance(kind, str) else list(kind)
        if "anyOf" in schema:
            found: list[str] = []
            for branch in schema["anyOf"]:
                types = self._types(branch)
                if types is None:
                    return None
                found += [t for t in types if t not in found]
            return found
        return None

    def _fits_type(self, schema: dict[str, Any], instance: Any) -> bool:
        types = self._types(schema)
        return types is None or any(self._precise.is_type(instance, t) for t in types)

    def _expected(self, branches: list[dict[str, Any]]) -> list[str | tuple[str, str]]:
        """What a union accepts, as types, with item types for arrays: ``("array", "object")``."""
        expected: list[str | tuple[str, str]] = []
        for branch in branches:
            for kind in self._types(branch) or []:
                item = self._types(branch.get("items", {})) if kind == "array" else None
                entry = (kind, item[0]) if item and len(item) == 1 else kind
                if entry not in expected:
                    expected.append(entry)
        return expected

    def _discriminator(self, branches: list[dict[str, Any]]) -> str | None:
        first = branches[0].get("properties", {})
        for key in first:
            if all(self._const(branch, key) is not None for branch in branches):
                return key
        return None

    def _const(self, branch: dict[str, Any], key: str) -> Any:
        prop = branch.get("properties", {}).get(key)
        return None if prop is None else self._resolve(prop).get("const")


def describe(error: Any) -> ApiError:
    """A jsonschema ``ValidationError`` as the 400 OpenAI answers, naming the field (``param``).

    A union's error stands for its branches' errors: the deepest one of a branch the value's type fits
    names what is wrong (an object that misses a field is not "expected null").
    """
    while error.context:
        fitting = [branch for branch in error.context if branch.validator != "type"] or list(error.context)
        error = max(fitting, key=lambda branch: len(branch.absolute_path))
    return _describe(error)


def _describe(error: Any) -> ApiError:
    # ``error`` is a jsonschema ValidationError; its stubs type every attribute as possibly unset.
    path = list(error.absolute_path)
    keyword, limit, instance = error.validator, error.validator_value, error.instance
    if keyword == "required":
        missing = next(name for name in limit if name not in instance)
        return _missing([*path, missing])
    if keyword == "type":
        schema_types = [limit] if isinstance(limit, str) else limit
        items = _types_of(error.schema.get("items"))
        return _type_error(path, [(t, items[0]) if t == "array" and items else t for t in schema_types], instance)
    if keyword == "enum":
        return _invalid_value(path, instance, limit)
    if keyword == "const":
        return _invalid_value(path, instance, [limit])
    if keyword == "additionalProperties":
        known = error.schema.get("properties", {})
        extra = [key for key in instance if key not in known]
        if not path:
            plural = "s" if len(extra) > 1 else ""
            return invalid_request(f"Unrecognized request argument{plural} supplied: {', '.join(extra)}")
        param = _param([*path, extra[0]])
        return invalid_request(f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")
    param = _param(path)
    if keyword in ("maximum", "minimum"):
        integer = "integer" in _types_of(error.schema) and "number" not in _types_of(error.schema)
        word, prefix = ("integer", "integer") if integer else ("number", "decimal")
        if keyword == "maximum":
            side, relation, code = "above maximum", "<=", f"{prefix}_above_max_value"
        else:
            side, relation, code = "below minimum", ">=", f"{prefix}_below_min_value"
        return invalid_request(
            f"Invalid '{param}': {word} {side} value. "
            f"Expected a value {relation} {_number(limit)}, but got {_number(instance)} instead.",
            param=param,
            code=code,
        )
    if keyword == "maxItems":
        return invalid_request(
            f"Invalid '{param}': array too long. Expected an array with maximum length {limit}, "
            f"but got an array with length {len(instance)} instead.",
            param=param,
            code="array_above_max_length",
        )
    if keyword == "minItems":
        if not instance:
            return invalid_request(
                f"Invalid '{param}': empty array. Expected an array with minimum length {limit}, "
                "but got an empty array instead.",
                param=param,
                code="empty_array",
            )
        return invalid_request(
            f"Invalid '{param}': array too short. Expected an array with minimum length {limit}, "
            f"but got an array with length {len(instance)} instead.",
            param=param,
            code="array_below_min_length",
        )
    if keyword == "maxLength":
        return invalid_request(
            f"Invalid '{param}': string too long. Expected a string with maximum length {limit}, "
            f"but got a string with length {len(instance)} instead.",
            param=param,
            code="string_above_max_length",
        )
    if keyword == "maxProperties":
        return invalid_request(
            f"Invalid '{param}': object has too many properties. Expected an object with at most {limit} "
            f"properties, but got an object with {len(instance)} properties instead.",
            param=param,
            code="object_above_max_properties",
        )
    if keyword == "pattern":
        return invalid_request(
            f"Invalid '{param}': string does not match pattern. Expected a string that matches the pattern '{limit}'.",
            param=param,
            code="invalid_value",
        )
    return invalid_request(f"Invalid '{param}': {error.message}", param=param, code="invalid_value")


def _missing(path: list[str | int]) -> ApiError:
    param = _param(path)
    return invalid_request(f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")


def _type_error(path: list[str | int], expected: list[str | tuple[str, str]], instance: Any) -> ApiError:
    """``Invalid type for 'x': expected one of a string or array of objects, but got an object instead.``

    ``null`` is left out of the expected list when anything else is allowed:
    OpenAI's nullable fields say "expected a number", not "a number or null".
    """
    wanted = [entry for entry in expected if entry != "null"] or expected
    if len(wanted) == 1:
        kind = wanted[0]
        phrase = _ARTICLES[kind[0] if isinstance(kind, tuple) else kind]
    else:
        parts = [f"array of {_PLURALS[entry[1]]}" if isinstance(entry, tuple) else _ARTICLES[entry] for entry in wanted]
        phrase = "one of " + _join(parts, "or")
    param = _param(path)
    return invalid_request(
        f"Invalid type for '{param}': expected {phrase}, but got {_got(instance)} instead.",
        param=param,
        code="invalid_type",
    )


def _invalid_value(path: list[str | int], value: Any, supported: list[Any]) -> ApiError:
    choices = _join([_quote(v) for v in supported if v is not None], "and")
    return invalid_request(
        f"Invalid value: {_quote(value)}. Supported values are: {choices}.",
        param=_param(path),
        code="invalid_value",
    )


def _param(path: list[str | int]) -> str:
    """``["messages", 1, "role"]`` -> ``messages[1].role``, OpenAI's notation."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _types_of(schema: Any) -> list[str]:
    kind = schema.get("type", []) if isinstance(schema, dict) else []
    return [kind] if isinstance(kind, str) else kind


def _got(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"


def _join(parts: list[str], conjunction: str) -> str:
    if len(parts) < 3:
        return f" {conjunction} ".join(parts)
    return ", ".join(parts[:-1]) + f", {conjunction} {parts[-1]}"


def _quote(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else orjson.dumps(value).decode()


def _number(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)

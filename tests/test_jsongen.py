"""Schema-valid, deterministic JSON from mockserver.jsongen."""

from __future__ import annotations

import random
import time
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from mockserver.generation.jsongen import SchemaUnsupported, generate

SEEDS = range(60)

GET_WEATHER = {  # OpenAI function-calling guide
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "City and country e.g. Bogotá, Colombia"},
        "units": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Units the temperature will be returned in."},
    },
    "required": ["location", "units"],
    "additionalProperties": False,
}

WEATHER_4 = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 14},
        "include_hourly": {"type": "boolean"},
    },
    "required": ["location", "unit"],
}

STRICT_NESTED = {  # strict mode: everything required, no extra keys, nullable via type lists
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "authors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "email": {"type": ["string", "null"]},
                    "affiliation": {
                        "type": "object",
                        "properties": {"institution": {"type": "string"}, "country": {"type": "string"}},
                        "required": ["institution", "country"],
                        "additionalProperties": False,
                    },
                },
                "required": ["name", "email", "affiliation"],
                "additionalProperties": False,
            },
        },
        "steps": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"explanation": {"type": "string"}, "output": {"type": "string"}},
                "required": ["explanation", "output"],
                "additionalProperties": False,
            },
        },
        "final_answer": {"type": "string"},
        "confidence": {"type": "number"},
    },
    "required": ["title", "authors", "steps", "final_answer", "confidence"],
    "additionalProperties": False,
}

PYDANTIC_CONTACT = {  # Contact.model_json_schema() from pydantic 2
    "$defs": {
        "Address": {
            "properties": {
                "street": {"title": "Street", "type": "string"},
                "city": {"title": "City", "type": "string"},
                "zip_code": {"pattern": "^\\d{5}(-\\d{4})?$", "title": "Zip Code", "type": "string"},
            },
            "required": ["street", "city", "zip_code"],
            "title": "Address",
            "type": "object",
        },
        "Priority": {"enum": ["low", "medium", "high"], "title": "Priority", "type": "string"},
    },
    "properties": {
        "kind": {"const": "contact", "default": "contact", "title": "Kind", "type": "string"},
        "name": {"maxLength": 40, "minLength": 2, "title": "Name", "type": "string"},
        "email": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None, "title": "Email"},
        "age": {"anyOf": [{"maximum": 130, "minimum": 0, "type": "integer"}, {"type": "null"}], "default": None, "title": "Age"},
        "priority": {"$ref": "#/$defs/Priority", "default": "medium"},
        "address": {"anyOf": [{"$ref": "#/$defs/Address"}, {"type": "null"}], "default": None},
        "tags": {"items": {"type": "string"}, "maxItems": 5, "title": "Tags", "type": "array"},
        "score": {"maximum": 1, "minimum": 0, "title": "Score", "type": "number"},
    },
    "required": ["name", "score"],
    "title": "Contact",
    "type": "object",
}

PYDANTIC_TREE = {  # Node.model_json_schema(): children list and Optional parent both recurse
    "$defs": {
        "Node": {
            "properties": {
                "value": {"title": "Value", "type": "integer"},
                "children": {"default": [], "items": {"$ref": "#/$defs/Node"}, "title": "Children", "type": "array"},
                "parent": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}], "default": None},
            },
            "required": ["value"],
            "title": "Node",
            "type": "object",
        }
    },
    "$ref": "#/$defs/Node",
}

STRICT_TREE = {  # a recursive schema where the recursion is required
    "type": "object",
    "properties": {
        "label": {"type": "string"},
        "children": {"type": "array", "items": {"$ref": "#"}},
        "next": {"anyOf": [{"$ref": "#"}, {"type": "null"}]},
    },
    "required": ["label", "children", "next"],
    "additionalProperties": False,
}

DRAFT7_DEFINITIONS = {
    "definitions": {"money": {"type": "object", "properties": {"amount": {"type": "number", "minimum": 0}, "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}}, "required": ["amount", "currency"]}},
    "type": "object",
    "properties": {"price": {"$ref": "#/definitions/money"}, "discounts": {"type": "array", "items": {"$ref": "#/definitions/money"}, "minItems": 1}},
    "required": ["price", "discounts"],
}

FORMATS = {
    "type": "object",
    "properties": {
        fmt: {"type": "string", "format": fmt}
        for fmt in ("date-time", "date", "time", "duration", "email", "idn-email", "hostname", "ipv4", "ipv6", "uri", "uri-reference", "uuid", "regex")
    },
    "required": ["date-time", "date", "time", "duration", "email", "idn-email", "hostname", "ipv4", "ipv6", "uri", "uri-reference", "uuid", "regex"],
}

PATTERNS = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"},
        "phone": {"type": "string", "pattern": r"^\+?[1-9]\d{1,14}$"},
        "us_phone": {"type": "string", "pattern": r"^(\([0-9]{3}\))?[0-9]{3}-[0-9]{4}$"},
        "slug": {"type": "string", "pattern": r"^[a-z0-9_-]{3,16}$"},
        "hex": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
        "alternation": {"type": "string", "pattern": "^(foo|bar)+baz?$"},
        "email_like": {"type": "string", "pattern": r"^\S+@\S+\.\S+$"},
        "unanchored": {"type": "string", "pattern": "[abc]x"},
        "unanchored_longer_than_its_match": {"type": "string", "pattern": r"\d", "minLength": 6, "maxLength": 8},
        "zip": {"type": "string", "pattern": r"^\d{5}(?:-\d{4})?$"},
        "named_group": {"type": "string", "pattern": r"^(?P<major>\d+)\.(?:\d+)$"},
        "bounded": {"type": "string", "pattern": "^[a-z]+$", "minLength": 8, "maxLength": 10},
        "with_format": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "format": "date"},
    },
    "required": ["code", "phone", "us_phone", "slug", "hex", "alternation", "email_like", "unanchored", "zip", "named_group", "bounded", "with_format"],
}

ONE_OF_OVERLAPPING = {
    "type": "object",
    "properties": {
        "number": {"oneOf": [{"type": "integer"}, {"type": "number"}]},
        "text": {"oneOf": [{"type": "string", "maxLength": 5}, {"type": "string", "minLength": 3}]},
        "shape": {
            "oneOf": [
                {"type": "object", "properties": {"kind": {"const": "circle"}, "radius": {"type": "number", "exclusiveMinimum": 0}}, "required": ["kind", "radius"]},
                {"type": "object", "properties": {"kind": {"const": "square"}, "side": {"type": "number", "exclusiveMinimum": 0}}, "required": ["kind", "side"]},
            ]
        },
    },
    "required": ["number", "text", "shape"],
}

NUMBERS = {
    "type": "object",
    "properties": {
        "weeks": {"type": "integer", "minimum": 10, "maximum": 100, "multipleOf": 7},
        "exclusive": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 3},
        "tens": {"type": "integer", "multipleOf": 10},
        "negative": {"type": "integer", "maximum": -5},
        "quarters": {"type": "number", "minimum": 0.3, "maximum": 2, "multipleOf": 0.25},
        "cents": {"type": "number", "minimum": 0, "maximum": 1000, "multipleOf": 0.01},
        "tenths": {"type": "number", "minimum": 0, "maximum": 10, "multipleOf": 0.1},
        "halves_int": {"type": "integer", "minimum": -3, "maximum": 3, "multipleOf": 0.5},
        "tiny": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.001},
        "point": {"type": "number", "minimum": 2.5, "maximum": 2.5},
        "float_bounds_int": {"type": "integer", "minimum": 0.5, "maximum": 2.5},
        "temperature": {"type": "number", "minimum": -40, "maximum": 50},
    },
    "required": ["weeks", "exclusive", "tens", "negative", "quarters", "cents", "tenths", "halves_int", "tiny", "point", "float_bounds_int", "temperature"],
}

COMPOSITION = {
    "type": "object",
    "properties": {
        "merged": {"allOf": [{"type": "object", "properties": {"a": {"type": "integer", "minimum": 0}}, "required": ["a"]}, {"properties": {"a": {"maximum": 5}, "b": {"type": "string"}}, "required": ["b"]}]},
        "two_patterns": {"allOf": [{"type": "string", "pattern": "^[a-z]+$"}, {"minLength": 3, "pattern": "^[a-m]"}]},
        "not_string": {"not": {"type": "string"}},
        "not_enum": {"type": "string", "enum": ["a", "b", "c"], "not": {"const": "a"}},
        "conditional": {
            "type": "object",
            "properties": {"country": {"enum": ["US", "CA"]}, "postal_code": {"type": "string"}},
            "required": ["country", "postal_code"],
            "if": {"properties": {"country": {"const": "US"}}},
            "then": {"properties": {"postal_code": {"pattern": "^[0-9]{5}$"}}},
            "else": {"properties": {"postal_code": {"pattern": "^[A-Z][0-9][A-Z] [0-9][A-Z][0-9]$"}}},
        },
        "tuple": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "string"}, {"enum": ["N", "S"]}], "items": False},
        "contains": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 100}, "contains": {"minimum": 90}, "minContains": 2},
        "unique": {"type": "array", "items": {"enum": [1, 2, 3, 4]}, "uniqueItems": True, "minItems": 4},
        "scores": {"type": "object", "patternProperties": {"^S_": {"type": "integer"}}, "additionalProperties": False, "minProperties": 2},
        "metadata": {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 3, "maxProperties": 4},
        "anything": {},
        "always": True,
        "type_list": {"type": ["integer", "boolean"]},
        "const_object": {"const": {"a": [1, 2]}},
        "nullable_enum": {"enum": ["x", None], "type": ["string", "null"]},
    },
    "required": ["merged", "two_patterns", "not_string", "not_enum", "conditional", "tuple", "contains", "unique", "scores", "metadata", "anything", "always", "type_list", "const_object", "nullable_enum"],
}

REALISTIC = [
    ("get_weather", GET_WEATHER),
    ("weather_4", WEATHER_4),
    ("strict_nested", STRICT_NESTED),
    ("pydantic_contact", PYDANTIC_CONTACT),
    ("pydantic_tree", PYDANTIC_TREE),
    ("strict_tree", STRICT_TREE),
    ("draft7_definitions", DRAFT7_DEFINITIONS),
    ("formats", FORMATS),
    ("patterns", PATTERNS),
    ("one_of", ONE_OF_OVERLAPPING),
    ("numbers", NUMBERS),
    ("composition", COMPOSITION),
]


def assert_valid(schema: Any, value: Any) -> None:
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(value)]
    assert not errors, f"{value!r} is invalid: {errors}"
    orjson.dumps(value)  # the server must be able to encode it


@pytest.mark.parametrize("schema", [schema for _, schema in REALISTIC], ids=[name for name, _ in REALISTIC])
def test_values_validate_and_are_deterministic(schema: dict[str, Any]) -> None:
    values = []
    for seed in SEEDS:
        value = generate(schema, random.Random(seed))
        assert_valid(schema, value)
        assert generate(schema, random.Random(seed)) == value, "same seed must give the same value"
        values.append(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
    assert len(set(values)) > 1, "different seeds should give different values"


def test_strict_mode_emits_every_property() -> None:
    for seed in SEEDS:
        value = generate(STRICT_NESTED, random.Random(seed))
        assert list(value) == list(STRICT_NESTED["properties"])
        for author in value["authors"]:
            assert set(author) == {"name", "email", "affiliation"}


def test_optional_properties_sometimes_appear_and_nothing_undeclared_does() -> None:
    seen: set[str] = set()
    for seed in SEEDS:
        value = generate(WEATHER_4, random.Random(seed))
        assert {"location", "unit"} <= set(value) <= set(WEATHER_4["properties"])
        seen |= set(value)
    assert seen == set(WEATHER_4["properties"])


def test_optional_and_nullable_values_vary() -> None:
    emails = [generate(PYDANTIC_CONTACT, random.Random(seed)).get("email", "absent") for seed in range(200)]
    assert any(email is None for email in emails)
    assert any(isinstance(email, str) for email in emails)
    assert any(email == "absent" for email in emails)


def test_realistic_strings() -> None:
    value = generate(GET_WEATHER, random.Random(3))
    assert ", " in value["location"]  # "City, Region"
    contact = generate({"type": "object", "properties": {"email": {"type": "string"}, "first_name": {"type": "string"}, "created_at": {"type": "string"}}, "required": ["email", "first_name", "created_at"]}, random.Random(1))
    assert "@" in contact["email"]
    assert contact["first_name"].isalpha() and contact["first_name"][0].isupper()
    assert contact["created_at"][4] == "-" and "T" in contact["created_at"]


@pytest.mark.parametrize("seed", range(10))
def test_hint_names_the_city(seed: int) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    assert generate(schema, random.Random(seed), hint="What's the weather in Paris?") == {"city": "Paris"}
    assert generate(GET_WEATHER, random.Random(seed), hint="Will it rain in New York tomorrow?")["location"] == "New York"


def test_hint_is_ignored_without_a_usable_phrase_or_when_constrained() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 3}}, "required": ["city"]}
    assert generate(schema, random.Random(0), hint="Weather in Paris")["city"] != "Paris"
    plain = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    assert generate(plain, random.Random(0), hint="what about paris?") == generate(plain, random.Random(0))


def test_recursive_schemas_terminate() -> None:
    def depth(node: Any) -> int:
        if isinstance(node, dict):
            return 1 + max((depth(child) for child in node.values()), default=0)
        if isinstance(node, list):
            return 1 + max((depth(child) for child in node), default=0)
        return 0

    for seed in SEEDS:
        assert depth(generate(PYDANTIC_TREE, random.Random(seed))) <= 12
        assert depth(generate(STRICT_TREE, random.Random(seed))) <= 12


def test_one_of_matches_exactly_one_branch() -> None:
    for seed in SEEDS:
        value = generate(ONE_OF_OVERLAPPING, random.Random(seed))
        assert isinstance(value["number"], float) and not value["number"].is_integer()
        assert len(value["text"]) < 3 or len(value["text"]) > 5


def test_numbers_are_nice() -> None:
    for seed in SEEDS:
        value = generate(NUMBERS, random.Random(seed))
        assert round(value["temperature"], 2) == value["temperature"]
        assert value["weeks"] in range(14, 99, 7)
        assert value["exclusive"] in (1, 2)


def test_generation_leaves_global_random_alone() -> None:
    random.seed(1234)
    state = random.getstate()
    for _, schema in REALISTIC:
        generate(schema, random.Random(0))
    assert random.getstate() == state


def test_boolean_and_empty_schemas() -> None:
    assert isinstance(generate({}, random.Random(0)), str)
    assert isinstance(generate(True, random.Random(0)), str)
    assert generate({"const": None}, random.Random(0)) is None


@pytest.mark.parametrize(
    ("schema", "path"),
    [
        (False, "#"),
        ({"type": "object", "properties": {"unit": {"type": "integer", "minimum": 5, "maximum": 3}}, "required": ["unit"]}, "#/properties/unit"),
        ({"type": "object", "properties": {"a": {"type": "object", "properties": {"b": False}, "required": ["b"]}}, "required": ["a"]}, "#/properties/a/properties/b"),
        ({"type": "string", "minLength": 5, "maxLength": 2}, "#"),
        ({"type": "array", "minItems": 4, "maxItems": 2}, "#"),
        ({"type": "object", "required": ["x"], "additionalProperties": False}, "#"),
        ({"$defs": {"Unit": {"enum": ["a"], "type": "integer"}}, "type": "object", "properties": {"u": {"$ref": "#/$defs/Unit"}}, "required": ["u"]}, "#/$defs/Unit"),
        ({"allOf": [{"type": "string"}, {"type": "integer"}]}, "#"),
        ({"type": "number", "exclusiveMinimum": 1, "exclusiveMaximum": 1}, "#"),
        ({"type": "integer", "minimum": 1, "maximum": 6, "multipleOf": 7}, "#"),
        ({"type": "array", "items": {"type": "boolean"}, "uniqueItems": True, "minItems": 3}, "#"),
        ({"type": "string", "pattern": "(unclosed"}, "#"),
        ({"$defs": {"A": {"$ref": "#/$defs/A"}}, "$ref": "#/$defs/A"}, "#/$defs/A"),
        ({"type": "object", "properties": {"x": {"$ref": "#/$defs/Missing"}}, "required": ["x"]}, "#/properties/x"),
        ({"type": "object", "properties": {"x": {"$ref": "https://example.com/schema.json"}}, "required": ["x"]}, "#/properties/x"),
        ({"type": "strnig"}, "#"),
        ({"$defs": {"A": {"anyOf": [{"$ref": "#/$defs/A"}, {"$ref": "#/$defs/A"}]}}, "$ref": "#/$defs/A"}, "#/$defs/A"),
        ({"oneOf": [{"type": "integer"}, {"type": "integer", "minimum": 0}], "maximum": -1, "minimum": 0}, "#"),
    ],
)
def test_unsatisfiable_schemas_raise_with_path(schema: Any, path: str) -> None:
    with pytest.raises(SchemaUnsupported) as caught:
        generate(schema, random.Random(0))
    assert isinstance(caught.value, ValueError)
    assert caught.value.path == path
    assert str(caught.value).startswith(path + ": ")


def test_bare_tuple_gets_no_untyped_extra_items() -> None:
    schema = {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string", "format": "date"}]}
    for seed in SEEDS:
        value = generate(schema, random.Random(seed))
        assert_valid(schema, value)
        assert len(value) == 2


def test_unsupported_pattern_raises() -> None:
    with pytest.raises(SchemaUnsupported, match="pattern"):
        generate({"type": "string", "pattern": r"^(\w)\1\bzz$"}, random.Random(0))


def test_typical_tool_call_is_fast() -> None:
    rng = random.Random(0)
    generate(WEATHER_4, rng)  # loads the word lists
    rounds = 2000
    started = time.perf_counter()
    for _ in range(rounds):
        generate(WEATHER_4, rng)
    per_call = (time.perf_counter() - started) / rounds
    assert per_call < 500e-6, f"{per_call * 1e6:.0f} µs per call"


# -- property-based: random schema shapes ---------------------------------------------

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
small = st.integers(min_value=0, max_value=6)


@st.composite
def integer_schemas(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer"}
    low = draw(st.integers(-1000, 1000))
    width = draw(st.integers(0, 500))
    multiple = draw(st.sampled_from([None, 1, 2, 3, 5, 10, 0.5]))
    if multiple is not None:
        schema["multipleOf"] = multiple
        width = max(width, 10)
    if draw(st.booleans()):
        schema["minimum"] = low
    if draw(st.booleans()):
        schema["maximum"] = low + width
    if draw(st.booleans()) and width >= 2 + 10 * bool(multiple):
        schema.pop("minimum", None)
        schema["exclusiveMinimum"] = low
    return schema


@st.composite
def number_schemas(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "number"}
    low = draw(finite)
    width = draw(st.floats(min_value=0, max_value=1e4))
    multiple = draw(st.sampled_from([None, 0.25, 0.5, 2, 0.01]))
    if multiple is not None:
        schema["multipleOf"] = multiple
        width = max(width, 100 * multiple)
    if draw(st.booleans()):
        schema["minimum"] = low
    if draw(st.booleans()):
        schema["maximum"] = low + width
    if draw(st.booleans()) and width >= 1e-3:
        schema["exclusiveMaximum"] = schema.pop("maximum", low + width)
    return schema


@st.composite
def string_schemas(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    shape = draw(st.sampled_from(["plain", "pattern", "format", "enum"]))
    if shape == "pattern":
        schema["pattern"] = draw(st.sampled_from([r"^[a-z]+$", r"^[A-Z]{2,4}\d*$", r"^(ab|cd)+$", r"\d", r"^[\w.-]+$"]))
    elif shape == "format":
        schema["format"] = draw(st.sampled_from(["date", "date-time", "email", "uuid", "ipv4", "uri"]))
        return schema
    elif shape == "enum":
        return {"type": "string", "enum": draw(st.lists(st.text(max_size=5), min_size=1, max_size=4))}
    low = draw(st.integers(0, 12))
    if draw(st.booleans()):
        schema["minLength"] = low
    if draw(st.booleans()):
        schema["maxLength"] = low + draw(st.integers(2 if shape == "pattern" else 0, 30))
    return schema


leaves = st.one_of(
    integer_schemas(),
    number_schemas(),
    string_schemas(),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.just({}),
)


@st.composite
def array_schemas(draw: st.DrawFn, children: st.SearchStrategy[Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": draw(children)}
    low = draw(small)
    if draw(st.booleans()):
        schema["minItems"] = low
    if draw(st.booleans()):
        schema["maxItems"] = low + draw(small)
    return schema


@st.composite
def object_schemas(draw: st.DrawFn, children: st.SearchStrategy[Any]) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(["name", "city", "email", "id", "count", "score", "tags", "items", "note", "x_1"]), unique=True, max_size=5))
    properties = {name: draw(children) for name in names}
    strict = draw(st.booleans())
    required = names if strict else [name for name in names if draw(st.booleans())]
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    if strict or draw(st.booleans()):
        schema["additionalProperties"] = False
    elif draw(st.booleans()):
        schema["minProperties"] = len(names) + draw(small)
    return schema


schemas = st.recursive(leaves, lambda children: st.one_of(array_schemas(children), object_schemas(children)), max_leaves=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=schemas, seed=st.integers(0, 2**32 - 1))
def test_generated_schemas_yield_valid_values(schema: dict[str, Any], seed: int) -> None:
    value = generate(schema, random.Random(seed))
    assert_valid(schema, value)
    assert generate(schema, random.Random(seed)) == value


def test_a_pattern_under_a_tight_max_length_takes_its_shortest_strings() -> None:
    """Found by the property test above: repeats drawn at random rarely fit a maxLength at the pattern's minimum."""
    schema = {"type": "string", "pattern": r"^[A-Z]{2,4}\d*$", "maxLength": 2}
    for seed in range(200):
        value = generate(schema, random.Random(seed))
        assert len(value) == 2 and value.isupper(), value


def test_a_pattern_inside_a_length_window_is_found() -> None:
    schema = {"type": "string", "pattern": "^(ab|cd)+$", "minLength": 8, "maxLength": 10}
    for seed in range(200):
        value = generate(schema, random.Random(seed))
        assert 8 <= len(value) <= 10 and len(value) % 2 == 0, value


@pytest.mark.parametrize("pattern", ["^(?!admin$).+$", r"^(\w)\1$", "(?<=a)b"])
def test_patterns_re2_cannot_run_are_refused_naming_the_field(pattern: str) -> None:
    """Lookarounds and backreferences need a backtracking engine: refused, never run (see mockserver.patterns)."""
    schema = {"type": "object", "properties": {"name": {"type": "string", "pattern": pattern}}, "required": ["name"]}
    with pytest.raises(SchemaUnsupported, match=r"#/properties/name: invalid pattern: .*linear-time"):
        generate(schema, random.Random(0))

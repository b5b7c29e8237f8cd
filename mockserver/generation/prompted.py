"""JSON whose shape the prompt describes: what JSON modes that put the schema in the messages expect.

``response_format: json_object`` (LangChain's ``json_mode``, instructor's ``Mode.JSON``) and prompts that ask
for JSON without any ``response_format`` (pydantic-ai's ``PromptedOutput``, instructor's ``Mode.MD_JSON``,
LangChain's format instructions) say in words what the JSON must be. A real model reads that; so does the
mock, in this order of precedence, the latest message first and, within one, the last description:

1. a JSON Schema written into the text (a ``model_json_schema()`` dump, with ``$defs`` and ``$ref``s, its
   braces doubled too, as a template that was never formatted leaves them);
2. an example object (``{"city": "Paris", "population": 2100000}``): the answer has its keys and types;
3. field names in a sentence about keys or fields (``an 'answer' key and a 'followup_question' key``), with a
   type when one is named next to the name (``'rating' (integer)``), or a Python type in parentheses after it
   (DSPy's ``next_tool_name (must be formatted as a valid Python Literal['search', 'finish'])``:
   ``Literal[...]`` an enum, ``dict[...]`` an object, ``list[X]`` an array of X, ``int``/``float``/``bool``/
   ``str``); the quoted values inside such a type are never field names.

An object whose every value is a JSON Schema (``{"setup": {"type": "string"}, "rating": {"type": "integer"}}``)
is read as the properties of the answer, not as an example. With nothing described, the answer is ``{}``.

The answer is fenced in a ```` ```json ```` block when the prompt asks for a code block and no JSON mode
forbids it. Reading is bounded: the last :data:`MAX_MESSAGES` system, developer and user messages, the first
:data:`MAX_TEXT` characters of each, :data:`MAX_OBJECTS` embedded objects per message, :data:`MAX_FIELDS` named
fields per sentence, a type looked for within :data:`MAX_TYPE_TEXT` characters of its field's name. Whether a
message asks for JSON or a code block is read around the words such an ask must contain (the first
:data:`MAX_ASKS` of each), so a long message costs a substring scan, not a pass of the phrase patterns.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

from mockserver.generation.reading import balanced_end
from mockserver.messages import content_text

__all__ = ["PromptedJson", "described_json", "python_type_after"]

MAX_MESSAGES = 16
MAX_TEXT = 65_536
MAX_OBJECTS = 32
MAX_FIELDS = 64
MAX_ASKS = 32
MAX_TYPE_TEXT = 512  # how far after a field name its parenthesised type is looked for
INSTRUCTION_ROLES = frozenset({"system", "developer", "user"})

_JSON_WORD = re.compile(r"\bjson\b", re.IGNORECASE)
_ASK_VERBS = "respond|reply|answer|return|output|format|provide|give|produce|write|generate|emit|extract|structure"
_ASKS_FOR_JSON = re.compile(
    # an instruction: the verb opens a clause ("Return a JSON object", "Please respond only in JSON", "and then
    # output JSON", "You will be generating a JSON object"), not a noun or a description ("structured output
    # fields ... a JSON output schema", "the API returns JSON")
    rf"(?:^|[.!?:;,(]\s*|\b(?:please|always|only|must|should|shall|will|to|then|and|now|you|just)\s+)"
    rf"(?:{_ASK_VERBS})\b[^.!?\n]{{0,80}}\bjson\b"
    rf"|\bbe\s+(?:respond|reply|answer|return|output|provid|giv|produc|writ|generat|emitt|extract)ing\b"
    rf"[^.!?\n]{{0,80}}\bjson\b"
    # what the answer must be: "The output should be formatted as a JSON instance", "Your response must be JSON"
    r"|\b(?:response|answer|output|reply|result)s?\b[^.!?\n]{0,40}\b(?:must|should|shall|will|has\s+to|is\s+to)\b"
    r"[^.!?\n]{0,60}\bjson\b"
    r"|\b(?:in|as|into)\s+(?:(?:a|an|the|valid|strict|pure|plain|raw|proper|only)\s+)*json\b",
    re.IGNORECASE | re.MULTILINE,
)
_ASKS_FOR_FENCE = re.compile(r"```\s*json|\bcode\s*block\b|\bcodeblock\b|\bmarkdown\b", re.IGNORECASE)
_ABOUT_FIELDS = re.compile(r"\b(keys?|fields?|propert(?:y|ies)|attributes?|entries)\b", re.IGNORECASE)
_QUOTED_NAME = re.compile(r"[\"'`]([A-Za-z_][A-Za-z0-9_\-]{0,63})[\"'`]")
_LISTED_NAMES = re.compile(
    r"\b(?:keys?|fields?|properties)\s*[:=]\s*([A-Za-z_][\w\-]*(?:\s*(?:,|\band\b)\s*[A-Za-z_][\w\-]*)+)"
)
_TYPE_AFTER = re.compile(
    r"\s*(?:\(|:|-|–|—|,)?\s*(?:(?:which|that)\s+is\s+|as\s+|is\s+|of\s+type\s+)?(?:an?\s+)?"
    r"(integer|int|number|float|decimal|boolean|bool|string|str|text|list|array|object|dict)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?\n]+")
_PYTHON_TYPE = re.compile(r"\b(Literal|Optional|Union|dict|Dict|Mapping|list|List|Sequence|tuple|Tuple|set|Set|int|"
                          r"float|bool|str|Any)\b")
_PYTHON_SCALARS = {"int": "integer", "float": "number", "bool": "boolean", "str": "string", "Any": "string"}
_PARENTHESES_AFTER = re.compile(r"\s*\(")
MAX_TYPE_DEPTH = 8
_SCHEMA_TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})
_TYPE_WORDS = {
    "integer": "integer", "int": "integer", "number": "number", "float": "number", "decimal": "number",
    "boolean": "boolean", "bool": "boolean", "string": "string", "str": "string", "text": "string",
    "list": "array", "array": "array", "object": "object", "dict": "object",
}
_decoder = json.JSONDecoder()


@dataclass(frozen=True)
class PromptedJson:
    """What the answer must be: a JSON Schema (None: the prompt names no shape), and whether it is fenced."""

    schema: dict[str, Any] | None
    fenced: bool

    def wrap(self, text: str) -> str:
        return f"```json\n{text}\n```" if self.fenced else text


def described_json(messages: list[dict[str, Any]], *, json_mode: bool) -> PromptedJson | None:
    """The JSON the messages ask for, or None when they ask for none (and no JSON mode is on)."""
    texts = _instruction_texts(messages)
    if not json_mode and not any(_asks(_ASKS_FOR_JSON, _JSON_ASK_WORDS, text) for text in texts):
        return None
    fenced = not json_mode and any(_asks(_ASKS_FOR_FENCE, _FENCE_ASK_WORDS, text) for text in texts)
    for text in reversed(texts):
        schema = _described_schema(text)
        if schema is not None:
            return PromptedJson(schema, fenced)
    return PromptedJson(None, fenced)


_JSON_ASK_WORDS = (b"json",)
_FENCE_ASK_WORDS = (b"```", b"code", b"markdown")
_ASK_REACH = 120


def _asks(pattern: re.Pattern[str], words: tuple[bytes, ...], text: str) -> bool:
    """Whether ``pattern`` matches in ``text``, tried within :data:`_ASK_REACH` characters of the first
    :data:`MAX_ASKS` places each of ``words`` (lower-case, one of which every match contains) occurs."""
    lowered = text.encode("ascii", "replace").lower()  # one byte a character: byte offsets are text offsets
    for word in words:
        position = lowered.find(word)
        for _ in range(MAX_ASKS):
            if position < 0:
                break
            if pattern.search(text, max(0, position - _ASK_REACH), position + len(word) + _ASK_REACH):
                return True
            position = lowered.find(word, position + 1)
    return False


def _instruction_texts(messages: list[dict[str, Any]]) -> list[str]:
    """The text of the last system, developer and user messages, oldest first, each cut to :data:`MAX_TEXT`."""
    texts: list[str] = []
    for message in reversed(messages):
        if len(texts) == MAX_MESSAGES:
            break
        if isinstance(message, dict) and message.get("role") in INSTRUCTION_ROLES:
            texts.append(content_text(message.get("content"))[:MAX_TEXT])
    texts.reverse()
    return texts


def _described_schema(text: str) -> dict[str, Any] | None:
    """The schema one message describes: its last embedded schema, else its last example, else named fields."""
    if not _JSON_WORD.search(text) and "{" not in text:
        return None
    schemas: list[dict[str, Any]] = []
    examples: list[dict[str, Any]] = []
    if "{{" in text:
        # A template's escaped braces reached the model unformatted (llama-index's output parser does this).
        schemas, examples = _embedded_objects(text.replace("{{", "{").replace("}}", "}"))
    if not schemas and not examples:
        schemas, examples = _embedded_objects(text)
    if schemas:
        return schemas[-1]
    if examples:
        return _schema_of(examples[-1])
    return _named_fields(text)


def _embedded_objects(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The JSON objects written in the text, split into JSON Schemas and example objects."""
    schemas: list[dict[str, Any]] = []
    examples: list[dict[str, Any]] = []
    position = text.find("{")
    attempts = 0
    while position != -1 and attempts < MAX_OBJECTS:
        attempts += 1
        try:
            value, end = _decoder.raw_decode(text, position)
        except (ValueError, RecursionError):
            position = text.find("{", position + 1)
            continue
        if isinstance(value, dict) and value:
            if _looks_like_schema(value):
                schemas.append(value)
            elif all(isinstance(item, dict) and _looks_like_schema(item) for item in value.values()):
                # a map of field names to their schemas: the answer's properties
                schemas.append({"type": "object", "properties": value, "required": list(value),
                                "additionalProperties": False})
            else:
                examples.append(value)
        position = text.find("{", end)
    return schemas, examples


def _looks_like_schema(value: dict[str, Any]) -> bool:
    if isinstance(value.get("properties"), dict) or "$defs" in value or "definitions" in value:
        return True
    if isinstance(value.get("$ref"), str) or any(isinstance(value.get(key), list) for key in ("anyOf", "oneOf")):
        return True
    kind = value.get("type")
    return isinstance(kind, str) and kind in _SCHEMA_TYPES and len(value) <= 8 and all(
        not isinstance(item, str) or key in {"type", "title", "description", "format", "pattern", "const"}
        for key, item in value.items()
    )


def _schema_of(example: Any, depth: int = 0) -> dict[str, Any]:
    """A schema every value shaped like ``example`` satisfies: its keys, all required, with their types."""
    if isinstance(example, bool):
        return {"type": "boolean"}
    if isinstance(example, int):
        return {"type": "integer"}
    if isinstance(example, float):
        return {"type": "number"}
    if isinstance(example, str):
        return {"type": "string"}
    if isinstance(example, list):
        items = _schema_of(example[0], depth + 1) if example and depth < 8 else {"type": "string"}
        return {"type": "array", "items": items, "minItems": 1, "maxItems": 3}
    if isinstance(example, dict) and depth < 8:
        properties = {str(key): _schema_of(item, depth + 1) for key, item in example.items()}
        return {"type": "object", "properties": properties, "required": list(properties),
                "additionalProperties": False}
    return {"type": "null"} if example is None else {"type": "object"}


def _named_fields(text: str) -> dict[str, Any] | None:
    """An object schema of the fields a sentence about keys or fields names, each typed if a type is named."""
    properties: dict[str, dict[str, Any]] = {}
    for sentence in _SENTENCE.finditer(text):
        line = sentence.group()
        if not _ABOUT_FIELDS.search(line):
            continue
        inside_types = _python_type_spans(line)
        found = list(itertools.islice(((match.group(1), match.end()) for match in _QUOTED_NAME.finditer(line)
                                       if not _inside(inside_types, match.start())), MAX_FIELDS))
        listed = _LISTED_NAMES.search(line)
        if not found and listed:
            names = re.split(r"\s*(?:,|\band\b)\s*", listed.group(1))
            found = [(name, listed.end()) for name in names if name]
        for name, end in found:
            typed = python_type_after(line, end)
            if typed is not None:
                properties.setdefault(name, typed)
                continue
            kind = _TYPE_AFTER.match(line, end)
            properties.setdefault(name, {"type": _TYPE_WORDS[kind.group(1).lower()] if kind else "string"})
    if not properties:
        return None
    for schema in properties.values():
        if schema.get("type") == "array":
            for key, value in (("items", {"type": "string"}), ("minItems", 1), ("maxItems", 3)):
                schema.setdefault(key, value)
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def _python_type_spans(line: str) -> list[tuple[int, int]]:
    """Where the line writes Python types with arguments (``Literal['a', 'b']``, ``dict[str, Any]``), in order and
    apart: a type inside one already found is part of it."""
    spans: list[tuple[int, int]] = []
    for match in _PYTHON_TYPE.finditer(line):
        if (spans and match.start() < spans[-1][1]) or not line.startswith("[", match.end()):
            continue
        parsed = _PythonType(line, match.start()).parse()
        if parsed is not None:
            spans.append((match.start(), parsed[1]))
    return spans


def _inside(spans: list[tuple[int, int]], position: int) -> bool:
    """Whether ``position`` falls in one of the ordered, disjoint ``spans``."""
    found = bisect.bisect_right(spans, (position, float("inf"))) - 1
    return found >= 0 and spans[found][0] <= position < spans[found][1]


def python_type_after(line: str, end: int) -> dict[str, Any] | None:
    """The schema of a Python type written in the parentheses right after a field name, if there is one there:
    ``(Literal['a', 'b'])``, ``(must be formatted as a valid Python dict[str, Any])``."""
    opening = _PARENTHESES_AFTER.match(line, end)
    if opening is None:
        return None
    closing = balanced_end(line, opening.end(), MAX_TYPE_TEXT)
    inside = line[opening.end():closing if closing is not None else opening.end() + MAX_TYPE_TEXT]
    match = _PYTHON_TYPE.search(inside)
    if match is None or match.group(1) == "Any":
        return None
    parsed = _PythonType(inside, match.start()).parse()
    return parsed[0] if parsed is not None else None


class _PythonType:
    """A Python type expression read as the JSON Schema a value of it has (``list[int]``: an array of integers)."""

    def __init__(self, text: str, position: int) -> None:
        self.text = text
        self.position = position

    def parse(self, depth: int = 0) -> tuple[dict[str, Any], int] | None:
        match = _PYTHON_TYPE.match(self.text, self.position)
        if match is None or depth > MAX_TYPE_DEPTH:
            return None
        name = match.group(1)
        self.position = match.end()
        arguments: list[Any] = []
        if self.text.startswith("[", self.position):
            self.position += 1
            while True:
                self._spaces()
                if self.text.startswith("]", self.position):
                    self.position += 1
                    break
                argument = self._literal() if name == "Literal" else self.parse(depth + 1)
                if argument is None:
                    return None
                arguments.append(argument[0] if name != "Literal" else argument)
                self._spaces()
                if self.text.startswith(",", self.position):
                    self.position += 1
        return self._schema(name, arguments), self.position

    def _schema(self, name: str, arguments: list[Any]) -> dict[str, Any]:
        if name == "Literal":
            values = [value for value, _ in arguments]
            kinds = {type(value) for value in values}
            schema: dict[str, Any] = {"enum": values}
            if kinds == {str}:
                schema["type"] = "string"
            return schema
        if name in ("Optional", "Union"):
            return arguments[0] if arguments else {"type": "string"}
        if name in ("dict", "Dict", "Mapping"):
            return {"type": "object"}
        if name in ("list", "List", "Sequence", "tuple", "Tuple", "set", "Set"):
            items = arguments[0] if arguments else {"type": "string"}
            return {"type": "array", "items": items, "minItems": 1, "maxItems": 3}
        return {"type": _PYTHON_SCALARS[name]}

    def _literal(self) -> tuple[Any, int] | None:
        """One value of a ``Literal[...]``: a quoted string, a number, True, False or None."""
        found = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"|(-?\d+(?:\.\d+)?)|(True|False|None)").match(
            self.text, self.position)
        if found is None:
            return None
        self.position = found.end()
        single, double, number, constant = found.groups()
        if number is not None:
            return (float(number) if "." in number else int(number)), self.position
        if constant is not None:
            return {"True": True, "False": False, "None": None}[constant], self.position
        return (single if single is not None else double), self.position

    def _spaces(self) -> None:
        while self.position < len(self.text) and self.text[self.position] == " ":
            self.position += 1

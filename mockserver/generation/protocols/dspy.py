"""DSPy's adapters: the output fields it asks for, in the format its parser reads.

DSPy (``dspy.Predict``, ``ChainOfThought``, ``ReAct``) sends no tools and no schema of the API's: its system message
lists the signature's fields and its last user message ends with the order it wants them in:

- **ChatAdapter**: ``Respond with the corresponding output fields, starting with the field `[[ ## reasoning ## ]]`,
  then `[[ ## answer ## ]]`, and then ending with the marker for `[[ ## completed ## ]]`.`` The answer is each field
  under its marker, then the closing marker.
- **JSONAdapter**: ``Respond with a JSON object in the following order of fields: `reasoning`, then `answer`.``
  The answer is one JSON object, the fields in that order.

A field that is not a string says its Python type after its name (``(must be formatted as a valid Python
Literal['get_weather', 'finish'])``): its value is made for that type (:func:`~..prompted.python_type_after`).
``ReAct`` lists its tools in the system message (``(1) get_weather, whose description is <desc>…</desc>. It takes
arguments {'city': {'type': 'string'}}.``): while the trajectory holds no observation, ``next_tool_name`` is the
listed tool the question relates to (else the first) and ``next_tool_args`` are valid for the arguments it lists,
the entity asked about in them; once an observation is in, ``finish`` with no arguments, so the loop ends.
"""

from __future__ import annotations

import ast
import json
import random
import re
from dataclasses import dataclass, field
from typing import Any

from mockserver.generation import prose
from mockserver.generation.jsongen import SchemaUnsupported, arguments_for
from mockserver.generation.jsongen import generate as generate_json
from mockserver.generation.prompted import python_type_after
from mockserver.generation.reading import balanced_end, most_relevant
from mockserver.messages import content_text

MAX_TEXT = 65_536
MAX_TOOLS = 64
MAX_ARGUMENTS_TEXT = 8_192
"""Reading is bounded: the last user message and the system messages, :data:`MAX_TEXT` characters each (the
last four system messages), :data:`MAX_TOOLS` listed tools, :data:`MAX_ARGUMENTS_TEXT` characters of a tool's
argument literal."""
MAX_SYSTEM_MESSAGES = 4
FINISH = "finish"
_CHAT_ASK = re.compile(r"Respond with the corresponding output fields, starting with the field [^\n]*?"
                       r"`\[\[ ## completed ## \]\]`")
_JSON_ASK = re.compile(r"Respond with a JSON object in the following order of fields: [^\n]*")
_MARKER_NAME = re.compile(r"`\[\[ ## (\w+) ## \]\]`")
_FIELD_NAME = re.compile(r"`(\w+)`")
_MARKER = re.compile(r"\[\[ ## (\w+) ## \]\]")
_TOOL = re.compile(r"\(\d+\) (\w+), whose description is <desc>(.*?)</desc>\. It takes arguments ", re.DOTALL)


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    arguments: dict[str, Any]  # name -> JSON Schema, as ReAct lists them


@dataclass(frozen=True)
class Asked:
    """One DSPy request: its output fields in order (name -> schema), its format, and what ReAct needs."""

    fields: dict[str, dict[str, Any]]
    as_json: bool
    question: str  # the first input field's value: what the arguments are about
    tools: list[Tool] = field(default_factory=list)
    observed: bool = False  # whether the trajectory holds an observation


def recognise(messages: list[dict[str, Any]], *, json_mode: bool, schema: dict[str, Any] | None) -> Asked | None:
    """The DSPy request the messages make, or None when they are not DSPy's."""
    user = next((content_text(message.get("content"))[:MAX_TEXT] for message in reversed(messages)
                 if isinstance(message, dict) and message.get("role") == "user"), "")
    if "[[ ## " not in user:
        return None
    chat, structured = _CHAT_ASK.search(user), _JSON_ASK.search(user)
    ask = chat or structured
    if ask is None:
        return None
    line = ask.group()
    names = _MARKER_NAME if chat else _FIELD_NAME
    fields = {}
    for match in names.finditer(line):
        if match.group(1) != "completed":
            fields[match.group(1)] = python_type_after(line, match.end()) or {"type": "string"}
    if not fields:
        return None
    systems = [message for message in messages if isinstance(message, dict) and message.get("role") == "system"]
    system = "\n".join(content_text(message.get("content"))[:MAX_TEXT] for message in systems[-MAX_SYSTEM_MESSAGES:])
    return Asked(fields, as_json=structured is not None and chat is None, question=_first_input(user),
                 tools=_tools(system), observed="[[ ## observation_" in user)


def answer(asked: Asked, rng: random.Random) -> str:
    """The fields' values, in the format DSPy's adapter parses."""
    values = _values(asked, rng)
    if asked.as_json:
        return json.dumps(values, ensure_ascii=False)
    parts = [f"[[ ## {name} ## ]]\n{_as_text(value)}\n\n" for name, value in values.items()]
    return "".join(parts) + "[[ ## completed ## ]]"


def _values(asked: Asked, rng: random.Random) -> dict[str, Any]:
    tool = _next_tool(asked)
    values: dict[str, Any] = {}
    for name, schema in asked.fields.items():
        if name == "next_tool_name" and tool is not None:
            values[name] = tool.name
        elif name == "next_tool_args" and tool is not None:
            values[name] = arguments_for(tool.arguments, rng, hint=asked.question)
        elif schema.get("type") == "string" and "enum" not in schema:
            values[name] = " ".join(prose.sentence(rng) for _ in range(2))
        else:
            try:
                values[name] = generate_json(schema, rng, hint=asked.question)
            except SchemaUnsupported:
                values[name] = prose.sentence(rng)
    return values


def _next_tool(asked: Asked) -> Tool | None:
    """ReAct's next call: the tool the question relates to while nothing is observed, then ``finish``."""
    if not asked.tools or "next_tool_name" not in asked.fields:
        return None
    working = [tool for tool in asked.tools if tool.name != FINISH]
    finish = next((tool for tool in asked.tools if tool.name == FINISH), None)
    if asked.observed or not working:
        return finish or working[0]
    return working[most_relevant(asked.question, [(tool.name, tool.description) for tool in working])]


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _first_input(user: str) -> str:
    """The value under the first marker of the user message (the question)."""
    first = _MARKER.search(user)
    if first is None:
        return user
    following = _MARKER.search(user, first.end())
    return user[first.end():following.start() if following else len(user)].strip()


def _tools(system: str) -> list[Tool]:
    """The tools ReAct lists, with the arguments each takes (a Python dict literal of JSON Schemas)."""
    tools: list[Tool] = []
    for match in _TOOL.finditer(system):
        if len(tools) == MAX_TOOLS:
            break
        literal = _braced(system, match.end())
        try:
            arguments = ast.literal_eval(literal) if literal else {}
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            arguments = {}
        tools.append(Tool(match.group(1), match.group(2), arguments if isinstance(arguments, dict) else {}))
    return tools


def _braced(text: str, start: int) -> str:
    """The ``{...}`` that starts at ``start``, its braces balanced; empty when there is none."""
    if not text.startswith("{", start):
        return ""
    closing = balanced_end(text, start + 1, MAX_ARGUMENTS_TEXT - 1)
    return text[start:closing + 1] if closing is not None else ""

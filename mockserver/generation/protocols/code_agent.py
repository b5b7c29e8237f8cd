"""Code agents: a thought, then a code block that calls the offered tools, then one that calls ``final_answer``.

smolagents' ``CodeAgent`` (and agents built like it) asks the model for a ``Thought:`` and Python code between the
tags its system prompt names (``The code sequence must be opened with '<code>', and closed with '</code>'``;
```` ```python ```` and ```` ``` ```` with markdown tags; ``Code:`` and ```` ```py ```` ... ```` ```<end_code> ````
in releases before 1.20), lists its tools as Python signatures with docstrings (``def get_weather(city: string) ->
string:``) and runs the code it gets back. Its results come back as a user turn ``Observation: ...``.

While the task has no observation, the answer calls the listed tool the task relates to (else the first) with
arguments for its signature (the entity asked about for a string) and prints the result; once an observation is
in, or when ``final_answer`` is the only tool, it calls ``final_answer`` with a sentence, so the run ends. With
``use_structured_outputs_internally`` the agent asks for a JSON schema of ``thought`` and ``code`` instead of tags:
the same step, as that JSON object.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Any

from mockserver.generation import prose
from mockserver.generation.jsongen import arguments_for
from mockserver.generation.reading import most_relevant
from mockserver.messages import content_text, is_text_tool_result

MAX_TEXT = 65_536
MAX_TOOLS = 64
MAX_MESSAGES = 64
"""Reading is bounded: the first system message and the last :data:`MAX_MESSAGES` messages, :data:`MAX_TEXT`
characters each, and :data:`MAX_TOOLS` listed tools; a prompt with no ``final_answer`` costs one substring search."""
FINAL_ANSWER = "final_answer"
_TAGS = re.compile(r"opened with '([^'\n]{1,40})', and closed with '([^'\n]{1,40})'")
_LEGACY_TAGS = ("Code:\n```py", "```<end_code>")
_TOOL = re.compile(r"^def (\w+)\(([^)\n]*)\) -> \w+:\n[ \t]+\"\"\"([^\n]*)", re.MULTILINE)
_PARAMETER = re.compile(r"(\w+)\s*:\s*(\w+)")
_TASK = re.compile(r"^New task:\s*", re.MULTILINE)
_THOUGHT_AND_CODE = {"thought", "code"}
_SCHEMA_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
                 "array": "array", "object": "object"}


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, dict[str, str]]  # name -> JSON Schema, of the type the signature writes


@dataclass(frozen=True)
class Asked:
    opening: str  # the code tags; both empty when the step is asked for as JSON
    closing: str
    tools: list[Tool]  # every listed tool but final_answer
    task: str
    observed: bool


def recognise(messages: list[dict[str, Any]], *, json_mode: bool, schema: dict[str, Any] | None) -> Asked | None:
    """A code agent's prompt: code tags (or a thought-and-code schema), a ``final_answer`` tool and the listed
    tools; else None."""
    properties = schema.get("properties") if schema is not None else None
    structured = isinstance(properties, dict) and set(properties) == _THOUGHT_AND_CODE
    if json_mode and not structured:
        return None
    system = next((content_text(message.get("content"))[:MAX_TEXT] for message in messages
                   if isinstance(message, dict) and message.get("role") in ("system", "developer")), "")
    if FINAL_ANSWER not in system:
        return None
    tags = None if structured else _TAGS.search(system)
    if structured:
        opening = closing = ""
    elif tags is not None:
        opening, closing = tags.group(1), tags.group(2)
    elif _LEGACY_TAGS[1] in system:
        opening, closing = _LEGACY_TAGS
    else:
        return None
    tools: list[Tool] = []
    for found in _TOOL.finditer(system):
        if len(tools) == MAX_TOOLS:
            break
        if found.group(1) != FINAL_ANSWER:
            parameters = {name: {"type": _SCHEMA_TYPES.get(kind, "string")}
                          for name, kind in _PARAMETER.findall(found.group(2))}
            tools.append(Tool(found.group(1), found.group(3).strip(), parameters))
    task, observed = _progress(messages[-MAX_MESSAGES:])
    return Asked(opening, closing, tools, task, observed)


def _progress(messages: list[dict[str, Any]]) -> tuple[str, bool]:
    """The latest task (smolagents' ``New task:`` turn, else the first user turn) and whether an observation came
    back after it."""
    observed = False
    first = ""
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "tool"):
            continue
        text = content_text(message.get("content"))[:MAX_TEXT]
        task = _TASK.search(text)
        if task is not None:
            return text[task.end():].strip(), observed
        if is_text_tool_result(text):
            observed = True
        else:
            first = text.strip()
    return first, observed


def answer(asked: Asked, rng: random.Random) -> str:
    """The next step: a call of the relevant tool whose result is printed, else ``final_answer``."""
    if asked.observed or not asked.tools:
        code = f"{FINAL_ANSWER}({' '.join(prose.sentence(rng) for _ in range(2))!r})"
        thought = f"I now have what I need to answer. {prose.sentence(rng)}"
    else:
        tool = asked.tools[most_relevant(asked.task, [(tool.name, tool.description) for tool in asked.tools])]
        made = arguments_for(tool.parameters, rng, hint=asked.task)
        arguments = ", ".join(f"{name}={value!r}" for name, value in made.items())
        code = f"result = {tool.name}({arguments})\nprint(result)"
        thought = f"I will use `{tool.name}` for this. {prose.sentence(rng)}"
    if not asked.opening:
        return json.dumps({"thought": thought, "code": code}, ensure_ascii=False)
    return f"Thought: {thought}\n{asked.opening}\n{code}\n{asked.closing}"

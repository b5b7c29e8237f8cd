"""The ReAct text format: ``Thought`` / ``Action`` / ``Action Input`` / ``Observation`` / ``Final Answer``.

LangChain's classic ``create_react_agent``, CrewAI and many hand-written agents describe their tools in the prompt and
ask the model to answer in lines it parses:

    Use the following format:
    Question: the input question you must answer
    Thought: you should always think about what to do
    Action: the action to take, should be one of [get_weather]
    Action Input: the input to the action
    Observation: the result of the action
    ...
    Final Answer: the final answer to the original input question

While the conversation holds no ``Observation:`` after the question, the answer is a thought, an ``Action`` naming
the listed tool the question relates to (else the first) and an ``Action Input``: a JSON object of the entity asked
about when the prompt shows the tool's arguments (``get_weather(city: str)``, ``Tool Arguments: {'city': ...}``),
else the entity itself. Once an observation is in, ``Thought: I now know the final answer`` and a ``Final Answer``.
The framework's stop sequence (``\\nObservation``) then ends the text where a real model's would.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Any

from mockserver.generation import prose
from mockserver.generation.jsongen import arguments_for, entity_of
from mockserver.generation.reading import most_relevant
from mockserver.messages import content_text

MAX_TEXT = 65_536
MAX_MESSAGES = 16
MAX_TOOLS = 64
MAX_MARKERS = 64
"""Reading is bounded: the last :data:`MAX_MESSAGES` messages, :data:`MAX_TEXT` characters each,
:data:`MAX_TOOLS` listed actions, described in the message that lists them, and the last :data:`MAX_MARKERS`
``Begin`` words tried; a prompt with no ``Action Input:`` costs one substring search a message."""
_FORMAT = re.compile(r"^\s*Action Input:", re.MULTILINE)
_ACTIONS = re.compile(r"Action:[^\n\[]*\[([^\]\n]+)\]")
_FINAL = re.compile(r"^\s*Final Answer:", re.MULTILINE)
_BEGIN = re.compile(r"\bBegin!?\b")
_OBSERVED = re.compile(r"^\s*Observation:", re.MULTILINE)
_ARGUMENTS = re.compile(r"['\"]?(\w+)['\"]?\s*:\s*(?:\{[^{}]*['\"]type['\"]\s*:\s*['\"])?"
                        r"(str|int|float|bool|string|integer|number|boolean)\b")
_TYPES = {"str": "string", "string": "string", "int": "integer", "integer": "integer", "float": "number",
          "number": "number", "bool": "boolean", "boolean": "boolean"}
_LINE_HEAD = re.compile(r"[\w.-]+")


@dataclass(frozen=True)
class Asked:
    tools: list[str]
    descriptions: dict[str, str]  # tool -> the prompt's line about it
    question: str
    observed: bool


def recognise(messages: list[dict[str, Any]], *, json_mode: bool, schema: dict[str, Any] | None) -> Asked | None:
    """A prompt that prescribes the ReAct format and lists its actions, or None."""
    if json_mode:
        return None
    texts = [content_text(message.get("content"))[:MAX_TEXT] for message in messages[-MAX_MESSAGES:]
             if isinstance(message, dict) and message.get("role") in ("system", "user", "assistant")]
    if not any("Action Input:" in text for text in texts):
        return None
    prompt = "\n".join(texts)
    if not (_FORMAT.search(prompt) and _FINAL.search(prompt)):
        return None
    listed = _ACTIONS.search(prompt)
    if listed is None:
        return None
    tools = [name.strip().strip("'\"`") for name in listed.group(1).split(",") if name.strip()][:MAX_TOOLS]
    if not tools:
        return None
    begun = _after_last(_BEGIN, "Begin", prompt)
    after = begun if begun is not None else texts[-1]
    question = re.search(r"^\s*Question:\s*(.+)$", after, re.MULTILINE)
    listing = next(text for text in texts if listed.group() in text)
    descriptions = dict.fromkeys(tools, "")
    for line in listing.splitlines():  # each tool's first line of description, in one pass
        head = line.strip()
        found = _LINE_HEAD.match(head)
        name = found.group() if found is not None else ""
        if name in descriptions and not descriptions[name] and head != name:
            descriptions[name] = head
    return Asked(tools, descriptions, question.group(1).strip() if question else after.strip()[:500],
                 observed="Observation:" in after and bool(_OBSERVED.search(after)))


def _after_last(pattern: re.Pattern[str], word: str, text: str) -> str | None:
    """The text after the last match of ``pattern`` (which starts with ``word``), trying its last
    :data:`MAX_MARKERS` occurrences; None when none matches."""
    position = text.rfind(word)
    for _ in range(MAX_MARKERS):
        if position < 0:
            break
        found = pattern.match(text, position)
        if found is not None:
            return text[found.end():]
        position = text.rfind(word, 0, position)
    return None


def answer(asked: Asked, rng: random.Random) -> str:
    """The next step: a thought and an action while nothing is observed, else the final answer."""
    if asked.observed:
        return f"I now know the final answer\nFinal Answer: {prose.sentence(rng)} {prose.sentence(rng)}"
    tool = asked.tools[most_relevant(asked.question, [(tool, asked.descriptions[tool]) for tool in asked.tools])]
    return f"{prose.sentence(rng)}\nAction: {tool}\nAction Input: {_input(asked, tool, rng)}"


def _input(asked: Asked, tool: str, rng: random.Random) -> str:
    """A JSON object of the tool's arguments when the prompt names them (``get_weather(city: str)``, CrewAI's
    ``Tool Arguments: {'city': {'type': 'str'}}``), else the entity asked about."""
    arguments = dict(_ARGUMENTS.findall(asked.descriptions[tool]))
    if arguments:
        properties = {name: {"type": _TYPES[kind]} for name, kind in arguments.items()}
        return json.dumps(arguments_for(properties, rng, hint=asked.question))
    return entity_of(asked.question) or asked.question

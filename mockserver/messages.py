"""Reading chat messages: the text a user said, whether a tool result is waiting for an answer.

Matching, rate limits, expectations and the generator all read conversations the same way, from here.
"""

from __future__ import annotations

import re
from typing import Any

_PATH_MODEL = re.compile(r"/models/([^/:]+):[A-Za-z]+$")


def model_in_path(path: str) -> str | None:
    """The model a path names, where the API puts it there (Gemini's ``/v1beta/models/{model}:generateContent``)."""
    named = _PATH_MODEL.search(path)
    return named.group(1) if named else None


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def conversation(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A request's conversation as chat messages: its ``messages``, a Responses request's ``instructions`` and
    ``input`` (a string, or message, function call and function call output items), a Gemini request's
    ``systemInstruction`` and ``contents``, or a completion's ``system`` and ``prompt`` (Ollama's generate)."""
    messages = body.get("messages")
    if isinstance(messages, list):
        return [message for message in messages if isinstance(message, dict)]
    contents = body.get("contents")
    if isinstance(contents, list):
        return _contents(body, contents)
    if isinstance(body.get("prompt"), str):
        system = [{"role": "system", "content": body["system"]}] if isinstance(body.get("system"), str) else []
        return [*system, {"role": "user", "content": body["prompt"]}]
    if "input" not in body:
        return []
    read: list[dict[str, Any]] = []
    if isinstance(body.get("instructions"), str):
        read.append({"role": "system", "content": body["instructions"]})
    given = body["input"]
    for item in [{"role": "user", "content": given}] if isinstance(given, str) else given if isinstance(given, list) \
            else []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "message":
            read.append({"role": item.get("role", "user"), "content": item.get("content")})
        elif kind == "function_call_output":
            read.append({"role": "tool", "content": item.get("output")})
        elif kind == "function_call":
            read.append({"role": "assistant", "content": None, "tool_calls": [item]})
    return read


def _contents(body: dict[str, Any], contents: list[Any]) -> list[dict[str, Any]]:
    """Gemini's ``contents`` (roles ``user`` and ``model``, text, ``functionCall`` and ``functionResponse`` parts)
    as chat messages, after its ``systemInstruction`` (either spelling)."""
    read: list[dict[str, Any]] = []
    system = body.get("systemInstruction", body.get("system_instruction"))
    if isinstance(system, dict | str):
        read.append({"role": "system", "content": system if isinstance(system, str) else _parts_text(system)})
    for content in contents:
        if not isinstance(content, dict):
            continue
        parts = [part for part in content.get("parts") or [] if isinstance(part, dict)]
        if content.get("role") == "model":
            calls = [part.get("functionCall", part.get("function_call")) for part in parts]
            said: dict[str, Any] = {"role": "assistant", "content": _parts_text(content) or None}
            if any(isinstance(call, dict) for call in calls):
                said["tool_calls"] = [call for call in calls if isinstance(call, dict)]
            read.append(said)
            continue
        read += [{"role": "tool", "content": str(part.get("functionResponse", part.get("function_response")))}
                 for part in parts if isinstance(part.get("functionResponse", part.get("function_response")), dict)]
        if _parts_text(content):
            read.append({"role": "user", "content": _parts_text(content)})
    return read


def _parts_text(content: dict[str, Any]) -> str:
    return " ".join(str(part["text"]) for part in content.get("parts") or []
                    if isinstance(part, dict) and isinstance(part.get("text"), str) and not part.get("thought"))


_TEXT_RESULT = re.compile(r"\s*(?:Observation|Tool (?:result|output|response)|Function (?:result|output))\s*:",
                          re.IGNORECASE)
"""A user turn that carries a tool's result as text, as frameworks that write their tool history into the
conversation send it (smolagents' ``Observation:``)."""


def is_text_tool_result(text: str) -> bool:
    """Whether a user turn's text is a tool's result written as text (``Observation: …``)."""
    return bool(_TEXT_RESULT.match(text[:256]))


def tool_result_pending(messages: list[dict[str, Any]]) -> bool:
    """True when a tool result arrived after the last user message (so the model should answer): a ``tool``
    message, or a user turn that is a tool's result written as text."""
    for message in reversed(messages):
        role = message.get("role")
        if role in ("tool", "function"):
            return True
        if role == "user":
            return is_text_tool_result(content_text(message.get("content")))
    return False

"""Reading chat messages: the text a user said, whether a tool result is waiting for an answer.

Matching, rate limits, expectations and the generator all read conversations the same way, from here.
"""

from __future__ import annotations

import re
from typing import Any


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
    """A request's conversation as chat messages: its ``messages``, or a Responses request's ``instructions`` and
    ``input`` (a string, or message, function call and function call output items)."""
    messages = body.get("messages")
    if isinstance(messages, list):
        return [message for message in messages if isinstance(message, dict)]
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

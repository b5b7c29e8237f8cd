"""Reading chat messages: the text a user said, whether a tool result is waiting for an answer.

Matching, rate limits, expectations and the generator all read conversations the same way, from here.
"""

from __future__ import annotations

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


def tool_result_pending(messages: list[dict[str, Any]]) -> bool:
    """True when a tool result arrived after the last user message (so the model should answer)."""
    for message in reversed(messages):
        role = message.get("role")
        if role in ("tool", "function"):
            return True
        if role == "user":
            return False
    return False

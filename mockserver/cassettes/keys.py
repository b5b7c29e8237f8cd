"""Matching a request to a recording on its conversation, not on an exact hash of its bytes.

A request's :class:`MatchKey` holds what decides the answer: the endpoint, the model (a dated snapshot
read as its alias), whether it streams, the last user message, the turn (how many assistant messages came
before), whether tool results arrived since that user message, the chain of ``tool_call_id`` values, and
hashes of the system prompt, the tools and the rest of the body in canonical JSON without the volatile
fields (``user``, ``metadata``, stream options, ids, timestamps). Two requests match when every field but
the chain and the rest-of-body hash agree; those two rank among several matches. The fields that differ
from the nearest recording are what a miss reports.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, fields
from typing import Any

import orjson

from mockserver.messages import content_text, conversation, last_user_text, tool_result_pending

VOLATILE_FIELDS = frozenset({"user", "metadata", "stream_options", "store", "service_tier", "safety_identifier",
                             "prompt_cache_key", "request_id", "timestamp", "created"})
DATED_SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")
REQUIRED = ("method", "path", "model", "stream", "last_user", "turn", "tool_results", "system", "tools")
"""The fields that must agree for a recording to answer a request."""


@dataclass(frozen=True)
class MatchKey:
    method: str
    path: str
    model: str
    stream: bool
    last_user: str
    turn: int
    tool_results: bool
    system: str
    tools: str
    tool_call_ids: tuple[str, ...]
    body: str

    def differences(self, other: MatchKey) -> list[str]:
        """The names of the required fields whose values differ."""
        return [name for name in REQUIRED if getattr(self, name) != getattr(other, name)]

    def rank(self, other: MatchKey) -> tuple[int, int, int]:
        """How close ``other`` is: required fields that agree, then the tool-call chain, then the whole body."""
        agree = sum(getattr(self, name) == getattr(other, name) for name in REQUIRED)
        return agree, int(self.tool_call_ids == other.tool_call_ids), int(self.body == other.body)

    def describe(self, name: str) -> str:
        value = getattr(self, name)
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        return text if len(text) <= 80 else text[:77] + "..."

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(item.name for item in fields(cls))


def model_alias(model: Any) -> str:
    """``gpt-4o-2024-08-06`` → ``gpt-4o``: a dated snapshot matches its alias."""
    return DATED_SNAPSHOT.sub("", str(model or ""))


def match_key(method: str, path: str, body: Any, stream_default: bool = False) -> MatchKey:
    """The key of a request; ``stream_default``: whether a body without ``stream`` streams (its dialect's
    ``streams_by_default``: Ollama's do)."""
    body = body if isinstance(body, dict) else {}
    messages = conversation(body)
    system = "\n".join(content_text(message.get("content")) for message in messages
                       if message.get("role") in ("system", "developer"))
    chain = tuple(str(message.get("tool_call_id") or message.get("call_id"))
                  for message in messages if message.get("role") == "tool")
    rest = {name: value for name, value in body.items() if name not in VOLATILE_FIELDS}
    return MatchKey(
        method=method.upper(),
        path=path,
        model=model_alias(body.get("model")),
        stream=bool(body.get("stream", stream_default)),
        last_user=last_user_text(messages),
        turn=sum(1 for message in messages if message.get("role") == "assistant"),
        tool_results=tool_result_pending(messages),
        system=_digest(system),
        tools=_digest(body.get("tools") or []),
        tool_call_ids=chain,
        body=_digest(rest),
    )


def _digest(value: Any) -> str:
    if isinstance(value, str) and not value:
        return ""
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]

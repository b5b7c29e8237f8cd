"""A generated turn as Anthropic's ``Message``, and as the stream of events the SDK reads.

Blocks come in the API's order: a signed ``thinking`` block (when thinking is on), a web search's
``server_tool_use`` and ``web_search_tool_result`` blocks (:mod:`.server_tools`), the ``text`` block, then the
``tool_use`` blocks (ids ``toolu_``, ``input`` the parsed arguments). The stream sends, each with its ``event:``
line, ``message_start`` (the message with no content, its ``usage`` with the cache fields and one output token),
for every block ``content_block_start``, its deltas (``thinking_delta`` pieces and one ``signature_delta``;
``text_delta``; ``input_json_delta``, the first with an empty ``partial_json``) and ``content_block_stop`` (a
``ping`` after the first block's start), then ``message_delta`` (``stop_reason``, ``stop_sequence``, the usage)
and ``message_stop``. The pieces are the tokens the generator cut, so the stream rebuilds the same message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from mockserver.asgi.outgoing import event_frame
from mockserver.determinism import Identity
from mockserver.endpoints.anthropic.caching import CacheUse
from mockserver.endpoints.anthropic.wire import PING
from mockserver.generation.chat import ToolCall


@dataclass
class Turn:
    """What the model says, in the pieces a stream carries."""

    message_id: str
    model: str
    thinking: list[str]
    signature: str
    text: list[str] | None
    calls: list[ToolCall]
    stop_reason: str
    stop_sequence: str | None
    input_tokens: int  # after the cache's share
    output_tokens: int
    cache: CacheUse
    searched: list[dict[str, Any]] = field(default_factory=list)  # server tool blocks, before the answer

    def usage(self) -> dict[str, Any]:
        searches = sum(1 for block in self.searched if block["type"] == "server_tool_use")
        server = {"server_tool_use": {"web_search_requests": searches, "web_fetch_requests": 0}} if searches else {}
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache.written_total,
            "cache_read_input_tokens": self.cache.read,
            "cache_creation": {"ephemeral_5m_input_tokens": self.cache.written["5m"],
                               "ephemeral_1h_input_tokens": self.cache.written["1h"]},
            "output_tokens": self.output_tokens,
            "service_tier": "standard",
            **server,
        }


def tool_use_id(call: ToolCall) -> str:
    return Identity.make_id("toolu_01", call.id.encode(), 22)


def tool_input(call: ToolCall) -> dict[str, Any]:
    """The call's arguments as the ``input`` object (``{}`` for arguments cut short: a block must hold one)."""
    try:
        parsed = orjson.loads(call.arguments or "{}")
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def blocks(turn: Turn) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if turn.thinking:
        out.append({"type": "thinking", "thinking": "".join(turn.thinking), "signature": turn.signature})
    out += turn.searched
    if turn.text is not None and (turn.text or not turn.calls):
        out.append({"type": "text", "text": "".join(turn.text)})
    out += [{"type": "tool_use", "id": tool_use_id(call), "name": call.name, "input": tool_input(call)}
            for call in turn.calls]
    return out


def message(turn: Turn) -> dict[str, Any]:
    return {"id": turn.message_id, "type": "message", "role": "assistant", "model": turn.model,
            "content": blocks(turn), "stop_reason": turn.stop_reason, "stop_sequence": turn.stop_sequence,
            "usage": turn.usage()}


def frames(turn: Turn) -> list[bytes]:
    start_usage = {**turn.usage(), "output_tokens": min(1, turn.output_tokens)}
    out = [event_frame({"type": "message_start", "message": {
        "id": turn.message_id, "type": "message", "role": "assistant", "model": turn.model, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": start_usage}})]
    index = 0

    def block(start: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
        nonlocal index
        out.append(event_frame({"type": "content_block_start", "index": index, "content_block": start}))
        if index == 0:
            out.append(PING)
        out.extend(event_frame({"type": "content_block_delta", "index": index, "delta": delta}) for delta in deltas)
        out.append(event_frame({"type": "content_block_stop", "index": index}))
        index += 1

    if turn.thinking:
        block({"type": "thinking", "thinking": "", "signature": ""},
              [{"type": "thinking_delta", "thinking": piece} for piece in turn.thinking]
              + [{"type": "signature_delta", "signature": turn.signature}])
    for searched in turn.searched:
        if searched["type"] == "server_tool_use":
            block({**searched, "input": {}}, [{"type": "input_json_delta", "partial_json": piece}
                                              for piece in ("", orjson.dumps(searched["input"]).decode())])
        else:
            block(searched, [])
    if turn.text is not None and (turn.text or not turn.calls):
        block({"type": "text", "text": ""}, [{"type": "text_delta", "text": piece} for piece in turn.text])
    for call in turn.calls:
        block({"type": "tool_use", "id": tool_use_id(call), "name": call.name, "input": {}},
              [{"type": "input_json_delta", "partial_json": piece} for piece in ["", *call.argument_pieces]])
    usage = turn.usage()
    kept = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens",
            "server_tool_use")
    out.append(event_frame({"type": "message_delta",
                            "delta": {"stop_reason": turn.stop_reason, "stop_sequence": turn.stop_sequence},
                            "usage": {key: usage[key] for key in kept if key in usage}}))
    out.append(event_frame({"type": "message_stop"}))
    return out


__all__ = ["PING", "Turn", "blocks", "frames", "message", "tool_input", "tool_use_id"]

"""A Responses answer as the stream the real API sends: typed ``event:`` + ``data:`` frames in the spec's order.

``response.created`` and ``response.in_progress`` (the response with no output yet), then each output item
in turn: ``response.output_item.added``; for reasoning, a summary part with its text a token at a time; for
a message, ``response.content_part.added``, ``response.output_text.delta`` a token at a time,
``response.output_text.done``, ``response.content_part.done``; for a function call,
``response.function_call_arguments.delta`` then ``.done``; ``response.output_item.done``; and last
``response.completed`` (or ``response.incomplete``) with the whole response, equal to the JSON answer.
``sequence_number`` counts from 0; item ids are the final ones throughout.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from mockserver.asgi.outgoing import event_frame
from mockserver.generation.chat import Choice

RESPONSE_ERROR_CODES = ("server_error", "rate_limit_exceeded", "invalid_prompt")
"""The codes of the spec's ``ResponseErrorCode`` a fault's code is kept as; any other is a ``server_error``."""


HOSTED_EVENTS = ("web_search_call", "file_search_call", "code_interpreter_call", "image_generation_call", "mcp_call",
                 "mcp_list_tools")
"""The hosted tools' items with ``response.<type>.in_progress`` and ``.completed`` events of their own."""


class _Events:
    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def add(self, kind: str, **fields: Any) -> None:
        self.frames.append(event_frame({"type": kind, "sequence_number": len(self.frames), **fields}))


def frames(response: dict[str, Any], choice: Choice) -> list[bytes]:
    events = _Events()
    opening = {**copy.deepcopy(response), "status": "in_progress", "output": [], "completed_at": None,
               "incomplete_details": None, "output_text": ""}
    del opening["usage"]  # not known yet: the spec's schema has no null for it
    events.add("response.created", response=opening)
    events.add("response.in_progress", response=opening)
    calls = iter(choice.tool_calls)
    for index, item in enumerate(response["output"]):
        kind = item["type"]
        if kind == "reasoning":
            _reasoning(events, index, item, choice)
        elif kind == "function_call":
            _function_call(events, index, item, next(calls).argument_pieces)
        elif kind == "message":
            _message(events, index, item, choice.content or [], choice.logprobs)
        else:
            _hosted(events, index, item)
    events.add("response.incomplete" if response["status"] == "incomplete" else "response.completed",
               response=response)
    return events.frames


def failure(response: dict[str, Any]) -> Callable[[str, str, str | None, int], bytes]:
    """How this stream fails mid-way (an ``error_event`` fault), as the API's do: an ``error`` event, then
    ``response.failed`` with the response so far, ``status: failed`` and its ``error``."""

    def frames(message: str, kind: str, code: str | None, sequence: int) -> bytes:
        error = event_frame({"type": "error", "code": code or kind, "message": message, "param": None,
                             "sequence_number": sequence})
        reason = code if code in RESPONSE_ERROR_CODES else "server_error"
        failed = {**response, "status": "failed", "output": [], "output_text": "", "completed_at": None,
                  "error": {"code": reason, "message": message}}
        del failed["usage"]
        return error + event_frame({"type": "response.failed", "sequence_number": sequence + 1, "response": failed})

    return frames


def _reasoning(events: _Events, index: int, item: dict[str, Any], choice: Choice) -> None:
    events.add("response.output_item.added", output_index=index, item={**item, "summary": []})
    if item["summary"]:
        part = {"type": "summary_text", "text": ""}
        events.add("response.reasoning_summary_part.added", item_id=item["id"], output_index=index, summary_index=0,
                   part=part)
        for piece in choice.reasoning:
            events.add("response.reasoning_summary_text.delta", item_id=item["id"], output_index=index,
                       summary_index=0, delta=piece)
        text = item["summary"][0]["text"]
        events.add("response.reasoning_summary_text.done", item_id=item["id"], output_index=index, summary_index=0,
                   text=text)
        events.add("response.reasoning_summary_part.done", item_id=item["id"], output_index=index, summary_index=0,
                   part={"type": "summary_text", "text": text})
    events.add("response.output_item.done", output_index=index, item=item)


def _hosted(events: _Events, index: int, item: dict[str, Any]) -> None:
    """A hosted tool's call (``web_search_call``…): added, its own in-progress and completed events, done."""
    kind = item["type"]
    events.add("response.output_item.added", output_index=index,
               item={**item, "status": "in_progress"} if "status" in item else item)
    if kind in HOSTED_EVENTS:
        events.add(f"response.{kind}.in_progress", output_index=index, item_id=item["id"])
        events.add(f"response.{kind}.completed", output_index=index, item_id=item["id"])
    events.add("response.output_item.done", output_index=index, item=item)


def _function_call(events: _Events, index: int, item: dict[str, Any], pieces: list[str]) -> None:
    events.add("response.output_item.added", output_index=index,
               item={**item, "arguments": "", "status": "in_progress"})
    for piece in pieces:
        events.add("response.function_call_arguments.delta", item_id=item["id"], output_index=index, delta=piece)
    events.add("response.function_call_arguments.done", item_id=item["id"], output_index=index,
               name=item["name"], arguments=item["arguments"])
    events.add("response.output_item.done", output_index=index, item=item)


def _message(events: _Events, index: int, item: dict[str, Any], pieces: list[str],
             logprobs: list[dict[str, Any]] | None) -> None:
    events.add("response.output_item.added", output_index=index,
               item={**item, "status": "in_progress", "content": []})
    empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    events.add("response.content_part.added", item_id=item["id"], output_index=index, content_index=0, part=empty)
    for position, piece in enumerate(pieces):
        events.add("response.output_text.delta", item_id=item["id"], output_index=index, content_index=0,
                   delta=piece, logprobs=logprobs[position : position + 1] if logprobs else [])
    part = item["content"][0]
    events.add("response.output_text.done", item_id=item["id"], output_index=index, content_index=0,
               text=part["text"], logprobs=part["logprobs"])
    events.add("response.content_part.done", item_id=item["id"], output_index=index, content_index=0, part=part)
    events.add("response.output_item.done", output_index=index, item=item)

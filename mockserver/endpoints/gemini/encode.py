"""A generated turn as Gemini's ``GenerateContentResponse``, and as the chunks of its stream.

A candidate's ``content`` is ``{"role": "model", "parts": [...]}``: thought parts (``{"text", "thought": true}``,
when ``includeThoughts`` asks), the text, then one ``functionCall`` part per call (``id``, ``name``, ``args``
parsed), the first carrying the turn's ``thoughtSignature`` when the model thought. ``finishReason`` comes from the
API's enum only (a function call ends with ``STOP``; there is no ``FUNCTION_CALL``). ``usageMetadata`` counts
``candidatesTokenCount`` without the thoughts, which are ``thoughtsTokenCount``; ``totalTokenCount`` is all three.

A stream sends the same parts in order, a few tokens a chunk (each chunk a whole ``GenerateContentResponse``
naming ``modelVersion`` and ``responseId``), the last chunk with ``finishReason`` and the usage. With ``alt=sse``
each chunk is one ``data:`` frame with no event name and no ``[DONE]``; without it the chunks are the elements of
one JSON array, as the REST API streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from mockserver.generation.chat import ToolCall

CHUNK_TOKENS = 8
"""Text tokens a stream chunk carries (the API sends a few words a chunk, not one token)."""
FINISH_REASONS = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP", "content_filter": "SAFETY"}
HARM_CATEGORIES = ("HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_DANGEROUS_CONTENT", "HARM_CATEGORY_HARASSMENT",
                   "HARM_CATEGORY_SEXUALLY_EXPLICIT")


@dataclass
class Candidate:
    """One candidate's parts, in the pieces a stream carries."""

    index: int
    thoughts: list[str]  # shown only when the request includes thoughts; counted always
    text: list[str]
    calls: list[tuple[str, ToolCall]]  # (the call's id, the call)
    finish_reason: str
    signature: str  # the thought signature of a model that thought, else ""
    output_tokens: int  # the answer's, without thoughts
    thought_tokens: int
    safety: list[dict[str, Any]] | None = None  # ratings, where the prompt touched a category


@dataclass
class Turn:
    response_id: str
    model_version: str
    candidates: list[Candidate]
    prompt_tokens: int
    show_thoughts: bool

    def usage(self) -> dict[str, Any]:
        output = sum(candidate.output_tokens for candidate in self.candidates)
        thoughts = sum(candidate.thought_tokens for candidate in self.candidates)
        usage: dict[str, Any] = {"promptTokenCount": self.prompt_tokens}
        if output:
            usage["candidatesTokenCount"] = output
        usage["totalTokenCount"] = self.prompt_tokens + output + thoughts
        usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": self.prompt_tokens}]
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        return usage


def function_call(call_id: str, call: ToolCall) -> dict[str, Any]:
    try:
        args = orjson.loads(call.arguments or "{}")
    except orjson.JSONDecodeError:
        args = {}
    return {"id": call_id, "name": call.name, "args": args if isinstance(args, dict) else {}}


def call_parts(candidate: Candidate) -> list[dict[str, Any]]:
    """A part per function call, the first signed when the model thought."""
    out: list[dict[str, Any]] = [{"functionCall": function_call(call_id, call)} for call_id, call in candidate.calls]
    if out and candidate.signature:
        out[0]["thoughtSignature"] = candidate.signature
    return out


def parts(candidate: Candidate, show_thoughts: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if show_thoughts and candidate.thoughts:
        out.append({"text": "".join(candidate.thoughts), "thought": True})
    if candidate.text:
        out.append({"text": "".join(candidate.text)})
    if candidate.signature and not candidate.calls and out:
        out[-1]["thoughtSignature"] = candidate.signature
    return out + call_parts(candidate)


def _candidate(candidate: Candidate, content_parts: list[dict[str, Any]], finished: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if content_parts:
        out["content"] = {"parts": content_parts, "role": "model"}
    if finished:
        out["finishReason"] = candidate.finish_reason
    if candidate.safety is not None and finished:
        out["safetyRatings"] = candidate.safety
    out["index"] = candidate.index
    return out


def response(turn: Turn) -> dict[str, Any]:
    body: dict[str, Any] = {
        "candidates": [_candidate(candidate, parts(candidate, turn.show_thoughts), True)
                       for candidate in turn.candidates]}
    body.update(usageMetadata=turn.usage(), modelVersion=turn.model_version, responseId=turn.response_id)
    return body


def chunks(turn: Turn) -> list[dict[str, Any]]:
    """The stream's chunks: each candidate's parts a few tokens at a time; the last chunk finishes the candidates
    and carries the usage (for one candidate, its last piece of content comes with it)."""
    pieces: list[tuple[Candidate, list[dict[str, Any]]]] = []
    for candidate in turn.candidates:
        if turn.show_thoughts and candidate.thoughts:
            pieces += [(candidate, [{"text": "".join(candidate.thoughts[start:start + CHUNK_TOKENS]), "thought": True}])
                       for start in range(0, len(candidate.thoughts), CHUNK_TOKENS)]
        pieces += [(candidate, [{"text": "".join(candidate.text[start:start + CHUNK_TOKENS])}])
                   for start in range(0, len(candidate.text), CHUNK_TOKENS)]
        if candidate.signature and not candidate.calls and pieces and pieces[-1][0] is candidate:
            pieces[-1][1][-1]["thoughtSignature"] = candidate.signature
        pieces += [(candidate, [part]) for part in call_parts(candidate)]
    closing = [turn.usage(), turn.model_version, turn.response_id]
    out = [{"candidates": [_candidate(candidate, content, False)], "modelVersion": turn.model_version,
            "responseId": turn.response_id} for candidate, content in pieces]
    if len(turn.candidates) == 1 and pieces:
        candidate, content = pieces[-1]
        last: dict[str, Any] = {"candidates": [_candidate(candidate, content, True)]}
        out.pop()
    else:
        last = {"candidates": [_candidate(candidate, [], True) for candidate in turn.candidates]}
    last.update(zip(("usageMetadata", "modelVersion", "responseId"), closing, strict=True))
    out.append(last)
    return out


def sse_frames(turn: Turn) -> list[bytes]:
    return [b"data: " + orjson.dumps(chunk) + b"\r\n\r\n" for chunk in chunks(turn)]


def array_frames(turn: Turn) -> list[bytes]:
    """The chunks as the elements of one JSON array, an element a frame."""
    encoded = [orjson.dumps(chunk) for chunk in chunks(turn)]
    return [(b"[" if index == 0 else b",\r\n") + body for index, body in enumerate(encoded)] + [b"]"]


__all__ = ["CHUNK_TOKENS", "FINISH_REASONS", "HARM_CATEGORIES", "Candidate", "Turn", "array_frames", "call_parts",
           "chunks", "function_call", "parts", "response", "sse_frames"]

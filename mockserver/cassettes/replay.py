"""Giving a recorded answer back: the same status, headers and frames, at the recorded pace.

A stream's frames leave at their recorded offsets divided by the replay speed (0: as fast as possible);
a pacing fault (``ttft``, ``tokens_per_second``) replaces the recorded pace, and every other fault acts on
the replayed frames exactly as on generated ones, since they travel the same wire layer. Ids are kept as
recorded, or made anew from the server's seed (``--replay-ids seeded``); usage is kept, or counted again
with the tokenizer for this request (``--replay-usage recomputed``).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import anyio
import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mockserver.asgi.context import CONTEXT_KEY
from mockserver.asgi.outgoing import NDJSON_MEDIA_TYPE, SSE_HEADERS
from mockserver.cassettes.format import Frame, Interaction
from mockserver.generation.tokens import encoding_for_model, tokenizer

PACING_FAULTS = frozenset({"ttft", "tokens_per_second"})
ID_VALUE = re.compile(
    r'"((?:chatcmpl|resp|msg|call|fc|rs|ctc|item|cmpl|req|batch|file|run|step|toolu|srvtoolu|msgbatch)'
    r'[-_][A-Za-z0-9_\-]{6,})"'
)


class ReplayedFrames(Response):
    """Recorded SSE frames (or JSON lines), each sent at its offset from the start divided by ``speed``."""

    def __init__(self, frames: list[Frame], headers: dict[str, str], speed: float) -> None:
        self.status_code = 200
        self.background = None
        self.frames = frames
        self.speed = speed
        extra = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
                 if name != "content-type"]
        lines = headers.get("content-type", "").startswith(NDJSON_MEDIA_TYPE)
        self.end = b"\n" if lines else b"\n\n"  # a JSON line, or an SSE frame
        self.raw_headers = ([(b"content-type", NDJSON_MEDIA_TYPE.encode())] if lines else SSE_HEADERS) + extra

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        context = scope.get(CONTEXT_KEY)
        paced_by_fault = context is not None and any(fault.name in PACING_FAULTS for fault in context.faults or ())
        speed = 0.0 if paced_by_fault else self.speed
        started = anyio.current_time()
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        try:
            for frame in self.frames:
                if speed > 0:
                    wait = started + frame.t / 1000 / speed - anyio.current_time()
                    if wait > 0:
                        await anyio.sleep(wait)
                await send({"type": "http.response.body", "body": frame.data.encode() + self.end, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            return


def replayed(interaction: Interaction, *, speed: float, id_seed: bytes | None,
             usage_for: dict[str, Any] | None) -> Response:
    """The response ``interaction`` recorded, with ids made anew from ``id_seed`` when given, and usage counted for
    the request ``usage_for`` when given."""
    mapping = _new_ids(interaction, id_seed) if id_seed is not None else {}
    headers = dict(interaction.response_headers)
    if interaction.frames is not None:
        frames = [Frame(frame.t, _swap(frame.data, mapping)) for frame in interaction.frames]
        if usage_for is not None:
            frames = [Frame(frame.t, _recount_frame(frame.data, interaction, usage_for)) for frame in frames]
        return ReplayedFrames(frames, headers, speed)
    body = interaction.body
    if mapping:
        body = orjson.loads(_swap(orjson.dumps(body).decode(), mapping))
    if usage_for is not None and isinstance(body, dict) and isinstance(body.get("usage"), dict):
        body = {**body, "usage": _recounted(body["usage"], interaction, usage_for)}
    content = b"" if body is None else body.encode() if isinstance(body, str) else orjson.dumps(body)
    headers.setdefault("content-type", "application/json")
    return Response(content, status_code=interaction.status, headers=headers)


def _new_ids(interaction: Interaction, seed: bytes) -> dict[str, str]:
    texts = [frame.data for frame in interaction.frames] if interaction.frames is not None else [
        orjson.dumps(interaction.body).decode()]
    found: dict[str, str] = {}
    for text in texts:
        for old in ID_VALUE.findall(text):
            if old not in found:
                prefix = re.match(r"[a-z]+[-_]", old)
                head = prefix.group() if prefix else ""
                digest = hashlib.sha256(seed + old.encode()).hexdigest()
                found[old] = head + digest[: max(8, len(old) - len(head))]
    return found


def _swap(text: str, mapping: dict[str, str]) -> str:
    for old, new in mapping.items():
        text = text.replace(old, new)
    return text


def _recounted(usage: dict[str, Any], interaction: Interaction, request: dict[str, Any]) -> dict[str, Any]:
    """``usage`` with the prompt counted for ``request`` and the completion counted from the recorded turn."""
    vocabulary = tokenizer(encoding_for_model(str(request.get("model") or "")))
    messages = request.get("messages") if isinstance(request.get("messages"), list) else []
    prompt = vocabulary.count_prompt(messages, request.get("tools")) if messages else usage.get("prompt_tokens", 0)
    turn = interaction.turn or {}
    completion = vocabulary.count(str(turn.get("text") or "")) + sum(
        vocabulary.count(str(call.get("name", ""))) + vocabulary.count(str(call.get("arguments", "")))
        for call in turn.get("tool_calls") or ())
    recounted = {**usage, "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    if "input_tokens" in usage and "total_tokens" in usage:  # the Responses API's names
        recounted = {**usage, "input_tokens": prompt, "output_tokens": completion, "total_tokens": prompt + completion}
    elif "input_tokens" in usage or "output_tokens" in usage:  # Anthropic's: no total, cache fields kept
        recounted = {**usage, **({"input_tokens": prompt} if "input_tokens" in usage else {}),
                     **({"output_tokens": completion} if "output_tokens" in usage else {})}
    return recounted


def _recount_frame(data: str, interaction: Interaction, request: dict[str, Any]) -> str:
    if '"usage":{' not in data.replace(" ", ""):
        return data
    head, _, payload = data.rpartition("data: ")
    try:
        event = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return data
    if isinstance(event.get("usage"), dict):
        event["usage"] = _recounted(event["usage"], interaction, request)
    elif isinstance(event.get("response"), dict) and isinstance(event["response"].get("usage"), dict):
        event["response"]["usage"] = _recounted(event["response"]["usage"], interaction, request)
    elif event.get("type") == "message_start" and isinstance(event.get("message"), dict) \
            and isinstance(event["message"].get("usage"), dict):  # Anthropic's: the prompt now, the output at the end
        usage = event["message"]["usage"]
        event["message"]["usage"] = {**usage, "input_tokens": _recounted(usage, interaction, request)["input_tokens"]}
    return head + "data: " + orjson.dumps(event).decode()


def normalised_turn(body: Any, frames: list[Frame] | None) -> dict[str, Any] | None:
    """What the assistant said, from a chat, Responses, Anthropic, Gemini or Ollama answer (a body or a stream):
    role, text, tool calls, usage. None for an answer that is not a turn (an error, an embedding)."""
    events = [body] if frames is None else [_event(frame.data) for frame in frames]
    text: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    usage = None
    for event in events:
        if not isinstance(event, dict):
            continue
        usage = event.get("usage") or usage
        choices = event.get("choices")
        for choice in choices if isinstance(choices, list) else ():
            part = (choice.get("message") or choice.get("delta")) if isinstance(choice, dict) else None
            if not isinstance(part, dict):
                continue
            text.append(str(part.get("content") or ""))
            for position, call in enumerate(part.get("tool_calls") or ()):
                if not isinstance(call, dict):
                    continue
                slot = calls.setdefault(call.get("index", position), {"name": "", "arguments": ""})
                function = call.get("function")
                if not isinstance(function, dict):
                    function = {}
                slot["name"] += str(function.get("name") or "")
                slot["arguments"] += str(function.get("arguments") or "")
        response = event.get("response") if isinstance(event.get("response"), dict) else (
            event if event.get("object") == "response" else None)
        if response is not None and response.get("status") in ("completed", "incomplete"):
            text, calls, usage = _response_turn(response)
        usage = _anthropic_event(event, text, calls) or _native_event(event, text, calls) or usage
    if not text and not calls:
        return None
    return {"role": "assistant", "text": "".join(text), "tool_calls": list(calls.values()), "usage": usage}


def _anthropic_event(event: dict[str, Any], text: list[str], calls: dict[int, dict[str, str]]) -> Any:
    """What an Anthropic message, or one event of its stream, adds to the turn; its usage, if it has one."""
    kind = event.get("type")
    if kind == "message":
        for position, block in enumerate(event.get("content") or ()):
            if isinstance(block, dict) and block.get("type") == "text":
                text.append(str(block.get("text") or ""))
            elif isinstance(block, dict) and block.get("type") == "tool_use":
                calls[position] = {"name": str(block.get("name") or ""),
                                   "arguments": orjson.dumps(block.get("input") or {}).decode()}
        return event.get("usage")
    index = event.get("index")
    if kind == "content_block_start" and isinstance(event.get("content_block"), dict):
        block = event["content_block"]
        if block.get("type") == "tool_use" and isinstance(index, int):
            calls[index] = {"name": str(block.get("name") or ""), "arguments": ""}
    elif kind == "content_block_delta" and isinstance(event.get("delta"), dict):
        delta = event["delta"]
        if delta.get("type") == "text_delta":
            text.append(str(delta.get("text") or ""))
        elif delta.get("type") == "input_json_delta" and index in calls:
            calls[index]["arguments"] += str(delta.get("partial_json") or "")
    elif kind == "message_delta":
        return event.get("usage")
    return None


def _native_event(event: dict[str, Any], text: list[str], calls: dict[int, dict[str, str]]) -> Any:
    """What a Gemini answer (or chunk) or an Ollama answer (or line) adds to the turn; its usage, if it has one."""
    candidates = event.get("candidates")
    first = candidates[0] if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict) else {}
    for part in (first.get("content") or {}).get("parts") or ():
        if isinstance(part, dict) and isinstance(part.get("text"), str) and not part.get("thought"):
            text.append(part["text"])
        elif isinstance(part, dict) and isinstance(part.get("functionCall"), dict):
            call = part["functionCall"]
            calls[len(calls)] = {"name": str(call.get("name") or ""),
                                 "arguments": orjson.dumps(call.get("args") or {}).decode()}
    said = event.get("message") if isinstance(event.get("message"), dict) else None
    if said is not None or isinstance(event.get("response"), str):  # Ollama's chat or generate
        text.append(str((said or {}).get("content") or event.get("response") or ""))
        for call in (said or {}).get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                calls[len(calls)] = {"name": str(function.get("name") or ""),
                                     "arguments": orjson.dumps(function.get("arguments") or {}).decode()}
        if event.get("done"):
            return {"prompt_eval_count": event.get("prompt_eval_count"), "eval_count": event.get("eval_count")}
    return event.get("usageMetadata")


def _response_turn(response: dict[str, Any]) -> tuple[list[str], dict[int, dict[str, str]], Any]:
    text: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    output = response.get("output")
    for position, item in enumerate(output if isinstance(output, list) else ()):
        if not isinstance(item, dict):
            continue
        if item.get("type") == "message":
            text += [part.get("text") or "" for part in item.get("content") or () if part.get("type") == "output_text"]
        elif item.get("type") == "function_call":
            calls[position] = {"name": item.get("name") or "", "arguments": item.get("arguments") or ""}
    return text, calls, response.get("usage")


def _event(data: str) -> Any:
    payload = data.rpartition("data: ")[2]
    if payload.strip() == "[DONE]":
        return None
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None

"""``POST /v1/complete``: Anthropic's legacy Text Completions API (gone from its SDK since 2.0, still served).

The prompt alternates ``\\n\\nHuman:`` and ``\\n\\nAssistant:`` turns (after an optional system text) and ends with
an ``\\n\\nAssistant:`` turn; it is read as the chat request it stands for and answered by the shared chat service.
The answer is ``{"type": "completion", "id", "completion", "stop_reason", "model"}`` (``stop_sequence`` at the end
of a turn or at one of ``stop_sequences``, ``max_tokens`` when cut by ``max_tokens_to_sample``); streamed, one
``completion`` event a token, the last with its ``stop_reason``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from mockserver.asgi.outgoing import FramesResponse, event_frame, json_response
from mockserver.control.decision import Decision
from mockserver.determinism import Identity
from mockserver.endpoints.anthropic.conversation import invalid
from mockserver.endpoints.anthropic.wire import error_frame
from mockserver.endpoints.base import Call

if TYPE_CHECKING:
    from mockserver.app.state import AppState

HUMAN, ASSISTANT = "\n\nHuman:", "\n\nAssistant:"
_TURN = re.compile(r"(\n\nHuman:|\n\nAssistant:)")


async def complete(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    chat = {"model": body["model"], "messages": turns(body["prompt"]),
            "max_completion_tokens": body["max_tokens_to_sample"], "reasoning_effort": "none"}
    completion = await state.chat.generate(call.dialect, chat, decision, call.context.body_bytes)
    choice = completion.choices[0]
    pieces = choice.content or []
    stop_reason = "max_tokens" if choice.finish_reason == "length" else "stop_sequence"
    text = "".join(pieces)
    for stop in body.get("stop_sequences") or []:
        if stop and stop in text:
            text, stop_reason = text[:text.index(stop)], "stop_sequence"
            pieces = [text] if text else []
    call.report_usage(completion.prompt_tokens, choice.completion_tokens)
    completion_id = Identity.make_id("compl_01", completion.id.encode(), 22)
    answer: dict[str, Any] = {"type": "completion", "id": completion_id, "completion": " " + text,
                              "stop_reason": stop_reason, "model": completion.model}
    if not body.get("stream"):
        return json_response(answer)
    call.failure_frames = error_frame
    events: list[dict[str, Any]] = [{**answer, "completion": piece, "stop_reason": None} for piece in [" ", *pieces]]
    frames = [event_frame(event) for event in [*events, {**answer, "completion": ""}]]
    return FramesResponse(frames)


def turns(prompt: str) -> list[dict[str, Any]]:
    """The chat messages of a ``\\n\\nHuman: … \\n\\nAssistant:`` prompt; a 400 for one in another form."""
    if HUMAN not in prompt:
        raise invalid(f"prompt: must start with \"{HUMAN.strip()}\" turn after an optional system prompt")
    if ASSISTANT not in prompt or prompt.rfind(ASSISTANT) < prompt.rfind(HUMAN):
        raise invalid(f"prompt: must end with \"{ASSISTANT.strip()}\" turn")
    parts = _TURN.split(prompt)
    messages: list[dict[str, Any]] = []
    if parts[0].strip():
        messages.append({"role": "system", "content": parts[0].strip()})
    for marker, text in zip(parts[1::2], parts[2::2], strict=True):
        role = "user" if marker == HUMAN else "assistant"
        if text.strip():
            messages.append({"role": role, "content": text.strip()})
    return messages


COMPLETE_SCHEMA = "anthropic/CompletionCreateParams"

__all__ = ["COMPLETE_SCHEMA", "complete", "turns"]

"""``POST /chat/completions``: the chat endpoint (the "generate" and "encode" steps of chat).

Each handler receives a parsed, validated body and the control plane's
decision, and returns the response. Dialect differences arrive as data on
``call.dialect``; no handler is written for one provider only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from mockserver.asgi.outgoing import FramesResponse, json_response
from mockserver.control.decision import Decision
from mockserver.endpoints.base import Call, Endpoint, Stream
from mockserver.endpoints.chat.encode import completion_body, sse_frames
from mockserver.errors import invalid_request
from mockserver.services.chat import lenient_chat_body

if TYPE_CHECKING:
    from mockserver.app.state import AppState

async def chat_completions(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    completion = await state.chat.generate(call.dialect, body, decision, call.context.body_bytes)
    call.report_usage(completion.prompt_tokens, completion.completion_tokens)
    headers = {"x-request-id": completion.request_id}
    reasoning_content = call.dialect.reasoning_content
    if body.get("store"):
        state.stores.completions.put(
            completion_body(completion, reasoning_content=reasoning_content), body["messages"], body.get("metadata")
        )
    if body.get("stream"):
        if any(call.kind == "custom" for choice in completion.choices for call in choice.tool_calls):
            raise invalid_request(
                "Custom tool calls cannot be streamed by this mock: the OpenAI spec it follows defines no stream "
                "delta for them. Use 'stream': false, or a function tool.",
                param="stream",
                code="unsupported_value",
            )
        options = body.get("stream_options") or {}
        frames = sse_frames(
            completion,
            include_usage=bool(options.get("include_usage")),
            reasoning_content=reasoning_content,
            obfuscation=call.dialect.obfuscation and options.get("include_obfuscation", True) is not False,
        )
        return FramesResponse(frames, headers)
    return json_response(completion_body(completion, reasoning_content=reasoning_content), headers=headers)


ENDPOINTS = (
    Endpoint(
        "chat.completions", "chat", "POST", "/chat/completions", chat_completions,
        response="CreateChatCompletionResponse",
        stream=Stream(("CreateChatCompletionStreamResponse", "ErrorResponse")),
        schema="chat_completion", generation=True, lenient=lenient_chat_body,
    ),
)

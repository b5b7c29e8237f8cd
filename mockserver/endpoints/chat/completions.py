"""``POST /chat/completions``: the chat endpoint (the "generate" and "encode" steps of chat).

Each handler receives a parsed, validated body and the control plane's
decision, and returns the response. Dialect differences arrive as data on
``call.dialect``; no handler is written for one provider only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from mockserver.asgi.responses import FramesResponse, json_response
from mockserver.control.decision import Decision
from mockserver.determinism import digest
from mockserver.dialects import semantics
from mockserver.dialects.catalog import Character
from mockserver.endpoints.base import Call, Endpoint, Stream
from mockserver.endpoints.chat.encode import completion_body, sse_frames
from mockserver.endpoints.models import resolve_model
from mockserver.errors import ApiError, invalid_request
from mockserver.generation import media
from mockserver.generation.chat import Completion
from mockserver.generation.tokens import encoding_for_model, tokenizer

if TYPE_CHECKING:
    from mockserver.state import AppState

# Fields that change how the answer travels, is billed, cut or annotated, not what the model
# says: a stop sequence or a token limit truncates the very text the request would otherwise get.
NON_CONTENT_FIELDS = frozenset(
    {"stream", "stream_options", "user", "metadata", "store", "service_tier", "safety_identifier",
     "prompt_cache_key", "prompt_cache_retention", "stop", "max_tokens", "max_completion_tokens",
     "n", "logprobs", "top_logprobs"}
)



def resolve_persona(state: AppState, call: Call, body: dict[str, Any]) -> Character | None:
    if not call.dialect.persona or body.get("character_id") is None:
        return None
    character = state.characters.get(str(body["character_id"]))
    if character is None:
        raise ApiError(
            404,
            f"Character '{body['character_id']}' not found. List the available ids with GET /characters.",
            param="character_id",
            code="character_not_found",
        )
    return character


def require_system_message(body: dict[str, Any]) -> None:
    if not any(message.get("role") in ("system", "developer") for message in body["messages"]):
        raise invalid_request(
            "The conversation must include a system or developer message: add "
            "{'role': 'system', 'content': '...'} as the first message.",
            param="messages",
            code="missing_system_message",
        )


def complete_chat(
    state: AppState, call: Call, body: dict[str, Any], decision: Decision, prompt_tokens: int | None = None
) -> Completion:
    """Generate the completion for a chat body (validated, or cleaned by :func:`lenient_chat_body`).

    The chat endpoint encodes it as JSON or SSE; Serika's legacy ``/generate/text``
    answers with its text. Both get the same dialect rules, persona and semantics.
    """
    model = resolve_model(state, call, body["model"])
    if call.dialect.require_system_message and state.config.validation != "off":
        require_system_message(body)
    persona = resolve_persona(state, call, body)
    vocabulary = tokenizer(encoding_for_model(model.id))
    if prompt_tokens is None:
        prompt_tokens = vocabulary.count_prompt(body["messages"], body.get("tools"))
    if state.config.validation == "strict":
        semantics.check_chat(body, model, prompt_tokens, dialect=call.dialect.name)
    content_key = {key: value for key, value in body.items() if key not in NON_CONTENT_FIELDS}
    content_key["@dialect"] = call.dialect.name
    return state.chat.complete(
        body,
        model=model,
        tokenizer=vocabulary,
        prompt_tokens=prompt_tokens,
        request_digest=digest(content_key, state.config.seed),
        script=decision.script,
        persona=persona,
    )


LARGE_BODY = 256 * 1024
"""A chat body past this many bytes (about 40 ms of tokenizing at 3 µs a token) has its prompt counted in slices
that let the event loop run between them."""


async def generate_chat(state: AppState, call: Call, body: dict[str, Any], decision: Decision) -> Completion:
    """:func:`complete_chat`, its prompt counted without holding the event loop when the body is past
    :data:`LARGE_BODY`."""
    prompt_tokens = None
    if int(call.request.headers.get("content-length") or 0) > LARGE_BODY and isinstance(body.get("messages"), list):
        model = resolve_model(state, call, body["model"])
        vocabulary = tokenizer(encoding_for_model(model.id))
        async with state.heavy_work:
            prompt_tokens = await vocabulary.count_prompt_yielding(body["messages"], body.get("tools"))
    return complete_chat(state, call, body, decision, prompt_tokens)


async def chat_completions(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    if state.config.validation == "off":
        body = lenient_chat_body(body)
    completion = await generate_chat(state, call, body, decision)
    if call.exchange is not None:
        call.exchange.tokens_in = completion.prompt_tokens
        call.exchange.tokens_out = completion.usage["completion_tokens"]
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


def lenient_chat_body(body: Any) -> dict[str, Any]:
    """With ``--validation off``, make the least assumptions that still let generation run."""
    if not isinstance(body, dict):
        raise invalid_request("Request body must be a JSON object.", code="invalid_type")
    messages = body.get("messages")
    cleaned = dict(body)
    cleaned["model"] = str(body.get("model") or "unknown")
    listed = messages if isinstance(messages, list) else []
    cleaned["messages"] = [message for message in listed if isinstance(message, dict)]
    tools = body.get("tools")
    cleaned["tools"] = [
        tool for tool in tools if isinstance(tool, dict) and isinstance(tool.get("function"), dict)
        and isinstance(tool["function"].get("name"), str)
    ] if isinstance(tools, list) else None
    n = body.get("n")
    cleaned["n"] = n if isinstance(n, int) and 1 <= n <= 128 else 1
    for key in ("max_tokens", "max_completion_tokens"):
        if not (isinstance(body.get(key), int) and body[key] > 0):
            cleaned.pop(key, None)
    for key in ("response_format", "stream_options", "audio"):
        if not isinstance(body.get(key), dict):
            cleaned.pop(key, None)
    if "audio" in cleaned:
        _check_audio_format(cleaned["audio"].get("format", "wav"))
    if not isinstance(body.get("stop"), (str, list)):
        cleaned.pop("stop", None)
    else:
        stop = body["stop"]
        cleaned["stop"] = stop if isinstance(stop, str) else [item for item in stop if isinstance(item, str)]
    return cleaned


def _check_audio_format(audio_format: Any) -> None:
    """An audio format no clip can be made in is a 400 naming it, even with nothing else checked."""
    try:
        media.audio_mime(audio_format)
    except ValueError as error:
        raise invalid_request(f"Invalid 'audio.format': {error}.", param="audio.format", code="invalid_value") from None


ENDPOINTS = (
    Endpoint(
        "chat.completions", "chat", "POST", "/chat/completions", chat_completions,
        response="CreateChatCompletionResponse",
        stream=Stream(("CreateChatCompletionStreamResponse", "ErrorResponse")),
        schema="chat_completion", generation=True,
    ),
)

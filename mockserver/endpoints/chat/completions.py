"""Handlers of the chat, model and embedding endpoints (the "generate" and "encode" steps).

Each handler receives a parsed, validated body and the control plane's
decision, and returns the response. Dialect differences arrive as data on
``call.dialect``; no handler is written for one provider only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mockserver.generation import vectors as embeddings, media

from mockserver.dialects import semantics
from mockserver.dialects.catalog import Character, ModelInfo
from mockserver.generation.chat import Completion
from mockserver.control.decision import Decision
from mockserver.determinism import digest
from mockserver.endpoints.chat.encode import completion_body, sse_frames
from mockserver.errors import ApiError, invalid_request
from mockserver.pipeline import Call, Endpoint, json_response
from mockserver.generation.tokens import encoding_for_model, tokenizer
from mockserver.asgi.wire import FAULTS_KEY, FRAMES_KEY

if TYPE_CHECKING:
    from mockserver.app import AppState

# Fields that change how the answer travels, is billed, cut or annotated, not what the model
# says: a stop sequence or a token limit truncates the very text the request would otherwise get.
NON_CONTENT_FIELDS = frozenset(
    {"stream", "stream_options", "user", "metadata", "store", "service_tier", "safety_identifier",
     "prompt_cache_key", "prompt_cache_retention", "stop", "max_tokens", "max_completion_tokens",
     "n", "logprobs", "top_logprobs"}
)
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class FramesResponse(Response):
    """A server-sent-event stream of pre-encoded frames.

    Lighter than Starlette's ``StreamingResponse`` (no task group per
    response). When the control plane planned faults, every frame is its own
    ``send``, which is where the wire layer paces, stalls and cuts streams.
    Without faults nothing can come between two frames, so they leave in one
    ``send``: one socket write instead of one per token (a 30-token stream
    made 33 writes), the same bytes, and the wire layer still counts every
    frame (``FRAMES_KEY``).
    """

    def __init__(self, frames: list[bytes], headers: dict[str, str] | None = None) -> None:
        # No Content-Length: the body is chunked, frame by frame.
        self.status_code = 200
        self.background = None
        self.frames = frames
        extra = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in (headers or {}).items()]
        self.raw_headers = SSE_HEADERS + extra

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        try:
            if not scope.get(FAULTS_KEY):
                body = b"".join(self.frames)
                last = {"type": "http.response.body", "body": body, "more_body": False, FRAMES_KEY: len(self.frames)}
                await send(last)
                return
            for frame in self.frames:
                await send({"type": "http.response.body", "body": frame, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            return  # the client went away; uvicorn has already closed the connection


def resolve_model(call: Call, model_id: str, created: int) -> ModelInfo:
    dialect = call.dialect
    known = dialect.catalog.get(model_id)
    if known is not None:
        return known
    if dialect.accept_any_model:
        return dialect.catalog.describe(model_id, created)
    raise model_not_found(model_id)


def model_not_found(model_id: str) -> ApiError:
    return ApiError(
        404,
        f"The model `{model_id}` does not exist or you do not have access to it.",
        param="model",
        code="model_not_found",
    )


def resolve_persona(state: "AppState", call: Call, body: dict[str, Any]) -> Character | None:
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


def complete_chat(state: "AppState", call: Call, body: dict[str, Any], decision: Decision) -> Completion:
    """Generate the completion for a chat body (validated, or cleaned by :func:`lenient_chat_body`).

    The chat endpoint encodes it as JSON or SSE; Serika's legacy ``/generate/text``
    answers with its text. Both get the same dialect rules, persona and semantics.
    """
    model = resolve_model(call, body["model"], state.identity.created())
    if call.dialect.require_system_message and state.config.validation != "off":
        require_system_message(body)
    persona = resolve_persona(state, call, body)
    vocabulary = tokenizer(encoding_for_model(model.id))
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


async def chat_completions(state: "AppState", call: Call, body: Any, decision: Decision) -> Response:
    if state.config.validation == "off":
        body = lenient_chat_body(body)
    completion = complete_chat(state, call, body, decision)
    headers = {"x-request-id": completion.request_id}
    if body.get("store"):
        state.stored.put(completion_body(completion), body["messages"], body.get("metadata"))
    if body.get("stream"):
        if any(call.kind == "custom" for choice in completion.choices for call in choice.tool_calls):
            raise invalid_request(
                "Custom tool calls cannot be streamed by this mock: the OpenAI spec it follows defines no stream "
                "delta for them. Use 'stream': false, or a function tool.",
                param="stream",
                code="unsupported_value",
            )
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return FramesResponse(sse_frames(completion, include_usage=include_usage), headers)
    return json_response(completion_body(completion), headers=headers)


def lenient_chat_body(body: Any) -> dict[str, Any]:
    """With ``--validation off``, make the least assumptions that still let generation run."""
    if not isinstance(body, dict):
        raise invalid_request("Request body must be a JSON object.", code="invalid_type")
    messages = body.get("messages")
    cleaned = dict(body)
    cleaned["model"] = str(body.get("model") or "unknown")
    cleaned["messages"] = [message for message in messages if isinstance(message, dict)] if isinstance(messages, list) else []
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


async def list_models(state: "AppState", call: Call, body: Any, decision: Decision) -> Response:
    return json_response({"object": "list", "data": call.dialect.catalog.list_objects()})


async def retrieve_model(state: "AppState", call: Call, body: Any, decision: Decision) -> Response:
    model_id = call.request.path_params["model"]
    model = call.dialect.catalog.get(model_id)
    if model is None:
        if not state.synthesize_missing or model_id in state.deleted_models:
            raise model_not_found(model_id)
        model = call.dialect.catalog.describe(model_id, state.identity.created())
    return json_response(model.as_model_object())


CHAT = Endpoint("chat.completions", chat_completions, schema="chat_completion", generation=True)
MODELS = Endpoint("models.list", list_models, reads_body=False)
MODEL = Endpoint("models.retrieve", retrieve_model, reads_body=False)


async def delete_model(state: "AppState", call: Call, body: Any, decision: Decision) -> Response:
    """Only fine-tuned models (``ft:`` ids) can be deleted, each once (any id in ``schema`` mode)."""
    model_id = call.request.path_params["model"]
    deletable = model_id.startswith("ft:") or state.synthesize_missing
    if not deletable or (model_id in state.deleted_models and not state.synthesize_missing):
        raise model_not_found(model_id)
    state.deleted_models.add(model_id)
    return json_response({"id": model_id, "object": "model", "deleted": True})


async def create_embeddings(state: "AppState", call: Call, body: Any, decision: Decision) -> Response:
    model_id = body["model"]
    resolve_model(call, model_id, state.identity.created())
    dimensions = body.get("dimensions")
    if dimensions is not None and state.config.validation == "strict" and not model_id.startswith("text-embedding-3"):
        raise invalid_request(
            f"This model does not support specifying dimensions: {model_id}.", param="dimensions", code="invalid_value"
        )
    size = dimensions or embeddings.default_dimensions(model_id)
    inputs = body["input"]
    if isinstance(inputs, str) or (isinstance(inputs, list) and inputs and isinstance(inputs[0], int)):
        inputs = [inputs]
    vocabulary = tokenizer(encoding_for_model(model_id))
    as_base64 = body.get("encoding_format") == "base64"
    data, tokens = [], 0
    for index, item in enumerate(inputs):
        if isinstance(item, str):
            vector = embeddings.embed(item, size)
            tokens += vocabulary.count(item)
        else:
            vector = embeddings.embed_tokens(item, size)
            tokens += len(item)
        encoded: Any = embeddings.encode_base64(vector) if as_base64 else vector
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    return json_response(
        {"object": "list", "data": data, "model": model_id, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
    )


MODEL_DELETE = Endpoint("models.delete", delete_model, reads_body=False)
EMBEDDINGS = Endpoint("embeddings", create_embeddings, schema="embeddings", generation=True)

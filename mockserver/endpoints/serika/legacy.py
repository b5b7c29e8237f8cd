"""Serika's legacy endpoints: ``POST /generate/text`` and ``POST /generate/image``.

Both predate Serika's OpenAI-compatible routes and are documented only by name, so
they are thin adapters over the real generators. ``/generate/text`` takes a
``prompt`` (or ``messages``), turns it into a chat request that goes through the
same validation, persona (``character_id``) and generation as
``/chat/completions``, and answers with a flat shape::

    {"id", "object": "text_generation", "created", "model", "text", "finish_reason", "usage"}

``/generate/image`` is ``/images/generations`` under another path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from mockserver.asgi.outgoing import json_response
from mockserver.control.decision import Decision
from mockserver.endpoints.base import Call, Endpoint, Stream
from mockserver.errors import invalid_request
from mockserver.services.chat import lenient_chat_body

if TYPE_CHECKING:
    from mockserver.app.state import AppState


def chat_request(body: Any) -> dict[str, Any]:
    """The chat request a legacy text body stands for: ``prompt`` becomes one user message."""
    if not isinstance(body, dict):
        raise invalid_request("Request body must be a JSON object.", code="invalid_type")
    prompt = body.get("prompt")
    if prompt is None and "messages" not in body:
        raise invalid_request(
            "Missing required parameter: 'prompt'. Send a 'prompt' string, or 'messages' as for /chat/completions.",
            param="prompt",
            code="missing_required_parameter",
        )
    if prompt is not None and "messages" in body:
        raise invalid_request("Send either 'prompt' or 'messages', not both.", param="prompt", code="invalid_value")
    if prompt is not None and not isinstance(prompt, str):
        raise invalid_request("Invalid type for 'prompt': expected a string.", param="prompt", code="invalid_type")
    if body.get("stream"):
        raise invalid_request(
            "The legacy /generate/text endpoint does not stream; use /chat/completions with stream: true.",
            param="stream",
            code="unsupported_parameter",
        )
    chat = {key: value for key, value in body.items() if key != "prompt"}
    if prompt is not None:
        chat["messages"] = [{"role": "user", "content": prompt}]
    return chat


async def generate_text(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    chat = chat_request(body)
    if not state.checks.schema:
        chat = lenient_chat_body(chat)
    else:
        state.validator("chat_completion", call.dialect.name).validate(chat)
    completion = state.chat.complete(call.dialect, chat, decision)
    choice = completion.choices[0]
    usage = completion.usage
    return json_response(
        {
            "id": "gen-" + completion.id.removeprefix("chatcmpl-"),
            "object": "text_generation",
            "created": completion.created,
            "model": completion.model,
            "text": choice.text or "",
            "finish_reason": choice.finish_reason,
            "usage": {key: usage[key] for key in ("prompt_tokens", "completion_tokens", "total_tokens")},
        },
        headers={"x-request-id": completion.request_id},
    )


async def generate_image(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    """``/images/generations`` under Serika's path: the same order, pictures and answer."""
    return await state.images.generate(call.dialect, body, call.origin)


IMAGE_EVENTS = Stream(("ImageGenStreamEvent",), ("image_generation.partial_image", "image_generation.completed"))


def document_text_body(chat: dict[str, Any]) -> None:
    """``/generate/text`` takes a chat body, or a ``prompt`` instead of its messages, and never streams."""
    chat["properties"]["prompt"] = {"type": "string"}
    chat["properties"]["stream"] = {"type": ["boolean", "null"], "enum": [False, None]}
    chat["required"] = [key for key in chat["required"] if key != "messages"]
    chat["oneOf"] = [{"required": ["prompt"], "not": {"required": ["messages"]}},
                     {"required": ["messages"], "not": {"required": ["prompt"]}}]


ENDPOINTS = (
    Endpoint("legacy.generate_text", "legacy", "POST", "/generate/text", generate_text, response="TextGeneration",
             derived_from="chat_completion", derive_body=document_text_body, generation=True),
    Endpoint("legacy.generate_image", "legacy", "POST", "/generate/image", generate_image,
             response="ImagesResponse", stream=IMAGE_EVENTS, schema="image_generation", generation=True),
)

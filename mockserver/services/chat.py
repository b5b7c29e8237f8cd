"""The chat service: a chat request's rules and its completion, for every family that answers with chat.

Chat completions, Serika's legacy text, legacy completions, the Responses API, assistants runs and batch
lines all generate through :class:`ChatService`, so they share the dialect's rules, personas, semantic
checks and the seed: the same request gives the same words whichever family asked.
"""

from __future__ import annotations

from typing import Any

import anyio

from mockserver.config import Config
from mockserver.control.decision import Decision
from mockserver.determinism import digest
from mockserver.dialects import semantics
from mockserver.dialects.catalog import Character
from mockserver.dialects.dialect import Dialect
from mockserver.errors import ApiError, invalid_request
from mockserver.generation import media
from mockserver.generation.chat import ChatGenerator, Completion
from mockserver.generation.tokens import encoding_for_model, tokenizer
from mockserver.services.models import ModelDirectory
from mockserver.validation import Checks

# Fields that change how the answer travels, is billed, cut or annotated, not what the model
# says: a stop sequence or a token limit truncates the very text the request would otherwise get.
NON_CONTENT_FIELDS = frozenset(
    {"stream", "stream_options", "user", "metadata", "store", "service_tier", "safety_identifier",
     "prompt_cache_key", "prompt_cache_retention", "stop", "max_tokens", "max_completion_tokens",
     "n", "logprobs", "top_logprobs"}
)
LARGE_BODY = 256 * 1024
"""A chat body past this many bytes (about 40 ms of tokenizing at 3 µs a token) has its prompt counted in slices
that let the event loop run between them."""


class ChatService:
    def __init__(self, config: Config, checks: Checks, generator: ChatGenerator, models: ModelDirectory,
                 characters: dict[str, Character], heavy_work: anyio.CapacityLimiter) -> None:
        self.config = config
        self.checks = checks
        self.generator = generator
        self.models = models
        self.characters = characters
        self.heavy_work = heavy_work

    def complete(self, dialect: Dialect, body: dict[str, Any], decision: Decision,
                 prompt_tokens: int | None = None) -> Completion:
        """Generate the completion for a chat body (validated, or cleaned by :func:`lenient_chat_body`)."""
        model = self.models.resolve(dialect, body["model"])
        if dialect.require_system_message and self.checks.schema:
            require_system_message(body)
        persona = self._persona(dialect, body)
        vocabulary = tokenizer(encoding_for_model(model.id))
        if prompt_tokens is None:
            prompt_tokens = vocabulary.count_prompt(body["messages"], body.get("tools"))
        if self.checks.provider_rules:
            semantics.check_chat(body, model, prompt_tokens, dialect=dialect.name,
                                 json_word=not dialect.json_mode_unprompted,
                                 truncates_prompts=dialect.truncates_prompts)
        content_key = {key: value for key, value in body.items() if key not in NON_CONTENT_FIELDS}
        content_key["@dialect"] = dialect.name
        return self.generator.complete(
            body,
            model=model,
            tokenizer=vocabulary,
            prompt_tokens=prompt_tokens,
            request_digest=digest(content_key, self.config.seed),
            script=decision.script,
            persona=persona,
            answered_model=model.snapshot if dialect.snapshots and body["model"] == model.id else None,
        )

    async def generate(self, dialect: Dialect, body: dict[str, Any], decision: Decision,
                       body_bytes: int) -> Completion:
        """:meth:`complete`, its prompt counted without holding the event loop when the body (``body_bytes``
        long) is past :data:`LARGE_BODY`."""
        prompt_tokens = None
        if body_bytes > LARGE_BODY and isinstance(body.get("messages"), list):
            model = self.models.resolve(dialect, body["model"])
            vocabulary = tokenizer(encoding_for_model(model.id))
            async with self.heavy_work:
                prompt_tokens = await vocabulary.count_prompt_yielding(body["messages"], body.get("tools"))
        return self.complete(dialect, body, decision, prompt_tokens)

    def _persona(self, dialect: Dialect, body: dict[str, Any]) -> Character | None:
        if not dialect.persona or body.get("character_id") is None:
            return None
        character = self.characters.get(str(body["character_id"]))
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


__all__ = ["LARGE_BODY", "NON_CONTENT_FIELDS", "ChatService", "lenient_chat_body", "require_system_message"]

"""The semantic rules real providers enforce beyond the schema (``--validation strict``)."""

from __future__ import annotations

from typing import Any

from mockserver.dialects.catalog import ModelInfo
from mockserver.errors import ApiError, invalid_request


def check_chat(body: dict[str, Any], model: ModelInfo, prompt_tokens: int, *, dialect: str,
               json_word: bool = True, truncates_prompts: bool = False) -> None:
    """Raise the provider's 400 for a body that is well-formed but not acceptable; ``json_word``: JSON mode needs
    the word "json" in the messages (OpenAI's rule, which Gemini's and Ollama's JSON modes do not have);
    ``truncates_prompts``: a prompt longer than the model's window is cut to fit, not refused (Ollama's way)."""
    messages = body["messages"]
    response_format = body.get("response_format") or {}
    if json_word and response_format.get("type") == "json_object" and not any(
        "json" in _text_of(message).lower() for message in messages
    ):
        raise invalid_request(
            "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
            param="messages",
            code="invalid_value",
        )
    if body.get("stream_options") is not None and not body.get("stream"):
        raise invalid_request(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
            code="invalid_value",
        )
    if body.get("top_logprobs") is not None and not body.get("logprobs"):
        raise invalid_request(
            "Invalid value for 'top_logprobs': 'logprobs' must be set to true when 'top_logprobs' is used.",
            param="top_logprobs",
            code="invalid_value",
        )
    if not body.get("tools"):
        for name in ("tool_choice", "parallel_tool_calls"):
            if body.get(name) is not None:
                raise invalid_request(
                    f"Invalid value for '{name}': '{name}' is only allowed when 'tools' are specified.",
                    param=name,
                    code="invalid_value",
                )
    elif (body.get("n") or 1) > 1:
        raise invalid_request(
            "Invalid value for 'n': generating more than one choice is not supported together with 'tools'.",
            param="n",
            code="invalid_value",
        )
    if dialect == "openai" and model.reasoning and body.get("max_tokens") is not None:
        raise invalid_request(
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
            param="max_tokens",
            code="unsupported_parameter",
        )
    for name in ("max_completion_tokens", "max_tokens"):
        requested = body.get(name)
        if requested is not None and requested < 1:
            raise invalid_request(
                f"Invalid '{name}': integer below minimum value. Expected a value >= 1, but got {requested} instead.",
                param=name,
                code="integer_below_min_value",
            )
        if requested is not None and model.max_output_tokens and requested > model.max_output_tokens:
            raise invalid_request(
                f"{name} is too large: {requested}. This model supports at most {model.max_output_tokens} "
                f"completion tokens, whereas you provided {requested}.",
                param=name,
                code="invalid_value",
            )
    if model.context_window and prompt_tokens > model.context_window and not truncates_prompts:
        raise context_length_exceeded(prompt_tokens, model.context_window)
    _check_tool_results(messages)


def context_length_exceeded(prompt_tokens: int, window: int) -> ApiError:
    return invalid_request(
        f"This model's maximum context length is {window} tokens. However, your messages resulted in "
        f"{prompt_tokens} tokens. Please reduce the length of the messages.",
        param="messages",
        code="context_length_exceeded",
    )


def _check_tool_results(messages: list[dict[str, Any]]) -> None:
    offered: set[str] = set()
    for position, message in enumerate(messages):
        role = message.get("role")
        if role == "assistant":
            offered = {call.get("id") for call in message.get("tool_calls") or ()}
        elif role == "tool" and message.get("tool_call_id") not in offered:
            raise invalid_request(
                "Invalid parameter: messages with role 'tool' must be a response to a preceding message "
                f"with 'tool_calls' (no tool call has id {message.get('tool_call_id')!r}).",
                param=f"messages[{position}].tool_call_id",
                code="invalid_value",
            )


def _text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""

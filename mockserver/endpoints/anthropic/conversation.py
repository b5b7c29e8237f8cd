"""A Messages request as the API reads it: its rules beyond the schema, and the chat request it stands for.

The rules are the API's 400s, in its words, each naming the field (``messages.2.content.0: unexpected
`tool_use_id` found in `tool_result` blocks``): roles alternate and start with ``user``; every ``tool_use`` is
answered by a ``tool_result`` in the next message and every ``tool_result`` answers one; ``thinking`` has a budget
of at least 1,024 tokens below ``max_tokens``, is only sampled at ``temperature`` 1, never with a forced tool, and a
turn that continues after a tool call starts with its signed thinking block; ``temperature`` and ``top_p`` lie in
0..1; ``max_tokens`` fits the model.

The chat request is what the shared chat service generates from, so the same seed gives the same words whichever
API asked: ``system`` a system message, text and image blocks content parts, ``tool_use`` blocks tool calls,
``tool_result`` blocks tool messages, custom tools function tools, ``tool_choice`` and
``disable_parallel_tool_use`` their chat equivalents, ``output_config.format`` (a JSON schema; or the beta's
``output_format``) the response format,
``thinking`` a reasoning effort.
"""

from __future__ import annotations

from typing import Any

import orjson

from mockserver.determinism import Signer
from mockserver.dialects.catalog import ModelInfo
from mockserver.errors import ApiError

MIN_THINKING_BUDGET = 1024
THINKING_EFFORT = ((4096, "low"), (16384, "medium"))
"""A thinking budget below each bound thinks this much; above the last, ``high``."""


def invalid(message: str) -> ApiError:
    """A 400 ``invalid_request_error`` whose message already names the field, as Anthropic's do."""
    return ApiError(400, message)


def check(body: dict[str, Any], model: ModelInfo | None, signer: Signer) -> None:
    """Raise the API's 400 for a body its schema admits but the API does not."""
    if body["max_tokens"] < 1:
        raise invalid("max_tokens: Input should be greater than or equal to 1")
    if model is not None and model.max_output_tokens and body["max_tokens"] > model.max_output_tokens:
        raise invalid(f"max_tokens: {body['max_tokens']} > {model.max_output_tokens}, which is the maximum allowed "
                      f"number of output tokens for {model.id}")
    for name in ("temperature", "top_p"):
        value = body.get(name)
        if value is not None and not 0 <= value <= 1:
            raise invalid(f"{name}: range: 0..1")
    if body.get("top_k") is not None and body["top_k"] < 0:
        raise invalid("top_k: Input should be greater than or equal to 0")
    if body.get("output_format") is not None and isinstance(body.get("output_config"), dict) \
            and body["output_config"].get("format") is not None:
        raise invalid("output_format: Cannot specify both output_format and output_config.format; "
                      "output_format is deprecated, use output_config.format")
    thinking = thinking_budget(body)
    if thinking is not None:
        if thinking < MIN_THINKING_BUDGET:
            raise invalid(f"thinking.enabled.budget_tokens: Input should be greater than or equal to "
                          f"{MIN_THINKING_BUDGET}")
        if thinking >= body["max_tokens"]:
            raise invalid("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
                          "documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking")
        if body.get("temperature") not in (None, 1):
            raise invalid("`temperature` may only be set to 1 when thinking is enabled or in adaptive mode. Please "
                          "consult our documentation at https://docs.claude.com/en/docs/build-with-claude/"
                          "extended-thinking")
        if (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
            raise invalid("Thinking may not be enabled when tool_choice forces tool use.")
    _check_turns(body["messages"], thinking is not None or _adaptive(body), signer)


def _check_turns(messages: list[dict[str, Any]], thinking: bool, signer: Signer) -> None:
    if not messages:
        raise invalid("messages: at least one message is required")
    if messages[0]["role"] != "user":
        raise invalid("messages: first message must use the \"user\" role")
    called: list[str] = []
    for index, message in enumerate(messages):
        role = message["role"]
        if index and messages[index - 1]["role"] == role:
            raise invalid(f"messages: roles must alternate between \"user\" and \"assistant\", but found multiple "
                          f"\"{role}\" roles in a row")
        blocks = message["content"] if isinstance(message["content"], list) else []
        if role == "user":
            answered = [block.get("tool_use_id") for block in blocks if block.get("type") == "tool_result"]
            for position, block in enumerate(blocks):
                if block.get("type") == "tool_result" and block.get("tool_use_id") not in called:
                    raise invalid(f"messages.{index}.content.{position}: unexpected `tool_use_id` found in "
                                  f"`tool_result` blocks: {block.get('tool_use_id')}. Each `tool_result` block must "
                                  "have a corresponding `tool_use` block in the previous message.")
            unanswered = [call for call in called if call not in answered]
            if unanswered:
                raise invalid(f"messages.{index - 1}: `tool_use` ids were found without `tool_result` blocks "
                              f"immediately after: {', '.join(unanswered)}. Each `tool_use` block must have a "
                              "corresponding `tool_result` block in the next message.")
            called = []
            continue
        called = [block["id"] for block in blocks if block.get("type") == "tool_use"]  # server tools answer themselves
        for position, block in enumerate(blocks):
            if block.get("type") == "thinking" and not signer.verify(block.get("thinking", ""),
                                                                     block.get("signature", "")):
                raise invalid(f"messages.{index}.content.{position}: Invalid `signature` in `thinking` block")
        continues_tool_call = index == len(messages) - 2 and called
        if thinking and continues_tool_call and blocks[0].get("type") not in ("thinking", "redacted_thinking"):
            raise invalid(f"messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
                          f"`{blocks[0].get('type')}`. When `thinking` is enabled, a final `assistant` message must "
                          "start with a thinking block (preceding the lastmost set of `tool_use` and `tool_result` "
                          "blocks). We recommend you include thinking blocks from previous turns. To avoid this "
                          "requirement, disable `thinking`. Please consult our documentation at "
                          "https://docs.claude.com/en/docs/build-with-claude/extended-thinking")


def thinking_budget(body: dict[str, Any]) -> int | None:
    """The thinking budget of a request that asks for extended thinking, else None."""
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        return int(thinking.get("budget_tokens") or 0)
    return None


def _adaptive(body: dict[str, Any]) -> bool:
    thinking = body.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") == "adaptive"


def chat_request(body: dict[str, Any], *, lenient: bool = False) -> dict[str, Any]:
    """The chat completions request a Messages request stands for; ``lenient`` (no provider rules) makes do
    with tool schemas that are not JSON Schema (a property given as a string), as generation can."""
    messages: list[dict[str, Any]] = []
    system = body.get("system")
    if system:
        messages.append({"role": "system", "content": text_of(system)})
    for message in body.get("messages") or []:
        messages += _chat_messages(message)
    chat: dict[str, Any] = {"model": str(body.get("model") or ""), "messages": messages}
    tools = [tool for tool in body.get("tools") or [] if isinstance(tool, dict) and "input_schema" in tool]
    if tools:
        chat["tools"] = [{"type": "function", "function": {
            "name": tool["name"], "description": tool.get("description", ""),
            "parameters": usable(tool["input_schema"]) if lenient else tool["input_schema"]}} for tool in tools]
        choice = body.get("tool_choice") or {}
        kind = choice.get("type", "auto")
        if kind == "tool":
            chat["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
        else:
            chat["tool_choice"] = {"any": "required", "none": "none"}.get(kind, "auto")
        if choice.get("disable_parallel_tool_use"):
            chat["parallel_tool_calls"] = False
    output: dict[str, Any] = body["output_config"] if isinstance(body.get("output_config"), dict) else {}
    # ``output_format`` is the structured-outputs beta's name for it, which the API still takes
    shape: Any = output.get("format") or body.get("output_format")
    shape = shape if isinstance(shape, dict) else {}
    if shape.get("type") == "json_schema" and isinstance(shape.get("schema"), dict):
        chat["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": shape["schema"]}}
    chat["max_completion_tokens"] = body.get("max_tokens")
    for key in ("temperature", "top_p"):
        if isinstance(body.get(key), int | float):
            chat[key] = body[key]
    budget = thinking_budget(body)
    if budget is not None:
        chat["reasoning_effort"] = next((effort for bound, effort in THINKING_EFFORT if budget < bound), "high")
    else:
        chat["reasoning_effort"] = "medium" if _adaptive(body) else "none"
    return chat


def usable(schema: Any) -> Any:
    """``schema`` with every property that is not a schema (a string, a number) read as any value."""
    if not isinstance(schema, dict):
        return {}
    out = dict(schema)
    if isinstance(schema.get("properties"), dict):
        out["properties"] = {name: usable(value) if isinstance(value, dict) or not isinstance(value, bool) else value
                             for name, value in schema["properties"].items()}
    if "items" in schema and not isinstance(schema["items"], bool):
        out["items"] = usable(schema["items"])
    return out


def in_messages_terms(error: ApiError) -> ApiError:
    """An error of the chat service about the chat request, naming the Messages request's field instead."""
    param = error.param or ""
    if not param.startswith("tools[") or ".function.parameters" not in param:
        return error
    index = param[len("tools["):param.index("]")]
    message = error.message.replace(f"'{param}'", f"tools.{index}.input_schema")
    return ApiError(error.status, f"tools.{index}.input_schema: {message}", type=error.type, headers=error.headers)


def _chat_messages(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    role = message.get("role")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    blocks = [block for block in content or [] if isinstance(block, dict)]
    if role == "assistant":
        texts = [str(block.get("text", "")) for block in blocks if block.get("type") == "text"]
        said: dict[str, Any] = {"role": "assistant", "content": " ".join(texts) if texts else None}
        calls = [{"id": block.get("id"), "type": "function", "function": {
            "name": block.get("name"), "arguments": orjson.dumps(block.get("input") or {}).decode()}}
            for block in blocks if block.get("type") == "tool_use"]
        if calls:
            said["tool_calls"] = calls
        return [said]
    out: list[dict[str, Any]] = [
        {"role": "tool", "tool_call_id": block.get("tool_use_id"), "content": text_of(block.get("content", ""))}
        for block in blocks if block.get("type") == "tool_result"]
    parts = [part for block in blocks if (part := _part(block)) is not None]
    if parts:
        pictured = any(part["type"] == "image_url" for part in parts)
        out.append({"role": "user", "content": parts if pictured else " ".join(part["text"] for part in parts)})
    return out


def _part(block: dict[str, Any]) -> dict[str, Any] | None:
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": str(block.get("text", ""))}
    if kind == "image":
        source = block.get("source") or {}
        url = source.get("url") if source.get("type") == "url" else \
            f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
        return {"type": "image_url", "image_url": {"url": str(url)}}
    if kind == "document":
        source = block.get("source") or {}
        text = source.get("data") if source.get("type") == "text" else f"[{block.get('title') or 'document'}]"
        return {"type": "text", "text": str(text)}
    if kind == "search_result":
        return {"type": "text", "text": text_of(block.get("content", ""))}
    return None


def text_of(content: Any) -> str:
    """The text of a string or of text blocks."""
    if isinstance(content, str):
        return content
    return " ".join(str(block.get("text", "")) for block in content or []
                    if isinstance(block, dict) and block.get("type") == "text")


__all__ = ["Signer", "chat_request", "check", "in_messages_terms", "invalid", "text_of", "thinking_budget", "usable"]

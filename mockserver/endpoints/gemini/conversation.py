"""A ``generateContent`` request as the Gemini API reads it: its rules beyond the schema, and the chat request it
stands for.

Fields come in either spelling (``systemInstruction`` or ``system_instruction``: the API parses protobuf JSON, which
takes both), so every read goes through :func:`field`. The rules are the API's 400 ``INVALID_ARGUMENT`` answers, each
naming the field as the API does (``generation_config.temperature``): ``contents`` is not empty and its roles are
``user`` and ``model``; every part holds data; ``temperature`` lies in 0..2, ``topP`` in 0..1; ``maxOutputTokens``
fits the model; a ``responseSchema`` goes with ``responseMimeType: application/json``; a thinking budget fits the
model; an allowed function name is a declared function. ``candidateCount`` lies in 1..8 in every validation mode
(:func:`check_bounds`).

The chat request is what the shared chat service generates from, so the same seed gives the same words whichever
API asked: ``systemInstruction`` a system message, text parts text, ``inlineData`` pictures image parts,
``functionCall`` parts tool calls, ``functionResponse`` parts tool messages (paired with their call by ``id``, or by
name in order), ``functionDeclarations`` function tools (their OpenAPI-subset ``parameters`` read as JSON Schema,
or ``parametersJsonSchema`` as it is), ``toolConfig.functionCallingConfig`` the tool choice (``ANY`` a call,
``VALIDATED`` and ``AUTO`` the model's choice, ``NONE`` no call), ``generationConfig`` its chat equivalents
(``responseSchema`` / ``responseJsonSchema`` the response format, ``thinkingConfig`` a reasoning effort).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import orjson

from mockserver.errors import ApiError

ROLES = ("user", "model")
THINKING_EFFORT = ((1024, "low"), (8192, "medium"))
"""A thinking budget below each bound thinks this much; above the last, ``high``."""
LEVELS = {"MINIMAL": "minimal", "LOW": "low", "MEDIUM": "medium", "HIGH": "high"}
SCHEMA_TYPES = {"STRING": "string", "NUMBER": "number", "INTEGER": "integer", "BOOLEAN": "boolean",
                "ARRAY": "array", "OBJECT": "object", "NULL": "null"}
PART_DATA = ("text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode",
             "codeExecutionResult", "toolCall", "toolResponse")
MAX_CANDIDATES = 8


def field(body: Any, name: str, default: Any = None) -> Any:
    """``body[name]`` by its camelCase name or its snake_case one (``systemInstruction``, ``system_instruction``)."""
    if not isinstance(body, dict):
        return default
    if name in body:
        return body[name]
    return body.get(snake_case(name), default)


@cache
def snake_case(name: str) -> str:
    """A field's proto name: ``systemInstruction`` → ``system_instruction`` (a handful of names, each made once)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def invalid(message: str, field_path: str | None = None) -> ApiError:
    """A 400 ``INVALID_ARGUMENT``; with ``field_path``, worded as the API words a field's problem."""
    if field_path is not None:
        message = f"* GenerateContentRequest.{field_path}: {message}\n"
    return ApiError(400, message, param=field_path)


def check(body: dict[str, Any], max_output: int | None, thinks: bool) -> None:
    """Raise the API's 400 for a body its schema admits but the API does not."""
    contents = field(body, "contents") or []
    if not contents:
        raise invalid("contents is not specified", "contents")
    for index, content in enumerate(contents):
        role = field(content, "role")
        if role is not None and role not in ROLES:
            raise invalid(f"Please use a valid role: {', '.join(ROLES)}.", f"contents[{index}].role")
        parts = field(content, "parts") or []
        if not parts:
            raise invalid("contents.parts must not be empty.", f"contents[{index}].parts")
        for position, part in enumerate(parts):
            if not any(field(part, name) is not None for name in PART_DATA):
                raise invalid("required oneof field 'data' must have one initialized field",
                              f"contents[{index}].parts[{position}].data")
    config = field(body, "generationConfig") or {}
    _check_range(config, "temperature", 0, 2)
    _check_range(config, "topP", 0, 1)
    most = field(config, "maxOutputTokens")
    if most is not None and most < 1:
        raise invalid("max_output_tokens must be positive.", "generation_config.max_output_tokens")
    if most is not None and max_output is not None and most > max_output + 1:
        raise invalid(f"The maximum number of output tokens is {max_output + 1}; got {most}.",
                      "generation_config.max_output_tokens")
    schema = field(config, "responseSchema") or field(config, "responseJsonSchema")
    if schema is not None and field(config, "responseMimeType") not in ("application/json", "text/x.enum"):
        raise invalid("response_mime_type must be 'application/json' or 'text/x.enum' to use response_schema.",
                      "generation_config.response_mime_type")
    if field(config, "responseSchema") is not None and field(config, "responseJsonSchema") is not None:
        raise invalid("response_schema and response_json_schema cannot both be set.",
                      "generation_config.response_json_schema")
    thinking = field(config, "thinkingConfig") or {}
    budget = field(thinking, "thinkingBudget")
    if budget is not None and budget > 0 and not thinks:
        raise invalid("Thinking is not supported for this model.", "generation_config.thinking_config")
    if budget is not None and budget < -1:
        raise invalid("thinking_budget must be -1 (dynamic), 0 (off) or a positive number of tokens.",
                      "generation_config.thinking_config.thinking_budget")
    _check_tools(body)


def check_bounds(body: dict[str, Any]) -> None:
    """The API's limits on how much one request may ask for, held in every validation mode (the answer is made in
    memory): at most :data:`MAX_CANDIDATES` candidates."""
    count = field(field(body, "generationConfig") or {}, "candidateCount")
    if count is not None and not (isinstance(count, int) and 1 <= count <= MAX_CANDIDATES):
        raise invalid(f"candidate_count must be between 1 and {MAX_CANDIDATES}.", "generation_config.candidate_count")


def _check_range(config: dict[str, Any], name: str, low: float, high: float) -> None:
    value = field(config, name)
    if value is not None and not low <= value <= high:
        snake = snake_case(name)
        raise invalid(f"{snake} must be between {low} and {high}, got {value}.", f"generation_config.{snake}")


def _check_tools(body: dict[str, Any]) -> None:
    declared = {field(declaration, "name") for declaration in declarations(body)}
    calling = field(field(body, "toolConfig") or {}, "functionCallingConfig") or {}
    allowed = field(calling, "allowedFunctionNames") or []
    for name in allowed:
        if name not in declared:
            raise invalid(f"allowed_function_names contains '{name}', which is not a declared function.",
                          "tool_config.function_calling_config.allowed_function_names")
    if allowed and field(calling, "mode") not in ("ANY", "VALIDATED"):
        raise invalid("allowed_function_names may only be set when the mode is ANY or VALIDATED.",
                      "tool_config.function_calling_config.allowed_function_names")


def declarations(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every function declaration of every tool."""
    return [declaration for tool in field(body, "tools") or [] if isinstance(tool, dict)
            for declaration in field(tool, "functionDeclarations") or [] if isinstance(declaration, dict)]


_KEPT = {name: name for name in ("description", "format", "enum", "required", "minimum", "maximum", "pattern",
                                  "title")}
_COUNTS = {"minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"}
_SCHEMA_KEYS = {**_KEPT, **{name: name for name in _COUNTS}, "type": "type", "nullable": "nullable",
                "properties": "properties", "items": "items", "anyOf": "anyOf"}
SCHEMA_KEYS = {**_SCHEMA_KEYS, **{snake_case(name): name for name in _SCHEMA_KEYS}}
"""The keys of a Gemini ``Schema`` the generator reads, by either spelling, to their JSON Schema names."""


def json_schema(schema: Any) -> Any:
    """A Gemini ``Schema`` (the OpenAPI subset: upper-case types, ``nullable``, ``propertyOrdering``) as the JSON
    Schema the generator reads; one pass over the keys it has (a request may declare thousands)."""
    if not isinstance(schema, dict):
        return {}
    out: dict[str, Any] = {}
    nullable = False
    for key, value in schema.items():
        name = SCHEMA_KEYS.get(key)
        if name is None or value is None:
            continue
        if name == "type" and isinstance(value, str):
            out["type"] = SCHEMA_TYPES.get(value.upper(), value.lower())
        elif name == "nullable":
            nullable = bool(value)
        elif name == "properties" and isinstance(value, dict):
            out["properties"] = {child: json_schema(branch) for child, branch in value.items()}
        elif name == "items":
            out["items"] = json_schema(value)
        elif name == "anyOf" and isinstance(value, list):
            out["anyOf"] = [json_schema(branch) for branch in value]
        elif name in _COUNTS:
            out[name] = int(value)
        elif name in _KEPT:
            out[name] = value
    if "properties" in out:
        out.setdefault("type", "object")
    if nullable and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def response_schema(config: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON Schema the answer must follow, from ``responseJsonSchema`` or ``responseSchema``."""
    given = field(config, "responseJsonSchema")
    if isinstance(given, dict):
        return given
    given = field(config, "responseSchema")
    return json_schema(given) if isinstance(given, dict) else None


def call_ids(contents: list[dict[str, Any]]) -> dict[tuple[int, int], str]:
    """An id for each function call and function response, by (content, part) position: its own ``id``, else
    (a call) one made from its name and its place among the calls of that name, or (a response) the id of the
    earliest call of that name not yet answered, so a response pairs with its call."""
    ids: dict[tuple[int, int], str] = {}
    waiting: dict[str, list[str]] = {}
    made = 0
    for index, content in enumerate(contents):
        for position, part in enumerate(field(content, "parts") or []):
            call, response = field(part, "functionCall"), field(part, "functionResponse")
            if isinstance(call, dict):
                name = str(field(call, "name") or "")
                given = field(call, "id")
                ids[(index, position)] = str(given) if given else f"{name}-{made}"
                made += 1
                waiting.setdefault(name, []).append(ids[(index, position)])
            elif isinstance(response, dict):
                name = str(field(response, "name") or "")
                given = field(response, "id")
                queue = waiting.get(name, [])
                if given and str(given) in queue:
                    queue.remove(str(given))
                ids[(index, position)] = str(given) if given else queue.pop(0) if queue else f"{name}-unanswered"
    return ids


def chat_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    """The chat completions request a ``generateContent`` body stands for."""
    messages: list[dict[str, Any]] = []
    system = field(body, "systemInstruction")
    if system:
        messages.append({"role": "system", "content": text_of(system)})
    contents = [content for content in field(body, "contents") or [] if isinstance(content, dict)]
    ids = call_ids(contents)
    for index, content in enumerate(contents):
        messages += _chat_messages(content, index, ids)
    chat: dict[str, Any] = {"model": model, "messages": messages}
    tools: list[dict[str, Any]] = [{"type": "function", "function": {
        "name": str(field(declaration, "name") or ""), "description": str(field(declaration, "description") or ""),
        "parameters": _parameters(declaration)}} for declaration in declarations(body)]
    calling = field(field(body, "toolConfig") or {}, "functionCallingConfig") or {}
    mode = field(calling, "mode") or "AUTO"
    allowed = field(calling, "allowedFunctionNames") or []
    if tools and allowed:
        tools = [tool for tool in tools if tool["function"]["name"] in allowed]
    if tools and mode != "NONE":
        chat["tools"] = tools
        if mode == "ANY":  # VALIDATED is AUTO whose calls are checked against their schema: the mock's always are
            chat["tool_choice"] = "required" if len(tools) > 1 else {
                "type": "function", "function": {"name": tools[0]["function"]["name"]}}
    config = field(body, "generationConfig") or {}
    for name, chat_name in (("temperature", "temperature"), ("topP", "top_p"), ("seed", "seed"),
                            ("maxOutputTokens", "max_completion_tokens"), ("candidateCount", "n"),
                            ("stopSequences", "stop"), ("presencePenalty", "presence_penalty"),
                            ("frequencyPenalty", "frequency_penalty")):
        value = field(config, name)
        if value is not None:
            chat[chat_name] = value
    schema = response_schema(config)
    if schema is not None:
        chat["response_format"] = {"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}
    elif field(config, "responseMimeType") == "application/json":  # any JSON: the shape the prompt describes
        chat["response_format"] = {"type": "json_object"}
    chat["reasoning_effort"] = reasoning_effort(config)
    return chat


def reasoning_effort(config: dict[str, Any]) -> str:
    """How much a thinking model thinks: none for a budget of 0, by the budget's size or the level, else medium
    (Gemini's thinking models think unless told not to)."""
    thinking = field(config, "thinkingConfig") or {}
    level = field(thinking, "thinkingLevel")
    if isinstance(level, str) and level.upper() in LEVELS:
        return LEVELS[level.upper()]
    budget = field(thinking, "thinkingBudget")
    if budget == 0:
        return "none"
    if budget is None or budget < 0:
        return "medium"
    return next((effort for bound, effort in THINKING_EFFORT if budget < bound), "high")


def includes_thoughts(body: dict[str, Any]) -> bool:
    return bool(field(field(field(body, "generationConfig") or {}, "thinkingConfig") or {}, "includeThoughts"))


def _parameters(declaration: dict[str, Any]) -> dict[str, Any]:
    given = field(declaration, "parametersJsonSchema")
    if isinstance(given, dict):
        return given
    parameters = field(declaration, "parameters")
    return json_schema(parameters) if isinstance(parameters, dict) else {"type": "object", "properties": {}}


def _chat_messages(content: dict[str, Any], index: int, ids: dict[tuple[int, int], str]) -> list[dict[str, Any]]:
    parts = [part for part in field(content, "parts") or [] if isinstance(part, dict)]
    if field(content, "role") == "model":
        texts = [str(field(part, "text")) for part in parts
                 if field(part, "text") is not None and not field(part, "thought")]
        said: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
        calls = [{"id": ids[(index, position)], "type": "function", "function": {
            "name": str(field(field(part, "functionCall"), "name") or ""),
            "arguments": orjson.dumps(field(field(part, "functionCall"), "args") or {}).decode()}}
            for position, part in enumerate(parts) if isinstance(field(part, "functionCall"), dict)]
        if calls:
            said["tool_calls"] = calls
        return [said]
    out: list[dict[str, Any]] = [
        {"role": "tool", "tool_call_id": ids[(index, position)],
         "content": orjson.dumps(field(field(part, "functionResponse"), "response") or {}).decode()}
        for position, part in enumerate(parts) if isinstance(field(part, "functionResponse"), dict)]
    pieces = [piece for part in parts if (piece := _piece(part)) is not None]
    if pieces:
        pictured = any(piece["type"] == "image_url" for piece in pieces)
        out.append({"role": "user", "content": pieces if pictured else " ".join(piece["text"] for piece in pieces)})
    return out


def _piece(part: dict[str, Any]) -> dict[str, Any] | None:
    if field(part, "text") is not None:
        return {"type": "text", "text": str(field(part, "text"))}
    inline = field(part, "inlineData")
    if isinstance(inline, dict):
        mime = str(field(inline, "mimeType") or "application/octet-stream")
        if mime.startswith("image/"):
            return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{field(inline, 'data') or ''}"}}
        return {"type": "text", "text": f"[{mime} data]"}
    file_data = field(part, "fileData")
    if isinstance(file_data, dict):
        return {"type": "text", "text": f"[{field(file_data, 'fileUri') or 'file'}]"}
    return None


def text_of(content: Any) -> str:
    """The text of a ``Content`` (or a bare string, as ``systemInstruction`` may be given)."""
    if isinstance(content, str):
        return content
    return " ".join(str(field(part, "text")) for part in field(content, "parts") or []
                    if isinstance(part, dict) and field(part, "text") is not None)


__all__ = ["call_ids", "chat_request", "check", "check_bounds", "declarations", "field", "includes_thoughts", "invalid",
           "json_schema", "reasoning_effort", "response_schema", "snake_case", "text_of"]

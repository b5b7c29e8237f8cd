"""``POST /responses``: the Responses API, answered by the chat generator.

The request is read as the chat request it stands for: ``instructions`` a system message, ``input`` (a
string, or items: messages with text and image parts, ``function_call`` and ``function_call_output``
items) the conversation, after the stored conversation of ``previous_response_id``; function ``tools``,
``tool_choice``, ``parallel_tool_calls``, ``text.format`` (``json_schema``, ``json_object``),
``reasoning.effort``, ``max_output_tokens``, ``temperature``, ``top_p``. So replies, scripts,
``X-Mock-Reply``/``X-Mock-Tool-Call``, seeds and token budgets behave as in chat: a function call until a
``function_call_output`` arrives, then text. The answer is a ``response``: reasoning, message and
function-call output items, ``usage`` (``reasoning_tokens``; a continued conversation's earlier turns in
``input_tokens`` and ``cached_tokens``), ``incomplete`` with ``incomplete_details.reason:
max_output_tokens`` when cut; streamed, the typed events of :mod:`.response_events`. Stored (unless
``store: false``) in the spec engine's resources, so ``GET``/``DELETE /responses/{id}`` and
``GET /responses/{id}/input_items`` answer it.
"""

from __future__ import annotations

import base64
import copy
import re
from typing import Any

import anyio.lowlevel
import orjson
from starlette.responses import Response

from mockserver.asgi.outgoing import FramesResponse, json_response
from mockserver.config import whole_number
from mockserver.determinism import Identity
from mockserver.endpoints.engine.handler import page
from mockserver.endpoints.engine.lifecycle import life_of
from mockserver.endpoints.engine.request import Responder, SpecRequest
from mockserver.endpoints.responses import builtin_tools
from mockserver.endpoints.responses import events as response_events
from mockserver.endpoints.responses.items import append_items, as_item
from mockserver.errors import ApiError, invalid_request
from mockserver.generation.chat import Choice, Completion, ToolCall
from mockserver.generation.tokens import encoding_for_model, tokenizer
from mockserver.messages import last_user_text

COLLECTION = "/responses"
KEEP_SLICE = 256
"""Input items stored between two turns of the event loop."""
MAX_CHAIN = 10_000
"""The most turns a ``previous_response_id`` chain is followed through (the store holds at most that many)."""
ECHOED = ("instructions", "tool_choice", "parallel_tool_calls", "temperature", "top_p", "metadata", "text",
          "previous_response_id", "max_output_tokens", "truncation", "store", "background", "service_tier",
          "prompt_cache_key", "safety_identifier", "user", "top_logprobs", "max_tool_calls")
DEFAULTS = {"tool_choice": "auto", "parallel_tool_calls": True, "temperature": 1.0, "top_p": 1.0, "metadata": {},
            "text": {"format": {"type": "text"}, "verbosity": "medium"}, "truncation": "disabled", "store": True,
            "background": False, "service_tier": "default", "previous_response_id": None,
            "max_output_tokens": None}


async def create_response(request: SpecRequest) -> Response:
    body = request.body
    conversation_items = _conversation_items(request)
    earlier = _earlier_items(request, body.get("previous_response_id")) + conversation_items
    items = earlier + _input_items(body.get("input", ""))
    chat = chat_request(body, items)
    if body.get("truncation") == "auto":
        await _truncate(request, chat)
    try:
        completion = await request.state.chat.generate(request.call.dialect, chat, request.decision,
                                                       request.call.context.body_bytes)
    except ApiError as error:
        raise in_responses_terms(error, body, items, len(earlier)) from None
    request.call.report_usage(completion.prompt_tokens, completion.completion_tokens)
    hosted = builtin_tools.calls(request, last_user_text(chat["messages"]), completion.id.encode(), earlier)
    response = response_object(request, body, completion, earlier, hosted)
    if body.get("store", True) or body.get("background"):
        response = await _keep(request, response, [*conversation_items, *items[len(earlier):]])
    conversation = _conversation_id(body)
    if conversation is not None:  # the conversation goes on with this turn: its input, then its output
        append_items(request, conversation, [*items[len(earlier):], *response["output"]], refuse=False)
    if body.get("stream"):
        request.call.failure_frames = response_events.failure(response)
        return FramesResponse(response_events.frames(response, completion.choices[0]))
    return json_response(response)


async def stream_stored(request: SpecRequest) -> Response | None:
    """``GET /responses/{id}?stream=true``: a stored response's events again, after ``starting_after``; a
    background one still running is waited for (as long as the schedule says) and streamed as it completes.
    Without ``stream`` the engine answers the JSON."""
    query = request.call.request.query_params
    if query.get("stream") != "true":
        return None
    response_id = request.params["response_id"]
    resources = request.state.stores.resources
    stored = resources.get(COLLECTION, response_id)
    if stored is None and not request.state.checks.synthesize_missing:
        raise ApiError(404, f"No response found with id '{response_id}'.", param="response_id", code="not_found")
    if stored is None:  # --validation schema: one made up for the id, as the engine makes up resources
        made = {"model": "gpt-4o"}
        completion = request.state.chat.complete(request.call.dialect, chat_request(made, []), request.decision)
        stored = {**response_object(request, made, completion, [], builtin_tools.Hosted()), "id": response_id}
    stored = await request.lifecycles.current(request, COLLECTION, COLLECTION, stored)
    life = life_of(request.state, COLLECTION, response_id)
    if stored.get("status") in ("queued", "in_progress") and life is not None:
        # Until the clock says it completes: the schedule's time, or at once when a test advances the clock.
        completes_at = life["born"] + request.state.config.job_steps[1]
        await request.state.clock.sleep_until(completes_at, at_most=request.state.config.job_steps[1] + 1.0)
        stored = await request.lifecycles.current(request, COLLECTION, COLLECTION, stored)
    raw = query.get("starting_after")
    after = None if raw is None else whole_number(raw)
    if raw is not None and after is None:
        raise invalid_request("Invalid 'starting_after': expected a sequence number (0 or more).",
                              param="starting_after", code="invalid_value")
    frames = response_events.frames(stored, _replayed(stored))
    return FramesResponse(frames[after + 1 :] if after is not None else frames)


def _replayed(response: dict[str, Any]) -> Choice:
    """The pieces a stored response's stream is cut into: its texts re-tokenized with the model's vocabulary."""
    vocabulary = tokenizer(encoding_for_model(str(response.get("model") or "gpt-4o")))
    content: list[str] | None = None
    reasoning: list[str] = []
    calls = []
    logprobs = None
    for item in response.get("output", []):
        if item["type"] == "message":
            part = item["content"][0]
            content = [entry["token"] for entry in part["logprobs"]] if part.get("logprobs") else \
                vocabulary.pieces(part["text"])[0]
            logprobs = part.get("logprobs") or None
        elif item["type"] == "reasoning" and item.get("summary"):
            reasoning = vocabulary.pieces(item["summary"][0]["text"])[0]
        elif item["type"] == "function_call":
            calls.append(ToolCall(item["call_id"], item["name"], item["arguments"],
                                  vocabulary.pieces(item["arguments"])[0]))
    return Choice(0, content, "stop", reasoning=reasoning, tool_calls=calls, logprobs=logprobs)


async def count_input_tokens(request: SpecRequest) -> Response:
    """``POST /responses/input_tokens``: what ``usage.input_tokens`` of the same request would be."""
    body = request.body
    items = (_earlier_items(request, body.get("previous_response_id")) + _conversation_items(request)
             + _input_items(body.get("input", "")))
    chat = chat_request({"model": "gpt-4o", **body}, items)
    vocabulary = tokenizer(encoding_for_model(chat["model"]))
    counted = vocabulary.count_prompt(chat["messages"], chat.get("tools"))
    return json_response({"object": "response.input_tokens", "input_tokens": counted})


async def compact(request: SpecRequest) -> Response:
    """``POST /responses/compact``: the conversation as one ``compaction`` item (the mock's encrypted content is
    the base64 of the compacted items' JSON), which a later request passes back as input."""
    body = request.body
    items = _earlier_items(request, body.get("previous_response_id")) + _input_items(body.get("input") or [])
    compaction = {"type": "compaction", "id": Identity.make_id("cmp_", request.seed, 48),
                  "encrypted_content": base64.b64encode(orjson.dumps(items)).decode()}
    chat = chat_request({"model": "gpt-4o", **body}, items)
    counted = tokenizer(encoding_for_model(chat["model"])).count_prompt(chat["messages"], None)
    made = tokenizer(encoding_for_model(chat["model"])).count(compaction["encrypted_content"]) // 4
    return json_response({
        "id": Identity.make_id("resp_", request.seed, 48), "object": "response.compaction",
        "created_at": request.state.identity.created(), "output": [compaction],
        "usage": {"input_tokens": counted, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                  "output_tokens": made, "output_tokens_details": {"reasoning_tokens": 0},
                  "total_tokens": counted + made}})


# --- conversations -------------------------------------------------------------------------------------------


async def create_conversation_items(request: SpecRequest) -> Response:
    """``POST /conversations/{id}/items``: the items appended, answered as the list of them."""
    given = request.body.get("items")
    items = [item for item in given if isinstance(item, dict)] if isinstance(given, list) else []
    added = append_items(request, request.params["conversation_id"], items)
    return json_response({"object": "list", "data": added, "first_id": added[0]["id"] if added else None,
                          "last_id": added[-1]["id"] if added else None, "has_more": False})


def _conversation_id(body: dict[str, Any]) -> str | None:
    given = body.get("conversation")
    if isinstance(given, dict):
        given = given.get("id")
    return given if isinstance(given, str) else None


def _conversation_items(request: SpecRequest) -> list[dict[str, Any]]:
    """The items of the conversation a request continues (``conversation``), oldest first."""
    conversation = _conversation_id(request.body)
    if conversation is None:
        return []
    resources = request.state.stores.resources
    if resources.get("/conversations", conversation) is None and not request.state.checks.synthesize_missing:
        raise ApiError(404, f"Conversation with id '{conversation}' not found.", param="conversation",
                       code="not_found")
    return [item for item in resources.items(f"/conversations/{conversation}/items") if item.get("type") != "reasoning"]


async def _truncate(request: SpecRequest, chat: dict[str, Any]) -> None:
    """``truncation: auto``: the oldest turns dropped (never the instructions or the last message) until the
    conversation fits the model's context window; ``disabled`` leaves an overflow to the 400 it gets.

    A prompt's count is the sum of its messages' counts and a fixed part, so each message is counted once (and
    the loop runs between slices of a long one); dropping a turn takes its count off the total."""
    model = request.state.models.resolve(request.call.dialect, chat["model"])
    if not model.context_window:
        return
    vocabulary = tokenizer(encoding_for_model(model.id))
    messages = chat["messages"]
    empty = vocabulary.count_prompt([], None)
    total = vocabulary.count_prompt([], chat.get("tools"))
    costs = []
    for message in messages:
        cost = await vocabulary.count_prompt_yielding([message], None) - empty
        costs.append(cost)
        total += cost
    first = 1 if messages and messages[0].get("role") == "system" else 0
    drop = first
    while len(messages) - (drop - first) > first + 1 and total > model.context_window:
        total -= costs[drop]
        drop += 1
        while len(messages) - (drop - first) > first + 1 and messages[drop].get("role") == "tool":
            total -= costs[drop]  # a result without its call goes with it
            drop += 1
    del messages[first:drop]


# --- the request as a chat request -----------------------------------------------------------------------------


def _input_items(given: Any) -> list[dict[str, Any]]:
    if isinstance(given, str):
        return [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": given}]}]
    return [item for item in given if isinstance(item, dict)] if isinstance(given, list) else []


def _earlier_items(request: SpecRequest, previous: Any) -> list[dict[str, Any]]:
    """The conversation a ``previous_response_id`` continues, oldest first: each turn of the chain's own input
    items, then its output. A response keeps only its own inputs and the id of the one before, so a long chain
    costs each turn what it added, never the whole history again."""
    resources = request.state.stores.resources
    turns: list[list[dict[str, Any]]] = []
    seen: set[str] = set()
    while isinstance(previous, str) and previous not in seen and len(turns) < MAX_CHAIN:
        found = resources.get(COLLECTION, previous)
        if found is None:
            if turns or request.state.checks.synthesize_missing:
                break  # an older turn the store let go of ends the conversation there
            raise ApiError(404, f"Previous response with id '{previous}' not found.", param="previous_response_id",
                           code="previous_response_not_found")
        seen.add(previous)
        outputs = [item for item in found.get("output", []) if item.get("type") != "reasoning"]
        turns.append([*resources.items(f"{COLLECTION}/{previous}/input_items"), *outputs])
        previous = found.get("previous_response_id")
    return [item for turn in reversed(turns) for item in turn]


async def list_input_items(request: SpecRequest) -> Response | None:
    """``GET /responses/{id}/input_items``: the whole conversation the response answered, its chain's turns
    first, then its own inputs."""
    resources = request.state.stores.resources
    found = resources.get(COLLECTION, request.params["response_id"])
    if found is None:
        return None  # the engine's 404 (or, with --validation schema, its made-up list)
    items = [*_earlier_items(request, found.get("previous_response_id")),
             *resources.items(f"{COLLECTION}/{found['id']}/input_items")]
    by_id = {str(item.get("id") or f"#{position}"): item for position, item in enumerate(items)}
    return json_response(page(request.operation, request.seed, list(by_id), by_id.get, request.call))


def _conversation(body: dict[str, Any], items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[int | None]]:
    """The chat messages the items stand for, and for each the index of the item it came from (None: the
    instructions)."""
    messages: list[dict[str, Any]] = []
    origins: list[int | None] = []
    if isinstance(body.get("instructions"), str) and body["instructions"]:
        messages.append({"role": "system", "content": body["instructions"]})
        origins.append(None)
    for index, item in enumerate(items):
        made = _messages(item, messages)
        messages += made
        origins += [index] * len(made)
    return messages, origins


CHAT_FIELDS = {".tool_call_id": ".call_id", ".tool_calls": ""}
_CHAT_PARAM = re.compile(r"messages(?:\[(\d+)\](.*))?")


def in_responses_terms(error: ApiError, body: dict[str, Any], items: list[dict[str, Any]], earlier: int) -> ApiError:
    """An error the chat service raised about the chat request, naming the Responses request's own field instead:
    ``messages[3].tool_call_id`` is ``input[1].call_id``; what came from an earlier turn is ``previous_response_id``."""
    found = _CHAT_PARAM.fullmatch(error.param or "")
    if found is None:
        return error
    _, origins = _conversation(body, items)
    position = int(found[1]) if found[1] is not None else None
    origin = origins[position] if position is not None and position < len(origins) else -1
    rest = found[2] or ""
    item = items[origin] if origin is not None and 0 <= origin < len(items) else {}
    if item.get("type") == "function_call_output" and rest.startswith(".content"):
        rest = ".output" + rest.removeprefix(".content")
    for chat_field, own in CHAT_FIELDS.items():
        rest = rest.replace(chat_field, own)
    if position is None or origin == -1:
        param = "input"
    elif origin is None:
        param = "instructions"
    elif origin < earlier:
        param = "previous_response_id"
    else:
        param = f"input[{origin - earlier}]{rest}"
    message = error.message.replace(error.param or "", param) if error.param else error.message
    if item.get("type") == "function_call_output" and param.endswith(".call_id"):
        message = f"No tool call found for function call output with call_id {item.get('call_id')}."
    return ApiError(error.status, message, type=error.type, param=param, code=error.code, headers=error.headers)


def chat_request(body: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    """The chat completions request a Responses request stands for."""
    messages, _ = _conversation(body, items)
    chat: dict[str, Any] = {"model": str(body.get("model") or "gpt-4o"), "messages": messages or [
        {"role": "user", "content": ""}]}
    functions = [tool for tool in body.get("tools") or [] if isinstance(tool, dict) and tool.get("type") == "function"]
    if functions:
        chat["tools"] = [{"type": "function", "function": {key: tool[key] for key in
                                                           ("name", "description", "parameters", "strict")
                                                           if key in tool}} for tool in functions]
        choice = body.get("tool_choice")
        if isinstance(choice, dict) and choice.get("type") == "function":
            chat["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
        elif choice in ("auto", "none", "required"):
            chat["tool_choice"] = choice
        if isinstance(body.get("parallel_tool_calls"), bool):
            chat["parallel_tool_calls"] = body["parallel_tool_calls"]
    fmt = (body.get("text") or {}).get("format") if isinstance(body.get("text"), dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        chat["response_format"] = {"type": "json_schema", "json_schema": {
            key: fmt[key] for key in ("name", "schema", "strict", "description") if key in fmt}}
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        chat["response_format"] = {"type": "json_object"}
    effort = (body.get("reasoning") or {}).get("effort") if isinstance(body.get("reasoning"), dict) else None
    if isinstance(effort, str):
        chat["reasoning_effort"] = effort
    if "message.output_text.logprobs" in (body.get("include") or []):
        chat["logprobs"] = True
        chat["top_logprobs"] = body["top_logprobs"] if isinstance(body.get("top_logprobs"), int) else 0
    if isinstance(body.get("max_output_tokens"), int):
        chat["max_completion_tokens"] = body["max_output_tokens"]
    for key in ("temperature", "top_p", "seed"):
        if isinstance(body.get(key), (int, float)):
            chat[key] = body[key]
    return chat


def _messages(item: dict[str, Any], so_far: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role", "user")
        return [{"role": "system" if role == "developer" else role, "content": _content(item.get("content"))}]
    if kind == "function_call":
        call = {"id": item.get("call_id"), "type": "function",
                "function": {"name": item.get("name"), "arguments": item.get("arguments", "{}")}}
        if so_far and so_far[-1].get("role") == "assistant" and so_far[-1].get("tool_calls"):
            so_far[-1]["tool_calls"].append(call)  # parallel calls are one assistant turn
            return []
        return [{"role": "assistant", "content": None, "tool_calls": [call]}]
    if kind == "compaction":  # what /responses/compact folded away, unfolded
        try:
            folded = orjson.loads(base64.b64decode(str(item.get("encrypted_content", ""))))
        except (ValueError, orjson.JSONDecodeError):
            return []
        unfolded: list[dict[str, Any]] = []
        for inner in folded if isinstance(folded, list) else []:
            if isinstance(inner, dict):
                unfolded += _messages(inner, [*so_far, *unfolded])
        return unfolded
    if kind == "function_call_output":
        output = item.get("output")
        return [{"role": "tool", "tool_call_id": item.get("call_id"),
                 "content": output if isinstance(output, str) else _text(output)}]
    return []


def _content(content: Any) -> Any:
    """Responses content parts as chat content: text parts joined, images as ``image_url`` parts."""
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        if part.get("type") in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": str(part.get("text", ""))})
        elif part.get("type") == "input_file":  # read as its name: the mock does not open documents
            name = part.get("filename") or part.get("file_id") or part.get("file_url") or "a file"
            parts.append({"type": "text", "text": f"[{name}]"})
        elif part.get("type") == "input_image" and isinstance(part.get("image_url"), str):
            parts.append({"type": "image_url", "image_url": {"url": part["image_url"],
                                                             "detail": part.get("detail") or "auto"}})
    if all(part["type"] == "text" for part in parts):
        return " ".join(part["text"] for part in parts)
    return parts


def _text(content: Any) -> str:
    parts = content if isinstance(content, list) else []
    return " ".join(str(part.get("text", "")) for part in parts if isinstance(part, dict))


# --- the answer ------------------------------------------------------------------------------------------------


def response_object(request: SpecRequest, body: dict[str, Any], completion: Completion,
                    earlier: list[dict[str, Any]], hosted: builtin_tools.Hosted) -> dict[str, Any]:
    choice = completion.choices[0]
    salt = completion.id.encode()
    output = output_items(choice, salt, body)
    reasoned = 1 if output and output[0]["type"] == "reasoning" else 0
    if hosted.waiting:  # an MCP call waits for its approval: the response ends with the request for it
        output = output[:reasoned]
    output[reasoned:reasoned] = hosted.items  # the hosted tools ran before the answer
    cut = choice.finish_reason == "length"
    usage = completion.usage
    cached = _cached_tokens(request, earlier, usage["prompt_tokens"])
    response: dict[str, Any] = {
        "id": Identity.make_id("resp_", salt, 48), "object": "response", "created_at": completion.created,
        "status": "incomplete" if cut else "completed", "completed_at": None if cut else completion.created,
        "error": None, "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
        "model": completion.model, "output": output, "usage": {
            "input_tokens": usage["prompt_tokens"],
            "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
            "output_tokens": usage["completion_tokens"],
            "output_tokens_details": {"reasoning_tokens": usage["completion_tokens_details"]["reasoning_tokens"]},
            "total_tokens": usage["total_tokens"]},
        "tools": body.get("tools") or [], "reasoning": _reasoning(body),
    }
    for key in ECHOED:  # what the request said, else the API's default; a null sent is the default too
        value = body.get(key)
        if value is None and key in DEFAULTS:
            response[key] = DEFAULTS[key]
        elif value is not None:
            response[key] = value
    response["instructions"] = body.get("instructions")
    response["output_text"] = "".join(part["text"] for item in output if item["type"] == "message"
                                      for part in item["content"])
    return response


def output_items(choice: Choice, salt: bytes, body: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if choice.reasoning:
        summary = [{"type": "summary_text", "text": "".join(choice.reasoning)}] if _reasoning(body)["summary"] else []
        items.append({"type": "reasoning", "id": Identity.make_id("rs_", salt + b"rs", 48), "summary": summary})
    for position, call in enumerate(choice.tool_calls):
        items.append({"type": "function_call", "id": Identity.make_id("fc_", salt + bytes([position]), 48),
                      "call_id": call.id, "name": call.name, "arguments": call.arguments, "status": "completed"})
    if choice.content is not None and (choice.text or not choice.tool_calls):
        items.append({"type": "message", "id": Identity.make_id("msg_", salt + b"msg", 48), "status": "completed",
                      "role": "assistant", "content": [{"type": "output_text", "text": choice.text or "",
                                                        "annotations": [], "logprobs": choice.logprobs or []}]})
    return items


def _reasoning(body: dict[str, Any]) -> dict[str, Any]:
    given: dict[str, Any] = body["reasoning"] if isinstance(body.get("reasoning"), dict) else {}
    return {"effort": given.get("effort"), "summary": given.get("summary")}


def _cached_tokens(request: SpecRequest, earlier: list[dict[str, Any]], prompt_tokens: int) -> int:
    """What a prompt cache would hit: the earlier turns of a continued conversation, in whole 64-token blocks
    past the first 1,024 tokens (the real cache's granularity)."""
    if not earlier:
        return 0
    previous = request.state.stores.resources.get(COLLECTION, str(request.body.get("previous_response_id")))
    before = (previous or {}).get("usage", {}).get("total_tokens", 0)
    shared = min(int(before), prompt_tokens)
    return shared // 64 * 64 if shared >= 1024 else 0


async def _keep(request: SpecRequest, response: dict[str, Any], own_items: list[dict[str, Any]]) -> dict[str, Any]:
    """The response, and its own input items (with ids, as the API lists them; the turns before it are its
    ``previous_response_id``'s); a background response is answered as it starts (``queued``)."""
    resources = request.state.stores.resources
    stored = copy.deepcopy(response)
    await request.lifecycles.begin(request, COLLECTION, COLLECTION, stored)
    resources.put(COLLECTION, response["id"], stored)
    collection = f"{COLLECTION}/{response['id']}/input_items"
    for index, item in enumerate(own_items):
        kept = as_item(item, Identity.make_id("msg_", f"{response['id']}:{index}".encode(), 48))
        resources.put(collection, kept["id"], kept)
        if index % KEEP_SLICE == KEEP_SLICE - 1:
            await anyio.lowlevel.checkpoint()  # thousands of items: let the server answer others meanwhile
    return stored if response.get("background") and not request.body.get("stream") else response


RESPONDERS: dict[str, Responder] = {
    "createResponse": create_response, "Getinputtokencounts": count_input_tokens, "Compactconversation": compact,
    "getResponse": stream_stored, "listInputItems": list_input_items,
    "createConversationItems": create_conversation_items,
}

"""Stored chat completions (``store: true``) and their list/retrieve/update/delete endpoints.

The store is bounded (oldest evicted first) and keeps each completion as the
exact body the client received, plus the request messages, so
``GET /chat/completions/{id}`` answers byte-compatible objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from mockserver.asgi.outgoing import json_response
from mockserver.config import whole_number
from mockserver.control.decision import Decision
from mockserver.determinism import digest
from mockserver.endpoints.base import Call, Endpoint
from mockserver.endpoints.chat.encode import completion_body
from mockserver.errors import ApiError, invalid_request
from mockserver.generation.tokens import tokenizer
from mockserver.storage import StoredCompletion

if TYPE_CHECKING:
    from mockserver.app.state import AppState

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


SYNTHETIC_MODEL = "gpt-4o-mini"
SYNTHETIC_MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "Hello!"}]
SYNTHETIC_REQUEST = {"model": SYNTHETIC_MODEL, "messages": SYNTHETIC_MESSAGES}


def lookup(state: AppState, completion_id: str) -> StoredCompletion:
    """The stored completion, or 404; in ``schema`` mode a missing one is synthesized (see README)."""
    stored = state.stores.completions.find(completion_id)
    if stored is not None:
        return stored
    if not state.checks.synthesize_missing:
        raise ApiError(
            404,
            f"No chat completion found with id '{completion_id}'. Only completions created with "
            "'store': true are kept.",
            param="completion_id",
            code="not_found",
        )
    completion = state.chat.generator.complete(
        SYNTHETIC_REQUEST,
        model=state.catalogs["openai"].describe(SYNTHETIC_MODEL, state.identity.created()),
        tokenizer=tokenizer("o200k_base"),
        prompt_tokens=tokenizer("o200k_base").count_prompt(SYNTHETIC_MESSAGES, None),
        request_digest=digest({"stored": completion_id}, state.config.seed),
    )
    body = {**completion_body(completion), "id": completion_id}
    return state.stores.completions.put(body, SYNTHETIC_MESSAGES, None)


def page(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    """One page of a cursor-paginated list, exactly as OpenAI's list objects."""
    order = query.get("order", "asc")
    if order not in ("asc", "desc"):
        raise invalid_request(f"Invalid value for 'order': {order!r}. Supported values are: 'asc' and 'desc'.",
                              param="order", code="invalid_value")
    raw_limit = query.get("limit", str(DEFAULT_LIMIT))
    limit = whole_number(raw_limit)
    if limit is None or not 0 <= limit <= MAX_LIMIT:
        raise invalid_request(f"Invalid 'limit': expected an integer from 0 to {MAX_LIMIT}, got {raw_limit!r}.",
                              param="limit", code="invalid_value")
    ordered = items if order == "asc" else list(reversed(items))
    after = query.get("after")
    if after:
        ids = [item["id"] for item in ordered]
        # A cursor that is no longer in the list (deleted, evicted) ends the listing.
        ordered = ordered[ids.index(after) + 1:] if after in ids else []
    data = ordered[:limit]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(ordered) > len(data),
    }


def _metadata_filter(query: Any) -> dict[str, str]:
    """``metadata[key]=value`` query parameters, as the SDK sends them."""
    return {key[len("metadata["):-1]: value for key, value in query.items()
            if key.startswith("metadata[") and key.endswith("]")}


async def list_completions(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    query = call.request.query_params
    model = query.get("model")
    known = call.dialect.catalog.models.get(model) if model is not None else None
    names = {model, known.snapshot if known is not None else None} - {None}  # an alias finds its snapshot's
    wanted = _metadata_filter(query)
    items = [
        stored.body for stored in state.stores.completions.values()
        if (model is None or stored.body["model"] in names)
        and all(stored.body["metadata"].get(key) == value for key, value in wanted.items())
    ]
    return json_response(page(items, dict(query)))


async def retrieve_completion(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    return json_response(lookup(state, call.request.path_params["completion_id"]).body)


async def update_completion(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    stored = lookup(state, call.request.path_params["completion_id"])
    if not isinstance(body, dict) or "metadata" not in body:
        raise invalid_request("Missing required parameter: 'metadata'.", param="metadata",
                              code="missing_required_parameter")
    metadata = body["metadata"]
    if metadata is not None and not (
        isinstance(metadata, dict) and len(metadata) <= 16
        and all(isinstance(key, str) and isinstance(value, str) for key, value in metadata.items())
    ):
        raise invalid_request("Invalid 'metadata': expected an object of at most 16 string keys and string values.",
                              param="metadata", code="invalid_value")
    return json_response(state.stores.completions.set_metadata(stored.body["id"], dict(metadata or {})).body)


async def delete_completion(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    completion_id = call.request.path_params["completion_id"]
    lookup(state, completion_id)
    state.stores.completions.delete(completion_id)
    return json_response({"object": "chat.completion.deleted", "id": completion_id, "deleted": True})


def message_object(completion_id: str, position: int, message: dict[str, Any]) -> dict[str, Any]:
    """A stored request message as the messages list returns it (the shape of OpenAI's own example)."""
    content = message.get("content")
    parts = None
    if isinstance(content, list):
        parts = [part for part in content if part.get("type") in ("text", "image_url")]
        content = "".join(part.get("text", "") for part in content if part.get("type") == "text")
    return {
        "id": f"{completion_id}-{position}",
        "role": message.get("role"),
        "content": content,
        "refusal": None,
        "name": message.get("name"),
        "content_parts": parts,
    }


async def list_messages(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    completion_id = call.request.path_params["completion_id"]
    stored = lookup(state, completion_id)
    items = [message_object(completion_id, position, message) for position, message in enumerate(stored.messages)]
    return json_response(page(items, dict(call.request.query_params)))


LIST_QUERY = (
    {"name": "after", "in": "query", "schema": {"type": "string"}},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 100}},
    {"name": "order", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"]}},
)
LIST_COMPLETIONS_QUERY = (
    {"name": "model", "in": "query", "schema": {"type": "string"}},
    {"name": "metadata", "in": "query", "style": "deepObject", "explode": True,
     "schema": {"type": "object", "additionalProperties": {"type": "string"}}},
    *LIST_QUERY,
)

ID_PATH = "/chat/completions/{completion_id}"
ENDPOINTS = (
    Endpoint("chat.completions.list", "stored_completions", "GET", "/chat/completions", list_completions,
             response="ChatCompletionList", query=LIST_COMPLETIONS_QUERY, reads_body=False),
    Endpoint("chat.completions.retrieve", "stored_completions", "GET", ID_PATH, retrieve_completion,
             response="CreateChatCompletionResponse", reads_body=False),
    Endpoint("chat.completions.update", "stored_completions", "POST", ID_PATH, update_completion,
             response="CreateChatCompletionResponse", request_component="UpdateChatCompletion"),
    Endpoint("chat.completions.delete", "stored_completions", "DELETE", ID_PATH, delete_completion,
             response="ChatCompletionDeleted", reads_body=False),
    Endpoint("chat.completions.messages.list", "stored_completions", "GET", ID_PATH + "/messages", list_messages,
             response="ChatCompletionMessageList", query=LIST_QUERY, reads_body=False),
)

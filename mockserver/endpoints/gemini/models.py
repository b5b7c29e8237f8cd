"""``GET models`` and ``GET models/{model}`` as the Gemini API answers them, from the dialect's catalog.

A model is ``{"name": "models/<id>", "version", "displayName", "description", "inputTokenLimit",
"outputTokenLimit", "supportedGenerationMethods", "temperature", "maxTemperature", "topP", "topK", "thinking"}``
(the fields the SDK's ``_Model_from_mldev`` reads); the list is a page of ``pageSize`` (50 by default, 1,000 at
most) with ``nextPageToken`` while more follow. An unknown id is a 404 ``NOT_FOUND``.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from mockserver.asgi.outgoing import json_response
from mockserver.control.decision import Decision
from mockserver.dialects.catalog import ModelInfo
from mockserver.endpoints.base import Call
from mockserver.endpoints.gemini.conversation import invalid
from mockserver.errors import ApiError

if TYPE_CHECKING:
    from mockserver.app.state import AppState

DEFAULT_PAGE = 50
MAX_PAGE = 1000
CHAT_METHODS = ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"]
EMBEDDING_METHODS = ["embedContent", "countTextTokens", "countTokens", "asyncBatchEmbedContent"]
PAGE_QUERY = (
    {"name": "pageSize", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
    {"name": "pageToken", "in": "query", "required": False, "schema": {"type": "string"}},
)


def model_object(model: ModelInfo) -> dict[str, Any]:
    embedding = model.kind == "embedding"
    out: dict[str, Any] = {
        "name": f"models/{model.id}", "version": str(model.extra.get("version") or "001"),
        "displayName": str(model.extra.get("name") or model.id),
        "description": str(model.extra.get("description") or f"The mock's {model.id}."),
        "inputTokenLimit": model.context_window or 1_048_576, "outputTokenLimit": model.max_output_tokens or 8192,
        "supportedGenerationMethods": EMBEDDING_METHODS if embedding else CHAT_METHODS,
    }
    if not embedding:
        out.update(temperature=1, maxTemperature=2, topP=0.95, topK=64)
        if model.reasoning:
            out["thinking"] = True
    return out


async def list_models(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    query = call.request.query_params
    try:
        size = int(query.get("pageSize") or DEFAULT_PAGE)
    except ValueError:
        raise invalid("page_size must be an integer.", "page_size") from None
    size = max(1, min(size, MAX_PAGE))
    start = _position(query.get("pageToken"))
    ids = list(call.dialect.catalog.models)
    page = ids[start:start + size]
    answer: dict[str, Any] = {"models": [model_object(call.dialect.catalog.models[model_id]) for model_id in page]}
    if start + size < len(ids):
        answer["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
    return json_response(answer)


def _position(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode())
    except ValueError:
        raise invalid("page_token is not a token this list gave.", "page_token") from None


async def retrieve_model(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    model_id = call.request.path_params["model"]
    model = call.dialect.catalog.get(model_id)
    if model is None:
        if not state.checks.synthesize_missing:
            raise ApiError(404, f"models/{model_id} is not found for API version v1beta, or is not supported.")
        model = call.dialect.catalog.describe(model_id, state.identity.created())
    return json_response(model_object(model))


__all__ = ["PAGE_QUERY", "list_models", "model_object", "retrieve_model"]

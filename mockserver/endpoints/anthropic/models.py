"""``GET /v1/models`` and ``GET /v1/models/{model_id}`` in Anthropic's shape, from the dialect's catalog.

A model is ``{"type": "model", "id", "display_name", "created_at", "lifecycle", "max_input_tokens",
"max_tokens"}``; the list is a page (``limit`` 1..1000, 20 by default; ``after_id`` or ``before_id``) with
``has_more``, ``first_id`` and ``last_id``. An unknown id is a 404 ``not_found_error``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from mockserver.asgi.outgoing import json_response
from mockserver.control.decision import Decision
from mockserver.dialects.catalog import ModelInfo
from mockserver.endpoints.anthropic.conversation import invalid
from mockserver.endpoints.anthropic.paging import page_limit
from mockserver.endpoints.base import Call
from mockserver.errors import ApiError

if TYPE_CHECKING:
    from mockserver.app.state import AppState



def model_object(model: ModelInfo) -> dict[str, Any]:
    released = model.extra.get("released")
    created = datetime.fromisoformat(f"{released}T00:00:00+00:00") if released else \
        datetime.fromtimestamp(model.created, UTC)
    return {"type": "model", "id": model.id, "display_name": str(model.extra.get("name") or model.id),
            "created_at": created.isoformat().replace("+00:00", "Z"), "lifecycle": "active",
            "max_input_tokens": model.context_window, "max_tokens": model.max_output_tokens}


async def list_models(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    query = call.request.query_params
    limit = page_limit(query)
    ids = list(call.dialect.catalog.models)
    start, end = 0, len(ids)
    try:
        if query.get("after_id") is not None:
            start = _position(ids, query["after_id"], "after_id") + 1
        if query.get("before_id") is not None:
            end = _position(ids, query["before_id"], "before_id")
            start = max(start, end - limit) if query.get("after_id") is None else start
    except ApiError:
        if not state.checks.synthesize_missing:
            raise
        start = end = 0  # contract tests name made-up ids: an empty page
    page = ids[start:min(end, start + limit)]
    more = start + len(page) < end if query.get("before_id") is None else start > 0
    return json_response({"data": [model_object(call.dialect.catalog.models[model_id]) for model_id in page],
                          "has_more": more, "first_id": page[0] if page else None,
                          "last_id": page[-1] if page else None})


async def retrieve_model(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    model_id = call.request.path_params["model"]
    model = call.dialect.catalog.get(model_id)
    if model is None:
        if not state.checks.synthesize_missing:
            raise ApiError(404, f"model: {model_id}")
        model = call.dialect.catalog.describe(model_id, state.identity.created())
    return json_response(model_object(model))


def _position(ids: list[str], model_id: str, name: str) -> int:
    if model_id not in ids:
        raise invalid(f"{name}: no model with id {model_id!r} in this list")
    return ids.index(model_id)


__all__ = ["list_models", "model_object", "retrieve_model"]

"""``GET /models``, ``GET /models/{id}`` and ``DELETE /models/{id}``; which model a request names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from mockserver.asgi.responses import json_response
from mockserver.control.decision import Decision
from mockserver.dialects.catalog import ModelInfo
from mockserver.endpoints.base import Call, Endpoint
from mockserver.errors import model_not_found

if TYPE_CHECKING:
    from mockserver.state import AppState


def resolve_model(state: AppState, call: Call, model_id: str) -> ModelInfo:
    """The model a request names: from the catalog, one a fine-tuning job made, or (where the dialect accepts any
    model) one described from its name. A fine-tuned id (``ft:``) no job made is a 404, as there."""
    dialect = call.dialect
    known = dialect.catalog.get(model_id)
    if known is not None:
        return known
    if model_id.startswith("ft:") and not state.synthesize_missing and "spec" in dialect.endpoints:
        made = fine_tuned(state).get(model_id)
        if made is None:
            raise model_not_found(model_id)
        return ModelInfo(model_id, made["owned_by"], made["created"])
    if dialect.accept_any_model:
        return dialect.catalog.describe(model_id, state.identity.created())
    raise model_not_found(model_id)


def fine_tuned(state: AppState) -> dict[str, dict[str, Any]]:
    """The models the spec engine's fine-tuning jobs have made, as ``Model`` objects by id."""
    # Imported here: the spec engine's runs answer through chat, which resolves its model here.
    from mockserver.endpoints.spec.lifecycles.fine_tuning import fine_tuned_models

    return fine_tuned_models(state)


async def list_models(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    made = list(fine_tuned(state).values()) if "spec" in call.dialect.endpoints else []
    return json_response({"object": "list", "data": call.dialect.catalog.list_objects() + made})


async def retrieve_model(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    model_id = call.request.path_params["model"]
    model = call.dialect.catalog.get(model_id)
    if model is None and model_id.startswith("ft:") and "spec" in call.dialect.endpoints:
        made = fine_tuned(state).get(model_id)
        if made is not None:
            return json_response(made)
    if model is None:
        if not state.synthesize_missing or model_id in state.stores.deleted_models:
            raise model_not_found(model_id)
        model = call.dialect.catalog.describe(model_id, state.identity.created())
    return json_response(model.as_model_object())


async def delete_model(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    """Only fine-tuned models (``ft:`` ids) can be deleted, each once (any id in ``schema`` mode)."""
    model_id = call.request.path_params["model"]
    deletable = model_id.startswith("ft:") or state.synthesize_missing
    if not deletable or (model_id in state.stores.deleted_models and not state.synthesize_missing):
        raise model_not_found(model_id)
    state.stores.deleted_models.add(model_id)
    return json_response({"id": model_id, "object": "model", "deleted": True})


ENDPOINTS = (
    Endpoint("models.list", "models", "GET", "/models", list_models, response="ListModelsResponse", reads_body=False),
    Endpoint("models.retrieve", "models", "GET", "/models/{model:path}", retrieve_model, response="Model",
             reads_body=False),
    Endpoint("models.delete", "models", "DELETE", "/models/{model:path}", delete_model,
             response="DeleteModelResponse", reads_body=False),
)

"""``GET /models``, ``GET /models/{id}`` and ``DELETE /models/{id}``, answered from the model directory
(:class:`~mockserver.services.models.ModelDirectory`): the dialect's catalog and the models other families made."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from mockserver.asgi.outgoing import json_response
from mockserver.control.decision import Decision
from mockserver.endpoints.base import Call, Endpoint
from mockserver.errors import model_not_found
from mockserver.services.models import MADE_PREFIX

if TYPE_CHECKING:
    from mockserver.app.state import AppState


async def list_models(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    made = list(state.models.made(call.dialect).values())
    return json_response({"object": "list", "data": call.dialect.catalog.list_objects() + made})


async def retrieve_model(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    model_id = call.request.path_params["model"]
    model = call.dialect.catalog.get(model_id)
    if model is None and model_id.startswith(MADE_PREFIX):
        made = state.models.made(call.dialect).get(model_id)
        if made is not None:
            return json_response(made)
    if model is None:
        if not state.checks.synthesize_missing or model_id in state.stores.deleted_models:
            raise model_not_found(model_id)
        model = call.dialect.catalog.describe(model_id, state.identity.created())
    return json_response(model.as_model_object())


async def delete_model(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    """Only models made at run time (``ft:`` ids) can be deleted, each once (any id in ``schema`` mode)."""
    model_id = call.request.path_params["model"]
    deletable = model_id.startswith(MADE_PREFIX) or state.checks.synthesize_missing
    if not deletable or (model_id in state.stores.deleted_models and not state.checks.synthesize_missing):
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

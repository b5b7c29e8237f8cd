"""``POST /embeddings``: deterministic vectors (:mod:`mockserver.generation.vectors`) with real token counts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from mockserver.asgi.outgoing import json_response
from mockserver.control.decision import Decision
from mockserver.endpoints.base import Call, Endpoint
from mockserver.errors import invalid_request
from mockserver.generation import vectors
from mockserver.generation.tokens import encoding_for_model, tokenizer

if TYPE_CHECKING:
    from mockserver.app.state import AppState


async def create_embeddings(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    model_id = body["model"]
    state.models.resolve(call.dialect, model_id)
    dimensions = body.get("dimensions")
    if dimensions is not None and state.checks.provider_rules and not model_id.startswith("text-embedding-3"):
        raise invalid_request(
            f"This model does not support specifying dimensions: {model_id}.", param="dimensions", code="invalid_value"
        )
    size = dimensions or vectors.default_dimensions(model_id)
    inputs = body["input"]
    if isinstance(inputs, str) or (isinstance(inputs, list) and inputs and isinstance(inputs[0], int)):
        inputs = [inputs]
    vocabulary = tokenizer(encoding_for_model(model_id))
    as_base64 = body.get("encoding_format") == "base64"
    data, tokens = [], 0
    for index, item in enumerate(inputs):
        if isinstance(item, str):
            vector = vectors.embed(item, size)
            tokens += vocabulary.count(item)
        else:
            vector = vectors.embed_tokens(item, size)
            tokens += len(item)
        encoded: Any = vectors.encode_base64(vector) if as_base64 else vector
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    return json_response(
        {"object": "list", "data": data, "model": model_id, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
    )


ENDPOINTS = (
    Endpoint("embeddings", "embeddings", "POST", "/embeddings", create_embeddings, response="CreateEmbeddingResponse",
             schema="embeddings", generation=True),
)

"""``models/{model}:embedContent`` and ``:batchEmbedContents``: the vectors of :mod:`mockserver.generation.vectors`.

A content's text (its text parts, joined) is embedded as the OpenAI family embeds it, so texts that share words
score high; a vector has the model's length (3,072 for ``gemini-embedding-001``, 768 for ``text-embedding-004``)
or fewer by ``outputDimensionality`` (more is a 400). A batch's requests each name their model, which must be
the one in the path, as the API requires.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from mockserver.asgi.outgoing import json_response
from mockserver.control.decision import Decision
from mockserver.endpoints.base import Call
from mockserver.endpoints.gemini.conversation import field, invalid, text_of
from mockserver.generation import vectors

if TYPE_CHECKING:
    from mockserver.app.state import AppState

DIMENSIONS = {"gemini-embedding-001": 3072, "text-embedding-004": 768, "embedding-001": 768}
DEFAULT_DIMENSIONS = 3072
MAX_BATCH = 100


def _embedding(request: dict[str, Any], model_id: str, path: str) -> dict[str, Any]:
    most = DIMENSIONS.get(model_id, DEFAULT_DIMENSIONS)
    size = field(request, "outputDimensionality") or most
    if not 1 <= size <= most:  # also with the rules off: the vector is made in memory
        raise invalid(f"output_dimensionality must be between 1 and {most} for models/{model_id}, got {size}.",
                      f"{path}output_dimensionality")
    return {"values": vectors.embed(text_of(field(request, "content") or {}), int(size))}


async def embed_content(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    model_id = call.request.path_params["model"]
    state.models.resolve(call.dialect, model_id)
    return json_response({"embedding": _embedding(body, model_id, "")})


async def batch_embed_contents(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    model_id = call.request.path_params["model"]
    state.models.resolve(call.dialect, model_id)
    requests = field(body, "requests") or []
    if state.checks.provider_rules:
        if len(requests) > MAX_BATCH:
            raise invalid(f"at most {MAX_BATCH} requests can be in one batch.", "requests")
        for index, request in enumerate(requests):
            named = field(request, "model")
            if named is not None and named.removeprefix("models/") != model_id:
                raise invalid(f"Model '{named}' of request {index} does not match the batch's model "
                              f"'models/{model_id}'.", f"requests[{index}].model")
    return json_response({"embeddings": [_embedding(request, model_id, f"requests[{index}].")
                                         for index, request in enumerate(requests)]})


__all__ = ["batch_embed_contents", "embed_content"]

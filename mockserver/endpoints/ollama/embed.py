"""``POST /api/embed`` (and the older ``/api/embeddings``): the vectors of :mod:`mockserver.generation.vectors`.

``input`` is a string or a list of strings; each vector has the model's length (768 for ``nomic-embed-text``,
1,024 for ``mxbai-embed-large``…) or fewer ``dimensions``, and is unit length, as ``/api/embed`` normalises. A
model that cannot embed is a 400 as Ollama answers it; ``/api/embeddings`` takes one ``prompt`` and answers one
``embedding``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from mockserver.asgi.outgoing import json_response
from mockserver.control.decision import Decision
from mockserver.endpoints.base import Call
from mockserver.endpoints.ollama import library
from mockserver.endpoints.ollama.chat import LOAD_NS, PROMPT_NS_PER_TOKEN
from mockserver.errors import ApiError
from mockserver.generation import vectors
from mockserver.generation.tokens import encoding_for_model, tokenizer

if TYPE_CHECKING:
    from mockserver.app.state import AppState

DIMENSIONS = {"nomic-embed-text": 768, "mxbai-embed-large": 1024, "all-minilm": 384, "snowflake-arctic-embed": 1024,
              "embeddinggemma": 768, "bge-m3": 1024, "qwen3-embedding": 4096}
DEFAULT_DIMENSIONS = 768


def _size(model: str, asked: Any) -> int:
    """The model's length, or ``dimensions`` when it asks for fewer (more is a 400, as Ollama answers it)."""
    base = library.family(model)
    most = next((size for name, size in DIMENSIONS.items() if base.startswith(name)), DEFAULT_DIMENSIONS)
    if asked is None:
        return most
    if not isinstance(asked, int) or not 1 <= asked <= most:
        raise ApiError(400, f"invalid dimensions: {asked} (this model's embeddings have {most})", param="dimensions")
    return asked


def _check(state: AppState, call: Call, model: str) -> None:
    found = library.require(state, call.dialect, model)
    if found is not None and state.checks.provider_rules and "embedding" not in library.capabilities(found.name) \
            and not library.family(found.name).startswith(("llama", "qwen", "gemma", "mistral")):
        raise ApiError(400, f'"{model}" does not support embeddings')


async def embed(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    model = str(body["model"])
    _check(state, call, model)
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    size = _size(model, body.get("dimensions"))
    vocabulary = tokenizer(encoding_for_model(model))
    counted = sum(vocabulary.count(str(text)) for text in inputs)
    call.report_usage(counted, 0)
    return json_response({"model": model, "embeddings": [vectors.embed(str(text), size) for text in inputs],
                          "total_duration": LOAD_NS + counted * PROMPT_NS_PER_TOKEN, "load_duration": LOAD_NS,
                          "prompt_eval_count": counted})


async def embeddings(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    model = str(body["model"])
    _check(state, call, model)
    return json_response({"embedding": vectors.embed(str(body.get("prompt") or ""), _size(model, None))})


__all__ = ["embed", "embeddings"]

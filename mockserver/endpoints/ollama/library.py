"""The models this Ollama has: the catalog's, plus what was pulled, created or copied, minus what was deleted.

What changes is kept in the resource store (collection :data:`COLLECTION`), so ``--state-dir`` keeps it, a reset
forgets it and its bounds hold. A name without a tag means ``:latest``, as Ollama reads it. Each model has a
digest made from its name and what it was made from, so it is the same in every run.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mockserver.errors import ApiError

if TYPE_CHECKING:
    from mockserver.app.state import AppState
    from mockserver.dialects.dialect import Dialect

COLLECTION = "/ollama/models"
THINKING_FAMILIES = ("qwen3", "deepseek-r1", "gpt-oss", "magistral")
EMBEDDING_FAMILIES = ("nomic-embed-text", "mxbai-embed-large", "all-minilm", "snowflake-arctic-embed",
                      "embeddinggemma", "qwen3-embedding", "bge-m3")
VISION_FAMILIES = ("llava", "gemma3", "llama3.2-vision", "qwen2.5vl", "minicpm-v")
TOOL_FAMILIES = ("llama3.1", "llama3.2", "llama3.3", "qwen2.5", "qwen3", "mistral", "gpt-oss", "command-r",
                 "granite3", "deepseek-r1", "magistral", "devstral")
BILLION = 1_000_000_000
PARAMETER_SIZES = {"gpt-oss:20b": "20.9B", "llama3.2:latest": "3.2B", "llama3.1:latest": "8.0B",
                   "qwen3:latest": "8.2B", "deepseek-r1:latest": "8.2B", "gemma3:latest": "4.3B",
                   "mistral:latest": "7.2B", "nomic-embed-text:latest": "137M", "mxbai-embed-large:latest": "334M"}


_NAME = re.compile(r"^(?:[\w.-]+(?::\d+)?/)?(?:[\w.-]+/)?[\w][\w.-]{0,79}(?::[\w][\w.-]{0,79})?$")


def valid_name(name: str) -> bool:
    """A model name Ollama takes: ``[host/][namespace/]model[:tag]``."""
    return bool(_NAME.match(name))


def canonical(name: str) -> str:
    """``llama3.2`` as Ollama names it: ``llama3.2:latest``."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def family(name: str) -> str:
    return canonical(name).rsplit("/", 1)[-1].split(":", 1)[0]


def capabilities(name: str) -> list[str]:
    base = family(name)
    if base.startswith(EMBEDDING_FAMILIES):
        return ["embedding"]
    out = ["completion"]
    if base.startswith(TOOL_FAMILIES):
        out.append("tools")
    if base.startswith(THINKING_FAMILIES):
        out.append("thinking")
    if base.startswith(VISION_FAMILIES):
        out.append("vision")
    return out


@dataclass(frozen=True)
class Installed:
    name: str  # with its tag
    digest: str
    size: int
    modified: float
    made_from: str | None = None
    system: str | None = None

    def details(self) -> dict[str, Any]:
        base = family(self.name)
        parameters = PARAMETER_SIZES.get(self.name) or PARAMETER_SIZES.get(canonical(base)) or "7.6B"
        kind = base.split(".")[0].rstrip("0123456789") or base
        return {"parent_model": self.made_from or "", "format": "gguf", "family": kind, "families": [kind],
                "parameter_size": parameters, "quantization_level": "Q4_K_M"}

    def listed(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.name, "modified_at": stamp(self.modified), "size": self.size,
                "digest": self.digest, "details": self.details()}


def stamp(seconds: float) -> str:
    """An RFC 3339 time with nanoseconds, as Go prints it."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}000Z"


def digest_of(name: str, made_from: str | None = None) -> str:
    return hashlib.sha256(f"{name}\0{made_from or ''}".encode()).hexdigest()


def _size(name: str) -> int:
    parameters = PARAMETER_SIZES.get(canonical(name), "7.6B")
    scale = BILLION if parameters.endswith("B") else 1_000_000
    return int(float(parameters[:-1]) * scale * 0.6)  # about 4.8 bits a weight at Q4_K_M


def installed(state: AppState, dialect: Dialect) -> dict[str, Installed]:
    """Every model this Ollama has, by name."""
    created = float(dialect.catalog.models[next(iter(dialect.catalog.models))].created) if dialect.catalog.models \
        else 0.0
    models = {canonical(model_id): Installed(canonical(model_id), digest_of(canonical(model_id)),
                                             _size(model_id), created)
              for model_id in dialect.catalog.models}
    for entry in state.stores.resources.items(COLLECTION):
        if entry.get("deleted"):
            models.pop(entry["name"], None)
        else:
            models[entry["name"]] = Installed(entry["name"], entry["digest"], entry["size"], entry["modified"],
                                              entry.get("from"), entry.get("system"))
    return models


def find(state: AppState, dialect: Dialect, name: str) -> Installed | None:
    return installed(state, dialect).get(canonical(name))


def require(state: AppState, dialect: Dialect, name: str) -> Installed | None:
    """The model ``name`` names; a 404 as Ollama words it when it is not here (``--validation strict`` only: in the
    other modes any name answers)."""
    found = find(state, dialect, name)
    if found is None and state.checks.provider_rules:
        raise ApiError(404, f'model "{name}" not found, try pulling it first', code="model_not_found")
    return found


def generating_model(dialect: Dialect, name: str) -> str:
    """The catalog model that answers for ``name``: itself, or (a pulled ``qwen3:8b``) the catalog's model of its
    family, so it can do what its family does (think)."""
    name = canonical(name)
    if name in dialect.catalog.models:
        return name
    return next((model_id for model_id in dialect.catalog.models if family(model_id) == family(name)), name)


def add(state: AppState, name: str, made_from: str | None = None, system: str | None = None) -> Installed:
    name = canonical(name)
    model = Installed(name, digest_of(name, made_from), _size(made_from or name), state.clock.now(), made_from,
                      system)
    state.stores.resources.put(COLLECTION, name, {"name": name, "digest": model.digest, "size": model.size,
                                                  "modified": model.modified, "from": made_from, "system": system})
    return model


def remove(state: AppState, name: str) -> None:
    state.stores.resources.put(COLLECTION, canonical(name), {"name": canonical(name), "deleted": True})


__all__ = ["COLLECTION", "Installed", "add", "canonical", "capabilities", "digest_of", "family", "find",
           "generating_model", "installed", "remove", "require", "stamp", "valid_name"]

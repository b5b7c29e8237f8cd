"""The model directory: which model a request names, and which models exist beyond a dialect's catalog.

A dialect's catalog lists the models it documents; other families add models at run time (a fine-tuning
job's model once it succeeds) by registering a *source* here when the app is built, so a family that serves
models never imports the family that makes them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mockserver.determinism import Identity
from mockserver.dialects.catalog import ModelInfo
from mockserver.dialects.dialect import Dialect
from mockserver.errors import invalid_request, model_not_found
from mockserver.storage import IdStore

ModelSource = Callable[[], dict[str, dict[str, Any]]]
"""The ``Model`` objects (by id) some family has made so far, read when asked."""

MAX_MODEL_ID = 256
"""The longest model name a request may give: real ids are short, and a client's megabyte name would be echoed in
every answer, journal entry and metric."""
MADE_PREFIX = "ft:"
"""The prefix of the ids of models made at run time (fine-tuned models)."""


class ModelDirectory:
    def __init__(self, identity: Identity, deleted: IdStore, synthesize_missing: bool) -> None:
        """``deleted``: the store's set of deleted model ids; ``synthesize_missing``: ``--validation schema``."""
        self._identity = identity
        self._deleted = deleted
        self._synthesize_missing = synthesize_missing
        self._sources: list[tuple[str, ModelSource]] = []

    def add_source(self, group: str, source: ModelSource) -> None:
        """Serve the models ``source`` lists on the dialects that serve the endpoint ``group`` that makes them."""
        self._sources.append((group, source))

    def made(self, dialect: Dialect) -> dict[str, dict[str, Any]]:
        """Every model made at run time by a family ``dialect`` serves and not deleted, as ``Model`` objects by id."""
        found: dict[str, dict[str, Any]] = {}
        for group, source in self._sources:
            if group in dialect.endpoints:
                found.update(source())
        return {model_id: model for model_id, model in found.items() if model_id not in self._deleted}

    def serves_made(self, dialect: Dialect) -> bool:
        """Whether ``dialect`` serves a family that makes models at run time."""
        return any(group in dialect.endpoints for group, _ in self._sources)

    def resolve(self, dialect: Dialect, model_id: str) -> ModelInfo:
        """The model a request names: from the catalog, one made at run time, or (where the dialect accepts any
        model) one described from its name. A made-model id (``ft:``) nobody made is a 404, as there."""
        if len(model_id) > MAX_MODEL_ID:
            raise invalid_request(f"Invalid 'model': string too long. Expected a string with maximum length "
                                  f"{MAX_MODEL_ID}, but got a string with length {len(model_id)} instead.",
                                  param="model", code="string_above_max_length")
        known = dialect.catalog.get(model_id)
        if known is not None:
            return known
        if model_id.startswith(MADE_PREFIX) and not self._synthesize_missing and self.serves_made(dialect):
            made = self.made(dialect).get(model_id)
            if made is None:
                raise model_not_found(model_id)
            return ModelInfo(model_id, made["owned_by"], made["created"])
        if dialect.accept_any_model:
            return dialect.catalog.describe(model_id, self._identity.created())
        raise model_not_found(model_id)

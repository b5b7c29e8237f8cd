"""The rest of OpenAI's REST API, answered by the spec engine's fallback, and the lifecycles of its long-running
resources: batches, fine-tuning jobs (which make models), uploads, vector stores and their files, assistants runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mockserver.endpoints.engine import SPEC_GROUP
from mockserver.endpoints.openai_rest import batches, fine_tuning, threads, uploads, vector_stores

if TYPE_CHECKING:
    from mockserver.app.state import AppState

LIFECYCLES = (batches.LIFECYCLE, fine_tuning.LIFECYCLE, uploads.LIFECYCLE, *vector_stores.LIFECYCLES,
              *threads.LIFECYCLES)


def install(state: AppState) -> None:
    """Give the model directory the models fine-tuning jobs make (served where the fallback is)."""
    state.models.add_source(SPEC_GROUP, lambda: fine_tuning.fine_tuned_models(state))


__all__ = ["LIFECYCLES", "install"]

"""The spec engine's long-running resources: see :mod:`.base` for how they move, and each module for one family."""

from __future__ import annotations

from mockserver.endpoints.spec.lifecycles import (
                         batches,
                         conversations,
                         fine_tuning,
                         responses,
                         threads,
                         uploads,
                         vector_stores,
)
from mockserver.endpoints.spec.lifecycles.base import Lifecycles

LIFECYCLES = Lifecycles([batches.LIFECYCLE, fine_tuning.LIFECYCLE, uploads.LIFECYCLE, responses.LIFECYCLE,
                         conversations.LIFECYCLE, *vector_stores.LIFECYCLES, *threads.LIFECYCLES])

__all__ = ["LIFECYCLES"]

"""The spec engine's long-running resources: see :mod:`.base` for how they move, and each module for one family."""

from __future__ import annotations

from mockserver.endpoints.spec.lifecycles import batches, fine_tuning, threads, uploads, vector_stores
from mockserver.endpoints.spec.lifecycles.base import Lifecycles

LIFECYCLES = Lifecycles([batches.LIFECYCLE, fine_tuning.LIFECYCLE, uploads.LIFECYCLE, *vector_stores.LIFECYCLES,
                         *threads.LIFECYCLES])

__all__ = ["LIFECYCLES"]

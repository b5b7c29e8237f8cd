"""Chaos a fleet draws together: ``--fault NAME=RATE`` counts the fleet's requests in Redis, so the n-th request to
reach chaos on any node rolls the n-th number of the one sequence the seed makes, as one mock would."""

from __future__ import annotations

from collections.abc import Iterable

from mockserver.control.plane import Chaos
from mockserver.fleet.backend import SharedState


class FleetChaos(Chaos):
    """:class:`~mockserver.control.plane.Chaos` whose draws are counted in the fleet's Redis."""

    def __init__(self, specs: Iterable[str], seed: int, shared: SharedState) -> None:
        super().__init__(specs, seed)
        self.shared = shared
        self.key = shared.key("chaos", "drawn")

    async def _count(self) -> int:
        return int(await self.shared.run(self.shared.client.incr(self.key)))

    def reset(self) -> None:
        self.shared.call_sync(lambda: self.shared.sync_client.delete(self.key))


__all__ = ["FleetChaos"]

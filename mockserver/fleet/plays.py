"""The fleet's cassette play counts: which recording answers a request, counted in Redis, so a cassette replays
its repeated requests in recorded order across the fleet (the first to the first request whichever node serves
it, the second to the second), as one mock replays them.

A cassette's counts are one hash, ``PREFIX:cassettes:<path>``, a field per recording played; a reset forgets
them. The files themselves are each node's (start every node with the same ``--cassettes`` directory); recording
writes the file of the node that recorded.
"""

from __future__ import annotations

from typing import Any

from mockserver.fleet.backend import SharedState

# KEYS: the cassette's counts. ARGV: the recordings that may answer, in recorded order. The first not played yet,
# else the last again: its index and its plays with this one.
TAKE = """
for i = 1, #ARGV do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then
    return {tonumber(ARGV[i]), redis.call('HINCRBY', KEYS[1], ARGV[i], 1)}
  end
end
return {tonumber(ARGV[#ARGV]), redis.call('HINCRBY', KEYS[1], ARGV[#ARGV], 1)}
"""


class FleetPlays:
    """:class:`~mockserver.cassettes.library.SharedPlays` in the fleet's Redis."""

    def __init__(self, shared: SharedState) -> None:
        self.shared = shared
        self._take = shared.register(TAKE)

    async def take(self, cassette: str, ranked: list[int]) -> tuple[int, int]:
        taken: Any = await self.shared.run(self._take(keys=[self.shared.key("cassettes", cassette)], args=ranked))
        return int(taken[0]), int(taken[1])

    def clear(self) -> None:
        self.shared.forget("cassettes:*")


__all__ = ["TAKE", "FleetPlays"]

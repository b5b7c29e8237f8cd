"""The fleet's clock: every node runs the host's clock plus the same offset, the sum of every advance made on
any node (``POST /_mock/clock``, ``MockServer.advance``), kept in Redis.

An advance adds to that sum atomically and moves the node that made it at once; the others catch up on their next
request (the sum comes with the fleet's scripts, in the read every request makes) or when asked the time. The
clock only moves forward, as one mock's does.
"""

from __future__ import annotations

from mockserver.clock import Clock, ClockError
from mockserver.fleet.backend import SharedState


class FleetClock:
    """A node's :class:`~mockserver.clock.Clock`, kept level with the fleet's advances."""

    def __init__(self, shared: SharedState, clock: Clock) -> None:
        self.shared = shared
        self.clock = clock
        self.key = shared.key("clock", "advanced")

    def advance(self, seconds: float) -> float:
        """Move the fleet's clock ``seconds`` forward; this node's new time."""
        moved = Clock.check_advance(seconds)
        total = self.shared.call_sync(lambda: self.shared.sync_client.incrbyfloat(self.key, moved))
        self.clock.catch_up(float(total))
        return self.clock.now()

    def set(self, unix_seconds: float) -> float:
        """Move the fleet's clock forward to ``unix_seconds``."""
        if not isinstance(unix_seconds, int | float) or isinstance(unix_seconds, bool) or unix_seconds != unix_seconds:
            raise ClockError("the time to set must be a unix time in seconds")
        self.catch_up()
        return self.advance(unix_seconds - self.clock.now())

    def catch_up(self) -> None:
        """Level this node's clock with the fleet's advances now."""
        total = self.shared.call_sync(lambda: self.shared.sync_client.get(self.key))
        self.clock.catch_up(float(total or 0))


__all__ = ["FleetClock"]

"""The mock's one clock: what every schedule, bucket, window and ``created`` stamp reads.

It runs with the wall clock plus an offset that tests move forward
(:meth:`Clock.advance`, ``POST /_mock/clock``, ``MockServer.advance``), so a
batch finishes, a rate-limit bucket refills or a prompt cache expires with no
sleep. With ``--freeze-time`` it stands still at :data:`FROZEN_EPOCH` and moves
only when told to, so two runs stamp the same times.

:meth:`now` is the wall time (unix seconds) the mock pretends it is;
:meth:`monotonic` is for durations (never goes back when the wall clock is set
back by the host; it moves with every advance).
"""

from __future__ import annotations

import asyncio
import threading
import time

FROZEN_EPOCH = 1_735_689_600
"""The unix time a frozen clock starts at (2025-01-01T00:00:00Z)."""

MAX_ADVANCE = 10 * 365 * 24 * 3600.0
"""The most one advance may move the clock (ten years): enough for any TTL, never an overflowing timestamp."""


WAKE_INTERVAL = 0.02
"""How often a wait on the clock looks again (an advance from another thread has no other way to wake it)."""


class ClockError(ValueError):
    """A move the clock refuses: backwards, not a number, or past :data:`MAX_ADVANCE`."""


class Clock:
    """Wall and monotonic time, both shifted by the same offset; frozen or running."""

    def __init__(self, frozen: bool = False) -> None:
        self.frozen = frozen
        self._offset = 0.0
        self._advanced = 0.0  # every advance so far, added up (a fleet's nodes agree on it: see catch_up)
        self._lock = threading.Lock()
        if frozen:
            self._frozen_wall = float(FROZEN_EPOCH)
            self._frozen_monotonic = 0.0

    def now(self) -> float:
        """Unix seconds as the mock sees them."""
        if self.frozen:
            return self._frozen_wall
        return time.time() + self._offset

    def monotonic(self) -> float:
        """Seconds for measuring durations: moves with real time (unless frozen) and with every advance."""
        if self.frozen:
            return self._frozen_monotonic
        return time.monotonic() + self._offset

    def created(self) -> int:
        """The whole unix second a resource made now is stamped with."""
        return int(self.now())

    @property
    def offset(self) -> float:
        """How far the clock has been moved ahead of the host's clock (0 when frozen: it has no host time)."""
        return 0.0 if self.frozen else self._offset

    @property
    def advanced(self) -> float:
        """Every advance so far, added up."""
        return self._advanced

    @staticmethod
    def check_advance(seconds: object) -> float:
        """``seconds`` as a move the clock takes, or :class:`ClockError` saying why not."""
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds != seconds:
            raise ClockError("the seconds to advance must be a number")
        if seconds < 0:
            raise ClockError(f"the clock only moves forward: {seconds} is negative")
        if seconds > MAX_ADVANCE:
            raise ClockError(f"one advance moves the clock at most {MAX_ADVANCE:.0f} seconds (ten years)")
        return float(seconds)

    def advance(self, seconds: float) -> float:
        """Move the clock ``seconds`` forward; the new :meth:`now`."""
        moved = self.check_advance(seconds)
        with self._lock:
            self._shift(moved)
        return self.now()

    def catch_up(self, advanced: float) -> None:
        """Move the clock forward until its advances add up to ``advanced`` (what a fleet's nodes have advanced
        their shared clock by); a total it has passed already moves nothing."""
        with self._lock:
            if advanced > self._advanced:
                self._shift(advanced - self._advanced)

    def _shift(self, seconds: float) -> None:
        self._advanced += seconds
        if self.frozen:
            self._frozen_wall += seconds
            self._frozen_monotonic += seconds
        else:
            self._offset += seconds

    def set(self, unix_seconds: float) -> float:
        """Move the clock forward to ``unix_seconds`` (a time in the past is refused: schedules never rewind)."""
        if not isinstance(unix_seconds, int | float) or isinstance(unix_seconds, bool) or unix_seconds != unix_seconds:
            raise ClockError("the time to set must be a unix time in seconds")
        return self.advance(unix_seconds - self.now())

    async def sleep_until(self, when: float, at_most: float) -> None:
        """Wait until the clock says ``when``: the wait ends early when the clock is advanced past it, and after
        ``at_most`` wall seconds in any case (a frozen clock nobody moves)."""
        deadline = time.monotonic() + at_most
        while (left := when - self.now()) > 0 and (wall_left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, wall_left, WAKE_INTERVAL))

    def as_dict(self) -> dict[str, object]:
        now = self.now()
        return {"now": now, "iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), "frozen": self.frozen,
                "offset": round(self.offset, 6)}


__all__ = ["FROZEN_EPOCH", "MAX_ADVANCE", "Clock", "ClockError"]

"""Restart intensity: how many restarts a supervisor allows within a period.

OTP's rule (`supervisor:add_restart/1`): a supervisor keeps the times of
its recent restarts; each restart adds the current time and forgets the
restarts older than the period; if more than `max_restarts` remain, the
supervisor gives up. As in OTP (which keeps each restart `R >= Now -
Period`), a restart exactly `max_seconds` ago still counts; one older is
forgotten:

    >>> limit = RestartIntensity(max_restarts=2, max_seconds=5.0)
    >>> [limit.exceeded(t) for t in (0.0, 1.0, 2.0)]
    [False, False, True]
    >>> limit = RestartIntensity(max_restarts=2, max_seconds=5.0)
    >>> [limit.exceeded(t) for t in (0.0, 1.0, 5.5, 6.5)]
    [False, False, False, False]
    >>> limit = RestartIntensity(max_restarts=1, max_seconds=5.0)
    >>> [limit.exceeded(t) for t in (0.0, 5.0)]
    [False, True]

(OTP counts in whole seconds of its monotonic clock; these are the loop's
seconds, fractions included.)

The times come from the loop's monotonic clock, so they only grow and the
window is a queue: new times join on the right and old ones leave on the
left. Each restart costs O(1) amortised, where rebuilding the list of
times cost O(max_restarts) per restart. The queue never holds more than
`max_restarts + 1` times, as the supervisor stops once it does.
"""

from __future__ import annotations

from collections import deque
from typing import final


@final
class RestartIntensity:
    """The recent restart times of one supervisor, and the limit on them."""

    __slots__ = ("max_restarts", "max_seconds", "times")

    def __init__(self, max_restarts: int, max_seconds: float) -> None:
        self.max_restarts = max_restarts
        self.max_seconds = max_seconds
        self.times: deque[float] = deque()

    def exceeded(self, now: float) -> bool:
        """Count a restart at `now`; True when it is one too many for the period."""
        times = self.times
        period = self.max_seconds
        while times and now - times[0] > period:
            times.popleft()
        times.append(now)
        return len(times) > self.max_restarts

    def __repr__(self) -> str:
        return (
            f"<RestartIntensity {len(self.times)} of {self.max_restarts} restarts "
            f"in {self.max_seconds:g} s>"
        )

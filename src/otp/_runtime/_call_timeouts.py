"""Call timeouts: one loop timer per timeout value, not one per call.

Every `call` with a timeout needs a deadline, but almost every call is
answered long before it: an asyncio timer per call (a `TimerHandle`, a push
on the loop's heap, a cancel, and a pop of the cancelled handle later) costs
more than the rest of the call. Calls made with the same timeout expire in
the order they were made, so each timeout value gets a FIFO of
`(deadline, from_, server)` and a single loop timer armed at the deadline of
the oldest call still waiting:

- a call appends itself (answered calls at the head are dropped first);
- an answered call only has `from_.done` set; it leaves the FIFO when it
  reaches the head, or in a compaction once the FIFO is mostly answered
  calls (one call waiting for minutes while thousands come and go);
- when the timer fires, answered calls at the head are dropped, calls past
  their deadline raise `CallTimeout` in their caller, and the timer is
  re-armed for the next call still waiting;
- when no call is waiting any more, the timer is cancelled, so an idle
  node has no pending timer (`otp.testing.VirtualClock` does not jump).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from .._errors import CallTimeout
from ._clock import now
from ._repr import MESSAGE_LIMIT, safe_repr, show

if TYPE_CHECKING:
    from ._node import Node


def check_timeout(timeout: object, what: str) -> None:
    """Refuse a timeout that is not seconds >= 0 or None, saying what to pass.

    >>> check_timeout(-1, "otp.call")
    Traceback (most recent call last):
    ...
    ValueError: otp.call: timeout must be seconds >= 0 or None (forever); got -1
    >>> check_timeout("5", "otp.call")
    Traceback (most recent call last):
    ...
    TypeError: otp.call: timeout must be seconds >= 0 or None (forever); got '5' (str)
    """
    if timeout is None:
        return
    kind = type(timeout)
    if (kind is float or kind is int) and timeout >= 0:  # type: ignore[operator]
        return
    expected = "timeout must be seconds >= 0 or None (forever)"
    if kind is float or kind is int:  # negative, or NaN
        raise ValueError(f"{what}: {expected}; got {show(timeout)}")
    raise TypeError(f"{what}: {expected}; got {show(timeout)} ({kind.__name__})")


class Waiting(Protocol):
    """A call waiting for its reply (a GenServer's `From`)."""

    done: bool
    request: object
    fut: asyncio.Future[object] | None


#: Compaction runs when the FIFO is longer than this and twice its waiting calls.
MIN_COMPACT = 64


class CallTimeouts:
    """The waiting calls of one node that share one timeout value."""

    __slots__ = ("handle", "limit", "loop", "queue", "time", "timeout")

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self.loop = loop
        self.time = loop_clock(loop)
        self.timeout = timeout
        self.queue: deque[tuple[float, Waiting, object]] = deque()
        self.handle: asyncio.TimerHandle | None = None
        self.limit = MIN_COMPACT

    def add(self, from_: Waiting, server: object) -> None:
        """Start the clock of a call to `server` (named as the caller named it).

        Answered calls at the head were dropped by `settle`, which runs
        after every call.
        """
        q = self.queue
        q.append((self.time() + self.timeout, from_, server))
        if len(q) > self.limit:
            q = self.queue = deque(entry for entry in q if not entry[1].done)
            self.limit = max(MIN_COMPACT, 2 * len(q))
        if self.handle is None:
            self.handle = self.loop.call_at(q[0][0], self.fire)

    def settle(self) -> None:
        """A call stopped waiting: cancel the timer if no call waits any more."""
        q = self.queue
        while q and q[0][1].done:
            q.popleft()
        if not q and self.handle is not None:
            self.handle.cancel()
            self.handle = None

    def fire(self) -> None:
        self.handle = None
        q = self.queue
        t = now(self.loop)
        while q:
            deadline, from_, server = q[0]
            if not from_.done and deadline > t:
                self.handle = self.loop.call_at(deadline, self.fire)
                return
            q.popleft()
            if not from_.done:
                expire(from_, server, self.timeout)


def timeouts_for(node: Node, timeout: float) -> CallTimeouts:
    """The node's `CallTimeouts` for calls of `timeout` seconds (one loop timer for them all)."""
    timeouts = node.call_timeouts.get(timeout)
    if timeouts is None:
        timeouts = node.call_timeouts[timeout] = CallTimeouts(node.loop, timeout)
    return timeouts


def loop_clock(loop: asyncio.AbstractEventLoop) -> Callable[[], float]:
    """The loop's clock (see _clock.py) as one call: `time.monotonic` for asyncio's own loops.

    asyncio's `BaseEventLoop.time` is a Python method that only returns
    `time.monotonic()`; a loop that overrides it (uvloop's, the virtual
    clock's) keeps its own.
    """
    if type(loop).time is asyncio.BaseEventLoop.time:
        return time.monotonic
    return loop.time


def expire(from_: Waiting, server: object, timeout: float) -> None:
    """Fail a call that got no reply in time; a late reply will be dropped."""
    fut = from_.fut
    from_.done = True
    if fut is not None and not fut.done():
        fut.set_exception(
            CallTimeout(
                "timeout",
                f"call to {safe_repr(server, MESSAGE_LIMIT)} with "
                f"{safe_repr(from_.request, MESSAGE_LIMIT)} got no reply within {timeout} s",
            )
        )

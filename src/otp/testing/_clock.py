"""`VirtualClock`: an event loop whose time jumps to the next timer when idle.

How it works. asyncio's loop runs in steps: run every ready callback, then
ask the selector for I/O with a timeout that is 0 when something is ready,
the delay until the next timer otherwise, or None (block) when there is no
timer at all. The loop built here keeps its own time (`loop.time()` is
virtual, starting at 0.0) and wraps the selector, so that a select with a
non-zero timeout, which means "nothing is ready to run", does this instead:

1. poll real I/O without blocking; if a socket or the loop's wake-up pipe
   is ready, hand those events back (real I/O always wins);
2. if some task awaits `wait_idle()`, wake those tasks and return without
   touching the time: this is the exact moment every process is idle;
3. if a timer is pending, set the virtual time to its deadline (exactly,
   so a 5 s timeout ends at `clock.time() == 5.0`) and return: the loop
   then runs that timer as if the time had passed;
4. with no timer at all, block on real I/O as a normal loop would.

Work in threads (`run_in_executor`, `asyncio.to_thread`) runs in real time,
so while any is in flight step 3 waits in real time instead of jumping.

The same idea is trio's autojump `MockClock` and CPython's `TestLoop`.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import Executor
from typing import Any, Protocol, TypeVar, Unpack

from .._runtime._run import NodeOptions
from .._runtime._run import run as otp_run

T = TypeVar("T")


class _HasFileno(Protocol):
    def fileno(self) -> int: ...


#: What a selector watches: a file descriptor or an object with `fileno()`.
_FileObject = int | _HasFileno
_Events = list[tuple[selectors.SelectorKey, int]]


class VirtualClock:
    """A virtual time source for tests: idle time passes instantly.

    >>> import otp
    >>> from otp.testing import VirtualClock
    >>> clock = VirtualClock()
    >>> async def main():
    ...     try:
    ...         await otp.receive(timeout=5)
    ...     except TimeoutError:
    ...         return clock.time()
    >>> clock.run(main)
    5.0

    Whenever no callback is ready and no real I/O is ready, the clock jumps
    to the next timer's deadline instead of sleeping, so timeouts, timers
    and `asyncio.sleep` take no real time and end at exact virtual times.
    Real sockets keep working: ready I/O is always handled first, and with
    no timer pending the loop blocks on real I/O as usual.

    `autojump_threshold` (real seconds, default 0) makes the loop wait that
    long for real I/O before each jump: raise it when a test talks to a
    real peer (another OS process) while timers are pending, so a reply
    in flight is not overtaken by a jump to a timeout.

    The same clock may run several loops one after the other; its time
    carries on. `new_event_loop` is the loop factory, for
    `asyncio.Runner(loop_factory=clock.new_event_loop)`.
    """

    def __init__(self, *, autojump_threshold: float = 0.0) -> None:
        if autojump_threshold < 0:
            raise ValueError(
                f"autojump_threshold is a number of real seconds >= 0; got {autojump_threshold!r}"
            )
        self._now = 0.0
        self.autojump_threshold = autojump_threshold

    def __repr__(self) -> str:
        return f"<VirtualClock time={self._now!r}>"

    def time(self) -> float:
        """The virtual time in seconds; 0.0 when the clock is created."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the virtual time forward by `seconds`.

        >>> clock = VirtualClock()
        >>> clock.advance(1.5)
        >>> clock.time()
        1.5

        Timers that fall due run at the loop's next step. Rarely needed:
        the clock already jumps to the next timer whenever the loop is idle.
        """
        if seconds < 0:
            raise ValueError(
                f"time only moves forward: advance needs seconds >= 0; got {seconds!r}"
            )
        self._now += seconds

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        """A new event loop driven by this clock."""
        return _VirtualLoop(self)

    def run(
        self,
        main: Callable[..., Coroutine[Any, Any, T]],
        *args: object,
        **options: Unpack[NodeOptions],
    ) -> T:
        """`otp.run(main, *args)` on a loop driven by this clock; returns `main`'s result.

        `options` are `otp.run`'s node options (`node=`, `cookie=`,
        `slow_callback=`, `report_limit=`, ...).
        """
        return otp_run(main, *args, loop_factory=self.new_event_loop, **options)


class _VirtualLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose `time()` is the clock's virtual time."""

    def __init__(self, clock: VirtualClock) -> None:
        self._otp_clock = clock
        self._otp_idle_waiters: list[asyncio.Future[None]] = []
        self._otp_threads_busy = 0
        super().__init__(_VirtualSelector(self))

    def time(self) -> float:
        return self._otp_clock._now

    # Work in threads finishes in real time, and the loop cannot see how far
    # it got: while any is running, idle time passes at real speed instead of
    # jumping (else `wait_for(to_thread(f), 5)` would time out at once).

    def run_in_executor(  # type: ignore[override]
        self, executor: Executor | None, func: Callable[..., T], *args: Any
    ) -> asyncio.Future[T]:
        fut = super().run_in_executor(executor, func, *args)
        self._otp_threads_busy += 1
        fut.add_done_callback(self._otp_thread_done)
        return fut

    def _otp_thread_done(self, _: object) -> None:
        self._otp_threads_busy -= 1

    async def shutdown_default_executor(self, *args: Any) -> None:
        self._otp_threads_busy += 1
        try:
            await super().shutdown_default_executor(*args)
        finally:
            self._otp_threads_busy -= 1

    def otp_wait_idle(self) -> asyncio.Future[None]:
        """A future resolved the next time nothing is ready to run."""
        fut: asyncio.Future[None] = self.create_future()
        self._otp_idle_waiters.append(fut)
        return fut

    def _otp_wake_idle(self) -> bool:
        waiters = self._otp_idle_waiters
        if not waiters:
            return False
        self._otp_idle_waiters = []
        woke = False
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)
                woke = True
        return woke

    def _otp_next_deadline(self) -> float | None:
        # asyncio drops cancelled timers from the head of its heap before it
        # selects, so the head is the next timer that will really run.
        scheduled: list[asyncio.TimerHandle] = getattr(self, "_scheduled", [])
        return scheduled[0].when() if scheduled else None


class _VirtualSelector(selectors.BaseSelector):
    """Wraps the default selector: idle time becomes a jump of the virtual clock."""

    def __init__(self, loop: _VirtualLoop) -> None:
        self._loop = loop
        self._real = selectors.DefaultSelector()

    def select(self, timeout: float | None = None) -> _Events:
        real = self._real
        if timeout is not None and timeout <= 0:
            return real.select(0)  # something is ready to run: just poll
        events = real.select(0)
        if events:
            return events
        loop = self._loop
        if loop._otp_wake_idle():
            return []
        if timeout is None:
            return real.select(None)  # no timer: only real I/O can wake us
        threshold = loop._otp_clock.autojump_threshold
        if loop._otp_threads_busy:
            threshold = timeout  # a thread works: let real time pass
        if threshold > 0:
            events = real.select(threshold)
            if events:
                return events
        clock = loop._otp_clock
        deadline = loop._otp_next_deadline()
        clock._now = max(clock._now, deadline if deadline is not None else clock._now + timeout)
        return []

    # -- plain delegation ----------------------------------------------------

    def register(
        self, fileobj: _FileObject, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: _FileObject) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: _FileObject, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_map(self) -> Mapping[_FileObject, selectors.SelectorKey]:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

"""The blocked-loop report for code that runs in a Task: one step at a time.

Every process shares one event loop, so a step that does not yield (a
`time.sleep`, a long computation, blocking I/O) stops every other process
for as long as it runs. A GenServer's sync callbacks are timed by its
dispatcher; everything that runs in a Task (plain processes and `main`,
tasks, `async def` callbacks, `init` and `terminate`) is driven by `Steps`,
which the Task resumes in place of the coroutine itself:

    Task step -> Steps.send(value) -> coroutine.send(value) -> ... yields

`Steps` reads the clock around each resumption, and a step longer than the
node's `slow_callback` is reported once, on logger "otp", by the process
(`Process.report_slow_step`), naming what it was doing and for how long.
It costs two clock readings and one Python call per step, and nothing when
the report is turned off (`slow_callback=None`: the coroutine runs bare).

`pending` is for a coroutine created before its Task ran (an `async def`
callback's): a process killed before the Task's first step closes it, so
it is not reported as "never awaited".
"""

from __future__ import annotations

import time
from collections.abc import Coroutine, Generator
from inspect import CORO_CREATED, getcoroutinestate
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ._process import Process

T = TypeVar("T")
perf = time.perf_counter


class Steps(Coroutine[Any, Any, T]):
    """Drives `coro` for a Task, timing each step against `slow` seconds."""

    __slots__ = ("coro", "pending", "proc", "slow", "what")

    def __init__(
        self,
        coro: Coroutine[Any, Any, T],
        proc: Process,
        slow: float,
        what: object = None,
        pending: Coroutine[Any, Any, object] | None = None,
    ) -> None:
        self.coro = coro
        self.proc = proc
        self.slow = slow
        self.what = what
        self.pending = pending

    def send(self, value: Any) -> Any:
        t0 = perf()
        try:
            return self.coro.send(value)
        finally:
            elapsed = perf() - t0
            if elapsed > self.slow:
                self.slow_step(t0, elapsed)

    def throw(self, exc: Any, /, *rest: Any) -> Any:
        pending = self.pending
        if pending is not None:
            self.pending = None
            if getcoroutinestate(pending) == CORO_CREATED:
                pending.close()  # killed before the Task's first step
        t0 = perf()
        try:
            return self.coro.throw(exc, *rest)
        finally:
            elapsed = perf() - t0
            if elapsed > self.slow:
                self.slow_step(t0, elapsed)

    def close(self) -> None:
        self.coro.close()

    def slow_step(self, t0: float, elapsed: float) -> None:
        node = self.proc.rt
        elapsed -= node.reported_within(t0, t0 + elapsed)  # e.g. a slow inline call
        if elapsed > self.slow:
            self.proc.report_slow_step(elapsed, self.what)

    def __await__(self) -> Generator[Any, None, T]:
        return self.coro.__await__()

    def __repr__(self) -> str:
        return f"<Steps of {self.coro!r}>"


def drive(
    coro: Coroutine[Any, Any, T],
    proc: Process,
    what: object = None,
    pending: Coroutine[Any, Any, object] | None = None,
) -> Coroutine[Any, Any, T]:
    """`coro` to run in a Task as a step of `proc`: timed unless reports are off.

    `what` says what the process does, for the report (a plain process's
    function; None: a server's last message).
    """
    slow = proc.rt.slow_callback
    if slow is None:
        if pending is None:
            return coro
        slow = float("inf")  # still close `pending` if killed before starting
    return Steps(coro, proc, slow, what, pending)


__all__ = ["Steps", "drive"]

"""Run a supervisor's own coroutine inside its callback, up to its first suspension.

A supervisor's work is written as coroutines (`await start_child(...)`),
because a child's start function may suspend: an `async def init` runs in
a Task of its own and the supervisor waits for it. Most of the time
nothing suspends: a child whose `init` is a plain function starts inside
the call, and a child that does not trap exits dies inside its exit
signal. Handing such work to a Task would cost a Task and a loop turn per
message for nothing.

So the supervisor's callbacks are plain functions that step the coroutine
themselves (`eager`):

    handle_info(msg, state)
      -> eager(coro): coro.send(None)
           StopIteration(result) -> return result     (no Task, the usual case)
           yields a future        -> return resume(coro, future)

`resume(...)` is a coroutine, which the server runs as an `async def`
callback's result: in a Task, the server busy until it ends. That Task
picks up where the first step stopped: it yields the same future to
asyncio first, then goes on sending into the coroutine (what `yield from`
does, started one value late).

The first step runs as the callback does, inside the supervisor's
dispatcher (as in OTP, a child's start function runs in the supervisor
process). Code in that step sees the dispatcher's placeholder task as
`asyncio.current_task()`, so the supervisor's own code waits there only
on futures and timers, never on `asyncio.timeout` or `wait_for`, which
bind to the current task.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


def eager(coro: Coroutine[Any, Any, T]) -> T | Coroutine[Any, Any, T]:
    """The result of `coro` if it finishes without suspending, else a coroutine to finish it."""
    try:
        first = coro.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    return _resume(coro, first)


async def _resume(coro: Coroutine[Any, Any, T], first: object) -> T:
    """Finish `coro`, which already yielded `first` to the event loop."""
    return await _Resumed(coro, first)


class _Resumed(Generic[T]):
    """An awaitable that delegates to a started coroutine, replaying its first yield."""

    __slots__ = ("coro", "first")

    def __init__(self, coro: Coroutine[Any, Any, T], first: object) -> None:
        self.coro = coro
        self.first = first

    def __await__(self) -> Generator[Any, Any, T]:
        coro, value = self.coro, self.first
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # CancelledError included: the coroutine decides
                try:
                    value = coro.throw(exc)
                except StopIteration as done:
                    return cast(T, done.value)
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as done:
                    return cast(T, done.value)

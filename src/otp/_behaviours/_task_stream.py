"""TaskStream: the async iterator behind `Task.async_stream`.

`Task.async_stream(fn, items, ...)` runs `fn(item)` for each item in a task
of its own, a few at a time, and yields the outcomes; `Task` and the task
functions are in `_task`.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from functools import partial
from typing import Any, Generic, Literal, TypeVar, final

from .._runtime._process import Process
from .._runtime._repr import show
from .._runtime._scheduler import current_process
from ._remote_start import node_names
from ._task import Outcome, Task, _check_fn
from ._task_remote import run_chunk
from ._task_waits import let_go, wait_any

T = TypeVar("T")

#: How a stream starts one task (`TaskSupervisor`'s streams): `start(fn, args)`.
Starter = Callable[[Callable[..., Any], tuple[object, ...]], Awaitable[Task[Any]]]

#: The end of a stream's input.
_END = object()


# -- async_stream ----------------------------------------------------------------------
#
# How the stream runs. It keeps at most `max_concurrency` tasks running, each
# with a deadline `timeout` seconds after its start. Tasks start in input order
# with the same timeout, so the oldest running task (the first in `running`,
# a dict in insertion order) always has the earliest deadline. Each step of
# `__anext__`:
#   1. start tasks while there is room and input left;
#   2. hand out a ready outcome if there is one: the one of the next input
#      position when `ordered`, else the oldest finished one;
#   3. otherwise start tasks in the slots freed meanwhile, wait until some
#      task finishes or the earliest deadline passes, collect the finished
#      tasks, deal with the expired ones, and go back to 2.
# Input is read only when the consumer asks for a result, as Elixir's
# streams do: a consumer that stops asking stops the reading.
# A finished task frees its slot at once, even when its outcome waits in the
# `ready` buffer for an earlier, slower item to be handed out (as in Elixir).


@final
class TaskStream(Generic[T]):
    """The async iterator returned by `Task.async_stream(fn, items, ...)`.

    >>> import otp
    >>> async def main():
    ...     stream = otp.Task.async_stream(len, ["a", "bb", "ccc"], max_concurrency=2)
    ...     return [value async for _, value in stream]
    >>> otp.run(main)
    [1, 2, 3]

    Each item runs as `Task.async_(fn, item)`: linked to and monitored by
    the iterating process, so a crashing item takes the caller down unless
    it traps exits, in which case the item yields `("exit", reason)`.
    Items yield `("ok", value)` otherwise.

    Options:
        max_concurrency: how many tasks run at once (default `os.cpu_count()`;
            with `nodes`, two per node: one running, one on its way).
        ordered: True yields outcomes in input order; False as they finish.
        timeout: seconds each task may run (None: no limit), from its start.
        on_timeout: `"exit"` kills every task of the stream and raises
            `TimeoutError` in the caller; `"kill_task"` kills only the late
            task, which yields `("exit", "timeout")`.
        zip_input_on_exit: True makes each `("exit", reason)` outcome
            `("exit", (item, reason))`, naming the item that failed (a late
            one's too, with `"kill_task"`).
        nodes: node names to run the tasks on (this node's own name too),
            each new task going to the node with the fewest running; values
            that are not Erlang terms travel pickled, and `fn` must be
            importable there (defined at a module's top level).
        chunk_size: items per task (default 1). A task then runs `fn` on
            each of its items in turn and answers them together: across
            nodes, where each message costs tens of microseconds, a chunk of
            work worth a few milliseconds keeps that cost small. Outcomes
            are still one per item; `timeout` is then per chunk, and an
            item that crashes takes the caller down once the chunk answered
            (a trapping caller gets `("exit", exception)` for that item).
            Losing a node ends its running chunks with `"noconnection"`.

    Nothing runs until the first item is asked for. `items` may be an
    iterable or an async iterable; it is read lazily. Leaving the loop
    early leaves the running tasks running: use `async with
    Task.async_stream(...) as results:` (or call `aclose()`) to kill them
    when the loop ends. Cancelling the caller leaves the stream's tasks
    running until the caller exits (they are linked to it).
    """

    __slots__ = (
        "_chunk",
        "_closed",
        "_emit",
        "_exhausted",
        "_finished",
        "_fn",
        "_inputs",
        "_items",
        "_iter",
        "_load",
        "_max",
        "_on_timeout",
        "_ordered",
        "_owner",
        "_ready",
        "_running",
        "_spawned",
        "_start",
        "_timeout",
        "_waiter",
        "_where",
    )

    def __init__(
        self,
        fn: Callable[[Any], Any],
        items: object,
        *,
        max_concurrency: int | None,
        ordered: bool,
        timeout: float | None,
        on_timeout: Literal["exit", "kill_task"],
        nodes: Sequence[str] | None = None,
        chunk_size: int = 1,
        zip_input_on_exit: bool = False,
        start: Starter | None = None,
    ) -> None:
        _check_fn(fn, "Task.async_stream")
        if nodes is not None:
            nodes = node_names(nodes, "Task.async_stream")
        if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
            raise ValueError(
                f"Task.async_stream: chunk_size must be a positive int; got {show(chunk_size)}"
            )
        if not isinstance(items, Iterable | AsyncIterable):
            raise TypeError(
                f"Task.async_stream needs an iterable or async iterable of items; got "
                f"{show(items)} ({type(items).__name__})"
            )
        if max_concurrency is None:
            max_concurrency = 2 * len(nodes) if nodes else (os.cpu_count() or 1)
        if not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise ValueError(
                f"Task.async_stream: max_concurrency must be a positive int; "
                f"got {show(max_concurrency)}"
            )
        if on_timeout not in ("exit", "kill_task"):
            raise ValueError(
                f"Task.async_stream: on_timeout must be 'exit' or 'kill_task'; "
                f"got {show(on_timeout)}"
            )
        if timeout is not None and timeout < 0:
            raise ValueError(
                f"Task.async_stream: timeout must be >= 0 or None; got {show(timeout)}"
            )
        self._fn = fn
        self._items = items
        self._iter: Iterator[object] | AsyncIterator[object] | None = None
        self._max = max_concurrency
        self._chunk = chunk_size
        self._load: dict[str, int] = dict.fromkeys(nodes, 0) if nodes else {}
        self._where: dict[Task[Any], str] = {}
        self._ordered = ordered
        self._timeout = timeout
        self._on_timeout = on_timeout
        #: With zip_input_on_exit: each running task's items, else None.
        self._inputs: dict[Task[Any], list[object]] | None = {} if zip_input_on_exit else None
        self._start = start
        self._owner: Process | Literal[False] | None = False  # False: not started
        #: Each running task: its first item's position, its item count, its deadline.
        self._running: dict[Task[Any], tuple[int, int, float | None]] = {}
        self._finished: deque[Task[Any]] = deque()
        self._ready: dict[int, Outcome[T]] = {}
        self._spawned = 0
        self._emit = 0
        self._exhausted = False
        self._closed = False
        self._waiter: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._running)} running"
        return f"<TaskStream {state}, {len(self._ready)} ready>"

    def __aiter__(self) -> TaskStream[T]:
        return self

    async def __aenter__(self) -> TaskStream[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Kill the tasks still running and end the stream (from the iterating process)."""
        if self._owner is not False:
            self._check_owner()
        self._closed = True
        for task in list(self._running):
            let_go(task, kill=True)
        self._running.clear()
        self._ready.clear()
        if self._inputs is not None:
            self._inputs.clear()

    async def __anext__(self) -> Outcome[T]:
        if self._closed:
            raise StopAsyncIteration
        self._check_owner()
        await self._fill()
        while True:
            outcome = self._pop_ready()
            if outcome is not None:
                return outcome
            await self._fill()
            if not self._running:
                self._closed = True
                raise StopAsyncIteration
            fired = await self.wait()
            self._collect()
            self._expire(fired)

    # -- the steps ---------------------------------------------------------------

    def _check_owner(self) -> None:
        caller = current_process.get()
        if self._owner is False:
            self._owner = caller
        elif caller is not self._owner:
            raise RuntimeError(
                f"Task.async_stream: the stream started in {self._owner or 'a plain asyncio task'}"
                f" and its tasks belong there; iterate it in that process only"
            )

    async def _fill(self) -> None:
        while not self._exhausted and len(self._running) < self._max:
            items: list[object] = []
            while len(items) < self._chunk:
                item = await self._next_item()
                if item is _END:
                    self._exhausted = True
                    break
                items.append(item)
            if not items:
                return
            node = self._pick()
            task: Task[Any]
            if self._start is not None:  # under a TaskSupervisor
                args = (items[0],) if self._chunk == 1 else (self._fn, items)
                task = await self._start(self._fn if self._chunk == 1 else run_chunk, args)
            elif self._chunk == 1:
                task = Task.async_(self._fn, items[0], node=node)
            else:
                task = Task.async_(run_chunk, self._fn, items, node=node)
            if self._inputs is not None:
                self._inputs[task] = items
            loop = task._fut.get_loop()
            deadline = None if self._timeout is None else loop.time() + self._timeout
            self._running[task] = (self._spawned, len(items), deadline)
            self._spawned += len(items)
            if node is not None:
                self._load[node] += 1
                self._where[task] = node
            task._fut.add_done_callback(partial(self._on_done, task))

    def _pick(self) -> str | None:
        """The node with the fewest running tasks (the first of them on a tie)."""
        if not self._load:
            return None
        return min(self._load, key=self._load.__getitem__)

    def _done_with(self, task: Task[Any]) -> tuple[int, int, float | None] | None:
        entry = self._running.pop(task, None)
        node = self._where.pop(task, None)
        if node is not None:
            self._load[node] -= 1
        return entry

    async def _next_item(self) -> object:
        it = self._iter
        if it is None:
            items = self._items
            if isinstance(items, AsyncIterable):
                it = self._iter = aiter(items)
            else:
                assert isinstance(items, Iterable)
                it = self._iter = iter(items)
        if isinstance(it, AsyncIterator):
            return await anext(it, _END)
        return next(it, _END)

    def _pop_ready(self) -> Outcome[T] | None:
        ready = self._ready
        if self._ordered:
            outcome = ready.pop(self._emit, None)
            if outcome is not None:
                self._emit += 1
            return outcome
        if ready:
            return ready.pop(next(iter(ready)))
        return None

    def _on_done(self, task: Task[Any], _: object) -> None:
        self._finished.append(task)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> float | None:
        """Wait for a finished task or the earliest deadline; the deadline if it passed."""
        if self._finished:
            return None
        first, (_, _, deadline) = next(iter(self._running.items()))
        loop = first._fut.get_loop()
        self._waiter = loop.create_future()
        try:
            if await wait_any(loop, [self._waiter], deadline):
                return deadline
            return None
        finally:
            self._waiter = None

    def _collect(self) -> None:
        while self._finished:
            task = self._finished.popleft()
            entry = self._done_with(task)
            if entry is not None:
                let_go(task, kill=False)
                self._outcomes(task, entry, task._fut.result())

    def _outcomes(
        self, task: Task[Any], entry: tuple[int, int, float | None], outcome: Outcome[Any]
    ) -> None:
        """The ready outcome of each item of a finished task (of a chunk: one per item)."""
        index, count, _ = entry
        each: list[Outcome[Any]]
        if self._chunk == 1:
            each = [outcome]
        elif outcome[0] == "ok":
            each = list(outcome[1])
        else:
            each = [outcome] * count
        inputs = self._inputs.pop(task, None) if self._inputs is not None else None
        for j, item_outcome in enumerate(each):
            if inputs is not None and item_outcome[0] == "exit":
                item_outcome = ("exit", (inputs[j], item_outcome[1]))
            self._ready[index + j] = item_outcome

    def _expire(self, fired: float | None) -> None:
        if fired is None:
            return
        for task, (index, count, deadline) in list(self._running.items()):
            if deadline is None or deadline > fired:
                break
            if task._fut.done():
                continue  # finished in the same instant: _collect takes it next
            if self._on_timeout == "exit":
                self._closed = True
                for other in list(self._running):
                    let_go(other, kill=True)
                self._running.clear()
                raise TimeoutError(
                    f"Task.async_stream: the task for item #{index} ({task._pid}) ran longer "
                    f"than the timeout of {self._timeout} s; every task of the stream was "
                    f"killed. Raise timeout=, or pass on_timeout='kill_task' to get "
                    f"('exit', 'timeout') for late items instead"
                )
            self._done_with(task)
            let_go(task, kill=True)
            self._outcomes(task, (index, count, deadline), ("exit", "timeout"))


__all__ = ["TaskStream"]

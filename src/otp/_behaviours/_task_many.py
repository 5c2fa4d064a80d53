"""Many tasks at once: `Task.await_many`, `Task.yield_many` and `Task.ignore`.

`Task` (in `_task`) is the entry point: its static methods of these names
call the functions here. They work on local tasks, tasks on other nodes
(`Task.async_(fn, node=...)`) and tasks of a `TaskSupervisor` alike, since
every task's outcome settles its future, whatever its node.

How waiting on many works: each task has a future that its outcome
settles. The functions wait, under one deadline, until every task that is
still awaited has settled (or, for `await_many`, until one of them exits
without a result; for `yield_many`, until `limit` of them settled), then
take each task's messages out of the mailbox as `await_`/`yield_` do. A
task listed twice is waited for once, and its outcome appears at each of
its places.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Literal, TypeVar, cast

from .._runtime._call_timeouts import check_timeout
from .._runtime._process import Process
from .._runtime._repr import show
from .._runtime._signals import demonitor, flush_down, unlink
from ._task import Outcome, Task, _check_owner
from ._task_waits import exit_error, flush_reply, let_go, wait_any

T = TypeVar("T")

OnTimeout = Literal["nothing", "ignore", "kill_task"]


async def await_many(tasks: Iterable[Task[T]], timeout: float | None = 5.0) -> list[T]:
    """The work of `Task.await_many`, which documents it."""
    given, unique = _checked(tasks, "Task.await_many")
    check_timeout(timeout, "Task.await_many")
    loop = _loop(unique)
    deadline = None if timeout is None or loop is None else loop.time() + timeout
    while True:
        failed = next((t for t in unique if t._fut.done() and t._fut.result()[0] != "ok"), None)
        pending = [t for t in unique if not t._fut.done()]
        if failed is not None or not pending:
            break
        assert loop is not None
        if await wait_any(loop, [t._fut for t in pending], deadline):
            break  # the deadline passed
    for task in unique:
        let_go(task, kill=not task._fut.done())
    if failed is not None:
        raise exit_error(failed, failed._fut.result()[1])
    if pending:
        raise TimeoutError(
            f"Task.await_many: {len(pending)} of {len(unique)} tasks did not finish within "
            f"{timeout} s, so they were killed. Raise the timeout (None waits forever), or "
            f"use Task.yield_many to wait without stopping them"
        )
    return [cast(T, task._fut.result()[1]) for task in given]


async def yield_many(
    tasks: Iterable[Task[T]],
    timeout: float | None = 5.0,
    *,
    limit: int | None = None,
    on_timeout: OnTimeout = "nothing",
) -> list[tuple[Task[T], Outcome[T] | None]]:
    """The work of `Task.yield_many`, which documents it."""
    given, unique = _checked(tasks, "Task.yield_many")
    check_timeout(timeout, "Task.yield_many")
    if on_timeout not in ("nothing", "ignore", "kill_task"):
        raise ValueError(
            f"Task.yield_many: on_timeout must be 'nothing', 'ignore' or 'kill_task'; "
            f"got {show(on_timeout)}"
        )
    if limit is None:
        limit = len(unique)
    elif not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"Task.yield_many: limit must be a positive int; got {show(limit)}")
    loop = _loop(unique)
    deadline = None if timeout is None or loop is None else loop.time() + timeout
    timed_out = False
    while True:
        pending = [t for t in unique if not t._fut.done()]
        if not pending or len(unique) - len(pending) >= limit:
            break
        assert loop is not None
        if timeout == 0 or await wait_any(loop, [t._fut for t in pending], deadline):
            timed_out = True
            break
    outcomes: dict[Task[T], Outcome[T] | None] = {}
    for task in unique:
        if task._fut.done():
            let_go(task, kill=False)
            outcomes[task] = task._fut.result()
        elif timed_out and on_timeout == "ignore":
            outcomes[task] = ignore(task)
        elif timed_out and on_timeout == "kill_task":
            outcomes[task] = await Task.shutdown(task, "brutal_kill")
        else:
            outcomes[task] = None
    return [(task, outcomes[task]) for task in given]


def ignore(task: Task[T]) -> Outcome[T] | None:
    """The work of `Task.ignore`, which documents it."""
    _check_owner(task, "Task.ignore")
    task._taken = True
    owner = task.owner
    remote = task._remote
    if isinstance(owner, Process):
        if task._pid is not None:
            unlink(task._pid)
        if remote is not None:
            # Its reply and Down, still on their way, are swallowed when they
            # come; the Down also ends the distribution's record of the task.
            remote.let_go(True)
            flush_down(owner, task.ref)
        else:
            demonitor(task.ref, flush=True)
        flush_reply(owner, task.ref)
    return task._fut.result() if task._fut.done() else None


# -- helpers ---------------------------------------------------------------------


def _checked(tasks: Iterable[Task[T]], what: str) -> tuple[list[Task[T]], list[Task[T]]]:
    """The tasks as given, and each once in first-seen order, all checked."""
    if isinstance(tasks, Task):
        raise TypeError(f"{what} needs a list of tasks; got one task: write {what}([task])")
    if not isinstance(tasks, Iterable):
        raise TypeError(f"{what} needs a list of tasks; got {show(tasks)} ({type(tasks).__name__})")
    given = list(tasks)
    unique = list(dict.fromkeys(given))
    for task in unique:
        _check_owner(task, what)
    return given, unique


def _loop(tasks: list[Task[Any]]) -> asyncio.AbstractEventLoop | None:
    """The event loop the tasks' futures belong to (None without tasks)."""
    if tasks:
        return tasks[0]._fut.get_loop()
    return None


__all__ = ["OnTimeout", "await_many", "ignore", "yield_many"]

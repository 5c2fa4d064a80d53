"""Waiting on tasks and letting them go: what `await_`, `yield_` and the others share.

`wait` waits for one task's outcome under a timeout, `wait_any` for the
first of several futures under a deadline; `let_go` ends an owner's
interest in a task (unlink, demonitor, flush its reply, maybe kill it),
and `exit_error` builds the `otp.Exit` an owner gets for a task that
exited without a result.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import Exit
from .._runtime._call_timeouts import check_timeout
from .._runtime._ids import Ref
from .._runtime._process import Process
from .._runtime._repr import show
from .._runtime._signals import demonitor, unlink
from .._runtime._signals import exit as send_exit
from ._task_remote import let_go_remote

if TYPE_CHECKING:
    from ._task import Outcome, Task

T = TypeVar("T")


async def wait(task: Task[T], timeout: float | None) -> Outcome[T] | None:
    """The task's outcome, or None if it has none within `timeout` seconds."""
    check_timeout(timeout, "Task.await_/yield_")
    fut = task._fut
    if not fut.done():
        if timeout is not None and timeout <= 0:
            return None
        loop = fut.get_loop()
        await wait_any(loop, [fut], None if timeout is None else loop.time() + timeout)
        if not fut.done():
            return None
    return fut.result()


async def wait_any(
    loop: asyncio.AbstractEventLoop, futs: list[asyncio.Future[Any]], deadline: float | None
) -> bool:
    """Wait until one of `futs` is done or the loop time reaches `deadline`.

    Returns True when the deadline came first. Nothing is left behind,
    whether this returns or is cancelled.
    """
    waiter: asyncio.Future[bool] = loop.create_future()

    def wake(_: object) -> None:
        if not waiter.done():
            waiter.set_result(False)

    def expire() -> None:
        if not waiter.done():
            waiter.set_result(True)

    for fut in futs:
        fut.add_done_callback(wake)
    handle = loop.call_at(deadline, expire) if deadline is not None else None
    try:
        return await waiter
    finally:
        for fut in futs:
            fut.remove_done_callback(wake)
        if handle is not None:
            handle.cancel()


def let_go(task: Task[Any], kill: bool) -> None:
    """The owner is done with `task`: unlink, drop its monitor and messages, maybe kill it."""
    task._taken = True
    if task._remote is not None:
        let_go_remote(task, kill)
        return
    owner = task.owner
    if isinstance(owner, Process):
        if kill:
            unlink(task.pid)
        demonitor(task.ref, flush=True)
        flush_reply(owner, task.ref)
    if kill:
        send_exit(task.pid, "kill")


def flush_reply(owner: Process, ref: Ref) -> None:
    mb = owner.mailbox
    if not mb:
        return
    for i, msg in enumerate(mb):
        # `==`: the reply of a task on another node carries a decoded copy of the ref.
        if type(msg) is tuple and len(msg) == 2 and (msg[0] is ref or msg[0] == ref):
            del mb[i]
            return


def task_label(task: Task[Any]) -> str:
    """The task's pid for a message, also before another node has answered its spawn."""
    return str(task._pid) if task._pid is not None else "(not started yet)"


def exit_error(task: Task[Any], reason: object) -> Exit:
    if isinstance(reason, BaseException):
        what = f"crashed: {type(reason).__name__}: {reason}"
    else:
        what = f"exited with {show(reason)} before returning a result"
    exc = Exit(reason, f"task {task_label(task)} {what}")
    if isinstance(reason, BaseException):
        exc.__cause__ = reason
    return exc

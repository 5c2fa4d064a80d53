"""Tasks on other nodes: `Task.async_(fn, *args, node=n)` and the chunks of a stream.

The task's process runs `run_remote` on node `n` (started by a spawn
request with link and monitor; the distribution layer's `_remote_task.py`
has the owner's side and resolves `fn` there): it computes `fn(*args)`
and sends `(ref, value)` to the owner, as a local task does. `fn`, the arguments and the
value travel as terms; what is not an Erlang term travels pickled, so `fn`
must be a function the other node can import (defined at a module's top
level) or a picklable callable.

`Task.async_stream(..., nodes=[...], chunk_size=k)` sends `k` items per
task: `run_chunk` runs `fn` on each of them on the other node and answers
all their outcomes at once, which pays the cost of a message (a hundred
microseconds of CPU or so) once per chunk instead of once per item.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from .._errors import NotInProcess
from .._runtime._ids import Pid, Ref
from .._runtime._mailbox import send
from .._runtime._process import Process
from .._runtime._signals import exit as send_exit
from .._runtime._signals import flush_down, unlink
from .._runtime._spawning import top_level_name
from .._runtime._terms import Atom

if TYPE_CHECKING:
    from ._task import Outcome, Task


class ChunkResult:
    """What `run_chunk` returns: each item's outcome, and the first crash if any."""

    __slots__ = ("crash", "outcomes")

    def __init__(self, outcomes: list[Outcome[Any]], crash: BaseException | None) -> None:
        self.outcomes = outcomes
        self.crash = crash


async def run_chunk(fn: Callable[[Any], object], items: list[object]) -> ChunkResult:
    """Run `fn(item)` for each item, in order; a crash does not stop the others.

    The task body sends the outcomes, then (if an item raised) exits with
    the first exception, so that the owner's link sees the crash as it
    would see a crashing item of a local stream.
    """
    outcomes: list[Outcome[Any]] = []
    crash: BaseException | None = None
    for item in items:
        try:
            value = fn(item)
            if inspect.isawaitable(value):
                value = await value
        except Exception as exc:
            crash = crash or exc
            outcomes.append(("exit", exc))
        else:
            outcomes.append(("ok", value))
    return ChunkResult(outcomes, crash)


def chunk_outcomes(value: object) -> tuple[object, BaseException | None]:
    """A task's value as it is answered, and the crash to exit with after (a chunk's)."""
    if type(value) is ChunkResult:
        return value.outcomes, value.crash
    return value, None


async def remote_task_body(
    owner: Pid, ref: Ref, fn: Callable[..., object], args: tuple[object, ...]
) -> None:
    """The body of a task's process on the other node: run `fn`, send `(ref, value)`."""
    value = fn(*args)
    if inspect.isawaitable(value):
        value = await value
    value, crash = chunk_outcomes(value)
    send(owner, (ref, value))
    if crash is not None:
        raise crash


async def run_remote(
    owner: Pid, ref: Ref, fn: Callable[..., object], args: tuple[object, ...], chunked: bool
) -> None:
    """What the spawn request names: the task (or, `chunked`, the chunk `args[0]`) there.

    The other node's distribution layer resolves `fn` first, which travels
    as `(module, function)` when it is defined at a module's top level:
    the node's `rpc=` allow-list applies to it as to any spawn.
    """
    if chunked:
        await remote_task_body(owner, ref, run_chunk, (fn, args[0]))
    else:
        await remote_task_body(owner, ref, fn, args)


# The blocked-loop report names the function the task runs, not this wrapper.
remote_task_body.otp_runs_arg = 2  # type: ignore[attr-defined]
run_remote.otp_runs_arg = 2  # type: ignore[attr-defined]


def by_name(fn: object) -> object:
    """`(module, function)` atoms for a function defined at a module's top level, else `fn`."""
    named = top_level_name(fn)
    return fn if named is None else (Atom(named[0]), Atom(named[1]))


def start_remote(
    task: Task[Any],
    owner: Process | None,
    fn: Callable[..., object],
    args: tuple[object, ...],
    node: str,
) -> None:
    """Start `task` on `node` (`Task.async_(fn, *args, node=node)`)."""
    if owner is None:
        raise NotInProcess(
            "not_in_process",
            f"Task.async_(..., node={node!r}) must be called from an otp process, which "
            f"owns the task and receives its result; call it inside one (otp.run(main) runs "
            f"main as a process)",
        )
    rt = owner.rt
    task.ref = rt.make_ref()
    chunked = fn is run_chunk  # a stream's chunk: `args` is (fn, items)
    if chunked:
        fn, args = args[0], args[1:]  # type: ignore[assignment]
    body = (owner, task.ref, by_name(fn), args, chunked)
    task._remote = rt.remote().spawn_task(node, run_remote, body, owner, task.ref, True, task)


async def shutdown_remote(
    task: Task[Any], timeout: float | Literal["brutal_kill"] | None
) -> Outcome[Any] | None:
    """`Task.shutdown` of a task on another node: unlink, signal, wait for its Down."""
    from ._task_waits import let_go, wait_any

    pid = await task.pid_known()
    unlink(pid)
    fut = task._fut
    brutal = timeout == "brutal_kill"
    if not fut.done():
        send_exit(pid, "kill" if brutal else "shutdown")
        loop = fut.get_loop()
        if not brutal and timeout is not None:
            assert isinstance(timeout, int | float)
            await wait_any(loop, [fut], loop.time() + timeout)
            if not fut.done():
                send_exit(pid, "kill")
        await asyncio.shield(fut)
    outcome = fut.result()
    let_go(task, kill=False)
    if outcome[0] == "ok":
        return outcome
    reason = outcome[1]
    if isinstance(reason, str) and reason == ("killed" if brutal else "shutdown"):
        return None
    return outcome


def let_go_remote(task: Task[Any], kill: bool) -> None:
    """The owner is done with a task on another node; with `kill`, kill it too."""
    from ._task_waits import flush_reply

    remote = task._remote
    assert remote is not None
    owner = task.owner
    pid = task._pid
    if kill:
        remote.let_go(True)  # its result and Down are swallowed from now on
        if pid is not None:
            unlink(pid)
            send_exit(pid, "kill")
        if isinstance(owner, Process):
            flush_down(owner, task.ref)
            flush_reply(owner, task.ref)
        return
    remote.let_go(False)
    if isinstance(owner, Process):
        from .._runtime._signals import demonitor

        demonitor(task.ref, flush=True)
        flush_reply(owner, task.ref)


__all__ = [
    "ChunkResult",
    "by_name",
    "chunk_outcomes",
    "remote_task_body",
    "run_chunk",
    "run_remote",
    "start_remote",
]

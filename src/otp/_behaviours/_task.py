"""Task: run one function in its own process and collect its result.

A task is a process made for a single computation. `Task.async_` starts it
linked to and monitored by the caller (its *owner*); `Task.await_` waits
for the result.

Example::

    >>> import otp
    >>> async def double(x):
    ...     return 2 * x
    >>> async def main():
    ...     task = otp.Task.async_(double, 21)
    ...     # ... do other work meanwhile ...
    ...     return await otp.Task.await_(task)
    >>> otp.run(main)
    42

API: `async_` starts a task; `await_` (or plain `await task`) returns its
result; `yield_` peeks without giving up on it; `shutdown` stops it and
says whether it finished; `async_stream` maps a function over many items
with bounded concurrency; `start` and `start_link` run a function for its
side effects only.

Links: an `async_` task is linked to its owner, so a crash in the task
takes the owner down with the same reason, and an owner that exits stops
its tasks, as in Elixir. An owner that traps exits gets `Exited(pid,
reason)` instead, and `await_` raises `otp.Exit(reason)`. A task started
from a plain asyncio task (not a process) has no owner process: it is not
linked, and any plain asyncio task may await it.

Messages: when the owner is a process, the task also sends it
`(task.ref, result)` and its monitor delivers `Down(task.ref, pid,
reason)`, exactly as in Elixir, so a GenServer that starts a task from a
callback can match them in `handle_info`. `await_`, `yield_` and
`shutdown` take both messages out of the mailbox when they return; the
result itself travels through a future, so a `receive` that took the
`(ref, result)` message first does not lose it.

How to supervise: `Task.start_link(fn, *args)` is a `ChildSpec` start
function (restart it `"temporary"` or `"transient"`); to start tasks whose
crash must not take the caller down, use `otp.TaskSupervisor`.

Timeouts: `await_` waits 5 seconds by default, then raises the builtin
`TimeoutError` and kills the task. `yield_` waits, then returns None and
leaves the task running.

Other nodes: `Task.async_(fn, *args, node="b@h")` runs the task there
(`otp.peer.start_pool()` starts a worker node per core), and
`Task.async_stream(fn, items, nodes=[...], chunk_size=k)` spreads a stream
over nodes, `k` items per message.

When not to use it: a task runs on the event loop like any process, so a
plain (non-async) function that computes for a long time blocks every
process; run such work on worker nodes (`node=`), or in a thread with
`await asyncio.to_thread(fn, ...)` when it releases the GIL. Use a
GenServer, not a task, for state that outlives one computation.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterable, Callable, Coroutine, Generator, Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, final, overload

from .._runtime._ids import Pid, Ref
from .._runtime._process import Process, is_reason
from .._runtime._repr import show
from .._runtime._scheduler import current_node, current_process
from .._runtime._signals import exit as send_exit
from .._runtime._signals import monitor, unlink
from .._runtime._spawning import spawn, spawn_link
from ._task_remote import chunk_outcomes, shutdown_remote, start_remote
from ._task_waits import exit_error, let_go, task_label, wait, wait_any

if TYPE_CHECKING:
    from .._runtime._node import RemoteTaskHandle
    from ._task_stream import TaskStream

T = TypeVar("T")
#: The result type in the static functions (pyright does not solve a class's own
#: type variable in a static method).
R = TypeVar("R")

#: What `yield_`, `shutdown` and `async_stream` report for one task.
Outcome = tuple[Literal["ok"], T] | tuple[Literal["exit"], object]


@final
class Task(Generic[T]):
    """A running computation started by `Task.async_`: await it for its result.

    Attributes:
        pid: the task's process.
        ref: the reference that tags its reply and its `Down` message.
        owner: the process that started it and may await it (None when it
            was started from a plain asyncio task).

    `Task` is also the namespace of the task functions: `otp.Task.async_`,
    `otp.Task.await_`, `otp.Task.yield_`, `otp.Task.shutdown`,
    `otp.Task.await_many`, `otp.Task.yield_many`, `otp.Task.ignore`,
    `otp.Task.async_stream`, `otp.Task.start`, `otp.Task.start_link`.
    """

    __slots__ = (
        "_attached",
        "_fut",
        "_pid",
        "_pid_waiter",
        "_proc",
        "_remote",
        "_taken",
        "owner",
        "ref",
    )

    ref: Ref
    owner: Pid | None
    _proc: Process
    _fut: asyncio.Future[Outcome[T]]
    _taken: bool
    _attached: asyncio.Future[None] | None
    #: A task on another node: the distribution's hold on it (else None).
    _remote: RemoteTaskHandle | None

    def __init__(self, owner: Process | None, loop: asyncio.AbstractEventLoop) -> None:
        # Built by Task.async_ (and TaskSupervisor); `attach` completes it.
        self.owner = owner
        self._fut = loop.create_future()
        self._taken = False
        self._attached = None
        self._remote = None
        self._pid: Pid | None = None
        self._pid_waiter: asyncio.Future[Pid] | None = None

    @property
    def pid(self) -> Pid:
        """The task's process (on another node for `async_(..., node=)`)."""
        pid = self._pid
        if pid is None:
            raise RuntimeError(
                f"{self!r} runs on another node, which has not answered its spawn yet: "
                f"await task.pid_known() waits for its pid"
            )
        return pid

    async def pid_known(self) -> Pid:
        """The pid, once the other node answered the spawn (at once for a local task)."""
        if self._pid is None:
            waiter = self._pid_waiter
            if waiter is None:
                waiter = self._pid_waiter = self._fut.get_loop().create_future()
            return await asyncio.shield(waiter)
        return self._pid

    def spawned(self, pid: Pid) -> None:
        """The other node started the task as `pid` (or it failed: a dead pid)."""
        self._pid = pid
        waiter = self._pid_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(pid)

    def __repr__(self) -> str:
        if self._taken:
            state = "taken"
        elif not self._fut.done():
            state = "running"
        else:
            state = "finished" if self._fut.result()[0] == "ok" else "exited"
        where = f"{self._pid}" if self._pid is not None else "(starting)"
        return f"<Task {where} {state}>"

    def __await__(self) -> Generator[Any, None, T]:
        """`await task` is `await Task.await_(task)` with the default timeout."""
        return Task.await_(self).__await__()

    # -- plumbing shared with TaskSupervisor ----------------------------------

    def attach(self, proc: Process, monitored: bool, linked: bool) -> None:
        """Bind this task to its process: monitor (and link) it from the owner.

        Must run in the owner's context. The process's body must be
        `run_task(task, fn, args)`, which reports the result.
        """
        self._pid = self._proc = proc
        if self.owner is not None and monitored:
            self.ref = monitor(proc)
        else:
            self.ref = proc.rt.make_ref()
        if linked and isinstance(self.owner, Process):
            proc.rt.route_link(self.owner, proc)
        proc.wait_exit().add_done_callback(partial(_on_exit, self))
        if self._attached is not None and not self._attached.done():
            self._attached.set_result(None)  # run_task was waiting for the ref

    def settle(self, outcome: Outcome[T]) -> None:
        if not self._fut.done():
            self._fut.set_result(outcome)

    # -- the task functions ---------------------------------------------------

    @overload
    @staticmethod
    def async_(
        fn: Callable[..., Coroutine[Any, Any, R]], *args: object, node: str | None = None
    ) -> Task[R]: ...
    @overload
    @staticmethod
    def async_(fn: Callable[..., R], *args: object, node: str | None = None) -> Task[R]: ...
    @staticmethod
    def async_(fn: Callable[..., object], *args: object, node: str | None = None) -> Task[Any]:
        """Run `fn(*args)` in a new process linked to and monitored by the caller.

        >>> import otp
        >>> async def fetch(n):
        ...     return f"page {n}"
        >>> async def main():
        ...     tasks = [otp.Task.async_(fetch, n) for n in range(3)]
        ...     return [await task for task in tasks]
        >>> otp.run(main)
        ['page 0', 'page 1', 'page 2']

        `fn` is an `async def` function (or a plain function, which then
        runs on the event loop). Await the task exactly once, from the
        process that started it. Called from a plain asyncio task, the
        task is not linked to anything (there is no process to link to).

        With `node="b@h"` the task runs on that node, and everything else
        stays the same: it is linked to and monitored by the caller, its
        result comes as `(task.ref, value)`, `await_`, `yield_` and
        `shutdown` work on it. `fn`, the arguments and the value travel as
        terms, pickled when they are not Erlang terms: `fn` must be defined
        at a module's top level (the other node imports it), or be a
        picklable callable. Losing the node ends the task with
        `"noconnection"` (the linked caller gets that exit signal), as
        does a node that cannot be reached. A remote task is started from
        a process; `task.pid` is known once the other node has answered.

        Returns:
            The `Task`: `task.pid`, `task.ref`; await it for the result.

        Raises:
            TypeError: `fn` is not a function, or (with `node=`) cannot
                travel (a lambda or a closure: define it at module level).
            NotInProcess: `node=` from code that is not an otp process.
        """
        _check_fn(fn, "Task.async_")
        owner = current_process.get()
        rt = current_node("otp.Task.async_")
        task: Task[Any] = Task(owner, rt.loop)
        if node is not None and node != rt.name:
            if not isinstance(node, str):
                raise TypeError(f"Task.async_: node must be a node name (str); got {show(node)}")
            start_remote(task, owner, fn, args, node)
            return task
        if owner is not None:
            pid = spawn_link(run_task, task, fn, args)
        else:
            pid = spawn(run_task, task, fn, args)
        assert isinstance(pid, Process)
        task.attach(pid, monitored=True, linked=False)
        return task

    @staticmethod
    async def await_(task: Task[R], timeout: float | None = 5.0) -> R:
        """Wait for `task`'s result and return it.

        >>> import otp
        >>> async def main():
        ...     task = otp.Task.async_(lambda: "done")
        ...     return await otp.Task.await_(task, timeout=1.0)
        >>> otp.run(main)
        'done'

        Waits at most `timeout` seconds (None: forever). Cancelling the
        caller leaves the task running (it is linked to the caller, so it
        stops when the caller exits). A task can be awaited only once.

        Raises:
            TimeoutError: no result within `timeout`; the task is killed.
            Exit: the task exited without a result (`.reason`); a crash
                usually reaches the linked caller as an exit signal first,
                so this is seen by callers that trap exits.
            RuntimeError: the task was already awaited, or the caller is
                not its owner.
        """
        _check_owner(task, "Task.await_")
        outcome = await wait(task, timeout)
        if outcome is None:
            let_go(task, kill=True)
            raise TimeoutError(
                f"Task.await_: {task_label(task)} did not finish within {timeout} s, so it was "
                f"killed. Raise the timeout (None waits forever), or use Task.yield_ to "
                f"wait without stopping the task"
            )
        let_go(task, kill=False)
        if outcome[0] == "ok":
            return outcome[1]
        raise exit_error(task, outcome[1])

    @staticmethod
    async def yield_(task: Task[R], timeout: float | None = 5.0) -> Outcome[R] | None:
        """Wait up to `timeout` seconds for `task`; None if it is still running.

        >>> import otp
        >>> async def main():
        ...     task = otp.Task.async_(otp.receive)
        ...     first = await otp.Task.yield_(task, timeout=0)
        ...     otp.send(task.pid, "go")
        ...     return first, await otp.Task.yield_(task)
        >>> otp.run(main)
        (None, ('ok', 'go'))

        Returns `("ok", value)`, `("exit", reason)` when the task exited
        without a result (a linked, non-trapping caller usually exits with
        it first), or None: the task keeps running and may be yielded to
        again, awaited or shut down (`await Task.yield_(t) or await
        Task.shutdown(t)` never loses a result that arrives in between).
        Cancelling the caller leaves the task running.

        Raises:
            RuntimeError: the task's result was already taken, or the
                caller is not its owner.
        """
        _check_owner(task, "Task.yield_")
        outcome = await wait(task, timeout)
        if outcome is not None:
            let_go(task, kill=False)
        return outcome

    @staticmethod
    async def shutdown(
        task: Task[R], timeout: float | Literal["brutal_kill"] | None = 5.0
    ) -> Outcome[R] | None:
        """Unlink and stop `task`; return its result if it had one.

        >>> import otp
        >>> async def main():
        ...     task = otp.Task.async_(otp.receive)
        ...     return await otp.Task.shutdown(task), otp.is_alive(task.pid)
        >>> otp.run(main)
        (None, False)

        Sends the task exit signal `"shutdown"` and waits up to `timeout`
        seconds (None: forever) for it to exit, then kills it;
        `"brutal_kill"` kills it at once.

        Returns:
            `("ok", value)` if the task had finished, `("exit", reason)` if
            it had died some other way (including `("exit", "killed")`
            when it ignored the shutdown signal until the timeout), None
            when it stopped on the signal.

        Raises:
            RuntimeError: the task's result was already taken, or the
                caller is not its owner.
        """
        _check_owner(task, "Task.shutdown")
        if not (timeout is None or timeout == "brutal_kill" or isinstance(timeout, int | float)):
            raise ValueError(
                f"Task.shutdown: timeout must be seconds, None or 'brutal_kill'; "
                f"got {show(timeout)}"
            )
        if task._remote is not None:
            return await shutdown_remote(task, timeout)
        brutal = timeout == "brutal_kill"
        if task.owner is not None:
            unlink(task.pid)
        proc = task._proc
        dead = proc.wait_exit()
        if not dead.done():
            send_exit(proc, "kill" if brutal else "shutdown")
        if not dead.done() and not isinstance(timeout, str):
            deadline = None if timeout is None else proc.rt.loop.time() + timeout
            await wait_any(proc.rt.loop, [dead], deadline)
            if not dead.done():
                send_exit(proc, "kill")
        reason = await dead
        let_go(task, kill=False)
        if task._fut.done() and task._fut.result()[0] == "ok":
            return task._fut.result()
        if is_reason(reason, "killed" if brutal else "shutdown"):
            return None
        return ("exit", reason)

    @staticmethod
    async def await_many(tasks: Iterable[Task[R]], timeout: float | None = 5.0) -> list[R]:
        """Wait for every task in `tasks`; return their results in the same order.

        >>> import otp
        >>> async def main():
        ...     tasks = [otp.Task.async_(pow, 2, n) for n in range(4)]
        ...     return await otp.Task.await_many(tasks)
        >>> otp.run(main)
        [1, 2, 4, 8]

        One deadline covers all of them: `timeout` seconds (None: forever)
        from the call. A task given twice gives its result at both places.

        Elixir's `await_many` exits the caller on a timeout or when a task
        exits, and the caller's exit takes the unfinished tasks down with it
        through their links. Here the caller gets an exception it may catch,
        so `await_many` kills the unfinished tasks itself before raising, as
        `await_` kills its task on a timeout. Either way every task given is
        done with: none of them may be awaited again, and their messages are
        gone from the mailbox. Cancelling the caller leaves the tasks running.

        Raises:
            TimeoutError: not all results came within `timeout`.
            Exit: a task exited without a result (`.reason`); a crash usually
                reaches the linked caller as an exit signal first, so this is
                seen by callers that trap exits (and by `TaskSupervisor.async_nolink`
                tasks' owners).
            RuntimeError: a task was already awaited, or the caller is not
                its owner (checked for every task before waiting).
        """
        from ._task_many import await_many

        return await await_many(tasks, timeout)

    @staticmethod
    async def yield_many(
        tasks: Iterable[Task[R]],
        timeout: float | None = 5.0,
        *,
        limit: int | None = None,
        on_timeout: Literal["nothing", "ignore", "kill_task"] = "nothing",
    ) -> list[tuple[Task[R], Outcome[R] | None]]:
        """Wait up to `timeout` seconds for `tasks`; return `(task, outcome or None)` pairs.

        >>> import otp
        >>> async def main():
        ...     fast = otp.Task.async_(lambda: "fast")
        ...     slow = otp.Task.async_(otp.receive)
        ...     pairs = await otp.Task.yield_many([fast, slow], timeout=1.0)
        ...     await otp.Task.shutdown(slow)
        ...     return [outcome for _, outcome in pairs]
        >>> otp.run(main)
        [('ok', 'fast'), None]

        The pairs come in the order of `tasks`. Each outcome is `("ok",
        value)`, `("exit", reason)` or None for a task still running; a task
        with an outcome is done with (its messages are gone from the mailbox),
        one with None may be yielded to, awaited, ignored or shut down later.

        Options (as Elixir's):
            limit: return as soon as this many tasks have an outcome (without
                applying `on_timeout`); default: all of them.
            on_timeout: what happens to the tasks still running when the
                timeout passes: `"nothing"` (default) leaves them so;
                `"ignore"` is `Task.ignore` on each; `"kill_task"` kills each
                (`Task.shutdown(task, "brutal_kill")`). The pair then holds
                what those return (a result that came in between, or None).

        Cancelling the caller leaves every task running and awaitable.

        Raises:
            RuntimeError: a task's result was already taken, or the caller is
                not its owner (checked for every task before waiting).
            ValueError: `limit` is not a positive int, or `on_timeout` is not
                one of the three.
        """
        from ._task_many import yield_many

        return await yield_many(tasks, timeout, limit=limit, on_timeout=on_timeout)

    @staticmethod
    def ignore(task: Task[R]) -> Outcome[R] | None:
        """Let `task` run on its own: unlink it, drop its monitor, forget its result.

        >>> import otp
        >>> async def main():
        ...     task = otp.Task.async_(otp.receive)
        ...     outcome = otp.Task.ignore(task)
        ...     alive = otp.is_alive(task.pid)
        ...     otp.send(task.pid, "go")  # it finishes; its result reaches no one
        ...     return outcome, alive
        >>> otp.run(main)
        (None, True)

        Returns the task's outcome if it had one already (`("ok", value)` or
        `("exit", reason)`), else None. From then on the task may no longer be
        awaited, yielded to or shut down; a crash no longer reaches the caller,
        and a result that comes later is not sent to its mailbox. To start
        tasks whose results nobody wants, prefer `TaskSupervisor.start_child`.

        A task on another node is ignored the same way once its node has
        answered the spawn (`await task.pid_known()`); ignored before that, it
        is killed when the answer comes, as there was no pid to unlink.

        Raises:
            RuntimeError: the task's result was already taken, or the caller
                is not its owner.
        """
        from ._task_many import ignore

        return ignore(task)

    @staticmethod
    async def start(fn: Callable[..., object], *args: object) -> Pid:
        """Run `fn(*args)` in a new, unlinked process, for its side effects; return the pid.

        Nobody receives the result. A crash is logged.
        """
        _check_fn(fn, "Task.start")
        return spawn(_run_plain, fn, args)

    @staticmethod
    async def start_link(fn: Callable[..., object], *args: object) -> Pid:
        """Like `start`, linked to the caller: use it as a supervised child's start.

        >>> import otp
        >>> async def main():
        ...     pid = await otp.Task.start_link(otp.send, otp.self(), "ran")
        ...     return await otp.receive()
        >>> otp.run(main)
        'ran'
        """
        _check_fn(fn, "Task.start_link")
        return spawn_link(_run_plain, fn, args)

    @overload
    @staticmethod
    def async_stream(
        fn: Callable[[Any], Coroutine[Any, Any, R]],
        items: Iterable[Any] | AsyncIterable[Any],
        *,
        max_concurrency: int | None = None,
        ordered: bool = True,
        timeout: float | None = 5.0,
        on_timeout: Literal["exit", "kill_task"] = "exit",
        nodes: Sequence[str] | None = None,
        chunk_size: int = 1,
        zip_input_on_exit: bool = False,
    ) -> TaskStream[R]: ...
    @overload
    @staticmethod
    def async_stream(
        fn: Callable[[Any], R],
        items: Iterable[Any] | AsyncIterable[Any],
        *,
        max_concurrency: int | None = None,
        ordered: bool = True,
        timeout: float | None = 5.0,
        on_timeout: Literal["exit", "kill_task"] = "exit",
        nodes: Sequence[str] | None = None,
        chunk_size: int = 1,
        zip_input_on_exit: bool = False,
    ) -> TaskStream[R]: ...
    @staticmethod
    def async_stream(
        fn: Callable[[Any], Any],
        items: object,
        *,
        max_concurrency: int | None = None,
        ordered: bool = True,
        timeout: float | None = 5.0,
        on_timeout: Literal["exit", "kill_task"] = "exit",
        nodes: Sequence[str] | None = None,
        chunk_size: int = 1,
        zip_input_on_exit: bool = False,
    ) -> TaskStream[Any]:
        """Run `fn(item)` for each of `items` in tasks, a few at a time; iterate the outcomes.

        >>> import otp
        >>> async def square(x):
        ...     return x * x
        >>> async def main():
        ...     return [r async for r in otp.Task.async_stream(square, [1, 2, 3])]
        >>> otp.run(main)
        [('ok', 1), ('ok', 4), ('ok', 9)]

        With `nodes=[...]` the tasks run on those nodes (the same code,
        spread over them), and `chunk_size=k` sends `k` items per task;
        `zip_input_on_exit=True` turns `("exit", reason)` into `("exit",
        (item, reason))`. See `TaskStream` for the semantics and the options.
        """
        from ._task_stream import TaskStream  # it builds on Task: imported here, not above

        return TaskStream(
            fn,
            items,
            max_concurrency=max_concurrency,
            ordered=ordered,
            timeout=timeout,
            on_timeout=on_timeout,
            nodes=nodes,
            chunk_size=chunk_size,
            zip_input_on_exit=zip_input_on_exit,
        )


# -- the task's process ----------------------------------------------------------


async def run_task(task: Task[Any], fn: Callable[..., object], args: tuple[object, ...]) -> None:
    """The body of a task process: run `fn`, then hand the result to the owner.

    A task started by someone else (a TaskSupervisor) may run before its
    owner has attached to it; it then waits for that, so that its reply
    carries the monitor's ref. If the owner exits first, nobody is left
    to reply to and the task ends at once.
    """
    if not hasattr(task, "ref") and not await _attached(task):
        return
    value = fn(*args)
    if inspect.isawaitable(value):
        value = await value
    value, crash = chunk_outcomes(value)  # a stream's chunk: its outcomes, then its crash
    task.settle(("ok", value))
    owner = task.owner
    if isinstance(owner, Process) and not task._taken:  # not after Task.ignore
        owner.enqueue((task.ref, value))
    if crash is not None:
        raise crash


async def _attached(task: Task[Any]) -> bool:
    """Wait until the owner attached to `task` (True) or exited (False)."""
    attached = task._attached = task._fut.get_loop().create_future()
    owner = task.owner
    if not isinstance(owner, Process):
        await attached
        return True
    owner_exit = owner.wait_exit()
    try:
        await wait_any(attached.get_loop(), [attached, owner_exit], None)
    finally:
        if owner.exit_waiters and owner_exit in owner.exit_waiters:
            owner.exit_waiters.remove(owner_exit)  # the owner may live long: no leak
    return attached.done()


async def _run_plain(fn: Callable[..., object], args: tuple[object, ...]) -> None:
    value = fn(*args)
    if inspect.isawaitable(value):
        await value


# The blocked-loop report names the function a task runs, not these wrappers.
run_task.otp_runs_arg = 1  # type: ignore[attr-defined]
_run_plain.otp_runs_arg = 0  # type: ignore[attr-defined]


def _on_exit(task: Task[Any], dead: asyncio.Future[object]) -> None:
    if not dead.cancelled():
        task.settle(("exit", dead.result()))


def _check_fn(fn: object, what: str) -> None:
    if inspect.iscoroutine(fn):
        fn.close()  # it will never run: avoid a "never awaited" warning on top
        raise TypeError(
            f"{what} needs the function and its arguments, not a coroutine: write "
            f"{what}(work, arg), not {what}(work(arg))"
        )
    if not callable(fn):
        raise TypeError(
            f"{what} needs a function to run (async def or def); got {show(fn)} "
            f"({type(fn).__name__})"
        )


def _check_owner(task: object, what: str) -> None:
    if not isinstance(task, Task):
        raise TypeError(
            f"{what} needs the Task returned by otp.Task.async_; got {show(task)} "
            f"({type(task).__name__})"
        )
    caller = current_process.get()
    if caller is not task.owner:
        raise RuntimeError(
            f"{what}: {show(task)} belongs to {task.owner or 'a plain asyncio task'} but was "
            f"used from {caller or 'a plain asyncio task'}. Only the process that started a "
            f"task may await it: await it there and send the result on"
        )
    if task._taken:
        raise RuntimeError(
            f"{what}: the result of {show(task)} was already taken (by await_, yield_, "
            f"shutdown or ignore). A task gives its result once: keep the value you got then"
        )


__all__ = ["Outcome", "Task", "run_task"]

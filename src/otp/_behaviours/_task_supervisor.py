"""TaskSupervisor: a DynamicSupervisor for tasks.

Example::

    >>> import otp
    >>> async def slow_square(x):
    ...     return x * x
    >>> async def main():
    ...     sup = await otp.TaskSupervisor.start_link(name="tasks")
    ...     task = await otp.TaskSupervisor.async_nolink("tasks", slow_square, 7)
    ...     return await task
    >>> otp.run(main)
    49

`async_nolink` is the tool for slow work requested by a GenServer: the
server starts the task without a link, returns `otp.NoReply(state)`, and
either the task answers the caller with `otp.reply(from_, value)`, or the
server handles the task's `(ref, value)` reply and its `Down` message in
`handle_info`. A crashing task then cannot take the server down with it.

Children are temporary by default: a task that crashes is not restarted.

From an Elixir node, `Task.Supervisor.async({:tasks, :"py@host"}, :"pkg.mod",
:fun, args)` (and `async_nolink`, `async_stream`, `start_child`) runs the
Python function `pkg.mod.fun(*args)` under this supervisor, allow-listed by
the node's `rpc=` as a remote spawn is (`otp.distribution._task_supervised`).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

from .._runtime._ids import Pid
from .._runtime._process import Process
from .._runtime._repr import show
from .._runtime._scheduler import current_node, current_process
from ._child import ChildSpec, Restart, Shutdown
from ._dynamic_supervisor import DynamicSupervisor
from ._task import Task, run_task

if TYPE_CHECKING:
    from .._runtime._names import Dest
    from ._task_stream import TaskStream


class TaskSupervisor:
    """Start tasks under supervision: fire-and-forget, or awaited by the caller."""

    @classmethod
    async def start_link(
        cls,
        *,
        name: object = None,
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        max_children: int | None = None,
    ) -> Pid:
        """Start a task supervisor linked to the caller."""
        return await DynamicSupervisor.start_link(
            name=name,
            max_restarts=max_restarts,
            max_seconds=max_seconds,
            max_children=max_children,
        )

    @classmethod
    def child_spec(cls, arg: object = None, **opts: object) -> ChildSpec:
        """A spec for a task supervisor under another supervisor; `arg` is a dict of options."""
        kwargs = dict(arg) if isinstance(arg, dict) else {}
        if "name" in opts:
            kwargs["name"] = opts.pop("name")
        spec = ChildSpec(
            id=cls, start=lambda: cls.start_link(**kwargs), type="supervisor", shutdown=None
        )
        return spec.replace(**opts) if opts else spec

    @staticmethod
    async def start_child(
        sup: Dest,
        fn: Callable[..., object],
        *args: object,
        restart: Restart = "temporary",
        shutdown: Shutdown = 5.0,
    ) -> Pid:
        """Start `fn(*args)` as a supervised task nobody awaits; return its pid.

        Raises:
            MaxChildren: the supervisor is full. StartError: it failed to start.
        """
        spec = ChildSpec(
            id="task",
            start=lambda: Task.start_link(fn, *args),
            restart=restart,
            shutdown=shutdown,
        )
        pid = await DynamicSupervisor.start_child(sup, spec)
        assert pid is not None
        return pid

    @staticmethod
    async def async_(sup: Dest, fn: Callable[..., object], *args: object) -> Task[Any]:
        """Start a supervised task linked to the caller; await it like `Task.async_`'s."""
        return await _start_task(sup, fn, args, linked=True)

    @staticmethod
    async def async_nolink(sup: Dest, fn: Callable[..., object], *args: object) -> Task[Any]:
        """Start a supervised task the caller monitors but is not linked to.

        If the task crashes, the caller gets `Down` (and `await` raises
        `otp.Exit`) instead of an exit signal.
        """
        return await _start_task(sup, fn, args, linked=False)

    @staticmethod
    def async_stream(
        sup: Dest,
        fn: Callable[[Any], Any],
        items: Iterable[Any] | AsyncIterable[Any],
        *,
        max_concurrency: int | None = None,
        ordered: bool = True,
        timeout: float | None = 5.0,
        on_timeout: Literal["exit", "kill_task"] = "exit",
        zip_input_on_exit: bool = False,
        chunk_size: int = 1,
    ) -> TaskStream[Any]:
        """`Task.async_stream` with each task started under `sup`, linked to the caller.

        >>> import otp
        >>> async def main():
        ...     sup = await otp.TaskSupervisor.start_link()
        ...     return [r async for r in otp.TaskSupervisor.async_stream(sup, abs, [-1, -2])]
        >>> otp.run(main)
        [('ok', 1), ('ok', 2)]

        The options are `Task.async_stream`'s (`TaskStream` tells them).
        The tasks are the supervisor's children (temporary, so never
        restarted) and are linked to the iterating process as well, so a
        crashing item takes the caller down unless it traps exits. `sup`
        is a supervisor of this node. Each task start is a call to the
        supervisor, which may raise `otp.MaxChildren` when it is full.
        """
        return _stream(
            sup,
            fn,
            items,
            True,
            max_concurrency=max_concurrency,
            ordered=ordered,
            timeout=timeout,
            on_timeout=on_timeout,
            zip_input_on_exit=zip_input_on_exit,
            chunk_size=chunk_size,
        )

    @staticmethod
    def async_stream_nolink(
        sup: Dest,
        fn: Callable[[Any], Any],
        items: Iterable[Any] | AsyncIterable[Any],
        *,
        max_concurrency: int | None = None,
        ordered: bool = True,
        timeout: float | None = 5.0,
        on_timeout: Literal["exit", "kill_task"] = "exit",
        zip_input_on_exit: bool = False,
        chunk_size: int = 1,
    ) -> TaskStream[Any]:
        """Like `async_stream`, but the tasks are not linked to the caller.

        >>> import otp
        >>> def invert(x):
        ...     return 1 / x
        >>> async def main():
        ...     sup = await otp.TaskSupervisor.start_link()
        ...     stream = otp.TaskSupervisor.async_stream_nolink(sup, invert, [2, 0])
        ...     return [kind async for kind, _ in stream]
        >>> otp.run(main)
        ['ok', 'exit']

        A crashing item yields `("exit", reason)` and the caller goes on,
        whether or not it traps exits.
        """
        return _stream(
            sup,
            fn,
            items,
            False,
            max_concurrency=max_concurrency,
            ordered=ordered,
            timeout=timeout,
            on_timeout=on_timeout,
            zip_input_on_exit=zip_input_on_exit,
            chunk_size=chunk_size,
        )

    @staticmethod
    async def stop(sup: Dest, reason: object = "normal", timeout: float | None = None) -> None:
        """Stop the task supervisor and its tasks (`otp.stop`; Elixir's `Supervisor.stop`).

        >>> import otp
        >>> async def main():
        ...     sup = await otp.TaskSupervisor.start_link()
        ...     await otp.TaskSupervisor.stop(sup)
        ...     return otp.is_alive(sup)
        >>> otp.run(main)
        False
        """
        await DynamicSupervisor.stop(sup, reason, timeout)

    @staticmethod
    async def children(sup: Dest) -> list[Pid]:
        """The pids of the running tasks."""
        return [c.pid for c in await DynamicSupervisor.which_children(sup) if c.pid is not None]

    @staticmethod
    async def terminate_child(sup: Dest, pid: Pid) -> None:
        """Stop the task `pid`."""
        await DynamicSupervisor.terminate_child(sup, pid)


async def _start_task(
    sup: Dest, fn: Callable[..., object], args: tuple[object, ...], linked: bool
) -> Task[Any]:
    if not callable(fn):
        raise TypeError(f"a task needs a function to run; got {show(fn)} ({type(fn).__name__})")
    owner = current_process.get()
    task: Task[Any] = Task(owner, current_node().loop)
    spec = ChildSpec(
        id="task", start=lambda: Task.start_link(run_task, task, fn, args), restart="temporary"
    )
    pid = await DynamicSupervisor.start_child(sup, spec)
    assert isinstance(pid, Process)
    task.attach(pid, monitored=True, linked=linked)
    return task


def _stream(
    sup: Dest, fn: Callable[[Any], Any], items: object, linked: bool, **opts: Any
) -> TaskStream[Any]:
    """A `TaskStream` whose tasks start under `sup`; `opts` are `async_stream`'s."""
    from ._task_stream import TaskStream  # it builds on Task: imported here, not above

    async def start(run: Callable[..., object], args: tuple[object, ...]) -> Task[Any]:
        return await _start_task(sup, run, args, linked=linked)

    return TaskStream(fn, items, start=start, **opts)

"""The node: every table of the runtime, bound to one event loop.

A node owns its processes, registered names, reference counter and the
settings of its schedulers. All delivery between processes goes through the
`route_*` methods here: a local pid is a `Process` and is handled at once;
any other pid belongs to a remote node and is handed to the distribution
layer (`self.dist`), which is the only thing a distributed node adds.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

from .._errors import NoConnection
from ._ids import Pid, Ref, _new_ref
from ._messages import Down
from ._process import Process, start_task
from ._scheduler import bind, current_process, unbind

if TYPE_CHECKING:
    from typing import Protocol

    from ._call_timeouts import CallTimeouts
    from ._timers import TimerBatch

    class Distribution(Protocol):
        def send(self, pid: Pid, msg: object) -> None: ...
        def send_name(self, name: str, node: str, msg: object) -> None: ...
        def exit(self, target: Pid, sender: Pid, reason: object, linked: bool) -> None: ...
        def link(self, target: Pid, sender: Pid) -> None: ...
        def unlink(self, target: Pid, sender: Pid) -> None: ...
        def monitor(self, target: object, watcher: Pid, ref: Ref) -> None: ...
        def demonitor(self, target: object, ref: Ref) -> None: ...
        def down(self, watcher: Pid, ref: Ref, pid: object, reason: object) -> None: ...
        async def call(
            self,
            target: Pid | tuple[str, str],
            request: object,
            timeout: float | None,
            label: str = ...,
        ) -> object: ...
        async def start(self) -> None: ...
        async def stop(self) -> None: ...


logger = logging.getLogger("otp")


class ExitHook(Protocol):
    """Per-node state told of every process death (see `Node.exit_hook`)."""

    def __init__(self) -> None: ...
    def __call__(self, proc: Process, /) -> None: ...


H = TypeVar("H", bound=ExitHook)

#: Messages a GenServer handles before it yields to the event loop (the BEAM's reductions).
DEFAULT_BATCH = 64
#: A callback holding the loop longer than this (seconds) is reported on logger "otp".
DEFAULT_SLOW_CALLBACK = 0.1
#: Calls completed inside the caller's step before one goes through the loop.
DEFAULT_INLINE_BUDGET = 64


def _not_running(*_: object) -> NoReturn:
    raise RuntimeError("this node is not running: use `async with otp.Node():`")


class Node:
    """A runtime of processes bound to the running event loop.

    >>> import otp
    >>> async def main():
    ...     async with otp.Node() as node:
    ...         return otp.node()
    >>> import asyncio; asyncio.run(main())
    'nonode@nohost'

    On exit, every process still running is shut down: processes that
    nobody started with a link (the roots) get exit signal `"shutdown"`,
    newest first, and are waited for (up to `shutdown_timeout` seconds each,
    then killed); supervisors among them stop their own children in order.
    """

    def __init__(
        self,
        name: str | None = None,
        cookie: str | None = None,
        *,
        slow_callback: float | None = DEFAULT_SLOW_CALLBACK,
        batch: int = DEFAULT_BATCH,
        shutdown_timeout: float = 5.0,
        hidden: bool = True,
        net_ticktime: float = 60.0,
    ) -> None:
        if batch < 1:
            raise ValueError(f"batch must be a positive number of messages; got {batch!r}")
        self._dist_options: tuple[str | None, bool, float] | None = None
        if name is not None:
            from ..dist._node import full_name

            name = full_name(name)
            self._dist_options = (cookie, hidden, net_ticktime)
        self.name = name or "nonode@nohost"
        self.cookie = cookie
        self.creation = 0
        self.procs: dict[int, Process] = {}
        self.names: dict[str, Process] = {}
        self.slow_callback = slow_callback
        self.batch = batch
        self.inline_budget = DEFAULT_INLINE_BUDGET
        self.inline_left = DEFAULT_INLINE_BUDGET
        self.shutdown_timeout = shutdown_timeout
        self.dist: Distribution | None = None
        self._pid_ids = itertools.count(1)
        self._ref_ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        #: The thread running the node's loop while the node runs (else None):
        #: only that thread may touch the node's tables.
        self.loop_thread: int | None = None
        self.call_soon: Callable[..., asyncio.Handle] = _not_running
        self.create_future: Callable[[], asyncio.Future[Any]] = _not_running
        self.exit_hooks: list[Callable[[Process], None]] = []
        self.call_timeouts: dict[float, CallTimeouts] = {}  # waiting calls, by timeout
        self.timers: dict[float, TimerBatch] = {}  # send_after timers by deadline

    def __repr__(self) -> str:
        return f"<Node {self.name!r} {len(self.procs)} processes>"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("this node is not running: use `async with otp.Node():`")
        return self._loop

    # -- lifecycle -----------------------------------------------------------

    async def __aenter__(self) -> Node:
        loop = asyncio.get_running_loop()
        bind(loop, self)
        self._loop = loop
        self.call_soon = loop.call_soon
        self.create_future = loop.create_future
        if self._dist_options is not None:
            try:
                await self._start_distribution(*self._dist_options)
            except BaseException:
                unbind(loop)
                raise
        return self

    async def _start_distribution(
        self, cookie: str | None, hidden: bool, net_ticktime: float
    ) -> None:
        from ..dist._node import Distribution, read_cookie

        dist = Distribution(self, read_cookie(cookie), hidden, net_ticktime)
        await dist.start()
        self.dist = dist

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.shutdown()
        finally:
            try:
                if self.dist is not None:
                    await self.dist.stop()
            finally:
                unbind(self.loop)

    async def shutdown(self) -> None:
        """Stop every process: roots newest first, each with exit signal `shutdown`.

        A root is a process whose parent (the process that started it with
        a link) is gone. Each root is waited for before the next: up to
        `shutdown_timeout` seconds, or without limit for supervisors, which
        bound the stop of their children with the children's own shutdown
        times. A root that outlives its wait is killed.
        """
        caller = current_process.get()
        tasks: list[asyncio.Task[Any]] = []
        while True:
            roots = [
                p
                for p in reversed(self.procs.values())
                if p is not caller and not (isinstance(p.parent, Process) and p.parent.alive)
            ]
            if not roots:
                break
            for proc in roots:
                if not proc.alive:
                    continue
                if proc.task is not None:
                    tasks.append(proc.task)
                await self._stop_root(proc, caller)
        # Let the tasks of killed processes finish their cleanup.
        pending = [t for t in tasks if not t.done()]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def _stop_root(self, proc: Process, caller: Process | None) -> None:
        done = proc.wait_exit()
        # From its parent, or else "from itself": a trapping GenServer treats
        # both as its parent asking it to stop, so its terminate runs.
        proc.exit_signal(proc.parent or caller or proc, "shutdown", False)
        limit = getattr(getattr(proc, "impl", None), "_otp_shutdown", self.shutdown_timeout)
        try:
            await asyncio.wait_for(asyncio.shield(done), limit)
        except TimeoutError:
            logger.error(
                "Process %s did not stop within %s s of shutdown; killing it",
                proc._label(),
                limit,
            )
            proc.kill("killed")

    def kill_all(self) -> None:
        """Kill every process at once (a second interrupt during shutdown)."""
        for proc in list(self.procs.values()):
            proc.kill("killed")

    # -- counters ----------------------------------------------------------------

    def next_pid_id(self) -> int:
        return next(self._pid_ids)

    def make_ref(self) -> Ref:
        return _new_ref(self.name, self.creation, (next(self._ref_ids),))

    # -- spawning ------------------------------------------------------------------

    def spawn(
        self,
        fn: Callable[..., Coroutine[Any, Any, object]],
        args: tuple[object, ...],
        link_to: Process | None = None,
    ) -> Process:
        if not callable(fn):
            raise TypeError(
                f"spawn needs a coroutine function (async def) to run as the process; "
                f"got {fn!r} ({type(fn).__name__})"
            )
        proc = Process(self)
        if link_to is not None:
            proc.parent = link_to
            proc.add_link(link_to)
            link_to.add_link(proc)
        start_task(proc, fn, args)
        return proc

    # -- the delivery path -----------------------------------------------------------

    def remote(self) -> Distribution:
        if self.dist is None:
            raise NoConnection(
                "noconnection",
                "this node is not distributed: start it with a name to reach other nodes",
            )
        return self.dist

    def route_send(self, dest: Pid, msg: object) -> None:
        if isinstance(dest, Process):
            dest.enqueue(msg)
        else:
            self.remote().send(dest, msg)

    def route_exit(self, target: Pid, sender: Pid, reason: object, linked: bool = False) -> None:
        if isinstance(target, Process):
            target.exit_signal(sender, reason, linked)
        else:
            self.remote().exit(target, sender, reason, linked)

    def route_unlinked_exit(self, target: Pid, sender: Process, reason: object) -> None:
        """A dying process's link signal: drop the other half of the link, then signal."""
        if isinstance(target, Process):
            target.remove_link(sender)
            target.exit_signal(sender, reason, True)
        else:
            self.remote().exit(target, sender, reason, True)

    def route_link(self, proc: Process, target: Pid) -> bool:
        """Link both ways; False when a local target is already dead."""
        if isinstance(target, Process):
            if not target.alive:
                return False
            target.add_link(proc)
        else:
            self.remote().link(target, proc)
        proc.add_link(target)
        return True

    def route_unlink(self, proc: Process, target: Pid) -> None:
        proc.remove_link(target)
        if isinstance(target, Process):
            target.remove_link(proc)
        else:
            self.remote().unlink(target, proc)

    def route_monitor(self, watcher: Process, target: Pid, ref: Ref, as_: object) -> None:
        if watcher.monitors is None:
            watcher.monitors = {}
        watcher.monitors[ref] = target
        if isinstance(target, Process):
            if target.alive:
                target.add_watcher(ref, watcher, None if as_ is target else as_)
            else:
                watcher.deliver_down(ref, as_, "noproc")
        else:
            self.remote().monitor(target, watcher, ref)

    def route_demonitor(self, target: Pid, ref: Ref) -> None:
        if isinstance(target, Process):
            target.remove_watcher(ref)
        elif self.dist is not None:
            self.dist.demonitor(target, ref)

    def route_down(self, watcher: Pid, ref: Ref, pid: object, reason: object) -> None:
        if isinstance(watcher, Process):
            watcher.deliver_down(ref, pid, reason)
        else:
            self.remote().down(watcher, ref, pid, reason)

    def exit_hook(self, cls: type[H], create: bool = True) -> H:
        """The node's exit hook of class `cls`, made and registered on first use.

        Registries, tables and process groups keep their per-node state in
        such a hook, which every process death calls. With `create=False`,
        an absent hook is returned fresh but not registered.
        """
        for hook in self.exit_hooks:
            if type(hook) is cls:
                return hook
        made = cls()
        if create:
            self.exit_hooks.append(made)
        return made

    def on_process_exit(self, proc: Process) -> None:
        for hook in self.exit_hooks:
            hook(proc)


__all__ = ["Down", "Node"]

"""The node: every table of the runtime, bound to one event loop.

A node owns its processes, registered names, reference counter and the
settings of its schedulers. All delivery between processes goes through the
`route_*` methods here: a local pid is a `Process` and is handled at once;
any other pid belongs to a remote node and is handed to the distribution
layer (`self.dist`), which is the only thing a distributed node adds.

The runtime never imports that layer: it plugs itself in through
`Node.distribution_factory` when it is imported (importing `otp` does it),
and the runtime calls it when a node with a name starts.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from types import FunctionType
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, Protocol, TypeVar

from .._errors import NoConnection
from ._crash_reports import CRASH_REPORTS, CrashReport
from ._ids import Pid, Ref, _new_ref
from ._long_mailbox import DEFAULT_MAILBOX_WARNING, NEVER, check_mailbox_warning, threshold
from ._messages import Down
from ._node_options import DistOptions, full_name
from ._process import Process, start_task
from ._repr import DEFAULT_LIMIT, show
from ._scheduler import bind, current_process, unbind
from ._telemetry import Event, Handler

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
        def spawn_request(
            self,
            node: str,
            fn: object,
            args: tuple[object, ...],
            caller: Process | None,
            link: bool,
            monitor: bool,
        ) -> asyncio.Future[tuple[Pid, Ref | None]]: ...
        def spawn_task(
            self,
            node: str,
            body: object,
            args: tuple[object, ...],
            owner: Process,
            ref: Ref,
            link: bool,
            sink: TaskSink,
        ) -> RemoteTaskHandle: ...
        async def call_function(
            self, node: str, fn: object, args: tuple[object, ...], timeout: float | None
        ) -> object: ...
        async def start(self) -> None: ...
        async def stop(self) -> None: ...

    DistributionFactory = Callable[["Node", DistOptions], Distribution]

    class TaskSink(Protocol):
        """What a task on another node reports to (`otp.Task`)."""

        def spawned(self, pid: Pid) -> None: ...
        def settle(self, outcome: Any) -> None: ...  # otp.Task's Outcome

    class RemoteTaskHandle(Protocol):
        """The owner's hold on a task on another node."""

        def let_go(self, kill: bool) -> None: ...


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
_CO_COROUTINE = inspect.CO_COROUTINE


def _check_options(
    slow_callback: object,
    batch: object,
    shutdown_timeout: object,
    net_ticktime: object,
    report_limit: object,
) -> None:
    """Refuse a Node option of the wrong type or range, saying what to pass."""
    if slow_callback is not None and not _positive(slow_callback):
        raise ValueError(
            f"slow_callback must be seconds > 0 (or None to turn the report off); "
            f"got {show(slow_callback)}"
        )
    if type(batch) is not int or batch < 1:
        raise ValueError(f"batch must be a positive number of messages; got {show(batch)}")
    if not _positive(shutdown_timeout):
        raise ValueError(f"shutdown_timeout must be seconds > 0; got {show(shutdown_timeout)}")
    if not _positive(net_ticktime):
        raise ValueError(f"net_ticktime must be seconds > 0; got {show(net_ticktime)}")
    if type(report_limit) is not int or report_limit < 80:
        raise ValueError(
            f"report_limit must be a number of characters >= 80; got {show(report_limit)}"
        )


def _positive(value: object) -> bool:
    return type(value) in (int, float) and value > 0  # type: ignore[operator]


def _future_factory(loop: asyncio.AbstractEventLoop) -> Callable[[], asyncio.Future[Any]]:
    """`loop.create_future`, without its Python frame when the loop does not override it.

    A call or a receive that waits makes a future; asyncio's own
    `create_future` is a Python method that only calls `Future(loop=self)`.
    """
    if type(loop).create_future is asyncio.BaseEventLoop.create_future:
        return functools.partial(asyncio.Future, loop=loop)
    return loop.create_future


async def _placeholder(never: asyncio.Future[None]) -> None:
    await never


def _not_running(*_: object, **__: object) -> NoReturn:
    raise RuntimeError("this node is not running: use `async with otp.Node():`")


def check_process_fn(fn: object, what: str) -> None:
    """Raise TypeError, saying what to pass, unless calling `fn` makes a coroutine.

    Accepted without calling `fn`: an `async def` function or method, a
    `functools.partial` of one, an object whose class has an `async def
    __call__`, and a function decorated with `functools.wraps` around one.
    """
    target = fn
    while isinstance(target, functools.partial):
        target = target.func
    if inspect.iscoroutinefunction(target):
        return
    if inspect.isfunction(target) or inspect.ismethod(target):
        # A decorator made with functools.wraps returns the wrapped coroutine.
        if inspect.iscoroutinefunction(inspect.unwrap(target)):
            return
    elif callable(target) and not isinstance(target, type):
        if inspect.iscoroutinefunction(type(target).__call__):
            return
    raise TypeError(_bad_process_fn(fn, target, what))


def _bad_process_fn(fn: object, target: object, what: str) -> str:
    if inspect.iscoroutine(fn):
        fn.close()  # it will never run: avoid a "never awaited" warning on top
        return (
            f"{what} needs the function and its arguments, not a coroutine: write "
            f"otp.{what}(work, arg), not otp.{what}(work(arg))"
        )
    head = f"{what} needs an async def function to run as the process"
    if not callable(fn):
        return f"{head}; got {show(fn)} ({type(fn).__name__})"
    if inspect.isfunction(target) or inspect.ismethod(target):
        shown = f"<function {target.__qualname__}>"
        if target.__name__ == "<lambda>":
            why = (
                f"a lambda cannot be async: pass the async def function and its "
                f"arguments, otp.{what}(work, arg)"
            )
        elif inspect.isasyncgenfunction(target):
            why = "an async generator: iterate it inside an async def function instead"
        else:
            why = "a plain def: make it `async def`"
        return f"{head}; got {shown} ({why})"
    return (
        f"{head}; got {show(fn)} (calling it does not make a coroutine: pass an async def "
        f"function, a functools.partial of one, or an object with an async def __call__)"
    )


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

    Args:
        name: `name@host` (or `name`, for this host) makes the node
            distributed; None: a node on its own, `nonode@nohost`.
        cookie: the secret shared with other nodes; None reads
            `~/.erlang.cookie` as `erl` does (creating it, mode 0400, when
            missing; refusing one that others may read).
        hidden: not in other nodes' `nodes()` (the default); False: visible.
        net_ticktime: seconds after which a silent peer is dead.
        bind: the address to listen on ('127.0.0.1', '::1', a host name);
            None: every IPv4 interface, as `erl`.
        port: the port to listen on, a `(min, max)` range to take the
            first free port of (Erlang's `inet_dist_listen_min/max`), or
            None for any free port.
        tls: `otp.TLS(certfile, keyfile, cafile)` to run every connection
            in TLS, as Erlang's `-proto_dist inet_tls` (certificates checked
            both ways); None: plain TCP.
        pickle: True (the default) unpickles `{'$otp_pickle', Bin}` from
            peers, which runs code the sender chose: as in Erlang, a node
            that knows the cookie is trusted. False keeps those terms as
            tuples and refuses to send values that have no Erlang form.
        rpc: `"*"`, or a list of module names: limits which modules other
            nodes' spawn/rpc may run.
        observer: a TCP port: serve the web dashboard (`otp.observer`, extra
            `otp[observer]`) on 127.0.0.1 at that port (0: any free one)
            while the node runs; its address is logged on logger
            "otp.observer" and kept in `node.observer.url`.
        mailbox_warning: a mailbox reaching this many messages is reported
            on logger "otp" (once, and again at each tenfold) and emitted as
            the telemetry event `("otp", "mailbox", "long")`; None: never.
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
        report_limit: int = DEFAULT_LIMIT,
        bind: str | None = None,
        port: int | tuple[int, int] | None = None,
        tls: object = None,
        pickle: bool = True,
        rpc: str | Sequence[str] = "*",
        observer: int | None = None,
        mailbox_warning: int | None = DEFAULT_MAILBOX_WARNING,
    ) -> None:
        if observer is not None:  # else the class's None: see "The attributes of a node"
            if type(observer) is not int or not 0 <= observer <= 65535:
                raise ValueError(
                    f"observer must be the TCP port of the web dashboard (0: any free port) "
                    f"or None; got {show(observer)}"
                )
            self.observer_port = observer
        _check_options(slow_callback, batch, shutdown_timeout, net_ticktime, report_limit)
        #: The first level of each new process's `warn_at` (see `_long_mailbox.py`).
        self.mailbox_warning_at = threshold(check_mailbox_warning(mailbox_warning))
        #: The attached telemetry handlers by event; None while there are none.
        self.telemetry: dict[Event, tuple[Handler, ...]] | None = None
        #: The last crash reports, oldest first (see `_crash_reports.py`).
        self.crash_reports: deque[CrashReport] = deque(maxlen=CRASH_REPORTS)
        self.dist_options: DistOptions | None = None
        if name is not None:
            name = full_name(name)
            self.dist_options = DistOptions(
                cookie, hidden, net_ticktime, bind, port, tls, pickle, rpc
            )
        self.name = name or "nonode@nohost"
        self.cookie = cookie
        self.creation = 0
        self.procs: dict[int, Process] = {}
        self.names: dict[str, Process] = {}
        self.slow_callback = slow_callback
        self.report_limit = report_limit
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
        # Slow callbacks already reported that ran inside another process's
        # step (an inline call, a sync init): `(end, seconds)`, recent first.
        self.reported_slow: deque[tuple[float, float]] = deque(maxlen=16)
        self._last_snapshot: contextvars.Context | None = None
        self.timers: dict[float, TimerBatch] = {}  # send_after timers by deadline
        #: Writes the frames that connections hold back for the end of the
        #: loop step, now: set by the distribution layer; called by a server
        #: whose message held the loop for `HELD_WRITES` seconds or more.
        self.flush_writes: Callable[[], None] | None = None

    #: Makes the distribution layer of a node started with a name: set by
    #: that layer when it is imported (`import otp` does it).
    distribution_factory: ClassVar[DistributionFactory | None] = None

    #: Starts the web dashboard of a node made with `observer=<port>`, once
    #: the node and its distribution are up: set by `otp.observer` when it
    #: is imported (`import otp` does it). It returns the observer record.
    observer_factory: ClassVar[Callable[[Node, int], Awaitable[object]] | None] = None

    #: The port `otp.observer` serves this node's dashboard on, if any.
    observer_port: int | None = None
    #: The observer started for `observer=` (an `otp.observer.Observer`), once up.
    observer: object = None

    #: The task that sync GenServer callbacks run "inside" (see `enter_task`):
    #: a placeholder that waits until the node stops, never scheduled.
    callback_task: asyncio.Task[None]

    def __repr__(self) -> str:
        return f"<Node {show(self.name)} {len(self.procs)} processes>"

    # The attributes of a node are read on every message: a Node has few of
    # them, since past about 28 CPython stops sharing their keys between
    # instances and each read gets slower (one more cost 1% of a start).
    # Settings read rarely are properties over the ones read often.

    @property
    def mailbox_warning(self) -> int | None:
        """The `mailbox_warning` option: messages in a mailbox that make a warning."""
        return None if self.mailbox_warning_at == NEVER else self.mailbox_warning_at

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
        self.create_future = _future_factory(loop)
        self.callback_task = loop.create_task(
            _placeholder(loop.create_future()), name=f"otp callbacks of {self.name}"
        )
        if self.dist_options is not None:
            try:
                await self._start_distribution(self.dist_options)
            except BaseException:
                self.callback_task.cancel()
                unbind(loop)
                raise
        if self.observer_port is not None:
            await self._start_observer(self.observer_port)
        return self

    async def _start_observer(self, port: int) -> None:
        factory = Node.observer_factory
        if factory is None:
            raise RuntimeError(
                "observer= needs the observer: import otp (or otp.observer) before "
                "starting the node"
            )
        try:
            self.observer = await factory(self, port)
        except BaseException:
            await self.__aexit__(None, None, None)
            raise

    async def _start_distribution(self, options: DistOptions) -> None:
        factory = Node.distribution_factory
        if factory is None:
            raise RuntimeError(
                "a node with a name needs the distribution layer: import otp (or "
                "otp.distribution) before starting it"
            )
        dist = factory(self, options)
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
                self.callback_task.cancel()
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

    def context_snapshot(self) -> contextvars.Context:
        """A copy of the current context, shared with the last one if equal.

        Servers started one after the other from an unchanged context (a
        supervisor starting its children, a loop of `start`) share one
        snapshot of it instead of holding a copy each: see `ServerProcess`.
        """
        snapshot = contextvars.copy_context()
        last = self._last_snapshot
        if last is not None and last == snapshot:
            return last
        self._last_snapshot = snapshot
        return snapshot

    def reported_within(self, start: float, end: float) -> float:
        """Seconds of slow callbacks reported between `start` and `end` (clock: perf).

        A step that served a slow inline call took at least as long as the
        call, which the server has reported already: the step's own report
        leaves that time out, so one blocking callback gets one report.
        """
        return sum(d for t, d in self.reported_slow if start <= t <= end)

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
        if type(fn) is not FunctionType or not fn.__code__.co_flags & _CO_COROUTINE:
            check_process_fn(fn, "spawn")  # not a plain `async def` function: look closer
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

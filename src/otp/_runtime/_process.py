"""Processes: a mailbox, links, monitors, and Erlang's exit-signal rules.

A `Process` *is* its `Pid` (a subclass), so delivering to a local pid is an
attribute access, not a table look-up. Plain processes run a coroutine in an
asyncio Task; behaviours such as GenServer subclass `Process` and drive their
callbacks from a dispatcher instead (see `_behaviours/_gen_server.py`).

Death is one synchronous step (`_die`): the process leaves the node's tables,
pending calls in its mailbox fail, linked processes get exit signals and
monitors fire `Down`. Signals between local processes take effect at once;
signals to remote pids go through the node (`Node.route_*`), the single
delivery path that distribution plugs into.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import sys
from collections import deque
from collections.abc import Callable, Coroutine
from operator import attrgetter, methodcaller
from typing import TYPE_CHECKING, Any

from .._errors import Exit
from . import _long_mailbox
from ._crash_reports import log_crash
from ._ids import Pid, Ref
from ._messages import Down, Exited
from ._repr import MESSAGE_LIMIT, describe_exception, safe_repr, show, shown
from ._scheduler import current_process
from ._steps import drive

if TYPE_CHECKING:
    from ._node import Node

logger = logging.getLogger("otp")


def is_reason(reason: object, word: str) -> bool:
    """`reason == word` without invoking a user type's `__eq__`."""
    return isinstance(reason, str) and reason == word


def is_normal_exit(reason: object) -> bool:
    """`normal`, `shutdown` and `("shutdown", term)`: exits that are not crashes."""
    if isinstance(reason, str):
        return reason in ("normal", "shutdown")
    return type(reason) is tuple and len(reason) == 2 and is_reason(reason[0], "shutdown")


class Process(Pid):
    """A local process. Users only ever see it as a `Pid`."""

    __slots__ = (
        "alive",
        "exit_waiters",
        "handled",
        "initial",
        "kill_reason",
        "links",
        "mailbox",
        "monitors",
        "name",
        "parent",
        "reason",
        "result",
        "rt",
        "task",
        "trap",
        "waiter",
        "warn_at",
        "watchers",
    )

    behaviour: str | None = None

    rt: Node
    mailbox: deque[object] | None
    waiter: asyncio.Future[None] | None
    links: set[Pid] | None
    monitors: dict[Ref, Pid] | None  # monitors this process holds
    watchers: dict[Ref, Pid | tuple[Pid, object]] | None  # monitors held on this process
    trap: bool
    name: str | None
    alive: bool
    task: asyncio.Task[Any] | None
    parent: Pid | None
    reason: object
    result: object
    handled: int
    initial: object  # what the process started with: its function (see `initial_call`)
    kill_reason: object
    exit_waiters: list[asyncio.Future[object]] | None
    warn_at: int  # the mailbox length of its next long-mailbox warning

    def __init__(self, node: Node) -> None:
        self.rt = node
        self._node_name = node.name
        self._creation = node.creation
        self._id = node.next_pid_id()
        self._serial = 0
        self.mailbox = None
        self.waiter = None
        self.links = None
        self.monitors = None
        self.watchers = None
        self.trap = False
        self.name = None
        self.alive = True
        self.task = None
        self.parent = None
        self.reason = None
        self.result = None
        self.handled = 0
        self.initial = None
        self.kill_reason = None
        self.exit_waiters = None
        self.warn_at = node.mailbox_warning_at
        node.procs[self._id] = self

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name is not None else ""
        if not self.alive:
            return f"<Pid {self._label()}{name} dead: {safe_repr(self.reason, MESSAGE_LIMIT)}>"
        queued = len(self.mailbox) if self.mailbox else 0
        return f"<Pid {self._label()}{name} {self.status()}, {queued} queued>"

    # -- state ------------------------------------------------------------

    def status(self) -> str:
        if not self.alive:
            return "exiting"
        if current_process.get() is self:
            return "running"
        if self.waiter is not None and not self.mailbox:
            return "waiting"
        # Blocked on something other than receive (asyncio.sleep, a call, I/O).
        blocked_on = getattr(self.task, "_fut_waiter", None)
        if blocked_on is not None and not blocked_on.done():
            return "waiting"
        return "runnable"

    # -- delivery -----------------------------------------------------------

    def enqueue(self, msg: object) -> None:
        """Append `msg` to the mailbox and wake the process if it waits."""
        if not self.alive:
            return
        mb = self.mailbox
        if mb is None:
            mb = self.mailbox = deque()
        mb.append(msg)
        if len(mb) >= self.warn_at:
            _long_mailbox.check(self, len(mb))
        w = self.waiter
        if w is not None:
            self.waiter = None
            if not w.done():
                w.set_result(None)

    # -- exit signals ---------------------------------------------------------
    #
    # Erlang's rules, for a signal carrying `reason` from `sender`:
    #   kill, sent with exit/2 (not through a link) -> dies with `killed`, even
    #       when trapping;
    #   trapping exits                              -> Exited(sender, reason) message;
    #   normal                                      -> ignored (unless sent by itself);
    #   anything else                               -> dies with `reason`.

    def exit_signal(self, sender: Pid, reason: object, linked: bool) -> None:
        if not self.alive:
            return
        if not linked and is_reason(reason, "kill"):
            self.kill("killed")
        elif self.trap:
            self.enqueue(Exited(sender, reason))
        elif is_reason(reason, "normal") and sender is not self:
            return
        else:
            self.kill(reason)

    def kill(self, reason: object) -> None:
        """End the process with `reason` because of a signal (no cleanup callbacks)."""
        if current_process.get() is self:
            # The process is running right now (it signalled itself, or a
            # process it just signalled was linked back to it): it dies at
            # its next suspension point, as if the signal arrived then.
            if self.kill_reason is None:
                self.kill_reason = reason
            if self.task is not None:
                self.task.cancel()
            return
        task = self.task
        self.die(reason)
        if task is not None:
            task.cancel()

    def die(self, reason: object) -> None:
        """The single way a process ends: leave every table, then signal."""
        if not self.alive:
            return
        self.alive = False
        self.reason = reason
        node = self.rt
        node.procs.pop(self._id, None)
        if self.name is not None:
            if node.names.get(self.name) is self:
                del node.names[self.name]
        mb = self.mailbox
        self.mailbox = None
        self.waiter = None
        self.on_death(reason, mb)
        monitors = self.monitors
        if monitors:
            self.monitors = None
            for ref, target in monitors.items():
                node.route_demonitor(target, ref)
        links = self.links
        if links:
            self.links = None
            for other in links:
                node.route_unlinked_exit(other, self, reason)
        watchers = self.watchers
        if watchers:
            self.watchers = None
            for ref, watcher in watchers.items():
                if isinstance(watcher, Pid):
                    node.route_down(watcher, ref, self, reason)
                else:  # monitored by name: the Down names it so
                    node.route_down(watcher[0], ref, watcher[1], reason)
        waiters = self.exit_waiters
        if waiters:
            self.exit_waiters = None
            for fut in waiters:
                if not fut.done():
                    fut.set_result(reason)
        node.on_process_exit(self)

    def on_death(self, reason: object, mailbox: deque[object] | None) -> None:
        """Hook for behaviours: fail pending calls found in the mailbox."""
        if mailbox:
            fail_pending_calls(mailbox, reason)

    def wait_exit(self) -> asyncio.Future[object]:
        """A future resolved with the exit reason once the process is dead."""
        fut: asyncio.Future[object] = self.rt.loop.create_future()
        if not self.alive:
            fut.set_result(self.reason)
        else:
            if self.exit_waiters is None:
                self.exit_waiters = []
            self.exit_waiters.append(fut)
        return fut

    # -- links and monitors (the local halves) ---------------------------------

    def add_link(self, other: Pid) -> None:
        if self.links is None:
            self.links = set()
        self.links.add(other)

    def remove_link(self, other: Pid) -> None:
        if self.links:
            self.links.discard(other)

    def add_watcher(self, ref: Ref, watcher: Pid, as_: object = None) -> None:
        """`watcher` monitors this process; `as_`: the `(name, node)` it monitors by."""
        if self.watchers is None:
            self.watchers = {}
        self.watchers[ref] = watcher if as_ is None else (watcher, as_)

    def remove_watcher(self, ref: Ref) -> None:
        if self.watchers:
            self.watchers.pop(ref, None)

    def deliver_down(self, ref: Ref, pid: object, reason: object) -> None:
        if self.monitors is None or self.monitors.pop(ref, None) is None:
            return  # demonitored meanwhile
        self.enqueue(Down(ref, pid, reason))

    def message_kind(self, msg: object) -> str:
        """How the long-mailbox warning counts `msg` (behaviours add their own kinds)."""
        return _long_mailbox.message_kind(msg)

    def label(self) -> str:
        """`<0.42.0>`, and `('name')` when it has one: how reports name the process."""
        return self._label() + (f" ({show(self.name)})" if self.name is not None else "")

    def report_slow_step(self, elapsed: float, what: object) -> None:
        """A step of this process held the event loop for `elapsed` seconds."""
        name = getattr(what, "__qualname__", None)
        logger.warning(
            "Process %s held the event loop for %.0f ms in one step of %s "
            "(threshold %.0f ms): move blocking work to a thread (asyncio.to_thread) "
            "or let the code await between chunks of work",
            self.label(),
            elapsed * 1000,
            name if isinstance(name, str) else shown(what, MESSAGE_LIMIT),
            (self.rt.slow_callback or 0) * 1000,
        )

    def info(self) -> dict[str, object]:
        """Every item of `INFO_ITEMS`, each read by its own reader."""
        return {item: read(self) for item, read in INFO_ITEMS.items()}

    def initial_call(self) -> str | None:
        """`module.function` the process started with (Erlang's `initial_call`)."""
        return qualified_name(self.initial)

    def current_function(self) -> str | None:
        """The innermost coroutine of the process's own code it awaits in (None: none).

        The runtime's own frames (`otp.receive`'s wait, `otp.run`'s wrapper)
        are skipped: a process in `await otp.receive()` is in its function.
        """
        for coro in reversed(awaited_chain(self.task)):
            name = qualified_name(coro)
            if name is not None and not name.startswith("otp._runtime."):
                return name
        return None

    def memory(self) -> int:
        """An estimate in bytes, O(1): the record and its mailbox (not what they refer to)."""
        mb = self.mailbox
        return sys.getsizeof(self) + (sys.getsizeof(mb) if mb is not None else 0)


#: What `otp.process_info(pid, item)` reads, one function per item: reading
#: one item does not compute the others. The methods are looked up on the
#: process, so a behaviour's overrides (a GenServer's `status`) apply.
INFO_ITEMS: dict[str, Callable[[Process], object]] = {
    "registered_name": attrgetter("name"),
    "status": methodcaller("status"),
    "message_queue_len": lambda p: len(p.mailbox) if p.mailbox else 0,
    "links": lambda p: sorted(p.links) if p.links else [],
    "monitors": lambda p: list(p.monitors.values()) if p.monitors else [],
    "trap_exit": attrgetter("trap"),
    "behaviour": attrgetter("behaviour"),
    "messages_handled": attrgetter("handled"),
    "initial_call": methodcaller("initial_call"),
    "current_function": methodcaller("current_function"),
    "memory": methodcaller("memory"),
}


def qualified_name(what: object) -> str | None:
    """`module.Qual.name` of a function, class or coroutine; None for None."""
    if what is None:
        return None
    while isinstance(what, functools.partial):
        what = what.func
    qualname = getattr(what, "__qualname__", None)
    module: object
    if not isinstance(qualname, str):
        qualname = type(what).__qualname__  # an object with an async __call__
        module = type(what).__module__
    else:
        frame = getattr(what, "cr_frame", None)
        module = getattr(what, "__module__", None)
        if frame is not None:
            module = frame.f_globals.get("__name__")
    return f"{module}.{qualname}" if isinstance(module, str) else qualname


def awaited_chain(task: asyncio.Task[Any] | None) -> list[Any]:
    """The coroutines `task` is suspended in, outermost first (empty if it is not).

    Follows `cr_await` from the task's coroutine, through the `Steps` that
    times a process's steps (its `coro`), down to the innermost coroutine.
    """
    if task is None or task.done():
        return []
    obj: Any = task.get_coro()
    chain: list[Any] = []
    while obj is not None and len(chain) < 64:
        inner = getattr(obj, "coro", None)
        if inner is not None and not hasattr(obj, "cr_await"):
            obj = inner  # a Steps wrapper
            continue
        if not hasattr(obj, "cr_await"):
            break
        chain.append(obj)
        obj = obj.cr_await
    return chain


class PendingCall:
    """Protocol of a call waiting in a mailbox: failed when its server dies."""

    __slots__ = ()

    def fail(self, reason: object) -> None:  # pragma: no cover - interface
        raise NotImplementedError


def fail_pending_calls(mailbox: deque[object], reason: object) -> None:
    for msg in mailbox:
        if isinstance(msg, PendingCall):
            msg.fail(reason)


# -- plain processes ---------------------------------------------------------


async def run_body(
    proc: Process, fn: Callable[..., Coroutine[Any, Any, object]], args: tuple[object, ...]
) -> None:
    """The task of a plain process: run `fn(*args)`, then die with its outcome."""
    try:
        result = await fn(*args)
    except Exit as exc:
        reason: object = exc.reason
    except asyncio.CancelledError:
        if proc.alive:
            proc.die(proc.kill_reason if proc.kill_reason is not None else "killed")
        raise
    except Exception as exc:
        reason = exc
        if proc.alive and proc.kill_reason is None:
            _report_crash(proc, exc)
    else:
        reason = "normal"
        proc.result = result
    if proc.kill_reason is not None:
        # A signal reached the process while it ran (it killed a linked
        # process, which signalled it back) and it ended before its next
        # suspension point: the signal came first, so its reason wins.
        reason = proc.kill_reason
    proc.die(reason)


def _report_crash(proc: Process, exc: Exception) -> None:
    """Log the crash of a plain process (or task), and keep its report on the node."""
    args = (proc.label(), describe_exception(exc, proc.rt.report_limit))
    log_crash(proc, exc, "Process %s crashed: %s", args, exc)


def start_task(
    proc: Process,
    fn: Callable[..., Coroutine[Any, Any, object]],
    args: tuple[object, ...],
    what: object = None,
) -> None:
    """Run `fn(*args)` as the task of `proc`; `what` names it in reports (default: `fn`)."""
    ctx = contextvars.copy_context()
    ctx.run(current_process.set, proc)
    # A wrapper (a Task's body) names the argument that is the user's function.
    if what is None:
        runs = getattr(fn, "otp_runs_arg", None)
        what = fn if runs is None else args[runs]
    if proc.initial is None:
        proc.initial = what
    proc.task = proc.rt.loop.create_task(drive(run_body(proc, fn, args), proc, what), context=ctx)

"""Starting processes and looking at them."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from threading import get_ident
from typing import Any

from .._errors import NotInProcess
from ._ids import Pid, Ref
from ._process import Process
from ._repr import show
from ._scheduler import current_node, current_process, node_of_loop, off_loop, self_process

ProcessFn = Callable[..., Coroutine[Any, Any, object]]


def self() -> Pid:
    """The pid of the calling process.

    Raises:
        NotInProcess: called from code that is not an otp process (a plain
            asyncio task, another thread, or no event loop at all).
    """
    return self_process("otp.self")


def spawn(fn: ProcessFn, *args: object) -> Pid:
    """Start `fn(*args)` (a coroutine function) as a new process; return its pid.

    >>> import otp
    >>> async def child(parent):
    ...     otp.send(parent, "hello")
    >>> async def main():
    ...     otp.spawn(child, otp.self())
    ...     return await otp.receive()
    >>> otp.run(main)
    'hello'

    `fn` is an `async def` function (or method), a `functools.partial` of
    one, or an object with an `async def __call__`; it is checked here, so
    a plain `def` or a lambda raises at once instead of crashing the new
    process. To run a plain function as a process, use `otp.Task.async_`.

    Raises:
        TypeError: `fn` is not one of those (the message says what to pass).
    """
    return current_node("otp.spawn").spawn(fn, args)


def spawn_link(fn: ProcessFn, *args: object) -> Pid:
    """Like `spawn`, atomically linked to the calling process."""
    parent = current_process.get()
    if parent is not None and parent.rt.loop_thread != get_ident():
        raise off_loop("otp.spawn_link", parent.rt, parent)
    if parent is None:
        if node_of_loop() is None:  # a thread, or no node at all
            raise off_loop("otp.spawn_link")
        raise NotInProcess(
            "not_in_process",
            "spawn_link must be called from an otp process (there is nothing to link "
            "to here); use otp.spawn, or call it from inside a process",
        )
    return parent.rt.spawn(fn, args, link_to=parent)


def spawn_monitor(fn: ProcessFn, *args: object) -> tuple[Pid, Ref]:
    """Like `spawn`, atomically monitored by the calling process: `(pid, ref)`."""
    watcher = self_process("otp.spawn_monitor")
    node = watcher.rt
    proc = node.spawn(fn, args)
    ref = node.make_ref()
    node.route_monitor(watcher, proc, ref, proc)
    return proc, ref


def make_ref() -> Ref:
    """A new unique reference."""
    return current_node("otp.make_ref").make_ref()


def processes() -> list[Pid]:
    """The pids of every live process on this node, oldest first."""
    return list(current_node("otp.processes").procs.values())


def is_alive(pid: Pid) -> bool:
    """Whether the local process `pid` is alive."""
    if not isinstance(pid, Process):
        if isinstance(pid, Pid):
            raise ValueError(f"is_alive: {show(pid)} is a pid of another node; monitor it instead")
        raise TypeError(f"is_alive needs a Pid; got {show(pid)} ({type(pid).__name__})")
    return pid.alive


def process_info(pid: Pid) -> dict[str, object] | None:
    """A snapshot of a local process, or None when it is dead.

    Keys: `registered_name`, `status`, `message_queue_len`, `links`,
    `monitors` (pids this process monitors), `trap_exit`, `behaviour`,
    `messages_handled`.
    """
    if not isinstance(pid, Process) or not pid.alive:
        return None
    if pid.rt.loop_thread != get_ident():
        raise off_loop("otp.process_info", pid.rt, current_process.get())
    return pid.info()

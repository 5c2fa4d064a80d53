"""Starting processes and looking at them."""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Awaitable, Callable, Coroutine
from threading import get_ident
from typing import TYPE_CHECKING, Any, overload

from .._errors import NotInProcess
from ._ids import Pid, Ref
from ._node import check_process_fn
from ._process import INFO_ITEMS, Process
from ._repr import show
from ._scheduler import current_node, current_process, node_of_loop, off_loop, self_process

if TYPE_CHECKING:
    from ._node import Node

ProcessFn = Callable[..., Coroutine[Any, Any, object]]
#: What `node=` spawns: any function (sync or async), or a `(module, function)` pair.
RemoteFn = Callable[..., object] | tuple[str, str]


def self() -> Pid:
    """The pid of the calling process.

    Raises:
        NotInProcess: called from code that is not an otp process (a plain
            asyncio task, another thread, or no event loop at all).
    """
    return self_process("otp.self")


@overload
def spawn(fn: ProcessFn, *args: object) -> Pid: ...
@overload
def spawn(fn: RemoteFn, *args: object, node: str) -> Awaitable[Pid]: ...
def spawn(fn: Any, *args: object, node: str | None = None) -> Pid | Awaitable[Pid]:
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

    With `node="b@h"`, the process starts on that node, and `spawn` returns
    an awaitable of its pid: `pid = await otp.spawn(work, 1, node="b@h")`.
    It waits for the other node's answer (no timeout: a lost connection
    raises NoConnection at once). `fn` may then be a plain function too,
    which runs in the new process: a function defined at a module's top
    level travels by name (that node imports its module), a `(module,
    function)` pair names any node's function (Erlang's too), and any
    other callable travels pickled (to Python nodes only). `node=` this
    node's name spawns here, and still returns an awaitable.

    Raises:
        TypeError: `fn` is not one of those (the message says what to pass).
        SpawnError: (from the await) the other node refused the spawn.
        NoConnection: (from the await) the node cannot be reached.
    """
    if node is None:
        return current_node("otp.spawn").spawn(fn, args)
    return _first(_elsewhere(current_node("otp.spawn"), node, fn, args, None, False, False))


def _elsewhere(
    rt: Node,
    node: str,
    fn: object,
    args: tuple[object, ...],
    caller: Process | None,
    link: bool,
    monitor: bool,
) -> asyncio.Future[tuple[Pid, Ref | None]]:
    """A spawn with `node=`: through the distribution, or here for this node's name."""
    if node != rt.name or (rt.dist is not None and not _runs_as_process(fn)):
        # Another node; or this one, with a target only the distribution layer
        # knows how to run (a `(module, function)` pair, a plain function).
        return rt.remote().spawn_request(node, fn, args, caller, link, monitor)
    return spawned_here(rt, fn, args, caller, link, monitor)  # type: ignore[arg-type]


def spawned_here(
    rt: Node,
    fn: ProcessFn,
    args: tuple[object, ...],
    caller: Process | None,
    link: bool,
    monitor: bool,
) -> asyncio.Future[tuple[Pid, Ref | None]]:
    """Spawn `fn(*args)` on `rt` as a `node=` spawn does: a done future of `(pid, ref)`."""
    proc = rt.spawn(fn, args, link_to=caller if link else None)
    ref = None
    if monitor and caller is not None:
        ref = rt.make_ref()
        rt.route_monitor(caller, proc, ref, proc)
    done: asyncio.Future[tuple[Pid, Ref | None]] = rt.loop.create_future()
    done.set_result((proc, ref))
    return done


def top_level_name(fn: object) -> tuple[str, str] | None:
    """`(module, name)` of a function defined at a module's top level, else None.

    Such a function travels to other nodes by name (they import its
    module); anything else must travel pickled.
    """
    module = getattr(fn, "__module__", None)
    name = getattr(fn, "__qualname__", None)
    if not (isinstance(module, str) and isinstance(name, str)) or "." in name or "<" in name:
        return None
    found = sys.modules.get(module)
    if found is None:
        try:
            found = importlib.import_module(module)
        except ImportError:
            return None
    return (module, name) if getattr(found, name, None) is fn else None


def _runs_as_process(fn: object) -> bool:
    try:
        check_process_fn(fn, "spawn")
    except TypeError:
        return False
    return True


def _first(fut: asyncio.Future[tuple[Pid, Ref | None]]) -> asyncio.Future[Pid]:
    """The pid of a remote spawn's `(pid, ref)`, as a future of its own."""
    out: asyncio.Future[Pid] = fut.get_loop().create_future()

    def done(f: asyncio.Future[tuple[Pid, Ref | None]]) -> None:
        if out.done():
            return
        if f.cancelled():
            out.cancel()
        elif (exc := f.exception()) is not None:
            out.set_exception(exc)
        else:
            out.set_result(f.result()[0])

    fut.add_done_callback(done)
    return out


@overload
def spawn_link(fn: ProcessFn, *args: object) -> Pid: ...
@overload
def spawn_link(fn: RemoteFn, *args: object, node: str) -> Awaitable[Pid]: ...
def spawn_link(fn: Any, *args: object, node: str | None = None) -> Pid | Awaitable[Pid]:
    """Like `spawn`, atomically linked to the calling process.

    With `node=`, the link is in place when the await returns; if the
    caller dies before the other node answers, the new process still gets
    its exit signal.
    """
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
    if node is not None:
        return _first(_elsewhere(parent.rt, node, fn, args, parent, True, False))
    return parent.rt.spawn(fn, args, link_to=parent)


@overload
def spawn_monitor(fn: ProcessFn, *args: object) -> tuple[Pid, Ref]: ...
@overload
def spawn_monitor(fn: RemoteFn, *args: object, node: str) -> Awaitable[tuple[Pid, Ref]]: ...
def spawn_monitor(
    fn: Any, *args: object, node: str | None = None
) -> tuple[Pid, Ref] | Awaitable[tuple[Pid, Ref]]:
    """Like `spawn`, atomically monitored by the calling process: `(pid, ref)`.

    With `node=`, an awaitable of `(pid, ref)`; the monitor's Down comes
    with reason "noconnection" if the connection is lost.
    """
    watcher = self_process("otp.spawn_monitor")
    if node is not None:
        return _elsewhere(watcher.rt, node, fn, args, watcher, False, True)  # type: ignore[return-value]
    node_ = watcher.rt
    proc = node_.spawn(fn, args)
    ref = node_.make_ref()
    node_.route_monitor(watcher, proc, ref, proc)
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


@overload
def process_info(pid: Pid) -> dict[str, object] | None: ...
@overload
def process_info(pid: Pid, items: str) -> object: ...
@overload
def process_info(pid: Pid, items: list[str] | tuple[str, ...]) -> dict[str, object] | None: ...
def process_info(
    pid: Pid, items: str | list[str] | tuple[str, ...] | None = None
) -> dict[str, object] | object | None:
    """A snapshot of a local process, or None when it is dead.

    Keys: `registered_name`, `status`, `message_queue_len`, `links`,
    `monitors` (pids this process monitors), `trap_exit`, `behaviour`,
    `messages_handled`, `initial_call`, `current_function`, `memory`.

    As Erlang's `process_info/2`, `items` asks for less: one item name gives
    just its value, a list of names a dict of just those keys. Each item is
    read on its own, so `process_info(pid, "message_queue_len")` is cheap
    even for a process whose full snapshot is not. (A live process without a
    registered name also answers None for `"registered_name"`: pass a list to
    tell it from a dead one.)

    >>> import otp
    >>> async def main():
    ...     me = otp.self()
    ...     otp.send(me, "hello")
    ...     return (otp.process_info(me, "message_queue_len"),
    ...             otp.process_info(me, ["messages_handled", "trap_exit"]))
    >>> otp.run(main)
    (1, {'messages_handled': 0, 'trap_exit': False})

    Raises:
        ValueError: an item that is not one of the keys above (the error
            lists them).
    """
    if isinstance(items, str):  # the cheap path, taken once per process by the observer
        read = INFO_ITEMS.get(items) or _reader(items)
        if not isinstance(pid, Process) or not pid.alive:
            return None
        if pid.rt.loop_thread != get_ident():
            raise off_loop("otp.process_info", pid.rt, current_process.get())
        return read(pid)
    readers = None if items is None else [(item, _reader(item)) for item in items]
    if not isinstance(pid, Process) or not pid.alive:
        return None
    if pid.rt.loop_thread != get_ident():
        raise off_loop("otp.process_info", pid.rt, current_process.get())
    if readers is None:
        return pid.info()
    return {item: read(pid) for item, read in readers}


def _reader(item: object) -> Callable[[Process], object]:
    read = INFO_ITEMS.get(item) if isinstance(item, str) else None
    if read is None:
        raise ValueError(
            f"process_info: unknown item {show(item)}; pass one of "
            f"{', '.join(INFO_ITEMS)} (or a list of them)"
        )
    return read

"""Reach a node from threads that are not its event loop.

A node's processes, names and timers belong to the thread that runs its
event loop. Code in any other thread (a sync `def` endpoint of a web
framework, a `threading.Timer`, a callback of a C library, an
`asyncio.to_thread` worker) hands its work to the node's loop with these
functions, which block the calling thread until it is done:

    >>> import asyncio, otp
    >>> class Counter(otp.GenServer):
    ...     def handle_cast(self, n, total):
    ...         return otp.NoReply(total + n)
    ...     def handle_call(self, request, from_, total):
    ...         return otp.Reply(total, total)
    >>> def in_a_thread():
    ...     otp.from_thread.cast("counter", 2)
    ...     return otp.from_thread.call("counter", "total?")
    >>> async def main():
    ...     await Counter.start_link(40, name="counter")
    ...     return await asyncio.to_thread(in_a_thread)
    >>> otp.run(main)
    42

`call`, `cast` and `send` work as `otp.call`, `otp.cast` and `otp.send`
(same arguments, same errors); `run(afn, *args)` runs `afn(*args)` as a new
process on the node and returns its result. Every other `otp` function
raises `otp.NotInProcess` off the node's loop: do such work in `run`.

Which node: `node=None` is the one node running in this OS process (the
node of `server` when it is a pid); with several running, pass `node=`, an
`otp.Node` or its name. A node that is not running raises
`otp.NotInProcess`, also for work still waiting when it stops.

Waiting: `call` waits at most `timeout` seconds of real time (None:
forever), also when the node's loop is busy, then raises `otp.CallTimeout`;
`cast`, `send` and `run` wait until the work is done. Interrupted while
waiting (KeyboardInterrupt), a call is given up and `run`'s process is
killed. Requests from one thread reach a process in the order sent.

When not to use it: on the node's own loop these raise RuntimeError, since
blocking there would deadlock: `await otp.call(...)` instead. From another
event loop they work, but block that loop while they wait.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
from collections.abc import Awaitable, Callable, Coroutine
from threading import get_ident
from typing import TYPE_CHECKING, Any, TypeVar

from ._behaviours._gen_server import call as _call
from ._behaviours._gen_server import cast as _cast
from ._errors import CallTimeout, Exit, NotInProcess
from ._runtime._mailbox import send as _send
from ._runtime._node import Node
from ._runtime._process import Process
from ._runtime._repr import show
from ._runtime._scheduler import current_process, running_nodes, track
from ._runtime._signals import exit as _exit
from ._runtime._spawning import spawn as _spawn

if TYPE_CHECKING:
    from ._runtime._names import Dest

T = TypeVar("T")

__all__ = ["call", "cast", "run", "send"]


def call(
    server: Dest,
    request: object,
    timeout: float | None = 5.0,
    *,
    node: Node | str | None = None,
) -> Any:
    """`otp.call(server, request, timeout)` from a thread: wait for the reply (typed `Any`).

    >>> import asyncio, otp
    >>> class Echo(otp.GenServer):
    ...     def handle_call(self, request, from_, state):
    ...         return otp.Reply(request, state)
    >>> async def main():
    ...     pid = await Echo.start_link(None)
    ...     return await asyncio.to_thread(otp.from_thread.call, pid, "hi")
    >>> otp.run(main)
    'hi'

    Waits at most `timeout` seconds of real time (None: forever), counted
    in the calling thread, so also when the node's loop is busy; a late
    reply is dropped. If the waiting thread is interrupted, the call is
    given up, though the server may still handle the request.

    Raises:
        NoProc: no such process, or it is dead.
        CallTimeout: no reply in time.
        Exit: the server exited while handling the request (`.reason`).
        NotInProcess: no node runs (or it stopped before replying).
        RuntimeError: called on the node's own event loop.
    """
    target = _node_for("call", node, server)
    fut = _submit(target, "call", _call(server, request, timeout))
    try:
        done, _ = concurrent.futures.wait((fut,), timeout)
    except BaseException:  # interrupted: give the call up
        fut.cancel()
        raise
    if not done and fut.cancel():
        raise CallTimeout(
            "timeout",
            f"call to {show(server)} with {show(request)} got no reply within {timeout} s",
        )
    return _outcome(fut, target, "call")


def cast(server: Dest, request: object, *, node: Node | str | None = None) -> None:
    """`otp.cast(server, request)` from a thread: return once it is in the mailbox.

    >>> import asyncio, otp
    >>> class Inbox(otp.GenServer):
    ...     def handle_cast(self, request, state):
    ...         return otp.NoReply([*state, request])
    ...     def handle_call(self, request, from_, state):
    ...         return otp.Reply(state, state)
    >>> async def main():
    ...     pid = await Inbox.start_link([])
    ...     await asyncio.to_thread(otp.from_thread.cast, pid, "hello")
    ...     return await otp.call(pid, "read")
    >>> otp.run(main)
    ['hello']

    Waits until the node's loop took the request (it does not wait for the
    server to handle it). As `otp.cast`, a missing server is no error.

    Raises:
        NotInProcess: no node runs (or it stopped before taking the request).
        RuntimeError: called on the node's own event loop.
    """
    target = _node_for("cast", node, server)
    _wait(target, "cast", _now(_cast, server, request))


def send(dest: Dest, msg: object, *, node: Node | str | None = None) -> None:
    """`otp.send(dest, msg)` from a thread: return once it is in the mailbox.

    >>> import asyncio, otp
    >>> async def main():
    ...     otp.register("main", otp.self())
    ...     await asyncio.to_thread(otp.from_thread.send, "main", "from a thread")
    ...     return await otp.receive()
    >>> otp.run(main)
    'from a thread'

    Raises:
        NoProc: `dest` is a name that no process holds.
        NotInProcess: no node runs (or it stopped before taking the message).
        RuntimeError: called on the node's own event loop.
    """
    target = _node_for("send", node, dest)
    _wait(target, "send", _now(_send, dest, msg))


def run(afn: Callable[..., Awaitable[T]], *args: object, node: Node | str | None = None) -> T:
    """Run `afn(*args)` as a new process on the node; return its result.

    >>> import asyncio, otp
    >>> async def where():
    ...     return otp.whereis("main") == otp.self()
    >>> async def main():
    ...     otp.register("main", otp.self())
    ...     in_main = await where()
    ...     return in_main, await asyncio.to_thread(otp.from_thread.run, where)
    >>> otp.run(main)
    (True, False)

    The process is like one started with `otp.spawn`: it may use every
    `otp` function. Waits until it ends, however long it takes; if the
    waiting thread is interrupted, the process is killed.

    Raises:
        Exception: whatever `afn` raised (the process exits with it as reason).
        Exit: the process was killed first, e.g. as the node shut down.
        NotInProcess: no node runs (or it stopped first).
        RuntimeError: called on the node's own event loop.
    """
    if not callable(afn):
        raise TypeError(
            f"otp.from_thread.run needs an async function to run as a process; "
            f"got {show(afn)} ({type(afn).__name__})"
        )
    target = _node_for("run", node)
    return _wait(target, "run", _run_process(afn, args))


# -- finding the node ---------------------------------------------------------------

#: What to use instead of each function on the node's own loop.
_ON_LOOP = {
    "call": "`await otp.call(server, request)`",
    "cast": "otp.cast(server, request)",
    "send": "otp.send(dest, msg)",
    "run": "otp.spawn(afn, ...) or `await afn(...)`",
}


def _node_for(what: str, node: Node | str | None, dest: object = None) -> Node:
    """The running node that `node=` (and a local pid `dest`) names."""
    if node is None:
        target = dest.rt if isinstance(dest, Process) else _only_node(what)
    elif isinstance(node, Node):
        target = node
    elif isinstance(node, str):
        target = _named_node(what, node)
    else:
        raise TypeError(
            f"otp.from_thread.{what}: node= must be an otp.Node, the name of one, or None "
            f"(the node running in this process); got {show(node)} ({type(node).__name__})"
        )
    if isinstance(dest, Process) and dest.rt is not target:
        raise ValueError(
            f"otp.from_thread.{what}: {show(dest)} is a process of node {show(dest.rt.name)}, "
            f"not of node {show(target.name)}: pass node= its node, or leave node= out"
        )
    if target.loop_thread is None:
        raise _stopped(target, what)
    if target.loop_thread == get_ident():
        raise RuntimeError(
            f"otp.from_thread.{what} was called on the event loop of node {show(target.name)} "
            f"itself, where waiting for the node would deadlock it: use {_ON_LOOP[what]} "
            f"instead"
        )
    return target


def _only_node(what: str) -> Node:
    running = running_nodes()
    if len(running) == 1:
        return running[0]
    if not running:
        raise NotInProcess(
            "no_node",
            f"otp.from_thread.{what}: no otp node runs in this process. Start one first: "
            f"`async with otp.Node():` in your asyncio program, or otp.run(main) in "
            f"another thread",
        )
    raise ValueError(
        f"otp.from_thread.{what}: {len(running)} otp nodes run in this process "
        f"({_names(running)}): pass node=... (an otp.Node or its name) to say which"
    )


def _named_node(what: str, name: str) -> Node:
    running = running_nodes()
    named = [n for n in running if n.name == name]
    if len(named) == 1:
        return named[0]
    if named:
        raise ValueError(
            f"otp.from_thread.{what}: {len(named)} otp nodes named {show(name)} run in this "
            f"process: pass node= the otp.Node object itself"
        )
    raise NotInProcess(
        "no_node",
        f"otp.from_thread.{what}: no otp node named {show(name)} runs in this process "
        f"(running: {_names(running) or 'none'})",
    )


def _names(nodes: list[Node]) -> str:
    return ", ".join(repr(n.name) for n in nodes)


def _stopped(node: Node, what: str) -> NotInProcess:
    return NotInProcess(
        "no_node",
        f"otp.from_thread.{what}: node {show(node.name)} is not running (it stopped, or "
        f"has not started): nothing there can handle the request",
    )


# -- handing work to the loop ---------------------------------------------------------


def _submit(node: Node, what: str, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    """Start `coro` as a plain task on the node's loop; the future tells its outcome."""
    # The task runs in a copy of this thread's context (as asyncio.to_thread
    # does the other way round), minus the process: a to_thread worker of
    # process P is not P, so its work must not run as P.
    ctx = contextvars.copy_context()
    ctx.run(current_process.set, None)
    try:
        fut = ctx.run(asyncio.run_coroutine_threadsafe, coro, node.loop)
    except RuntimeError:  # the loop closed since _node_for looked
        coro.close()
        raise _stopped(node, what) from None
    if not track(node, fut):  # the node stopped meanwhile: never run it
        fut.cancel()
    return fut


def _wait(node: Node, what: str, coro: Coroutine[Any, Any, T]) -> T:
    fut = _submit(node, what, coro)
    try:
        concurrent.futures.wait((fut,))
    except BaseException:  # interrupted: give it up
        fut.cancel()
        raise
    return _outcome(fut, node, what)


def _outcome(fut: concurrent.futures.Future[T], node: Node, what: str) -> T:
    try:
        return fut.result()
    except concurrent.futures.CancelledError:
        # Cancelled by the node as it stopped, or with the loop's last tasks.
        raise _stopped(node, what) from None


async def _now(fn: Callable[..., T], *args: object) -> T:
    return fn(*args)


async def _run_process(afn: Callable[..., Awaitable[T]], args: tuple[object, ...]) -> T:
    """Spawn a process that runs `afn(*args)`; wait for it and return its result."""
    results: list[T] = []
    errors: list[Exception] = []

    async def body() -> None:
        try:
            awaitable = afn(*args)
            if not inspect.isawaitable(awaitable):
                raise TypeError(
                    f"otp.from_thread.run needs an async function (async def); {show(afn)} "
                    f"returned {show(awaitable)}"
                )
            results.append(await awaitable)
        except Exception as exc:
            errors.append(exc)
            if isinstance(exc, Exit):
                raise
            # The thread gets the exception itself; ending with Exit keeps the
            # crash out of the log, since the caller sees it anyway.
            raise Exit(exc) from exc

    pid = _spawn(body)
    assert isinstance(pid, Process)
    try:
        reason = await pid.wait_exit()
    except asyncio.CancelledError:  # the waiting thread gave up
        _exit(pid, "kill")
        raise
    if errors:
        raise errors[0]
    if not results:
        raise Exit(
            reason, f"otp.from_thread.run: {pid} exited with {show(reason)} before returning"
        )
    return results[0]

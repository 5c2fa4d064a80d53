"""Where the runtime meets asyncio: the current process and the current node.

The current process lives in a context variable: every process task runs in
its own copy of the context, and the GenServer dispatcher sets it around each
callback. The current node is found through the current process or, for plain
asyncio tasks, through the running event loop (one node per loop).

A node's tables belong to its event loop's thread: nothing else may touch
them. The context variable alone cannot tell, since `asyncio.to_thread`
copies the context into its worker thread, where `current_process` still
names the process that called it. So each node records the thread of its
loop (`Node.loop_thread`, None when it is not running) and the entry points
compare it with `threading.get_ident()`: on the hot path this is cheaper
than asking asyncio for the running loop, which on Python 3.11 makes a
system call each time.

    current_process.get()               ->  the process, or None
    proc.rt.loop_thread == get_ident()  ->  on the node's loop: go on
    anything else                       ->  `off_loop(...)` says what to use instead

Threads that need a node go through `otp.from_thread`, which finds the node
in the registry of running nodes kept here (`running_nodes`) and hands its
work to the loop with `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import threading
from asyncio.tasks import _enter_task, _leave_task
from contextvars import ContextVar
from threading import get_ident
from typing import TYPE_CHECKING, Any

from .._errors import NotInProcess

if TYPE_CHECKING:
    from concurrent.futures import Future

    from ._node import Node
    from ._process import Process

current_process: ContextVar[Process | None] = ContextVar("otp_current_process", default=None)

#: Make a task the loop's current task around code run from a plain loop
#: callback (a GenServer's batch of sync callbacks), so that code sees
#: `asyncio.current_task()` as it would inside a Task.
enter_task = _enter_task
leave_task = _leave_task

# The node bound to each running event loop, and the requests that threads
# handed to each running node and that are not answered yet. Both are
# emptied as each node stops, so they hold no process state of their own.
# `_lock` guards them against threads that look for a node.
_lock = threading.Lock()
_bound: dict[asyncio.AbstractEventLoop, Node] = {}
_requests: dict[Node, set[Future[Any]]] = {}


def bind(loop: asyncio.AbstractEventLoop, node: Node) -> None:
    """Make `node` the node of `loop`, which runs in the calling thread."""
    with _lock:
        if loop in _bound:
            raise RuntimeError(
                "an otp node already runs on this event loop: use one node per loop "
                "(leave the other `async with otp.Node()` first)"
            )
        node.loop_thread = get_ident()
        _bound[loop] = node
        _requests[node] = set()


def unbind(loop: asyncio.AbstractEventLoop) -> None:
    """The node of `loop` stopped: cancel what threads still wait for."""
    with _lock:
        node = _bound.pop(loop, None)
        pending = _requests.pop(node, set()) if node is not None else set()
        if node is not None:
            node.loop_thread = None
    for fut in list(pending):  # each one leaves the set as it is cancelled
        fut.cancel()  # the waiting thread says the node stopped


def running_nodes() -> list[Node]:
    """Every node running in this OS process, oldest first."""
    with _lock:
        return list(_bound.values())


def track(node: Node, fut: Future[Any]) -> bool:
    """Cancel `fut` if `node` stops before it is done; False if it is not running."""
    with _lock:
        pending = _requests.get(node)
        if pending is None:
            return False
        pending.add(fut)
    fut.add_done_callback(pending.discard)
    return True


def node_of_loop() -> Node | None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return _bound.get(loop)


def current_node(what: str = "this otp function") -> Node:
    """The node of the current process or, outside processes, of the running loop.

    `what` names the caller's public function in the error raised off the loop.
    """
    proc = current_process.get()
    if proc is not None:
        node = proc.rt
        if node.loop_thread == get_ident():
            return node
        raise off_loop(what, node, proc)
    node_here = node_of_loop()
    if node_here is None:
        raise off_loop(what)
    return node_here


def node_of(caller: Process | None, what: str) -> Node:
    """`current_node(what)` for a caller that already read `current_process`.

    Saves reading the context variable a second time on the common path: a
    process on its node's loop.
    """
    if caller is not None and caller.rt.loop_thread == get_ident():
        return caller.rt
    return current_node(what)


def self_process(what: str | None = None) -> Process:
    """The calling process; NotInProcess outside one, or off its node's loop."""
    proc = current_process.get()
    if proc is None:
        if node_of_loop() is None:  # no node here: a thread, or no node at all
            raise off_loop(what or "this otp function")
        raise NotInProcess()  # a plain asyncio task on the node's loop
    if proc.rt.loop_thread != get_ident():
        raise off_loop(what or "this otp function", proc.rt, proc)
    return proc


#: What a thread does instead of each function that needs the node's loop.
_INSTEAD = {
    "otp.call": "use otp.from_thread.call(server, request), which hands the call to "
    "the node's loop and waits for the reply",
    "otp.cast": "use otp.from_thread.cast(server, request), which hands the cast to "
    "the node's loop",
    "otp.send": "use otp.from_thread.send(dest, msg), which hands the message to the node's loop",
}
_RUN_INSTEAD = (
    "run that code as a process on the node with otp.from_thread.run(afn, ...), or "
    "reach a process with otp.from_thread.call, cast or send"
)


def off_loop(what: str, node: Node | None = None, proc: Process | None = None) -> NotInProcess:
    """The error for `what`, called where it cannot reach `node` (or any node).

    `node` is the node the caller meant (that of the pid it passed, or of
    the process whose context it inherited, `proc`); None when unknown.
    Only ever called to raise, so it may take its time.
    """
    instead = _INSTEAD.get(what, _RUN_INSTEAD)
    running = running_nodes()
    if node is None and not running:
        if _has_running_loop():
            return NotInProcess(
                "no_node",
                f"{what}: no otp node runs on this event loop: wrap the program in "
                f"otp.run(main) or `async with otp.Node():`",
            )
        return NotInProcess(
            "no_node",
            f"{what} was called with no otp node running: start one with otp.run(main) "
            f"or `async with otp.Node():` and call {what} from its processes (from "
            f"another thread, through otp.from_thread)",
        )
    if node is not None and node not in running:
        return NotInProcess(
            "no_node",
            f"{what} was called for node {node.name!r}, which is not running any more",
        )
    if node is not None or len(running) == 1:
        where = f"node {(node or running[0]).name!r}"
    else:
        where = f"any otp node ({', '.join(repr(n.name) for n in running)})"
    inherited = ""
    if proc is not None and proc.rt.loop_thread != get_ident():
        inherited = (
            f" (this thread has the context of process {proc._label()}, as an "
            f"asyncio.to_thread worker does, but it is not that process)"
        )
    return NotInProcess(
        "not_in_process",
        f"{what} was called from a thread that is not the event loop of {where}"
        f"{inherited}: {instead}",
    )


def _has_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True

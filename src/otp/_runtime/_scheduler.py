"""Where the runtime meets asyncio: the current process and the current node.

The current process lives in a context variable: every process task runs in
its own copy of the context, and the GenServer dispatcher sets it around each
callback. The current node is found through the current process or, for plain
asyncio tasks, through the running event loop (one node per loop).

A node's tables belong to its event loop's thread, recorded as
`Node.loop_thread` while it runs (None otherwise). Threads that need a node
go through `otp.from_thread`, which finds the node in the registry of
running nodes kept here (`running_nodes`) and hands its work to the loop
with `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import threading
from contextvars import ContextVar
from threading import get_ident
from typing import TYPE_CHECKING, Any

from .._errors import NotInProcess

if TYPE_CHECKING:
    from concurrent.futures import Future

    from ._node import Node
    from ._process import Process

current_process: ContextVar[Process | None] = ContextVar("otp_current_process", default=None)

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


def current_node() -> Node:
    """The node of the current process or, outside processes, of the running loop."""
    proc = current_process.get()
    if proc is not None:
        return proc.rt
    node = node_of_loop()
    if node is None:
        raise NotInProcess(
            "no_node",
            "no otp node runs on this event loop: wrap the program in otp.run(main) "
            "or `async with otp.Node():`",
        )
    return node


def self_process() -> Process:
    proc = current_process.get()
    if proc is None:
        raise NotInProcess()
    return proc

"""Where the runtime meets asyncio: the current process and the current node.

The current process lives in a context variable: every process task runs in
its own copy of the context, and the GenServer dispatcher sets it around each
callback. The current node is found through the current process or, for plain
asyncio tasks, through the running event loop (one node per loop).
"""

from __future__ import annotations

import asyncio
from asyncio.tasks import _enter_task, _leave_task
from contextvars import ContextVar
from typing import TYPE_CHECKING

from .._errors import NotInProcess

if TYPE_CHECKING:
    from ._node import Node
    from ._process import Process

current_process: ContextVar[Process | None] = ContextVar("otp_current_process", default=None)

#: Make a task the loop's current task around code run from a plain loop
#: callback (a GenServer's batch of sync callbacks), so that code sees
#: `asyncio.current_task()` as it would inside a Task.
enter_task = _enter_task
leave_task = _leave_task

# The node bound to each running event loop. It maps a loop to its node and
# is emptied as each node stops, so it holds no process state of its own.
_bound: dict[asyncio.AbstractEventLoop, Node] = {}


def bind(loop: asyncio.AbstractEventLoop, node: Node) -> None:
    if loop in _bound:
        raise RuntimeError(
            "an otp node already runs on this event loop: use one node per loop "
            "(leave the other `async with otp.Node()` first)"
        )
    _bound[loop] = node


def unbind(loop: asyncio.AbstractEventLoop) -> None:
    _bound.pop(loop, None)


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

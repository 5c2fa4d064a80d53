"""Calling a process on another node, as `gen:call` does.

The wire shape is OTP's (OTP 24+): the caller monitors the server (by name
or pid), sends `{'$gen_call', {Pid, [alias | Ref]}, Request}`, and takes the
reply from the alias, which is dropped once the call is over, so a late reply
never reaches a mailbox. A reply sent to the caller's pid instead (by a node
without aliases, or a server that answers `Pid ! {Tag, Reply}` itself) is
known by its tag (`Connection._answer`), and dropped as late too.

Failures arrive as the monitor's reason (`_control.call_failure`): `noproc`,
`noconnection` when the connection is lost, or the server's exit reason.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final

from .._errors import NoProc
from .._runtime._call_timeouts import timeouts_for
from .._runtime._ids import Pid, Ref
from .._runtime._repr import safe_repr
from .._runtime._scheduler import current_process
from .._runtime._terms import Atom, ImproperList
from ._control import DEMONITOR_P, MONITOR_P, REG_SEND, SEND

if TYPE_CHECKING:
    from ._connection import Connection
    from ._node import Distribution

_EMPTY: Final = Atom("")
_ALIAS: Final = Atom("alias")


async def remote_call(
    dist: Distribution,
    target: Pid | tuple[str, str],
    request: object,
    timeout: float | None,
    label: str = "$gen_call",
) -> object:
    """Call a process on another node as `gen:call` does; return its reply.

    `label` is the message's first element: `$gen_call`, or `system` for
    `:sys` requests. Raises NoProc, NoConnection, CallTimeout or
    Exit(reason) (the server exited during the call).
    """
    wire: object
    if isinstance(target, Pid):
        peer, wire = target._node_name, target
    else:
        peer, wire = target[1], Atom(target[0])
    if peer == dist.name:
        raise NoProc("noproc", f"call to {safe_repr(target)} failed: the process is not alive")
    conn = dist.connection(peer)
    caller = current_process.get() or dist.anonymous_pid()
    ref = dist.node.make_ref()
    fut: asyncio.Future[object] = dist.loop.create_future()
    conn.calls[ref] = (fut, target)
    conn.send((MONITOR_P, caller, wire, ref))
    message = (Atom(label), (caller, ImproperList([_ALIAS], ref)), request)
    try:
        if isinstance(target, Pid):
            conn.send((SEND, _EMPTY, target), message)
        else:
            conn.send((REG_SEND, caller, _EMPTY, wire), message)
    except BaseException:
        conn.calls.pop(ref, None)
        raise
    conn.flush_now()  # the call leaves now: nothing else is sent while we wait
    if timeout is None:
        try:
            return await fut
        finally:
            _end_call(conn, ref, caller, wire)
    # The deadline is kept with the node's other calls of the same
    # timeout (one loop timer for all), which fails `fut` with CallTimeout.
    waiting = _Waiting(fut, request)
    timeouts = timeouts_for(dist.node, timeout)
    timeouts.add(waiting, target)
    try:
        return await fut
    finally:
        waiting.done = True
        timeouts.settle()
        _end_call(conn, ref, caller, wire)


def _end_call(conn: Connection, ref: Ref, caller: Pid, wire: object) -> None:
    # Still monitoring: end the monitor, which also drops the alias, so
    # that a late reply is dropped.
    if conn.calls.pop(ref, None) is not None:
        conn.send((DEMONITOR_P, caller, wire, ref))


class _Waiting:
    """A remote call waiting for its reply, as the node's call timeouts see it."""

    __slots__ = ("done", "fut", "request")

    def __init__(self, fut: asyncio.Future[object], request: object) -> None:
        self.fut: asyncio.Future[object] | None = fut
        self.request = request
        self.done = False


__all__ = ["remote_call"]

"""Timers: `send_after` and `cancel_timer`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._clock import now
from ._ids import TimerRef, _new_timer_ref
from ._names import resolve
from ._process import Process
from ._scheduler import current_node

if TYPE_CHECKING:
    from ._node import Node


def send_after(dest: object, msg: object, seconds: float) -> TimerRef:
    """Send `msg` to `dest` after `seconds`; returns a ref for `cancel_timer`.

    >>> import otp
    >>> async def main():
    ...     otp.send_after(otp.self(), "tick", 0.01)
    ...     return await otp.receive()
    >>> otp.run(main)
    'tick'

    A name is resolved when the timer fires; if nobody holds it then, or
    the pid is dead, the message is dropped.
    """
    if seconds < 0:
        raise ValueError(f"send_after: seconds must be >= 0; got {seconds!r}")
    node = current_node()
    loop = node.loop
    resolve(node, dest, "send_after")  # validate the destination's type now
    deadline = now(loop) + seconds
    ref = _new_timer_ref(loop, deadline)
    ref._handle = loop.call_at(deadline, _fire, ref, node, dest, msg)
    return ref


def _fire(ref: TimerRef, node: Node, dest: object, msg: object) -> None:
    ref._handle = None
    if isinstance(dest, Process):
        dest.enqueue(msg)
        return
    try:
        pid = resolve(node, dest, "send_after")
    except Exception:  # a registry that went away: drop, as for a dead pid
        return
    if pid is not None:
        node.route_send(pid, msg)


def cancel_timer(ref: TimerRef) -> float | None:
    """Cancel a timer; return the seconds it had left, or None if it already fired."""
    if not isinstance(ref, TimerRef):
        raise TypeError(f"cancel_timer needs the TimerRef returned by send_after; got {ref!r}")
    handle = ref._handle
    if handle is None:
        return None
    ref._handle = None
    handle.cancel()
    return max(0.0, ref._deadline - now(ref._loop))

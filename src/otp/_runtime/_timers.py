"""Timers: `send_after` and `cancel_timer`."""

from __future__ import annotations

from threading import get_ident
from typing import TYPE_CHECKING

from ._clock import now
from ._ids import TimerRef, _new_timer_ref
from ._names import resolve
from ._process import Process
from ._scheduler import current_node, current_process, off_loop

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
    node = current_node("otp.send_after")
    loop = node.loop
    resolve(node, dest, "send_after")  # validate the destination's type now
    deadline = now(loop) + seconds
    ref = _new_timer_ref(loop, deadline)
    # asyncio's timer heap does not keep the start order of equal deadlines,
    # so timers due at the same instant share one handle and fire in order:
    #     send_after(me, "a", 1); send_after(me, "b", 1)  ->  "a" then "b"
    batch = node.timers.get(deadline)
    if batch is None:
        batch = node.timers[deadline] = TimerBatch(node, deadline)
    batch.entries.append((ref, dest, msg))
    ref._handle = batch
    return ref


class TimerBatch:
    """The timers of one node due at one deadline, fired by one loop handle."""

    __slots__ = ("deadline", "entries", "handle", "node")

    def __init__(self, node: Node, deadline: float) -> None:
        self.node = node
        self.deadline = deadline
        self.entries: list[tuple[TimerRef, object, object]] = []
        self.handle = node.loop.call_at(deadline, self.fire)

    def fire(self) -> None:
        node = self.node
        if node.timers.get(self.deadline) is self:
            del node.timers[self.deadline]
        for ref, dest, msg in self.entries:
            ref._handle = None
            _deliver(node, dest, msg)

    def cancel(self, ref: TimerRef) -> None:
        self.entries = [entry for entry in self.entries if entry[0] is not ref]
        if not self.entries:
            self.handle.cancel()
            if self.node.timers.get(self.deadline) is self:
                del self.node.timers[self.deadline]


def _deliver(node: Node, dest: object, msg: object) -> None:
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
    """Cancel a timer; return the seconds it had left, or None if it already fired.

    >>> import otp
    >>> async def main():
    ...     ref = otp.send_after(otp.self(), "tick", 10)
    ...     return otp.cancel_timer(ref) > 9, otp.cancel_timer(ref)
    >>> otp.run(main)
    (True, None)
    """
    if not isinstance(ref, TimerRef):
        raise TypeError(f"cancel_timer needs the TimerRef returned by send_after; got {ref!r}")
    batch = ref._handle
    if not isinstance(batch, TimerBatch):
        return None
    if batch.node.loop_thread != get_ident():
        raise off_loop("otp.cancel_timer", batch.node, current_process.get())
    ref._handle = None
    batch.cancel(ref)
    return max(0.0, ref._deadline - now(ref._loop))

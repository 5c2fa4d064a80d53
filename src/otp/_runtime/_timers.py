"""Timers: `send_after`, `cancel_timer` and `read_timer`.

A timer to a pid belongs to that process, as in Erlang: when the process
exits, its pending timers are cancelled (so `cancel_timer` and
`read_timer` then return None). A timer to a name is not tied to any
process; the name is resolved when it fires.
"""

from __future__ import annotations

from threading import get_ident
from typing import TYPE_CHECKING, final

from ._clock import now
from ._ids import TimerRef, _new_timer_ref
from ._names import resolve
from ._process import Process
from ._repr import show
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

    A timer to a pid is cancelled when that process exits (at once if it
    is already dead), as in Erlang. A name is resolved when the timer
    fires; if nobody holds it then, the message is dropped.
    """
    if seconds < 0:
        raise ValueError(f"send_after: seconds must be >= 0; got {show(seconds)}")
    node = current_node("otp.send_after")
    loop = node.loop
    resolve(node, dest, "send_after")  # validate the destination's type now
    deadline = now(loop) + seconds
    ref = _new_timer_ref(loop, deadline)
    if isinstance(dest, Process):
        if not dest.alive:
            return ref  # cancelled from the start, as Erlang does
        node.exit_hook(_TimersByPid).add(dest, ref)
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
        by_pid = node.exit_hook(_TimersByPid, create=False)
        for ref, dest, msg in self.entries:
            ref._handle = None
            if isinstance(dest, Process):
                by_pid.discard(dest, ref)
                dest.enqueue(msg)
            else:
                _deliver(node, dest, msg)

    def cancel(self, ref: TimerRef) -> None:
        ref._handle = None
        kept = []
        for entry in self.entries:
            if entry[0] is not ref:
                kept.append(entry)
            elif isinstance(entry[1], Process):
                self.node.exit_hook(_TimersByPid, create=False).discard(entry[1], ref)
        self.entries = kept
        if not kept:
            self.handle.cancel()
            if self.node.timers.get(self.deadline) is self:
                del self.node.timers[self.deadline]


def _deliver(node: Node, dest: object, msg: object) -> None:
    try:
        pid = resolve(node, dest, "send_after")
    except Exception:  # a registry that went away: drop, as for a dead pid
        return
    if pid is not None:
        node.route_send(pid, msg)


def cancel_timer(ref: TimerRef) -> float | None:
    """Cancel a timer; return the seconds it had left, or None if it is not pending.

    >>> import otp
    >>> async def main():
    ...     ref = otp.send_after(otp.self(), "tick", 10)
    ...     return otp.cancel_timer(ref) > 9, otp.cancel_timer(ref)
    >>> otp.run(main)
    (True, None)

    None means the timer already fired, was cancelled, or was to a pid
    that exited (which cancels it), as Erlang's `false`.
    """
    if not isinstance(ref, TimerRef):
        raise TypeError(f"cancel_timer needs the TimerRef returned by send_after; got {show(ref)}")
    batch = ref._handle
    if not isinstance(batch, TimerBatch):
        return None
    if batch.node.loop_thread != get_ident():
        raise off_loop("otp.cancel_timer", batch.node, current_process.get())
    batch.cancel(ref)
    return max(0.0, ref._deadline - now(ref._loop))


def read_timer(ref: TimerRef) -> float | None:
    """The seconds left before a timer fires, or None if it is not pending.

    >>> import otp
    >>> async def main():
    ...     ref = otp.send_after(otp.self(), "tick", 10)
    ...     left = otp.read_timer(ref)
    ...     otp.cancel_timer(ref)
    ...     return left > 9, otp.read_timer(ref)
    >>> otp.run(main)
    (True, None)

    Erlang's `erlang:read_timer/1`: None means the timer already fired,
    was cancelled, or was to a pid that exited.
    """
    if not isinstance(ref, TimerRef):
        raise TypeError(f"read_timer needs the TimerRef returned by send_after; got {show(ref)}")
    if ref._handle is None:
        return None
    return max(0.0, ref._deadline - now(ref._loop))


# -- the node's index of timers to pids ----------------------------------------------
#
# One `_TimersByPid` per node, kept in `node.exit_hooks` (found by type) and
# made by the first `send_after` to a pid, maps each process to its pending
# timers, which its death cancels. A process with no timers costs one dict
# look-up when it dies.


@final
class _TimersByPid:
    __slots__ = ("refs",)

    def __init__(self) -> None:
        self.refs: dict[Process, set[TimerRef]] = {}

    def __call__(self, proc: Process) -> None:
        refs = self.refs.pop(proc, None)
        if refs:
            for ref in refs:
                batch = ref._handle
                if isinstance(batch, TimerBatch):
                    batch.cancel(ref)

    def add(self, proc: Process, ref: TimerRef) -> None:
        refs = self.refs.get(proc)
        if refs is None:
            refs = self.refs[proc] = set()
        refs.add(ref)

    def discard(self, proc: Process, ref: TimerRef) -> None:
        refs = self.refs.get(proc)
        if refs is not None:
            refs.discard(ref)
            if not refs:
                del self.refs[proc]

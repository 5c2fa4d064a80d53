"""What `hibernate=True` in a callback's result does: release what an idle server holds.

Erlang's hibernation throws away the process's call stack, garbage-collects
its heap and shrinks it to fit, for a process that will wait long for its
next message. A Python server has no stack between messages and no heap of
its own; what it can give back is what it keeps from the message it just
handled and the room its containers grew into:

- the last message, kept for a crash report (`ServerProcess.last`), is
  dropped, so the message and what only it referenced are freed at once;
- an empty mailbox deque is dropped (its spare blocks go with it; the next
  message makes a new one);
- the sets and dicts of links, monitors, watchers and deferred calls are
  copied to fit their entries (CPython never shrinks a set or a dict on
  removal) or dropped when empty.

There is no `gc.collect()`: CPython frees an object as soon as its last
reference goes, and the cycle collector scans the whole interpreter, not
one process, which would make every hibernation cost as much as a full
collection. A server that never hibernates pays nothing: the results'
`hibernate` flag is read only on the path that handles their options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._server_process import ServerProcess


def hibernate(proc: ServerProcess) -> None:
    """Release what `proc` holds between messages (see the module docstring).

    >>> import weakref
    >>> import otp
    >>> from otp.testing import wait_idle
    >>> class Message:
    ...     pass
    >>> class Sleepy(otp.GenServer):
    ...     def handle_cast(self, request, state):
    ...         return otp.NoReply(state, hibernate=True)
    >>> async def main():
    ...     pid = await Sleepy.start_link(None)
    ...     msg = Message()
    ...     seen = weakref.ref(msg)
    ...     otp.cast(pid, msg)
    ...     del msg
    ...     await wait_idle()
    ...     return seen() is None  # without hibernate=True, kept for a crash report
    >>> otp.run(main)
    True
    """
    proc.last = None
    if not proc.mailbox:
        proc.mailbox = None
    proc.links = set(proc.links) if proc.links else None
    proc.monitors = dict(proc.monitors) if proc.monitors else None
    proc.watchers = dict(proc.watchers) if proc.watchers else None
    proc.deferred = set(proc.deferred) if proc.deferred else None


__all__ = ["hibernate"]

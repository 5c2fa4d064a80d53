"""Messages from other nodes in OTP's shapes: where behaviours take them in.

Erlang's `gen_server`, `gen` and `sys` speak to a process with tuples whose
first element is an atom: `{'$gen_call', {Pid, Tag}, Request}`,
`{'$gen_cast', Request}`, `{system, {Pid, Tag}, Request}`. In Python those
are values of the behaviours (a GenServer's `From`, its cast and system
entries), which the runtime does not know. So the runtime offers only the
meeting point: a behaviour registers a *receiver* for the atom it owns
(`receive_from_wire`), and the distribution layer hands every message from
another node whose first element is that atom to it (`wire_receiver`).

A receiver is called as `receiver(proc, msg, reply)`: `proc` is the local
process the message is for, `msg` the decoded tuple, and `reply(tag, caller,
server, value)` answers a call `{caller, tag}` over the connection it came
on. It returns True when it took the message (queued it in its own shape, or
served it at once), False to have it delivered as it is.

Registrations are code, made once when a behaviour's module is imported,
never per node.
"""

from __future__ import annotations

from collections.abc import Callable

from ._ids import Pid
from ._process import Process

Replier = Callable[[object, Pid, Pid, object], None]
"""`reply(tag, caller, server, value)`: the answer to the call `{caller, tag}`."""

WireReceiver = Callable[[Process, tuple[object, ...], Replier], bool]
"""`receiver(proc, msg, reply) -> bool`: True when it took `msg` for `proc`."""

_RECEIVERS: dict[str, WireReceiver] = {}


def receive_from_wire(tag: str, receiver: WireReceiver) -> None:
    """Hand the messages from other nodes whose first element is the atom `tag` to `receiver`."""
    _RECEIVERS[tag] = receiver


#: The receiver for a message's first element (an atom), or None: `wire_receiver(msg[0])`.
wire_receiver: Callable[[object], WireReceiver | None] = _RECEIVERS.get  # type: ignore[assignment]

__all__ = ["Replier", "WireReceiver", "receive_from_wire", "wire_receiver"]

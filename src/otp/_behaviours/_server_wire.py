"""GenServer's messages as other nodes send them: calls, casts, system requests.

An Erlang, Elixir or Python node calls a GenServer here with
`{'$gen_call', {Pid, Tag}, Request}`, casts with `{'$gen_cast', Request}`,
and `:sys` (also `GenServer.stop`) sends `{system, {Pid, Tag}, Request}`.
These receivers turn them into the server's own mailbox entries (a `From`
whose reply goes back over the connection, a cast entry, a `System`), as
the runtime's wire hook (`otp._runtime._wire`) lets each behaviour do for
the shapes it owns.

A call to an idle server is served at once, in the transport's callback that
read it (`ServerProcess.serve_now`), so its reply leaves in the same write.
"""

from __future__ import annotations

from functools import partial

from .._runtime._ids import Pid
from .._runtime._process import Process
from .._runtime._wire import Replier, receive_from_wire
from ._server_messages import GEN_CAST, From
from ._server_process import ServerProcess
from ._system_wire import on_system


def _sender(msg: tuple[object, ...]) -> tuple[Pid, object] | None:
    """`(caller, tag)` of a `{Label, {Pid, Tag}, Request}` message, else None."""
    if len(msg) != 3:
        return None
    sender = msg[1]
    if type(sender) is tuple and len(sender) == 2 and isinstance(sender[0], Pid):
        return sender
    return None


def _on_call(to: Process, msg: tuple[object, ...], reply: Replier) -> bool:
    sender = _sender(msg)
    if sender is None:
        return False
    caller, tag = sender
    request = msg[2]
    if isinstance(to, ServerProcess):  # a debugged server (otp.sys) is a subclass
        from_ = From(caller, request, to)
        # A partial, not a closure: built in C, without a frame or cells.
        from_.remote = partial(reply, tag, caller, to)
        to.serve_now(from_)
    else:
        # A plain process called as a server: it answers with otp.reply(from_, ...).
        from_ = From(caller, request, None)
        from_.remote = partial(reply, tag, caller, to)
        to.enqueue(("$gen_call", from_, request))
    return True


def _on_cast(to: Process, msg: tuple[object, ...], reply: Replier) -> bool:
    if len(msg) != 2:
        return False
    to.enqueue((GEN_CAST, msg[1]))
    return True


def _on_system(to: Process, msg: tuple[object, ...], reply: Replier) -> bool:
    sender = _sender(msg)
    if sender is None or not isinstance(to, ServerProcess):
        return False
    caller, tag = sender
    # Every request of Erlang's sys module, answered as gen_server does.
    on_system(to, caller, tag, msg[2], partial(reply, tag, caller, to))
    return True


receive_from_wire("$gen_call", _on_call)
receive_from_wire("$gen_cast", _on_cast)
receive_from_wire("system", _on_system)

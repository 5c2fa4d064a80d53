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
from typing import Final

from .._runtime._ids import Pid
from .._runtime._process import Process
from .._runtime._terms import Atom
from .._runtime._wire import Replier, receive_from_wire
from ._server_messages import GEN_CAST, From, System
from ._server_process import ServerProcess

_TERMINATE: Final = Atom("terminate")
_OK: Final = Atom("ok")


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
    if type(to) is ServerProcess:
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
    if sender is None or type(to) is not ServerProcess:
        return False
    caller, tag = sender
    request = msg[2]
    if type(request) is tuple and len(request) == 2 and request[0] == _TERMINATE:
        # sys:terminate (GenServer.stop) waits for `ok` before it watches
        # the exit, as gen_server replies before stopping.
        reply(tag, caller, to, _OK)
        to.enqueue(System("stop", request[1], None))
        return True
    return False


receive_from_wire("$gen_call", _on_call)
receive_from_wire("$gen_cast", _on_cast)
receive_from_wire("system", _on_system)

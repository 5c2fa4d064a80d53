"""What a server's mailbox holds besides plain messages: calls, casts, system requests.

A call waits in the mailbox as its `From` (who waits for the reply, and
how to answer); a cast as `(GEN_CAST, request)`; an `otp.stop` or
`otp.sys` request as a `System`, answered between two messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._errors import Exit
from .._runtime._ids import Pid
from .._runtime._long_mailbox import message_kind
from .._runtime._process import PendingCall
from .._runtime._repr import MESSAGE_LIMIT, safe_repr
from ._results import MISSING

if TYPE_CHECKING:
    from ._server_process import ServerProcess

#: The tag of a cast in a mailbox: `(GEN_CAST, request)`, as OTP's `{'$gen_cast', Req}`.
GEN_CAST: str = "$gen_cast"


class From(PendingCall):
    """Who is waiting for a reply: pass it to `otp.reply(from_, value)`.

    Replying twice, or after the caller gave up, does nothing.
    """

    __slots__ = ("caller", "done", "fut", "remote", "request", "server", "value")

    caller: Pid | None
    request: object
    server: ServerProcess | None
    fut: asyncio.Future[object] | None
    done: bool
    value: object
    remote: Callable[[object], None] | None  # sends the reply to a caller on another node

    def __init__(self, caller: Pid | None, request: object, server: ServerProcess | None) -> None:
        self.caller = caller
        self.request = request
        self.server = server
        self.fut = None
        self.done = False
        self.value = MISSING
        self.remote = None

    def __repr__(self) -> str:
        state = "answered" if self.done else "waiting"
        return f"<From {self.caller} {state}>"

    def reply(self, value: object) -> None:
        server = self.server
        if server is not None and server.deferred:
            # Even when the caller gave up (timed out): the server is done with it.
            server.deferred.discard(self)
        if self.done:
            return
        self.done = True
        fut = self.fut
        if fut is None:
            if self.remote is not None:
                self.remote(value)
            else:
                self.value = value  # answered inside the caller's own step
        elif not fut.done():
            fut.set_result(value)

    def fail(self, reason: object) -> None:
        if self.done:
            return
        self.done = True
        if self.remote is not None:
            return  # the remote caller's monitor tells it the reason
        exc = server_exit(self.server, reason, self.request)
        fut = self.fut
        if fut is None:
            self.value = Failure(exc)
        elif not fut.done():
            fut.set_exception(exc)


class Failure:
    """A call that failed inside the caller's own step: the exception to raise."""

    __slots__ = ("exc",)

    def __init__(self, exc: Exit) -> None:
        self.exc = exc


def server_exit(server: Pid | None, reason: object, request: object) -> Exit:
    from .._errors import NoProc

    if isinstance(reason, str) and reason == "noproc":
        return NoProc("noproc", f"call to {server} failed: the process is not alive")
    return Exit(
        reason,
        f"the server {server} exited with {safe_repr(reason, MESSAGE_LIMIT)} while handling "
        f"{safe_repr(request, MESSAGE_LIMIT)}",
    )


class System:
    """A system message (OTP's `{system, From, Msg}`), handled in mailbox order."""

    __slots__ = ("fut", "kind", "payload")

    def __init__(self, kind: str, payload: object, fut: asyncio.Future[object] | None) -> None:
        self.kind = kind
        self.payload = payload
        self.fut = fut

    def __repr__(self) -> str:
        return f"<system {self.kind} {safe_repr(self.payload, MESSAGE_LIMIT)}>"


def server_message_kind(msg: object) -> str:
    """How the long-mailbox warning counts a server's message: casts by their request.

    >>> server_message_kind((GEN_CAST, ("bump", 1))), server_message_kind(System("stop", 0, None))
    ('bump', 'system stop')
    """
    if type(msg) is tuple and len(msg) == 2 and msg[0] is GEN_CAST:
        return message_kind(msg[1])
    if type(msg) is From:
        return f"call {message_kind(msg.request)}"
    if type(msg) is System:
        return f"system {msg.kind}"
    return message_kind(msg)


__all__ = ["GEN_CAST", "Failure", "From", "System", "server_exit", "server_message_kind"]

"""The client API of GenServer: `call`, `cast`, `reply` and `stop`.

These run in the caller. `call` queues a `From` in the server's mailbox and
waits for its future, unless the caller can do the server's work itself
(see `_inline_calls.py`); `cast` queues `(GEN_CAST, request)`. Calls and
casts to other nodes go through the node's distribution layer.
"""

from __future__ import annotations

import asyncio
from threading import get_ident
from typing import TYPE_CHECKING, Any, TypeGuard

from .._errors import CallTimeout, Exit, NoProc
from .._runtime._call_timeouts import CallTimeouts, check_timeout, timeouts_for
from .._runtime._ids import Pid
from .._runtime._messages import Global
from .._runtime._names import global_names, noproc, resolve
from .._runtime._process import Process
from .._runtime._repr import show
from .._runtime._scheduler import current_node, current_process, node_of, off_loop
from .._runtime._terms import Atom
from ._inline_calls import call_in_batch, call_inline, exit_during_call
from ._results import MISSING
from ._server_messages import GEN_CAST, Failure, From, System
from ._server_process import ServerProcess

if TYPE_CHECKING:
    from .._runtime._names import Dest
    from .._runtime._node import Node


async def call(server: Dest, request: object, timeout: float | None = 5.0) -> Any:
    """Send `request` to `server` and wait for the reply.

    >>> import otp
    >>> class Echo(otp.GenServer):
    ...     def handle_call(self, request, from_, state):
    ...         return otp.Reply(request, state)
    >>> async def main():
    ...     return await otp.call(await Echo.start_link(None), "hi")
    >>> otp.run(main)
    'hi'

    Waits at most `timeout` seconds (None: forever), then raises
    `CallTimeout`; a late reply is dropped, never delivered to the caller's
    mailbox. If the caller is cancelled, the server may still handle the
    request. Requests from one caller reach the server in the order sent.
    Works from plain asyncio tasks too.

    Returns:
        The reply. Its type is `Any`, so that a typed client API needs no
        cast: `value: int = await otp.call(server, "get")` type-checks (the
        server's reply is not tied to the request's type).

    Raises:
        NoProc: no such process, or it is dead.
        CallTimeout: no reply in time.
        Exit: the server exited while handling the request (`.reason`).
        NotInProcess: not on the node's event loop (another thread: use
            `otp.from_thread.call`).
    """
    if type(timeout) is not float or not timeout >= 0:  # the default 5.0 passes at once
        check_timeout(timeout, "otp.call")
    caller = current_process.get()
    if type(server) is ServerProcess:
        proc: Pid | None = server
        if server.rt.loop_thread != get_ident():  # a thread: otp.from_thread.call
            raise off_loop("otp.call", server.rt, caller)
    else:
        node = node_of(caller, "otp.call")
        proc = resolve(node, server, "call")
        if proc is None:
            if _is_remote_name(server):
                return await node.remote().call(server, request, timeout)
            if isinstance(server, Global):
                proc = await global_names(node).lookup(server.name, timeout)
            if proc is None:
                raise noproc(server, "call to")
    if not isinstance(proc, ServerProcess):
        assert proc is not None
        return await _call_other(proc, server, request, timeout, caller)
    if not proc.alive:
        raise NoProc("noproc", f"call to {show(server)} failed: the process is not alive")
    if proc is caller:
        raise Exit(
            "calling_self",
            f"{proc} called itself with {show(request)}: a process cannot wait for its own "
            f"reply (it would deadlock). Call a helper function directly instead.",
        )
    # Fast paths (see `_inline_calls.py`): the caller does the server's work.
    node = proc.rt
    if (
        not proc.busy
        and not proc.suspended
        and not type(proc.impl)._otp_async_call
        and node.inline_left
    ):
        mb = proc.mailbox
        if not mb and proc.cont is MISSING:
            node.inline_left -= 1
            from_ = call_inline(proc, request, caller)
        elif mb is None or len(mb) < node.batch:
            node.inline_left -= 1
            from_ = call_in_batch(proc, request, caller)
        else:
            from_ = None
        if from_ is not None:
            if caller is not None and not caller.alive:
                # A callback killed the caller (`otp.exit(from_.caller, ...)`):
                # its task is cancelled and must not go on with the reply, as
                # it would not have received it in Erlang.
                raise asyncio.CancelledError
            if from_.done:
                value = from_.value
                if type(value) is Failure:
                    raise value.exc
                return value
            return await _wait_inline(proc, from_, timeout)
    node.inline_left = node.inline_budget
    from_ = From(caller, request, proc)
    fut = from_.fut = node.create_future()
    mb = proc.mailbox
    if mb and proc.scheduled and proc.timer is None:
        # enqueue's work, when run is already due (as in cast); `run` checks
        # the mailbox's length before handling it (see `_long_mailbox.py`).
        mb.append(from_)
    else:
        proc.enqueue(from_)
    if timeout is None:
        return await fut
    # _wait_reply, _start_clock and timeouts_for, inlined: three calls less on
    # every queued call
    timeouts = node.call_timeouts.get(timeout)
    if timeouts is None:
        timeouts = node.call_timeouts[timeout] = CallTimeouts(node.loop, timeout)
    timeouts.add(from_, server)
    try:
        return await fut
    finally:
        from_.done = True  # a caller cancelled meanwhile drops any late reply
        timeouts.settle()


async def _wait_reply(
    node: Node, from_: From, fut: asyncio.Future[object], server: object, timeout: float | None
) -> object:
    if timeout is None:
        return await fut
    timeouts = _start_clock(node, timeout, from_, server)
    try:
        return await fut
    finally:
        from_.done = True  # a caller cancelled meanwhile drops any late reply
        timeouts.settle()


def _start_clock(node: Node, timeout: float, from_: From, server: object) -> CallTimeouts:
    """Start the timeout of a waiting call, on the node's timer for that timeout value."""
    timeouts = timeouts_for(node, timeout)
    timeouts.add(from_, server)
    return timeouts


async def _wait_inline(proc: ServerProcess, from_: From, timeout: float | None) -> object:
    """An inline call that did not reply at once (NoReply, async handler): wait for it."""
    if not proc.alive:
        raise exit_during_call(proc, from_.request)
    node = proc.rt
    fut = from_.fut = node.create_future()
    return await _wait_reply(node, from_, fut, proc, timeout)


async def _call_other(
    proc: Pid, server: object, request: object, timeout: float | None, caller: Process | None
) -> object:
    """A call to a plain process, which answers `("$gen_call", from_, request)` by hand."""
    if not isinstance(proc, Process):
        node = caller.rt if caller is not None else current_node()
        return await node.remote().call(proc, request, timeout)
    if not proc.alive:
        raise NoProc("noproc", f"call to {show(server)} failed: the process is not alive")
    if proc is caller:
        raise Exit("calling_self", f"{proc} called itself: that would deadlock")
    node = proc.rt
    watcher = _Watch(node.loop, proc)
    from_ = watcher.from_(caller, request)
    proc.enqueue(("$gen_call", from_, request))
    try:
        return await _wait_reply(node, from_, from_.fut, server, timeout)  # type: ignore[arg-type]
    finally:
        watcher.close()


class _Watch:
    """Fails a call to a plain process when that process exits first."""

    def __init__(self, loop: asyncio.AbstractEventLoop, proc: Process) -> None:
        self.proc = proc
        self.exit = proc.wait_exit()
        self.call: From | None = None
        self.exit.add_done_callback(self._on_exit)

    def from_(self, caller: Process | None, request: object) -> From:
        from_ = From(caller, request, None)
        from_.fut = self.proc.rt.loop.create_future()
        self.call = from_
        return from_

    def _on_exit(self, fut: asyncio.Future[object]) -> None:
        if self.call is not None and not fut.cancelled():
            self.call.fail(fut.result())

    def close(self) -> None:
        self.exit.remove_done_callback(self._on_exit)


def cast(server: Dest, request: object) -> None:
    """Send `request` to `server` without waiting; never raises for a missing server.

    Casts from one sender reach the server in the order sent.

    Raises:
        NotInProcess: no node runs here, or this is not the node's event
            loop (another thread: use `otp.from_thread.cast`).
    """
    if type(server) is ServerProcess:
        if server.rt.loop_thread != get_ident():  # a thread: otp.from_thread.cast
            raise off_loop("otp.cast", server.rt, current_process.get())
        mb = server.mailbox
        if mb and server.scheduled and server.timer is None:
            mb.append((GEN_CAST, request))  # enqueue's work, when run is already due
        else:
            server.enqueue((GEN_CAST, request))
        return
    node = current_node("otp.cast")  # no node is an error: the cast would be lost
    try:
        pid = resolve(node, server, "cast")
        if isinstance(pid, Process):
            pid.enqueue((GEN_CAST, request))
        elif pid is not None:
            node.route_send(pid, (_WIRE_CAST, request))
        elif _is_remote_name(server):
            node.remote().send_name(server[0], server[1], (_WIRE_CAST, request))
        elif isinstance(server, Global):
            global_names(node).send(server.name, (_WIRE_CAST, request))
    except Exception:  # a bad or unknown name, no connection: dropped
        return


def reply(from_: From, value: object) -> None:
    """Answer a call that `handle_call` left with `NoReply`; works from any process.

    Replying to a caller that has already timed out or gone does nothing.
    """
    if not isinstance(from_, From):
        raise TypeError(
            f"reply needs the from_ argument that handle_call received; got {show(from_)}"
        )
    server = from_.server
    if server is not None and server.rt.loop_thread != get_ident():
        raise off_loop("otp.reply", server.rt, current_process.get())
    from_.reply(value)


async def stop(server: Dest, reason: object = "normal", timeout: float | None = None) -> None:
    """Stop `server` with `reason`, running its `terminate`, and wait until it exited.

    >>> import otp
    >>> class Quiet(otp.GenServer):
    ...     def terminate(self, reason, state):
    ...         print("terminate", reason)
    >>> async def main():
    ...     pid = await Quiet.start(None)
    ...     await otp.stop(pid, "shutdown")
    ...     return otp.is_alive(pid)
    >>> otp.run(main)
    terminate shutdown
    False

    The stop request queues behind the messages already in the mailbox.
    Waits at most `timeout` seconds (None: forever) for the exit. If the
    caller is cancelled, the server still stops.

    Raises:
        NoProc: the server is not alive.
        CallTimeout: it did not exit within `timeout` seconds.
        Exit: it exited with another reason than `reason` (e.g. terminate raised).
    """
    check_timeout(timeout, "otp.stop")
    caller = current_process.get()
    node = node_of(caller, "otp.stop")
    proc = resolve(node, server, "stop")
    if proc is None and isinstance(server, Global):
        proc = await global_names(node).lookup(server.name, timeout)
    if proc is None:
        if _is_remote_name(server):
            return await _stop_remote(node, server, reason, timeout)
        raise noproc(server, "stop of")
    if not isinstance(proc, Process):
        return await _stop_remote(node, proc, reason, timeout)
    if not proc.alive:
        raise NoProc("noproc", f"stop of {show(server)} failed: the process is not alive")
    if proc is caller:
        raise Exit("calling_self", f"{proc} tried to stop itself with otp.stop; return otp.Stop")
    done = proc.wait_exit()
    if isinstance(proc, ServerProcess):
        proc.enqueue(System("stop", reason, None))
    else:
        proc.exit_signal(caller if caller is not None else proc, reason, False)
    try:
        actual = await asyncio.wait_for(done, timeout)
    except TimeoutError:
        raise CallTimeout("timeout", f"{show(server)} did not stop within {timeout} s") from None
    if not _same_reason(actual, reason):
        raise Exit(actual, f"{show(server)} exited with {show(actual)} instead of {show(reason)}")


def _is_remote_name(server: object) -> TypeGuard[tuple[str, str]]:
    """`(name, node)` naming a process on another node (`resolve` found no local one)."""
    return (
        type(server) is tuple
        and len(server) == 2
        and isinstance(server[0], str)
        and isinstance(server[1], str)
    )


#: A cast as it travels between nodes: `{'$gen_cast', Request}` with an atom tag.
_WIRE_CAST = Atom(GEN_CAST)


async def _stop_remote(node: Node, target: object, reason: object, timeout: float | None) -> None:
    """OTP's `proc_lib:stop` on another node: a `{terminate, Reason}` system message."""
    wire = Atom(reason) if type(reason) is str else reason
    try:
        await node.remote().call(
            target,  # type: ignore[arg-type]
            (Atom("terminate"), wire),
            timeout,
            label="system",
        )
    except Exit as exc:
        if isinstance(exc, NoProc | CallTimeout) or not (
            _same_reason(exc.reason, reason)
            or (isinstance(exc.reason, str) and isinstance(reason, str) and exc.reason == reason)
        ):
            raise


def _same_reason(a: object, b: object) -> bool:
    if a is b:
        return True
    if type(a) is not type(b) or isinstance(a, BaseException):
        return False
    try:
        return bool(a == b)
    except Exception:
        return False


__all__ = ["call", "cast", "reply", "stop"]

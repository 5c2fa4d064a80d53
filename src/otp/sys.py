"""Look inside running servers: OTP's `:sys` module.

Every function works on any GenServer-based process (supervisors, agents
and registries included) and is handled by the server between two
messages, in mailbox order, like any request:

    >>> import otp
    >>> class Counter(otp.GenServer):
    ...     def handle_cast(self, n, state):
    ...         return otp.NoReply(state + n)
    >>> async def main():
    ...     pid = await Counter.start_link(0)
    ...     await otp.sys.statistics(pid, True)
    ...     otp.cast(pid, 5)
    ...     await otp.sys.replace_state(pid, lambda state: state * 10)
    ...     stats = await otp.sys.statistics(pid)
    ...     return await otp.sys.get_state(pid), stats["messages_in"]
    >>> otp.run(main)
    (50, 1)

`trace(server, True)` logs every event of the server on logger "otp"
(INFO): each message it receives, each reply it sends, each new state.
`statistics(server, True)` starts counting messages in and out.
`suspend` makes the server handle only system messages until `resume`.

A server of another node, `(name, node)` or a remote pid, Erlang's and
Elixir's included, gets Erlang's own `sys` requests, and Erlang's `:sys`
works on Python servers: see `otp._sys_remote` and
`otp._behaviours._system_wire`.

Each function waits at most `timeout` seconds (default 5) for the server
to get to the request, then raises `otp.CallTimeout`; cancelling the
caller leaves the request queued.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from . import _sys_remote as _remote
from ._behaviours._gen_server_client import stop
from ._behaviours._server_messages import From, System
from ._behaviours._server_process import ServerProcess
from ._behaviours._system import SYSTEM_HANDLERS
from ._behaviours._system_wire import erlang_datetime
from ._errors import CallTimeout, NoProc
from ._runtime._call_timeouts import check_timeout
from ._runtime._names import Dest, noproc, resolve
from ._runtime._process import Process
from ._runtime._repr import show, shown
from ._runtime._scheduler import current_node, current_process
from ._runtime._terms import Atom

logger = logging.getLogger("otp")

__all__ = [
    "change_code",
    "get_state",
    "get_status",
    "replace_state",
    "resume",
    "statistics",
    "suspend",
    "terminate",
    "trace",
]


async def get_state(server: object, timeout: float | None = 5.0) -> Any:
    """The server's current state.

    Typed `Any`, as `otp.call` is: `state: int = await otp.sys.get_state(pid)`.
    """
    target = _remote.remote_target(server)
    if target is not None:
        check_timeout(timeout, "otp.sys.get_state")
        return await _remote.get_state(target, timeout)
    return await _system(server, "get_state", None, timeout)


async def replace_state(server: object, fn: Any, timeout: float | None = 5.0) -> Any:
    """Replace the state with `fn(state)` and return the new state.

    If `fn` raises, the state is unchanged and the exception is raised here.
    On a server of another node, `fn` travels pickled (a function defined at
    a module's top level, not a lambda) and runs there; an Erlang server
    cannot run it, so it answers an error, raised here as `otp.Exit`.
    """
    if not callable(fn):
        raise TypeError(f"replace_state needs a function of the state; got {show(fn)}")
    target = _remote.remote_target(server)
    if target is not None:
        check_timeout(timeout, "otp.sys.replace_state")
        return await _remote.replace_state(target, fn, timeout)
    return await _system(server, "replace_state", fn, timeout)


async def get_status(server: object, timeout: float | None = 5.0) -> dict[str, object]:
    """A status report: pid, name, behaviour, status, the state through `format_status`.

    For a server of another node, the report comes from gen_server's
    `{status, ...}` answer: `message_queue_len` and `messages_handled` are None.
    """
    target = _remote.remote_target(server)
    if target is not None:
        check_timeout(timeout, "otp.sys.get_status")
        return await _remote.get_status(target, timeout)
    status = await _system(server, "get_status", None, timeout)
    proc = _server(server)
    report: dict[str, object] = {
        "pid": proc,
        "registered_name": proc.name,
        "behaviour": proc.behaviour,
        "status": "suspended" if proc.suspended else "running",
        "message_queue_len": len(proc.mailbox) if proc.mailbox else 0,
        "messages_handled": proc.handled,
    }
    if isinstance(status, dict):
        report["state"] = status.get("state")
    return report


async def suspend(server: object, timeout: float | None = 5.0) -> None:
    """Hold every message but system ones (`resume`, `get_state`, `stop`, ...)."""
    target = _remote.remote_target(server)
    if target is not None:
        check_timeout(timeout, "otp.sys.suspend")
        return await _remote.simple(target, "suspend", timeout)
    await _system(server, "suspend", None, timeout)


async def resume(server: object, timeout: float | None = 5.0) -> None:
    """Handle messages again after `suspend`."""
    target = _remote.remote_target(server)
    if target is not None:
        check_timeout(timeout, "otp.sys.resume")
        return await _remote.simple(target, "resume", timeout)
    await _system(server, "resume", None, timeout)


async def statistics(
    server: object, flag: bool | None = None, timeout: float | None = 5.0
) -> dict[str, object] | None:
    """Turn counting on (`True`) or off (`False`), or read the counts (no flag).

    The counts: `messages_in` and `messages_out` (replies) since counting
    began, `messages_handled` over the server's life, `message_queue_len`,
    `start_time` and `current_time` (loop time). None when counting is off.
    For a server of another node: Erlang's counts, `messages_in`,
    `messages_out` and `reductions`, and its local `start_time` and
    `current_time` as `((year, month, day), (hour, minute, second))`.
    """
    target = _remote.remote_target(server)
    if target is not None:
        check_timeout(timeout, "otp.sys.statistics")
        if flag is None:
            return await _remote.statistics(target, timeout)
        await _remote.debug(target, "statistics", bool(flag), timeout)
        return None
    if flag is None:
        result = await _system(server, "statistics", None, timeout)
        assert result is None or isinstance(result, dict)
        return result
    await _system(server, "debug", ("statistics", bool(flag)), timeout)
    return None


async def trace(server: object, flag: bool = True, timeout: float | None = 5.0) -> None:
    """Log every event of the server on logger "otp" (INFO) while `flag` is on.

    A server of another node prints its events there (an Erlang node on its
    standard output, a Python node on its logger "otp").
    """
    target = _remote.remote_target(server)
    if target is not None:
        check_timeout(timeout, "otp.sys.trace")
        return await _remote.debug(target, "trace", bool(flag), timeout)
    await _system(server, "debug", ("trace", bool(flag)), timeout)


async def change_code(
    server: object, module: object, old_vsn: object, extra: object, timeout: float | None = 5.0
) -> None:
    """Call the server's `code_change(old_vsn, state, extra)`; it must be suspended.

    >>> import otp
    >>> class Box(otp.GenServer):
    ...     def init(self, arg): return {"v": 1}
    ...     def handle_call(self, request, from_, state): return otp.Reply(state, state)
    ...     def code_change(self, old_vsn, state, extra): return {"v": 2, "from": old_vsn}
    >>> async def main():
    ...     pid = await Box.start_link(None)
    ...     await otp.sys.suspend(pid)
    ...     await otp.sys.change_code(pid, "box", "1.0", None)
    ...     await otp.sys.resume(pid)
    ...     return await otp.call(pid, "state")
    >>> otp.run(main)
    {'v': 2, 'from': '1.0'}

    As Erlang's `sys:change_code`: suspend the server, change its code,
    resume it. `module` names the callback module on an Erlang node (an atom);
    a Python server ignores it.

    Raises:
        RuntimeError: the server is not suspended (local server).
        Exit: the remote server refused (not suspended) or `code_change` failed.
    """
    target = _remote.remote_target(server)
    if target is not None:
        check_timeout(timeout, "otp.sys.change_code")
        return await _remote.change_code(target, module, old_vsn, extra, timeout)
    await _system(server, "suspended_change_code", (old_vsn, extra), timeout)


async def terminate(server: Dest, reason: object = "normal", timeout: float | None = None) -> None:
    """Stop the server with `reason` (its `terminate` runs), as `otp.stop` does.

    >>> import otp
    >>> async def main():
    ...     pid = await otp.Agent.start(lambda: 0)
    ...     await otp.sys.terminate(pid, "shutdown")
    ...     return otp.is_alive(pid)
    >>> otp.run(main)
    False

    Raises:
        NoProc: the server is not alive.
    """
    await stop(server, reason, timeout)


# -- plumbing --------------------------------------------------------------------


def _server(server: object) -> ServerProcess:
    node = current_node()
    proc = resolve(node, server, "otp.sys")
    if proc is None:
        raise noproc(server, "otp.sys request to")
    if not isinstance(proc, ServerProcess):
        if isinstance(proc, Process):
            raise TypeError(
                f"otp.sys works on GenServer-based processes; {proc} is a plain process"
            )
        raise noproc(server, "otp.sys request to")  # a pid of this node that is gone
    if not proc.alive:
        raise NoProc(
            "noproc", f"otp.sys request to {show(server)} failed: the process is not alive"
        )
    return proc


async def _system(server: object, kind: str, payload: object, timeout: float | None) -> object:
    check_timeout(timeout, f"otp.sys.{kind}")
    proc = _server(server)
    if proc is current_process.get():
        raise RuntimeError("a server cannot make otp.sys requests to itself (it would deadlock)")
    fut: asyncio.Future[object] = proc.rt.loop.create_future()
    proc.enqueue(System(kind, payload, fut))
    exit_ = proc.wait_exit()
    try:
        done, _ = await asyncio.wait({fut, exit_}, timeout=timeout, return_when="FIRST_COMPLETED")
    finally:
        exit_.cancel()
    if fut in done:
        return fut.result()
    if exit_ in done:
        raise NoProc("noproc", f"{show(server)} exited before answering the otp.sys request")
    fut.cancel()
    raise CallTimeout("timeout", f"{show(server)} did not answer otp.sys {kind} within {timeout} s")


class _Debug:
    """What `statistics` and `trace` keep for one server."""

    __slots__ = ("messages_in", "messages_out", "start_time", "stats", "trace")

    def __init__(self, now: float) -> None:
        self.stats = False
        self.trace = False
        self.messages_in = 0
        self.messages_out = 0
        self.start_time = now


class _DebuggedServer(ServerProcess):
    """A server with `statistics` or `trace` on: the same engine, with event hooks.

    Servers switch to this class while debugging is on and back when it is
    off, so servers nobody debugs pay nothing for it.
    """

    __slots__ = ()

    def handle(self, msg: object) -> None:
        if type(msg) is From:
            super().handle(msg)  # handle_call below reports the events
            return
        _event_in(self, msg)
        super().handle(msg)
        _event_state(self)

    def handle_call(self, from_: From) -> None:
        # Reached from `handle` and from a call run inside the caller's step.
        _event_in(self, from_)
        super().handle_call(from_)
        if from_.done:
            _event_out(self, from_)
        _event_state(self)

    def on_death(self, reason: object, mailbox: Any) -> None:
        _table(self).pop(self, None)
        super().on_death(reason, mailbox)


def _table(server: ServerProcess) -> dict[ServerProcess, _Debug]:
    """The node's debug records, one per server with debugging on."""
    table: dict[ServerProcess, _Debug] = server.rt.__dict__.setdefault("sys_debug", {})
    return table


def _event_in(server: ServerProcess, msg: object) -> None:
    debug = _table(server).get(server)
    if debug is None or type(msg) is System:
        return
    debug.messages_in += 1
    if debug.trace:
        if type(msg) is From:
            logger.info(
                "*DBG* %s got call %r from %s", server.describe(), shown(msg.request), msg.caller
            )
        elif type(msg) is tuple and len(msg) == 2 and msg[0] == "$gen_cast":
            logger.info("*DBG* %s got cast %r", server.describe(), shown(msg[1]))
        else:
            logger.info("*DBG* %s got %r", server.describe(), shown(msg))


def _event_out(server: ServerProcess, from_: From) -> None:
    debug = _table(server).get(server)
    if debug is None:
        return
    debug.messages_out += 1
    if debug.trace:
        logger.info(
            "*DBG* %s sent %r to %s", server.describe(), shown(_reply_of(from_)), from_.caller
        )


def _reply_of(from_: From) -> object:
    fut = from_.fut
    if fut is not None and fut.done() and not fut.cancelled() and fut.exception() is None:
        return fut.result()
    return from_.value


def _event_state(server: ServerProcess) -> None:
    debug = _table(server).get(server)
    if debug is not None and debug.trace and server.alive:
        logger.info("*DBG* %s new state %r", server.describe(), shown(server.state))


def _set_debug(server: ServerProcess, payload: object) -> object:
    assert type(payload) is tuple
    what, flag = payload
    table = _table(server)
    debug = table.get(server)
    if flag and debug is None:
        debug = table[server] = _Debug(server.rt.loop.time())
        server.__class__ = _DebuggedServer
    if debug is None:
        return None
    setattr(debug, "stats" if what == "statistics" else "trace", flag)
    if what == "statistics" and flag:
        debug.messages_in = debug.messages_out = 0
        debug.start_time = server.rt.loop.time()
    if not debug.stats and not debug.trace:
        del table[server]
        server.__class__ = ServerProcess
    return None


def _get_statistics(server: ServerProcess, _: object) -> object:
    debug = _table(server).get(server)
    if debug is None or not debug.stats:
        return None
    return {
        "messages_in": debug.messages_in,
        "messages_out": debug.messages_out,
        "messages_handled": server.handled,
        "message_queue_len": len(server.mailbox) if server.mailbox else 0,
        "start_time": debug.start_time,
        "current_time": server.rt.loop.time(),
    }


def _debug_options(server: ServerProcess, _: object) -> object:
    """The server's debugging in the shape of Erlang's sys `Debug` list (`get_status`)."""
    debug = _table(server).get(server)
    if debug is None:
        return []
    options: list[object] = []
    if debug.trace:
        options.append((Atom("trace"), True))
    if debug.stats:
        start = erlang_datetime(debug.start_time, server.rt.loop.time())
        counts = (start, (Atom("reductions"), 0), debug.messages_in, debug.messages_out)
        options.append((Atom("statistics"), counts))
    return options


def _suspended_change_code(server: ServerProcess, payload: object) -> object:
    if not server.suspended:
        raise RuntimeError(
            f"otp.sys.change_code needs {server.describe()} suspended, as Erlang requires: "
            "call otp.sys.suspend first, then otp.sys.resume after"
        )
    return SYSTEM_HANDLERS["change_code"](server, payload)


SYSTEM_HANDLERS["debug"] = _set_debug
SYSTEM_HANDLERS["debug_options"] = _debug_options
SYSTEM_HANDLERS["suspended_change_code"] = _suspended_change_code
SYSTEM_HANDLERS["statistics"] = _get_statistics

"""`:sys` requests from other nodes, answered as Erlang's gen_server answers them.

Erlang's `sys` module (and Elixir's `:sys`, `GenServer.stop`, `otp.sys` on
another node) sends `{system, {Pid, Tag}, Request}` with gen:call's shape.
`on_system` turns each request into the same `System` mailbox entry a
local `otp.sys` call makes, so the server handles it between two messages,
in mailbox order, and while suspended; the entry's handler returns the
reply in gen_server's shape, which goes back over the connection:

==================================  ===========================================
request                             reply
==================================  ===========================================
`get_state`                         the state
`{replace_state, Fun}`              the new state; an Erlang fun cannot run
                                    here: `{error, {callback_failed,
                                    {gen_server, system_replace_state},
                                    {error, Why}}}`, as when the fun fails
`get_status`                        `{status, Pid, {module, gen_server},
                                    [PDict, SysState, Parent, Debug, Misc]}`
`suspend`, `resume`                 `ok`
`{debug, {trace | statistics, B}}`  `ok`
`{debug, {statistics, get}}`        `{ok, [{start_time, DateTime}, ...]}` or
                                    `{ok, no_statistics}`
`{debug, no_debug}`                 `ok`
`{debug, {log, get}}`               `{ok, []}` (no event log is kept)
`{debug, {log, _}}`                 `ok`
other `{debug, _}`                  `unknown_debug` (funs cannot be installed)
`{change_code, Mod, Vsn, Extra}`    `ok` (the server's `code_change`), or
                                    `{error, Why}`; only while suspended
`{terminate, Reason}`               `ok`, then the server stops with Reason
anything else                       `{error, {unknown_system_msg, Request}}`
==================================  ===========================================
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import partial
from typing import Final

from .._runtime._ids import Pid
from .._runtime._terms import Atom
from ._server_messages import System
from ._server_process import ServerProcess
from ._system import SYSTEM_HANDLERS

_OK: Final = Atom("ok")
_ERROR: Final = Atom("error")
_GEN_SERVER: Final = Atom("gen_server")

Send = Callable[[object], None]


def charlist(text: str) -> list[int]:
    """An Erlang string (a list of code points), as gen_server's status texts are.

    >>> charlist("State")
    [83, 116, 97, 116, 101]
    """
    return [ord(c) for c in text]


def on_system(to: ServerProcess, caller: Pid, tag: object, request: object, reply: Send) -> None:
    """Queue the system `request` of `{caller, tag}`; `reply` sends the answer back."""
    if type(request) is tuple and len(request) == 2 and request[0] == Atom("terminate"):
        # sys:terminate (GenServer.stop) waits for `ok` before it watches
        # the exit, as gen_server replies before stopping.
        reply(_OK)
        to.enqueue(System("stop", request[1], None))
        return
    kind, payload = _translate(request)
    fut: asyncio.Future[object] = to.rt.loop.create_future()
    fut.add_done_callback(partial(_answer, reply, kind))
    to.enqueue(System(kind, payload, fut))


def _translate(request: object) -> tuple[str, object]:
    """The `System` entry (kind, payload) that answers the Erlang `request`."""
    if request == Atom("get_state"):
        return "get_state", None
    if request == Atom("get_status"):
        return "wire_get_status", None
    if request == Atom("suspend"):
        return "wire_suspend", None
    if request == Atom("resume"):
        return "wire_resume", None
    if type(request) is tuple and len(request) == 2 and request[0] == Atom("replace_state"):
        fn = request[1]
        return "replace_state", fn if callable(fn) else partial(_cannot_run, fn)
    if type(request) is tuple and len(request) == 2 and request[0] == Atom("debug"):
        return _debug(request[1])
    if type(request) is tuple and len(request) == 4 and request[0] == Atom("change_code"):
        return "wire_change_code", request
    return "wire_constant", (_ERROR, (Atom("unknown_system_msg"), request))


def _debug(what: object) -> tuple[str, object]:
    if what == Atom("no_debug"):
        return "wire_no_debug", None
    if type(what) is tuple and len(what) == 2 and type(what[0]) is Atom:
        flag = what[1]
        if what[0] in ("trace", "statistics") and type(flag) is bool:
            return "wire_debug", (str(what[0]), flag)
        if what[0] == "statistics" and flag == Atom("get"):
            return "wire_statistics", None
        if what[0] == "log":
            return "wire_constant", (_OK, []) if flag == Atom("get") else _OK
    return "wire_constant", Atom("unknown_debug")


def _cannot_run(fn: object, state: object) -> object:
    raise TypeError(
        f"a Python node cannot run the Erlang fun {fn!r}: replace the state with a call "
        "the server handles, or call otp.sys.replace_state from a Python node"
    )


def _answer(reply: Send, kind: str, fut: asyncio.Future[object]) -> None:
    if fut.cancelled():
        return
    exc = fut.exception()
    if exc is None:
        value = fut.result()
    else:
        callback = Atom("system_replace_state" if kind == "replace_state" else f"system_{kind}")
        why = f"{type(exc).__name__}: {exc}"
        value = (_ERROR, (Atom("callback_failed"), (_GEN_SERVER, callback), (_ERROR, why)))
    try:
        reply(value)
    except (TypeError, ValueError) as err:  # e.g. a state with no Erlang form, pickles off
        reply((_ERROR, (Atom("unencodable_reply"), f"{type(err).__name__}: {err}")))


# -- the handlers (in mailbox order, as the server) ----------------------------------


def _wire_constant(server: ServerProcess, value: object) -> object:
    return value


def _wire_suspend(server: ServerProcess, _: object) -> object:
    SYSTEM_HANDLERS["suspend"](server, None)
    return _OK


def _wire_resume(server: ServerProcess, _: object) -> object:
    SYSTEM_HANDLERS["resume"](server, None)
    return _OK


def _wire_debug(server: ServerProcess, payload: object) -> object:
    SYSTEM_HANDLERS["debug"](server, payload)  # otp.sys's, registered on import
    return _OK


def _wire_no_debug(server: ServerProcess, _: object) -> object:
    SYSTEM_HANDLERS["debug"](server, ("trace", False))
    SYSTEM_HANDLERS["debug"](server, ("statistics", False))
    return _OK


def _wire_statistics(server: ServerProcess, _: object) -> object:
    stats = SYSTEM_HANDLERS["statistics"](server, None)
    if not isinstance(stats, dict):
        return (_OK, Atom("no_statistics"))
    loop_now = server.rt.loop.time()
    return (
        _OK,
        [
            (Atom("start_time"), erlang_datetime(stats["start_time"], loop_now)),
            (Atom("current_time"), erlang_datetime(stats["current_time"], loop_now)),
            (Atom("reductions"), 0),
            (Atom("messages_in"), stats["messages_in"]),
            (Atom("messages_out"), stats["messages_out"]),
        ],
    )


def erlang_datetime(loop_time: object, loop_now: float) -> object:
    """A loop time as Erlang's local `{{Year, Month, Day}, {Hour, Minute, Second}}`."""
    assert isinstance(loop_time, float)
    t = time.localtime(time.time() - (loop_now - loop_time))
    return ((t.tm_year, t.tm_mon, t.tm_mday), (t.tm_hour, t.tm_min, t.tm_sec))


def _wire_get_status(server: ServerProcess, _: object) -> object:
    sys_state = Atom("suspended" if server.suspended else "running")
    parent = server.parent if server.parent is not None else server
    name = server.name
    header = charlist(f"Status for generic server {name if name is not None else server}")
    debug_options = SYSTEM_HANDLERS.get("debug_options")
    debug = debug_options(server, None) if debug_options is not None else []
    state = server.format_status(None).get("state")
    misc = [
        (Atom("header"), header),
        (
            Atom("data"),
            [
                (charlist("Status"), sys_state),
                (charlist("Parent"), parent),
                (charlist("Logged events"), []),
            ],
        ),
        (Atom("data"), [(charlist("State"), state)]),
    ]
    return (
        Atom("status"),
        server,
        (Atom("module"), _GEN_SERVER),
        [[], sys_state, parent, debug, misc],
    )


def _wire_change_code(server: ServerProcess, request: object) -> object:
    assert type(request) is tuple
    if not server.suspended:  # as sys: code changes only while suspended
        return (_ERROR, (Atom("unknown_system_msg"), request))
    _, _, old_vsn, extra = request
    try:
        SYSTEM_HANDLERS["change_code"](server, (old_vsn, extra))
    except Exception as exc:
        return (_ERROR, f"{type(exc).__name__}: {exc}")
    return _OK


SYSTEM_HANDLERS.update(
    wire_constant=_wire_constant,
    wire_suspend=_wire_suspend,
    wire_resume=_wire_resume,
    wire_debug=_wire_debug,
    wire_no_debug=_wire_no_debug,
    wire_statistics=_wire_statistics,
    wire_get_status=_wire_get_status,
    wire_change_code=_wire_change_code,
)

__all__ = ["charlist", "erlang_datetime", "on_system"]

"""`otp.sys` on servers of other nodes: Erlang's `sys` requests over the wire.

A server named `(name, node)` or known by a pid of another node (an Erlang
or Elixir GenServer, or a Python one) gets `{system, {Caller, Tag}, Request}`
with gen:call's shape, as Erlang's `sys` sends it; the reply, in
gen_server's shape, is mapped to what local `otp.sys` returns. The failures
of the call are those of `otp.call`: `NoProc`, `CallTimeout`,
`NoConnection`, `Exit`.
"""

from __future__ import annotations

from typing import Final

from ._errors import Exit
from ._runtime._ids import Pid
from ._runtime._process import Process
from ._runtime._repr import safe_repr
from ._runtime._scheduler import current_node
from ._runtime._terms import Atom

_OK: Final = Atom("ok")
_ERROR: Final = Atom("error")

Target = Pid | tuple[str, str]


def remote_target(server: object) -> Target | None:
    """`server` when it names a process of another node, else None (a local one)."""
    if isinstance(server, Pid) and not isinstance(server, Process):
        return server if server._node_name != current_node().name else None
    if (
        type(server) is tuple
        and len(server) == 2
        and isinstance(server[0], str)
        and isinstance(server[1], str)
        and server[1] != current_node().name
    ):
        return (server[0], server[1])
    return None


async def request(target: Target, req: object, timeout: float | None) -> object:
    """Send the system request `req` to `target` and return its raw reply."""
    return await current_node().remote().call(target, req, timeout, label="system")


def _failed(target: Target, what: str, reply: object) -> Exit | None:
    """The error an `{error, Reason}` reply raises (as Erlang's sys raises it), else None."""
    if type(reply) is tuple and len(reply) == 2 and reply[0] == _ERROR:
        return Exit(
            reply[1],
            f"otp.sys.{what} on {safe_repr(target)} failed: {safe_repr(reply[1])}",
        )
    return None


def _expect_ok(target: Target, what: str, reply: object) -> None:
    if reply != _OK:
        raise _failed(target, what, reply) or Exit(
            reply, f"otp.sys.{what} on {safe_repr(target)} answered {safe_repr(reply)}, not ok"
        )


async def get_state(target: Target, timeout: float | None) -> object:
    reply = await request(target, Atom("get_state"), timeout)
    error = _failed(target, "get_state", reply)
    if error is not None:
        raise error
    return reply


async def replace_state(target: Target, fn: object, timeout: float | None) -> object:
    reply = await request(target, (Atom("replace_state"), fn), timeout)
    error = _failed(target, "replace_state", reply)
    if error is not None:
        raise error
    return reply


async def get_status(target: Target, timeout: float | None) -> dict[str, object]:
    """The status report of local `otp.sys.get_status`, from gen_server's `{status, ...}`."""
    reply = await request(target, Atom("get_status"), timeout)
    if not (type(reply) is tuple and len(reply) == 4 and reply[0] == Atom("status")):
        raise Exit(reply, f"otp.sys.get_status on {safe_repr(target)} answered {safe_repr(reply)}")
    _, pid, module, items = reply
    behaviour = module[1] if type(module) is tuple and len(module) == 2 else module
    sys_state = items[1] if type(items) is list and len(items) == 5 else None
    misc = items[4] if type(items) is list and len(items) == 5 else None
    return {
        "pid": pid,
        "registered_name": target[0] if type(target) is tuple else None,
        "behaviour": str(behaviour),
        "status": str(sys_state),
        "message_queue_len": None,  # not in gen_server's status
        "messages_handled": None,
        "state": _status_state(misc),
    }


def _status_state(misc: object) -> object:
    """The state in gen_server's `[{header, _}, {data, _}, {data, [{"State", S}]}]`."""
    if type(misc) is not list:
        return misc
    for item in misc:
        if type(item) is tuple and len(item) == 2 and item[0] == Atom("data"):
            for pair in item[1] if type(item[1]) is list else ():
                if type(pair) is tuple and len(pair) == 2 and pair[0] in (_STATE, "State"):
                    return pair[1]
    return None


_STATE: Final = [ord(c) for c in "State"]


async def debug(target: Target, what: str, flag: bool, timeout: float | None) -> None:
    reply = await request(target, (Atom("debug"), (Atom(what), flag)), timeout)
    _expect_ok(target, what, reply)


async def statistics(target: Target, timeout: float | None) -> dict[str, object] | None:
    """The counts as local `statistics` gives them; the times as Erlang's local datetimes."""
    reply = await request(target, (Atom("debug"), (Atom("statistics"), Atom("get"))), timeout)
    if not (type(reply) is tuple and len(reply) == 2 and reply[0] == _OK):
        raise _failed(target, "statistics", reply) or Exit(
            reply, f"otp.sys.statistics on {safe_repr(target)} answered {safe_repr(reply)}"
        )
    if type(reply[1]) is not list:
        return None  # no_statistics: counting is off
    return {str(k): v for k, v in reply[1] if type(k) is Atom}


async def simple(target: Target, what: str, timeout: float | None) -> None:
    """`suspend` or `resume`: gen_server answers `ok`."""
    _expect_ok(target, what, await request(target, Atom(what), timeout))


async def change_code(
    target: Target, module: object, old_vsn: object, extra: object, timeout: float | None
) -> None:
    mod = Atom(module) if type(module) is str else module
    req = (Atom("change_code"), mod, old_vsn, extra)
    _expect_ok(target, "change_code", await request(target, req, timeout))


__all__ = [
    "change_code",
    "debug",
    "get_state",
    "get_status",
    "remote_target",
    "replace_state",
    "request",
    "simple",
    "statistics",
]

"""Processes that other nodes start here: SPAWN_REQUEST, and the `rex` server of rpc.

`spawn/4`, `Node.spawn/4`, `:erpc.call` and `:rpc.call` on an Erlang or
Elixir node (and `otp.spawn(..., node=...)` on a Python node) send
`{29, ReqId, From, GroupLeader, {M, F, Arity}, Opts}` with the arguments
as payload. This node starts a process running the target (what it runs is
in `_spawn_targets.py`) and answers `{31, ReqId, From, Flags, Pid}`; the
flags say which of the options `link` and `monitor` were set up. The
monitor's reference is ReqId: the process's death sends the monitor exit
with it. Both are registered with the connection, so losing it fires them.
A malformed option list is answered with the error `badopt`; the group
leader is ignored (Python processes have no I/O server).

`rpc:call` on OTP 25 uses erpc only with nodes that answered its feature
probe (`{From, features_request}` to `rex`, sent to visible nodes when they
connect); with others, hidden nodes included, it calls the `rex` server:
`gen_server:call({rex, Node}, {call, M, F, A, GroupLeader})`. This module
answers both, so `:rpc.call` works whether the node is hidden or not.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from .._errors import Exit, RemoteError, RemoteExit, RemoteThrow
from .._runtime._ids import Pid, Ref
from .._runtime._repr import safe_repr
from .._runtime._scheduler import current_process
from .._runtime._terms import Atom
from ._control import HANDLERS, SEND, encodes, wire_reason
from ._spawn_targets import Failure, apply, execute_call, python_error

if TYPE_CHECKING:
    from ._connection import Connection
    from ._node import Distribution

logger = logging.getLogger("otp")

SPAWN_REQUEST, SPAWN_REQUEST_TT, SPAWN_REPLY, SPAWN_REPLY_TT = 29, 30, 31, 32
#: SPAWN_REPLY's flags: a link, a monitor was set up.
LINKED, MONITORED = 1, 2

_EMPTY: Final = Atom("")
_LINK: Final = Atom("link")
_MONITOR: Final = Atom("monitor")
_BADOPT: Final = Atom("badopt")
_BADRPC: Final = Atom("badrpc")
_EXIT_TAG: Final = Atom("EXIT")
_GEN_CALL: Final = Atom("$gen_call")
_FEATURES_REQUEST: Final = Atom("features_request")
_FEATURES_REPLY: Final = Atom("features_reply")
_ERPC: Final = Atom("erpc")
_REX_CALLS: Final = (Atom("call"), Atom("block_call"))
#: spawn_opt options that mean nothing to a Python process: accepted, ignored.
_IGNORED: Final = frozenset(
    {
        "priority",
        "fullsweep_after",
        "min_heap_size",
        "min_bin_vheap_size",
        "max_heap_size",
        "message_queue_data",
        "async_dist",
    }
)


def _options(opts: object) -> tuple[bool, bool] | None:
    """`(link, monitor)` from a spawn request's option list; None if it is not valid."""
    if type(opts) is not list:
        return None
    link = monitor = False
    for opt in opts:
        if type(opt) is Atom and opt == _LINK:
            link = True
        elif type(opt) is Atom and opt == _MONITOR:
            monitor = True
        elif type(opt) is tuple and len(opt) == 2 and type(opt[0]) is Atom:
            if opt[0] == _MONITOR:  # {monitor, MonitorOpts}: the options are not kept
                monitor = True
            elif opt[0] not in _IGNORED:
                return None
        else:
            return None
    return link, monitor


def _on_spawn_request(c: Connection, ctl: tuple[object, ...], args: object) -> None:
    req_id, caller, mfa, opts = ctl[1], ctl[2], ctl[4], ctl[5]
    if type(req_id) is not Ref or not isinstance(caller, Pid):
        return
    wanted = _options(opts)
    if wanted is None or type(mfa) is not tuple or len(mfa) != 3:
        c.send((SPAWN_REPLY, req_id, caller, 0, _BADOPT))
        return
    link, monitor = wanted
    proc = c.dist.node.spawn(run_target, (c.dist, mfa[0], mfa[1], args))
    flags = 0
    if link:
        proc.add_link(caller)
        c.links.add((proc, caller))
        flags |= LINKED
    if monitor:
        proc.add_watcher(req_id, caller)
        c.watchers[req_id] = (proc, caller, proc)
        flags |= MONITORED
    c.send((SPAWN_REPLY, req_id, caller, flags, proc))


async def run_target(dist: Distribution, module: object, function: object, args: object) -> object:
    """The body of a spawned process: the target, or Erlang's exit for one that cannot run."""
    try:
        return await apply(dist, module, function, args)
    except Failure as exc:
        raise Exit((exc.reason, exc.stack)) from None


# -- rex: rpc's server ------------------------------------------------------------------


def rex_message(dist: Distribution, conn: Connection, msg: object) -> None:
    """A message to `rex`: the feature probe, or an rpc call of a node without erpc."""
    if type(msg) is not tuple:
        return
    if len(msg) == 2 and msg[1] == _FEATURES_REQUEST and isinstance(msg[0], Pid):
        conn.send((SEND, _EMPTY, msg[0]), (_FEATURES_REPLY, Atom(dist.name), [_ERPC]))
        return
    if len(msg) != 3 or msg[0] != _GEN_CALL or type(msg[1]) is not tuple or len(msg[1]) != 2:
        return
    request = msg[2]
    caller, tag = msg[1]
    if (
        isinstance(caller, Pid)
        and type(request) is tuple
        and len(request) == 5
        and request[0] in _REX_CALLS
    ):
        dist.node.spawn(_rex_call, (dist, conn, caller, tag, request[1:4]))


async def _rex_call(
    dist: Distribution, conn: Connection, caller: Pid, tag: object, mfa: tuple[object, ...]
) -> None:
    """Run an rpc call for `rex` and reply as OTP's rex does (`{badrpc, {'EXIT', ...}}`)."""
    module, function, args = mfa
    reply: object
    try:
        reply = await apply(dist, module, function, args)
    except Failure as exc:
        reply = (_BADRPC, (_EXIT_TAG, (exc.reason, exc.stack)))
    except RemoteThrow as exc:
        reply = exc.reason
    except RemoteError as exc:
        reply = (_BADRPC, (_EXIT_TAG, (exc.reason, exc.stack)))
    except (RemoteExit, Exit) as exc:
        reply = (_BADRPC, (_EXIT_TAG, wire_reason(exc.reason)))
    except Exception as exc:
        reply = (_BADRPC, (_EXIT_TAG, python_error(exc)))
    if not encodes(reply):
        logger.error(
            "The result of the rpc call %s:%s from node %r cannot be sent: %s",
            module,
            function,
            conn.peer,
            safe_repr(reply),
        )
        reply = (_BADRPC, (_EXIT_TAG, (Atom("python"), "TypeError", "unencodable result")))
    server = current_process.get() or dist.anonymous_pid()
    conn.reply(tag, caller, server, reply)


HANDLERS[SPAWN_REQUEST] = _on_spawn_request
HANDLERS[SPAWN_REQUEST_TT] = _on_spawn_request  # the token is last: the same fields

__all__ = [
    "LINKED",
    "MONITORED",
    "SPAWN_REPLY",
    "SPAWN_REQUEST",
    "execute_call",
    "rex_message",
    "run_target",
]

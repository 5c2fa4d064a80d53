"""Starting a process on another node: this node's spawn requests and their replies.

`await otp.spawn(fn, *args, node="b@h")` sends `{29, ReqId, From,
GroupLeader, {M, F, Arity}, Opts}` with the arguments as payload, and waits
for `{31, ReqId, From, Flags, Result}`: the new pid, or an error atom
(raised as SpawnError). What travels as `{M, F}`:

- a function defined at a module's top level (its `__module__` and
  `__qualname__` find it again): the other node imports it;
- a `(module, function)` pair of strings: any node's function, Erlang's too
  (`otp.spawn(("erlang", "display"), "hi", node="erl@h")`);
- any other callable (a `functools.partial`, a bound method, an object with
  `__call__`): pickled, as `erlang:apply(Callable, Args)`, which only a
  Python node without `pickle=False` and with `rpc="*"` runs. A lambda or a
  closure cannot be pickled: TypeError says to define a module-level function.

Options `link` and `monitor` are set up by the other node, which says so in
the reply's flags; this node then records them with the connection, so
losing it fires them with `noconnection`. The monitor's reference is ReqId.
If the caller died before the reply, the new process gets its exit signal
(for a link) and the monitor is dropped, as Erlang's `spawn_request` does.

`erpc` (`_erpc.py`) makes the same request and also waits for the monitor's
exit, which carries the result: `Spawning.down`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from .._errors import NoConnection, SpawnError
from .._runtime._ids import Pid, Ref
from .._runtime._process import Process
from .._runtime._repr import show
from .._runtime._spawning import spawned_here, top_level_name
from .._runtime._terms import Atom
from ._control import DEMONITOR_P, HANDLERS
from ._spawned import LINKED, MONITORED, SPAWN_REPLY, SPAWN_REPLY_TT, SPAWN_REQUEST, run_target

if TYPE_CHECKING:
    from ._connection import Connection
    from ._node import Distribution

_LINK: Final = Atom("link")
_MONITOR: Final = Atom("monitor")
_APPLY: Final = (Atom("erlang"), Atom("apply"))

Spawned = tuple[Pid, "Ref | None"]


def target_of(fn: object, args: tuple[object, ...]) -> tuple[Atom, Atom, list[object]]:
    """`(module, function, arguments)` of a spawn target, as they travel (module docstring)."""
    if type(fn) is tuple and len(fn) == 2 and all(isinstance(p, str) for p in fn):
        return Atom(fn[0]), Atom(fn[1]), list(args)
    if not callable(fn):
        raise TypeError(
            f"a remote spawn needs a function, or a (module, function) pair of strings; "
            f"got {show(fn)} ({type(fn).__name__})"
        )
    named = top_level_name(fn)
    if named is not None:
        return Atom(named[0]), Atom(named[1]), list(args)
    return _APPLY[0], _APPLY[1], [fn, list(args)]


class Spawning:
    """One spawn request of ours, until its reply (for erpc: until the result)."""

    __slots__ = ("abandoned", "caller", "conn", "fut", "link", "monitor", "pid", "ref", "result")

    def __init__(
        self,
        conn: Connection,
        ref: Ref,
        caller: Pid,
        link: bool,
        monitor: bool,
        result: Callable[[object], None] | None = None,
    ) -> None:
        self.conn = conn
        self.ref = ref
        self.caller = caller
        self.link = link
        self.monitor = monitor
        self.fut: asyncio.Future[Spawned] = conn.dist.loop.create_future()
        self.pid: Pid | None = None
        self.result = result  # erpc: told the monitor's exit reason
        self.abandoned = False

    def replied(self, flags: object, result: object) -> None:
        conn, ref, caller = self.conn, self.ref, self.caller
        if not isinstance(result, Pid) or type(flags) is not int:
            conn.spawns.pop(ref, None)
            if not self.fut.done():
                self.fut.set_exception(_refused(result, conn.peer))
            return
        self.pid = result
        alive = isinstance(caller, Process) and caller.alive and not self.abandoned
        if flags & LINKED:
            if alive and isinstance(caller, Process):
                caller.add_link(result)
                conn.links.add((caller, result))
            else:  # the caller is gone: the new process hears of it
                reason = caller.reason if isinstance(caller, Process) else "noproc"
                conn.send_exit(caller, result, "abandoned" if self.abandoned else reason, True)
        if flags & MONITORED:
            if self.result is not None and not self.abandoned:
                pass  # erpc: the exit reason comes to `down`, still registered
            elif alive and isinstance(caller, Process):
                conn.spawns.pop(ref, None)
                conn.monitors[ref] = (caller, result, result)
                if caller.monitors is None:
                    caller.monitors = {}
                caller.monitors[ref] = result
            else:
                conn.spawns.pop(ref, None)
                conn.send((DEMONITOR_P, caller, result, ref))
        else:
            conn.spawns.pop(ref, None)
        if not self.fut.done():
            self.fut.set_result((result, ref if flags & MONITORED else None))

    def down(self, reason: object) -> None:
        """The monitor's exit (erpc): the process's outcome."""
        if self.result is not None and not self.abandoned:
            self.result(reason)

    def lost(self) -> None:
        """The connection is gone before the reply (or, for erpc, the result)."""
        if self.pid is not None and self.result is not None and not self.abandoned:
            self.result(Atom("noconnection"))
        elif not self.fut.done():
            self.fut.set_exception(
                NoConnection(
                    "noconnection",
                    f"spawn on node {self.conn.peer!r} failed: the connection was lost "
                    f"(or could not be made)",
                )
            )

    def abandon(self) -> None:
        """Stop waiting (erpc's timeout): drop the monitor; a late result is dropped."""
        self.abandoned = True
        if self.pid is not None:
            self.conn.spawns.pop(self.ref, None)
            if self.monitor:
                self.conn.send((DEMONITOR_P, self.caller, self.pid, self.ref))


def _refused(result: object, peer: str) -> Exception:
    if isinstance(result, str) and result == "noconnection":
        return NoConnection("noconnection", f"spawn on node {peer!r} failed: no connection")
    why = {
        "badopt": "it does not accept the spawn options",
        "notsup": "it does not support remote spawn",
        "system_limit": "it cannot start more processes",
    }.get(str(result), "it answered with an error")
    return SpawnError(result, f"node {peer!r} refused to spawn the process: {why} ({show(result)})")


def request(
    dist: Distribution,
    node: str,
    fn: object,
    args: tuple[object, ...],
    caller: Process | None,
    link: bool = False,
    monitor: bool = False,
    result: Callable[[object], None] | None = None,
    ref: Ref | None = None,
) -> Spawning:
    """Send a spawn request to `node`; the returned Spawning's `fut` gives `(pid, ref)`.

    `ref` is the request's ReqId (and the monitor's reference): a new one
    unless given. Raises TypeError (and sends nothing) for a target that
    cannot travel.
    """
    module, function, wire_args = target_of(fn, args)
    conn = dist.connection(node)
    requester = caller if caller is not None else dist.anonymous_pid()
    if ref is None:
        ref = dist.node.make_ref()
    opts = ([_LINK] if link else []) + ([_MONITOR] if monitor else [])
    control = (SPAWN_REQUEST, ref, requester, requester, (module, function, len(args)), opts)
    spawning = Spawning(conn, ref, requester, link, monitor, result)
    try:
        conn.send(control, wire_args)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"cannot send {show(fn)} to node {node!r}: it is not a function defined at a "
            f"module's top level, and pickling it failed (a lambda or a closure cannot be "
            f"pickled). Define the function at module level, or pass (module, function) "
            f"names. ({exc})"
        ) from None
    if conn.state == "closed":
        spawning.lost()
        return spawning
    conn.spawns[ref] = spawning
    conn.flush_now()
    return spawning


def spawn_request(
    dist: Distribution,
    node: str,
    fn: object,
    args: tuple[object, ...],
    caller: Process | None,
    link: bool,
    monitor: bool,
) -> asyncio.Future[Spawned]:
    """The runtime's remote spawn (`Node.remote().spawn_request`): a future of `(pid, ref)`."""
    if node == dist.name:
        # `otp.spawn(("math", "sqrt"), 2.0, node=otp.node())`: the target runs here
        # as a spawn request from another node would run it (sync or async, under
        # this node's rpc= list), without going through a connection.
        module, function, wire_args = target_of(fn, args)
        body = (dist, module, function, wire_args)
        return spawned_here(dist.node, run_target, body, caller, link, monitor)
    return request(dist, node, fn, args, caller, link, monitor).fut


def _on_spawn_reply(c: Connection, ctl: tuple[object, ...], _: object) -> None:
    spawning = c.spawns.get(ctl[1]) if type(ctl[1]) is Ref else None
    if spawning is not None:
        spawning.replied(ctl[3], ctl[4])


HANDLERS[SPAWN_REPLY] = _on_spawn_reply
HANDLERS[SPAWN_REPLY_TT] = _on_spawn_reply  # the token is last: the same fields

__all__ = ["Spawning", "request", "spawn_request", "target_of"]

"""Global names on a hidden node: through the global server of a visible peer.

A hidden node (the default) takes no part in `global`'s protocol, so it
asks a visible node it is connected to, as the notes of OTP advise for
hidden nodes: that node is its *global peer*. It is the first connected
node whose handshake said it is visible (`Connection.published`): an Erlang or Elixir
node, or a visible Python node; when it goes down the next one serves.
With no visible peer, `otp.Global` names are this node's own, as before.

- `start_link(name=otp.Global(x))` registers `x` in this node's table (so
  lookups here need no round trip) and by erpc to
  `global:register_name(x, Pid)` on the peer. `yes`: the name is the
  cluster's. `no`: the local name is undone and `AlreadyStarted` carries the
  holder the peer names (`global:whereis_name/1`). The peer's global
  monitors the pid, so the name goes cluster-wide when the process exits or
  when this node loses its connection (a `noconnection` DOWN).
- `call` and `stop` of a name this table does not hold ask the peer
  (`global:whereis_name/1`); `undefined` is NoProc, as for any unknown name.
- `send` and `cast`, which must not wait, queue the message and return; a
  process of this node asks the peer for the holder and sends it what is
  queued for that name, in the order sent (one lookup serves every message
  queued while it runs). A name nobody holds drops the message there.
  That is where a hidden node differs from Erlang: `global:send/2` exits
  the caller with `{badarg, {Name, Msg}}` for an unknown name, but only
  after asking; `otp.send` cannot wait for the answer (it still raises
  NoProc when there is no peer to ask and the name is not held here).
- `otp.whereis(otp.Global(x))` is plain too: it sees this node's table only
  (names registered here), not the peer's.

What a hidden node does not do: names registered while it had no visible
peer stay its own (they are not registered when a peer connects later),
and a name whose peer went down is gone from the cluster (global there
saw the connection go) but stays in this node's table until its process
exits; a start under a global name fails (NoConnection, CallTimeout) if
the peer cannot be reached.

So that a hidden Python node can use a visible Python node as its peer,
every Python node answers erpc to `global:register_name/2`,
`global:whereis_name/1`, `global:send/2` and `global:unregister_name/1`,
emulated against its own table and name server (`_spawn_targets`). Here a
hidden node with no peer asks itself:

>>> import otp
>>> async def main():
...     me = otp.node()
...     yes = await otp.erpc.call(me, "global", "register_name", ["doc", otp.self()])
...     return yes, await otp.erpc.call(me, "global", "whereis_name", ["doc"]) == otp.self()
>>> otp.run(main, node="global_hidden_doc@127.0.0.1")
(Atom('yes'), True)
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final, final

from .._errors import CallTimeout, Exit, NoConnection
from .._runtime._ids import Pid
from .._runtime._process import Process
from .._runtime._repr import show
from .._runtime._terms import Atom
from ._erpc import call as erpc_call
from ._global_table import RANDOM_EXIT, GlobalTable, key_of, table_of
from ._spawn_targets import Failure, add_special

if TYPE_CHECKING:
    from ._node import Distribution

#: Bounds of the erpc calls to the peer: a registration takes the cluster lock.
REGISTER_TIMEOUT: Final = 30.0
LOOKUP_TIMEOUT: Final = 10.0

_GLOBAL: Final = "global"
_YES: Final = Atom("yes")
_NO: Final = Atom("no")
_OK: Final = Atom("ok")
_UNDEFINED: Final = Atom("undefined")
_BADARG: Final = Atom("badarg")

#: A queued send (`msg`, None) or a lookup waiting for the holder (None, future).
_Item = tuple[object, "asyncio.Future[Pid | None] | None"]


@final
class HiddenGlobal:
    """The `Service` and `Remote` of a hidden node's global table (module docstring)."""

    __slots__ = ("dist", "queues", "table")

    def __init__(self, dist: Distribution, table: GlobalTable) -> None:
        self.dist = dist
        self.table = table
        #: Per name, what waits for the lookup under way.
        self.queues: dict[object, list[_Item]] = {}

    def __repr__(self) -> str:
        return f"<hidden global, peer {self.peer()!r}>"

    def peer(self) -> str | None:
        """The first connected visible node, or None."""
        for name, conn in self.dist.conns.items():
            if conn.state == "up" and conn.published:
                return name
        return None

    # -- Service -------------------------------------------------------------------------

    async def register(self, key: object, pid: Pid) -> Pid | None:
        holder = self.table.whereis_name(key)
        if holder is not None:
            return holder
        self.table.insert(key, pid, RANDOM_EXIT, None)
        peer = self.peer()
        if peer is None:
            return None
        try:
            holder = await self._register_at(peer, key, pid)
        except BaseException:
            self._undo(key, pid)
            raise
        if holder is not None:
            self._undo(key, pid)
        return holder

    async def _register_at(self, peer: str, key: object, pid: Pid) -> Pid | None:
        for _ in range(3):  # `no`, then nobody holds it: the holder just exited
            answer = await erpc_call(
                self.dist, peer, _GLOBAL, "register_name", [key, pid], REGISTER_TIMEOUT
            )
            if answer == _YES:
                return None
            holder = await erpc_call(
                self.dist, peer, _GLOBAL, "whereis_name", [key], LOOKUP_TIMEOUT
            )
            if isinstance(holder, Pid):
                return holder
        raise Exit(
            (_NO, key),
            f"global:register_name({show(key)}, ...) on {peer!r} keeps answering no, yet "
            f"nobody holds the name there: does {show(pid)} have another global name?",
        )

    def _undo(self, key: object, pid: Pid) -> None:
        entry = self.table.names.get(key)
        if entry is not None and entry.pid is pid:
            self.table.delete(key)

    # -- Remote --------------------------------------------------------------------------

    async def whereis(self, key: object, timeout: float | None) -> Pid | None:
        if self.peer() is None:
            return None
        found: asyncio.Future[Pid | None] = self.dist.loop.create_future()
        if not self._queue(key, (None, found)):
            return None
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(found)
        except TimeoutError:
            raise CallTimeout(
                "timeout",
                f"the global peer did not say within {timeout} s who holds {show(key)}",
            ) from None

    def send(self, key: object, msg: object) -> bool:
        return self._queue(key, (msg, None))

    def _queue(self, key: object, item: _Item) -> bool:
        queue = self.queues.get(key)
        if queue is not None:
            queue.append(item)
            return True
        peer = self.peer()
        if peer is None:
            return False
        self.queues[key] = [item]
        self.dist.node.spawn(self._resolve, (key, peer))
        return True

    async def _resolve(self, key: object, peer: str) -> None:
        """Ask `peer` who holds `key`; hand what is queued for it to the holder."""
        pid: Pid | None = None
        error: BaseException | None = None
        try:
            found = await erpc_call(self.dist, peer, _GLOBAL, "whereis_name", [key], LOOKUP_TIMEOUT)
            pid = found if isinstance(found, Pid) else None
        except BaseException as exc:  # every waiter must hear of it, cancelled or not
            error = exc
        items = self.queues.pop(key, [])
        for msg, waiter in items:
            if waiter is None:
                if pid is not None:
                    self.dist.node.route_send(pid, msg)
            elif not waiter.done():
                if error is None:
                    waiter.set_result(pid)
                else:
                    waiter.set_exception(_failed(error, key, peer))
        if error is not None and not isinstance(error, Exception):
            raise error


def _failed(error: BaseException, key: object, peer: str) -> BaseException:
    if isinstance(error, Exception):
        return error
    return NoConnection(
        "noconnection", f"the lookup of {show(key)} on the global peer {peer!r} was stopped"
    )


def install(dist: Distribution) -> HiddenGlobal:
    """Make the global table of the hidden node `dist` register and look up through a peer."""
    table = table_of(dist.node)
    hidden = HiddenGlobal(dist, table)
    table.service = hidden
    table.remote = hidden
    return hidden


# -- global's functions, for hidden nodes that use this node as their peer --------------


async def _register_name(dist: Distribution, name: object, pid: object) -> Atom:
    """`global:register_name/2`: `yes`, or `no` when the name is taken."""
    if not isinstance(pid, Pid):
        raise Failure(_BADARG, [(Atom(_GLOBAL), Atom("register_name"), [name, pid], [])])
    holder = await table_of(dist.node).register_name(name, pid)
    return _YES if holder is None else _NO


def _whereis_name(dist: Distribution, name: object) -> object:
    """`global:whereis_name/1`: the holder, or `undefined`."""
    pid = table_of(dist.node).whereis_name(name)
    return _UNDEFINED if pid is None else pid


def _send(dist: Distribution, name: object, msg: object) -> Pid:
    """`global:send/2`: send to the holder and return it; exit `{badarg, {Name, Msg}}` if none."""
    pid = table_of(dist.node).whereis_name(name)
    if pid is None:
        raise Exit((_BADARG, (name, msg)), f"global:send: nobody holds {show(name)}")
    deliver(dist, pid, msg)
    return pid


def deliver(dist: Distribution, pid: Pid, msg: object) -> None:
    """Send `msg`, which came over the wire, to `pid` (a local one gets OTP's shapes translated)."""
    if isinstance(pid, Process):
        conn = None
        if type(msg) is tuple and len(msg) == 3 and type(msg[1]) is tuple and msg[1]:
            caller = msg[1][0]  # {'$gen_call', {Caller, Tag}, Request}: answer over its link
            conn = dist.conns.get(caller.node) if isinstance(caller, Pid) else None
        if conn is None:
            conn = next(iter(dist.conns.values()), None)
        if conn is not None:
            conn.deliver(pid, msg)
            return
    dist.node.route_send(pid, msg)


async def _unregister_name(dist: Distribution, name: object) -> Atom:
    """`global:unregister_name/1`: remove the name on every node that has it."""
    from ._global import unregister  # it needs the node module: imported here

    await unregister(dist, key_of(name))
    return _OK


add_special(_GLOBAL, "register_name", 2, _register_name)
add_special(_GLOBAL, "whereis_name", 1, _whereis_name)
add_special(_GLOBAL, "send", 2, _send)
add_special(_GLOBAL, "unregister_name", 1, _unregister_name)

__all__ = ["LOOKUP_TIMEOUT", "REGISTER_TIMEOUT", "HiddenGlobal", "deliver", "install"]

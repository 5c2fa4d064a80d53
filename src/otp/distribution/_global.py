"""Global names: OTP's `global`, shared with Erlang, Elixir and Python nodes.

`otp.Global(name)` names a process across the cluster, wherever a name is
accepted:

    >>> import otp
    >>> class Echo(otp.GenServer):
    ...     def handle_call(self, request, from_, state):
    ...         return otp.Reply(request, state)
    >>> async def main():
    ...     pid = await Echo.start_link(None, name=otp.Global("echo"))
    ...     same = otp.whereis(otp.Global("echo")) == pid
    ...     return same, await otp.call(otp.Global("echo"), "hi")
    >>> otp.run(main)
    (True, 'hi')

A second start under a taken name raises `otp.AlreadyStarted` with the
holder's pid. A process keeps its global name until it exits; then the name
is free on every node.

Visible nodes (`otp.Node(name, hidden=False)`) run OTP's global name server:
a process registered as `global_name_server` that speaks protocol version 8
(OTP 25) with the name servers of every visible node it connects to, Erlang,
Elixir or Python. When a connection comes up the two servers introduce their
lockers (`init_connect`), the lockers take the cluster lock
(`_global_locker`), the servers exchange their names and resolve clashes
(`exchange`, `resolved`), and tell the rest of each partition
(`new_nodes`, `in_sync`). From then on the node is *synced*: Erlang's
`global:sync()` returns, `:global.whereis_name/1` and
`GenServer.call({:global, name}, ...)` reach Python servers, and
`otp.whereis(otp.Global(...))` sees names registered in Erlang. A name
registered on any node is added on every node under the cluster lock
(`{set_lock, Id}`, `{register, Name, Pid, Method}` multi-calls); every node
monitors the holder, so a holder that exits, or whose node goes down, loses
its name everywhere.

Hidden nodes (the default) take no part in `global`'s protocol, as in OTP;
they register and look up through the name server of a visible node they
are connected to, their *global peer* (`_global_hidden`): erpc to
`global:register_name/2` and `global:whereis_name/1` there, so their names
are the cluster's and Erlang's are theirs. `otp.whereis` on a hidden node
sees only the names registered on it, and a send or cast to a name nobody
holds is dropped on the peer instead of raising. With no visible peer a
hidden node's names are its own. (This server also answers OTP's old plain
lookup message, `{whereis, Name, {Pid, Tag}}`.)

Names on the wire: `otp.Global("x")` is the atom `x` (Erlang's
`{global, x}`, Elixir's `{:global, :x}`); other terms are sent as they
encode (`bytes` for a binary, tuples, numbers), lists frozen to be keys.
Atoms equal strings in Python, so the Erlang names `x` and `<<"x">>` are
one name on a Python node.

What is not OTP's: when the Python node resolves a name clash found while
two partitions merge (it does when its name is the lesser of the two), it
does as `global:random_exit_name/3` (the holder on the lesser node keeps the
name, the other is killed), whatever method the name was registered with,
since Python cannot run Erlang funs; an Erlang node resolving runs its own
method. The Python node does not take part in
`prevent_overlapping_partitions`: it never asks peers to disconnect and
ignores their `lost_connection` reports, but when an Erlang node drops it
from its partition (`remove_connection`) it disconnects from that node, as
OTP does, so that node's `global:sync()` never waits on it. Names that C
nodes register (`register_name_external`) count as ordinary names; global
locks (`global:set_lock/2`, `global:trans/2`) taken by Erlang code are
honoured, with no Python function to take them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from .._behaviours._gen_server import GenServer, start_server
from .._behaviours._results import NoReply, Reply
from .._runtime._ids import Pid
from .._runtime._mailbox import send
from .._runtime._messages import Down
from .._runtime._repr import shown
from .._runtime._scheduler import self_process
from .._runtime._terms import Atom
from ._global_cluster import VSN, Cluster
from ._global_locker import (
    LOCK_SET,
    SERVER,
    delete_global_lock,
    multi_call,
    random_sleep,
    set_lock_on_nodes,
)
from ._global_table import GLOBAL, RANDOM_EXIT, table_of
from ._handshake import PUBLISHED
from ._node import Distribution, NodeDown
from ._nodes import monitor_node

if TYPE_CHECKING:
    from .._behaviours._server_messages import From

logger = logging.getLogger("otp")

_A = Atom
_REGISTER: Final = _A("register")
_YES: Final = _A("yes")
_OK: Final = _A("ok")
_UNDEFINED: Final = _A("undefined")


class _NodeUp(NamedTuple):
    """A connection to `node` came up."""

    node: str


def _node(term: object) -> str | None:
    return str(term) if isinstance(term, str) else None


class _GlobalServer(GenServer):
    """`global_name_server`: OTP's global name server, on a visible node."""

    _otp_label = "global name server"

    async def init(self, dist: object) -> object:
        assert isinstance(dist, Distribution)
        proc = self_process()
        table = table_of(proc.rt)
        cluster = Cluster(proc, table)
        cluster.registrar = await _Registrar.start_link(cluster)

        def up(peer: str) -> None:
            proc.enqueue(_NodeUp(peer))

        cluster.up_hook = up
        dist.up_hooks.append(up)
        for peer in dist.nodes():
            up(peer)
        table.service = cluster
        return cluster

    def terminate(self, reason: object, state: object) -> None:
        assert isinstance(state, Cluster)
        if state.table.service is state:
            state.table.service = None
        dist = state.proc.rt.dist
        if isinstance(dist, Distribution) and state.up_hook in dist.up_hooks:
            dist.up_hooks.remove(state.up_hook)

    def handle_call(self, request: object, from_: From, state: object) -> Any:
        assert isinstance(state, Cluster)
        try:
            return _call(state, request, from_)
        except Exception:  # a malformed request must not stop the node's global
            logger.exception("global_name_server: cannot handle the call %s", shown(request))
            return NoReply(state)

    def handle_cast(self, request: object, state: object) -> Any:
        assert isinstance(state, Cluster)
        if type(request) is tuple and request and isinstance(request[0], Atom):
            try:
                _cast(state, request)
            except Exception:
                logger.exception("global_name_server: cannot handle the cast %s", shown(request))
        return NoReply(state)

    def handle_info(self, msg: object, state: object) -> Any:
        assert isinstance(state, Cluster)
        try:
            _handle_info(state, msg)
        except Exception:
            logger.exception("global_name_server: cannot handle the message %s", shown(msg))
        return NoReply(state)


def _call(state: Cluster, request: object, from_: From) -> object:
    """A call from another node's global (or from our locker and registrar)."""
    if type(request) is not tuple:
        request = (request,)
    op = request[0] if request else None
    caller = from_.caller
    if op in ("register", "register_ext") and len(request) >= 4:
        if isinstance(request[2], Pid) and caller is not None:
            state.ins_name(request[1], request[2], request[3], caller, [])
        return Reply(_YES, state)
    if op == "unregister" and len(request) == 2:
        state.delete_name(request[1])
        return Reply(_OK, state)
    if op == "set_lock" and len(request) == 2 and caller is not None:
        return Reply(state.set_lock(request[1], caller), state)
    if op == "del_lock" and len(request) == 2 and caller is not None:
        state.del_lock(request[1], caller)
        return Reply(True, state)
    if op == "get_known":
        return Reply([_A(n) for n in state.known], state)
    if op == "get_synced":
        return Reply([_A(n) for n in state.synced], state)
    if op == "get_protocol_version":
        return Reply(VSN, state)
    if op == "get_names_ext":
        return Reply([], state)
    if op == "sync" and len(request) == 2 and isinstance(request[1], list):
        nodes = [str(n) for n in request[1] if isinstance(n, str)]
        return Reply(_OK, state) if state.sync(nodes, from_) else NoReply(state)
    logger.warning("global_name_server: unexpected call %s", shown(request))
    return NoReply(state)


def _handle_info(state: Cluster, msg: object) -> None:
    if type(msg) is _NodeUp:
        dist = state.proc.rt.dist
        conn = dist.conns.get(msg.node) if isinstance(dist, Distribution) else None
        if conn is not None and conn.flags & PUBLISHED:
            monitor_node(msg.node)
            state.nodeup(msg.node)
    elif type(msg) is NodeDown:
        state.nodedown(msg.node)
    elif type(msg) is Down:
        state.table.down(msg.ref, msg.pid)
    elif type(msg) is tuple and msg and isinstance(msg[0], Atom):
        _info(state, msg)


def _cast(state: Cluster, msg: tuple[object, ...]) -> None:
    """A cast of the protocol from another node's name server (or our locker)."""
    tag, n = msg[0], len(msg)
    node = _node(msg[1]) if n > 1 else None
    if tag == "init_connect" and n == 4:
        node, versions = _node(msg[2]), msg[1]
        if node is None:
            return
        if type(versions) is tuple and len(versions) >= 2 and isinstance(versions[0], int):
            his_vsn, his_tag = versions[0], versions[1]
            state.init_connect(min(his_vsn, VSN), node, msg[3], his_tag)
        return
    if tag == LOCK_SET and n in (4, 5) and isinstance(msg[1], Pid):
        if n == 4 or state.get("sync_tag_my", msg[1].node) == msg[4]:
            send(state.locker, msg)
        return
    if node is None:
        return
    if tag == "in_sync" and n == 3:
        state.in_sync(node)
    elif tag == "new_nodes" and n == 6:
        state.new_nodes(node, msg[2], msg[4], msg[5])
    elif tag in ("lock_is_set", "exchange", "resolved") and n in (4, 5, 7):
        my_tag = msg[-1] if tag != "lock_is_set" else msg[2]
        if state.get("sync_tag_my", node) != my_tag:
            state.cancel_locker(node, my_tag)
        elif tag == "lock_is_set" and n == 4:
            state.lock_is_set(node, msg[3])
        elif tag == "exchange" and n == 5:
            state.exchange(node, msg[2])
        elif tag == "resolved" and n == 7:
            state.got_resolved(node, msg[2], msg[3])


def _info(state: Cluster, msg: tuple[object, ...]) -> None:
    """A plain message of the protocol."""
    tag, n = msg[0], len(msg)
    if tag == "whereis" and n == 3 and type(msg[2]) is tuple and len(msg[2]) == 2:
        # An older node's global:whereis_name/1, or a hidden node asking us.
        caller, ref = msg[2]
        if isinstance(caller, Pid):
            pid = state.table.whereis_name(msg[1])
            send(caller, (ref, _UNDEFINED if pid is None else pid))
        return
    if tag == "prepare_shutdown" and n == 3 and isinstance(msg[1], Pid):
        send(msg[1], (msg[2], _OK))
        return
    node = _node(msg[1]) if n > 1 else None
    if node is None:
        return
    my_tag = state.get("sync_tag_my", node)
    if tag == "cancel_connect" and n == 3 and my_tag == msg[2]:
        state.cancel_locker(node, my_tag)
        state.reset_node_state(node)
        state.pending.pop(node, None)
        state.restart_connect(node, my_tag)
    elif tag == "init_connect_ack" and n == 4:
        if not (my_tag == msg[2] and state.get("sync_tag_his", node) == msg[3]):
            state.send_cancel_connect_message(node, msg[3])
            state.restart_connect(node, my_tag)
    elif tag == "remove_connection" and n == 2 and (node in state.known or node in state.pending):
        # prevent_overlapping_partitions on `node` dropped us from its partition and
        # asks us to disconnect (a connection left up would make its global:sync()
        # wait for us): do so, as OTP does; a later connection syncs anew.
        dist = state.proc.rt.dist
        state.nodedown(node)
        if isinstance(dist, Distribution):
            dist.disconnect(node)
    # lost_connection (another node's lost link) is not acted on: see the module docstring.


# -- the registrar: registrations of this node's processes ---------------------------------


class _Registrar(GenServer):
    """Registers names under the cluster lock, one at a time (OTP's registrar process)."""

    _otp_label = "global registrar"

    def init(self, cluster: object) -> object:
        return cluster

    async def handle_call(self, request: object, from_: From, state: object) -> Any:
        assert isinstance(state, Cluster) and type(request) is tuple
        _, key, pid = request
        try:
            return Reply(await _register(state, key, pid), state)
        except Exception as exc:  # the caller gets it; the registrar goes on
            return Reply(_Failed(exc), state)


class _Failed(NamedTuple):
    """A registration that raised: `Cluster.register` raises it in the caller."""

    exc: Exception


async def _register(cluster: Cluster, key: object, pid: Pid) -> Pid | None:
    """OTP's `global:register_name/2`: under the lock `{global, Registrar}` on every
    known node, register if the name is free; return the holder otherwise."""
    lock = (GLOBAL, self_process())
    nodes = await _set_lock_known(cluster, lock)
    try:
        holder = cluster.table.whereis_name(key)
        if holder is not None:
            return holder
        await multi_call(nodes, (_REGISTER, key, pid, RANDOM_EXIT))
        return None
    finally:
        await delete_global_lock(lock, nodes)


async def unregister(dist: Distribution, key: object) -> None:
    """OTP's `global:unregister_name/1`: under the cluster lock, remove `key` on every
    known node (only here when this node runs no name server)."""
    table = table_of(dist.node)
    cluster = table.service
    if not isinstance(cluster, Cluster):
        table.delete(key)  # no name server: its names hold no monitors
        return
    if table.whereis_name(key) is None:
        return
    lock = (GLOBAL, self_process())
    nodes = await _set_lock_known(cluster, lock)
    try:
        await multi_call(nodes, (_A("unregister"), key))
    finally:
        await delete_global_lock(lock, nodes)


async def _set_lock_known(cluster: Cluster, lock: object) -> list[str]:
    """Take `lock` on the boss, then on every known node; retry until the known set holds."""
    times = 0
    while True:
        known = list(cluster.known)
        nodes = [cluster.node, *known]
        boss = [max(nodes)]
        if await set_lock_on_nodes(cluster.table, lock, boss):
            if await set_lock_on_nodes(cluster.table, lock, nodes) and set(cluster.known) <= set(
                known
            ):
                return nodes
            await multi_call(boss, (_A("del_lock"), lock))
        await random_sleep(times)
        times += 1


async def start_global(dist: Distribution) -> None:
    """Start this node's `global_name_server` (for a visible node)."""
    await start_server(_GlobalServer, dist, SERVER, None, link=False)


__all__ = ["start_global", "unregister"]

"""The state and the sync steps of the global name server (OTP's `global.erl` server).

`Cluster` is what OTP keeps in the server's `#state{}` and process
dictionary: the known and synced nodes, the syncs under way (one per
connection, with a tag for each side), the `{sync, Nodes}` callers. Its
methods are the steps of a sync, named as in OTP (`init_connect`,
`lock_is_set`, `exchange`, `resolved`, `new_nodes`, `in_sync`); the server
(`_global.py`) calls them for each message. The name resolver that OTP runs
as a process runs here inline: it needs no remote calls, as clashes are
resolved as `global:random_exit_name/3` does. Only a visible node runs
it; a hidden node registers through a visible peer (`_global_hidden`).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, final

from .._behaviours._gen_server_client import call, cast
from .._runtime._ids import Pid
from .._runtime._mailbox import send
from .._runtime._process import Process
from .._runtime._repr import shown
from .._runtime._signals import demonitor, monitor
from .._runtime._spawning import spawn_link
from .._runtime._terms import Atom, freeze
from ._global_locker import SERVER, locker
from ._global_table import GLOBAL, GlobalTable
from ._node import Distribution

if TYPE_CHECKING:
    from .._behaviours._server_messages import From

logger = logging.getLogger("otp")

VSN: Final = 8
_A = Atom
_INIT_CONNECT: Final = _A("init_connect")
_EXCHANGE: Final = _A("exchange")
_RESOLVED: Final = _A("resolved")
_NEW_NODES: Final = _A("new_nodes")
_IN_SYNC: Final = _A("in_sync")
_INSERT: Final = _A("insert")
_DELETE: Final = _A("delete")
_OK: Final = _A("ok")
_TAGS: Final = itertools.count(time.monotonic_ns())


@final
class _Syncer:
    """A `{sync, Nodes}` call waiting until those nodes are synced or down."""

    __slots__ = ("from_", "nodes")

    def __init__(self, nodes: set[str], from_: From) -> None:
        self.nodes = nodes
        self.from_ = from_


@final
class Cluster:
    """The name server's state (OTP's `#state{}` and its process dictionary)."""

    def __init__(self, proc: Process, table: GlobalTable) -> None:
        self.proc = proc
        self.node = proc.rt.name
        self.table = table
        self.known: dict[str, int] = {}  # synced partition: node -> protocol version
        self.pending: dict[str, int] = {}  # nodes between init_connect and resolved
        self.synced: list[str] = []
        self.resolvers: dict[str, object] = {}  # node -> my tag of the sync under way
        self.pd: dict[tuple[str, str], object] = {}  # OTP's {Key, Node} dictionary entries
        self.syncers: list[_Syncer] = []
        self.locker: Pid = spawn_link(locker)
        self.registrar: Pid | None = None
        self.up_hook: Callable[[str], None] | None = None

    def __repr__(self) -> str:
        return f"<global {len(self.table.names)} names, known {sorted(self.known)}>"

    async def register(self, key: object, pid: Pid) -> Pid | None:
        """Register `pid` as `key` on every known node (through the registrar)."""
        assert self.registrar is not None
        result = await call(self.registrar, ("register", key, pid), None)
        exc = getattr(result, "exc", None)
        if isinstance(exc, Exception):
            raise exc
        return result if isinstance(result, Pid) else None

    # -- the process dictionary of OTP's server ------------------------------------

    def get(self, key: str, node: str) -> object:
        return self.pd.get((key, node))

    def put(self, key: str, node: str, value: object) -> None:
        self.pd[(key, node)] = value

    def erase(self, key: str, node: str) -> object:
        return self.pd.pop((key, node), None)

    def reset_node_state(self, node: str) -> None:
        for key in ("wait_lock", "save_ops", "pre_connect", "prot_vsn", "sync_tag_my"):
            self.erase(key, node)
        for key in ("sync_tag_his", "lock_id"):
            self.erase(key, node)

    def cast_to(self, node: str, msg: object) -> None:
        cast((SERVER, node), msg)

    def send_to(self, node: str, msg: object) -> None:
        """A plain message to `node`'s server, only if connected (OTP's `noconnect`)."""
        dist = self.proc.rt.dist
        if isinstance(dist, Distribution) and node in dist.nodes():
            send((SERVER, node), msg)

    def known_list(self) -> list[tuple[Atom, int]]:
        """OTP's `mk_known_list/2`: `[{Node, Vsn}]` (node names are atoms on the wire)."""
        return [(_A(n), v) for n, v in self.known.items()]

    def node_vsn(self, node: str) -> int:
        if node == self.node:
            return VSN
        return self.known.get(node, self.pending.get(node, 0))

    # -- connections coming and going ---------------------------------------------------

    def nodeup(self, node: str) -> None:
        """OTP's `handle_nodeup`: start a sync with `node`'s name server."""
        if node in self.known or node in self.resolvers:
            return
        my_tag = next(_TAGS)
        self.put("sync_tag_my", node, my_tag)
        # {init_connect, {Vsn, Tag}, Node, {locker, _, Known, TheLocker}}
        locker_msg: tuple[object, ...] = (_A("locker"), _A("no_longer_a_pid"), [], self.locker)
        self.cast_to(node, (_INIT_CONNECT, (VSN, my_tag), _A(self.node), locker_msg))
        self.resolvers[node] = my_tag
        pre = self.erase("pre_connect", node)
        if type(pre) is tuple:
            self.init_connect(*pre)

    def nodedown(self, node: str) -> None:
        """OTP's `handle_nodedown`, and the names and locks of the node go."""
        self.cancel_locker(node, self.get("sync_tag_my", node))
        send(self.locker, ("remove_from_known", node))
        self.reset_node_state(node)
        self.known.pop(node, None)
        self.pending.pop(node, None)
        if node in self.synced:
            self.synced.remove(node)
        for ref in self.table.drop_node(node):
            demonitor(ref, flush=True)
        self.notify_syncers(node)

    def init_connect(self, vsn: int, node: str, init_msg: object, his_tag: object) -> None:
        if node in self.pending:
            # A new attempt from a node we were syncing with: start over.
            self.send_cancel_connect_message(node, his_tag)
            self.restart_connect(node, self.get("sync_tag_my", node))
        if node not in self.resolvers:
            self.put("pre_connect", node, (vsn, node, init_msg, his_tag))
            return
        if type(init_msg) is not tuple or len(init_msg) != 4 or not isinstance(init_msg[3], Pid):
            return
        self.put("prot_vsn", node, vsn)
        self.put("sync_tag_his", node, his_tag)
        my_tag = self.get("sync_tag_my", node)
        send(self.locker, ("his_the_locker", init_msg[3], vsn, his_tag, my_tag))
        self.send_to(node, (_A("init_connect_ack"), _A(self.node), his_tag, my_tag))
        self.pending[node] = vsn

    def restart_connect(self, node: str, my_tag: object) -> None:
        self.cancel_locker(node, my_tag)
        self.reset_node_state(node)
        self.pending.pop(node, None)
        if isinstance(my_tag, int):
            self.nodeup(node)

    def cancel_locker(self, node: str, tag: object, then: Callable[[], None] | None = None) -> None:
        if then is not None:
            then()  # OTP runs it in the locker, before the lock is released
        send(self.locker, ("cancel", node, tag))
        self.send_cancel_connect(node, tag)
        if node in self.resolvers and self.resolvers[node] == tag:
            del self.resolvers[node]

    def send_cancel_connect(self, node: str, my_tag: object) -> None:
        if self.pending.get(node, 0) >= 8 and self.get("sync_tag_my", node) == my_tag:
            self.send_cancel_connect_message(node, self.get("sync_tag_his", node))

    def send_cancel_connect_message(self, node: str, his_tag: object) -> None:
        self.send_to(node, (_A("cancel_connect"), _A(self.node), his_tag))

    # -- the sync --------------------------------------------------------------------------

    def lock_is_set(self, node: str, lock_id: object) -> None:
        """Our locker holds the lock for the sync with `node`: send our names."""
        his_tag = self.get("sync_tag_his", node)
        self.cast_to(node, (_EXCHANGE, _A(self.node), self.table.wire_names(), [], his_tag))
        self.put("lock_id", node, lock_id)
        wait = self.get("wait_lock", node)
        self.put("wait_lock", node, "lock_is_set")
        if type(wait) is tuple:
            self.exchange(node, wait[1])

    def exchange(self, node: str, names: object) -> None:
        """`node`'s names arrived: resolve them against ours once both are locked."""
        if self.erase("wait_lock", node) != "lock_is_set":
            self.put("wait_lock", node, ("exchange", names))
            return
        ops, resolved = self.exchange_names(names if isinstance(names, list) else [], node)
        self.exchange_ops(node, ops, resolved)

    def exchange_names(self, names: list[object], node: str) -> tuple[list[object], list[object]]:
        """OTP's resolver: the operations for us and for the other side."""
        ops: list[object] = []
        res: list[object] = []
        for item in names:
            if type(item) is not tuple or len(item) != 3 or not isinstance(item[1], Pid):
                continue
            name, pid, method = item
            ours = self.table.names.get(name)
            if ours is None:
                ops.append((_INSERT, (name, pid, method)))
            elif ours.pid == pid or not self.node < node:
                continue  # the same, or the other node resolves the clash
            else:
                keep, lose = sorted([pid, ours.pid], key=lambda p: p.node)
                logger.info("global: name conflict %s, killing %r", shown(name), lose)
                self.proc.rt.route_exit(lose, self.proc, "kill")
                if keep == pid:
                    ops.append((_INSERT, (name, pid, method)))
                else:
                    res.append((_INSERT, (name, ours.pid, ours.method)))
        return ops, res

    def exchange_ops(self, node: str, ops: list[object], resolved: list[object]) -> None:
        known = self.known_list()
        his_tag = self.get("sync_tag_his", node)
        self.cast_to(node, (_RESOLVED, _A(self.node), resolved, known, _A("unused"), [], his_tag))
        saved = self.get("save_ops", node)
        self.put("save_ops", node, ops)
        if type(saved) is tuple:
            self.resolved(node, *saved)

    def got_resolved(self, node: str, his_resolved: object, his_known: object) -> None:
        if isinstance(self.get("save_ops", node), list):
            self.resolved(node, his_resolved, his_known)
        else:
            self.put("save_ops", node, (his_resolved, his_known))

    def resolved(self, node: str, his_resolved: object, his_known: object) -> None:
        """Both sides resolved: apply the names, join the partitions, release the lock."""
        saved = self.erase("save_ops", node)
        ops = (saved if isinstance(saved, list) else []) + (
            his_resolved if isinstance(his_resolved, list) else []
        )
        his = _node_vsns(his_known)
        new_nodes = [(node, self.node_vsn(node) or VSN), *his]
        his_nodes = [n for n, _ in his]
        self.sync_others(his_nodes)
        extra = [(_A("vsn"), self.get("prot_vsn", node)), (_A("lock"), self.get("lock_id", node))]
        self.do_ops(ops, self.node, extra)
        self.notify_syncers(node)
        for other in his_nodes:
            self.cancel_resolved(other)
        wire_nodes = [(_A(n), v) for n, v in new_nodes]
        msg: tuple[object, ...] = (_NEW_NODES, _A(self.node), ops, [], wire_nodes, extra)
        told = list(self.known)

        def tell_our_partition() -> None:
            for peer in told:
                self.cast_to(peer, msg)

        self.cancel_resolved(node, tell_our_partition)
        added = self.add_to_known(new_nodes)
        send(self.locker, ("add_to_known", added))
        self.synced.append(node)

    def cancel_resolved(self, node: str, then: Callable[[], None] | None = None) -> None:
        tag = self.get("sync_tag_my", node)
        self.pending.pop(node, None)
        self.cancel_locker(node, tag, then)
        self.reset_node_state(node)

    def new_nodes(self, conn_node: str, ops: object, nodes: object, extra: object) -> None:
        added = self.add_to_known(_node_vsns(nodes))
        self.sync_others(added)
        self.do_ops(ops if isinstance(ops, list) else [], conn_node, extra)
        send(self.locker, ("add_to_known", added))

    def in_sync(self, node: str) -> None:
        self.notify_syncers(node)
        if node not in self.synced:
            self.synced.append(node)
        self.pending.pop(node, None)
        self.cancel_locker(node, self.get("sync_tag_my", node))
        self.reset_node_state(node)

    def sync_others(self, nodes: list[str]) -> None:
        for node in nodes:
            self.cast_to(node, (_IN_SYNC, _A(self.node), True))

    def add_to_known(self, nodes: list[tuple[str, int]]) -> list[str]:
        added = []
        for node, vsn in nodes:
            if node == self.node:
                continue
            if node not in self.known:
                added.append(node)
                self.known[node] = vsn
            elif self.known[node] < 0:
                self.known[node] = vsn
        return added

    # -- names -------------------------------------------------------------------------------

    def do_ops(self, ops: list[object], conn: str | Pid, extra: object) -> None:
        for op in ops:
            if type(op) is not tuple or len(op) != 2:
                continue
            if op[0] == _INSERT and type(op[1]) is tuple and len(op[1]) == 3:
                name, pid, method = op[1]
                if isinstance(pid, Pid):
                    self.ins_name(name, pid, method, conn, extra)
            elif op[0] == _DELETE:
                self.delete_name(op[1])

    def ins_name(
        self, name: object, pid: Pid, method: object, by: str | Pid, extra: object
    ) -> None:
        self.delete_name(name)
        ref = None if isinstance(pid, Process) else monitor(pid)
        self.table.insert(name, pid, method, ref)
        if not self.lock_still_set(by, extra):
            self.delete_name(name)

    def delete_name(self, name: object) -> None:
        entry = self.table.delete(name)
        if entry is not None and entry.ref is not None:
            demonitor(entry.ref, flush=True)

    def lock_still_set(self, by: str | Pid, extra: object) -> bool:
        lock = self.table.locks.get(GLOBAL)
        if lock is None:
            return not self.table.global_lock_down
        if isinstance(by, Pid):
            return by in lock.holders
        lock_id = _extra_info(extra, "lock")
        return type(lock_id) is tuple and len(lock_id) == 2 and table_key(lock_id[1]) == lock.req_id

    # -- locks asked for by other nodes ---------------------------------------------------------

    def set_lock(self, lock_id: object, pid: Pid) -> bool:
        added = self.table.set_lock(lock_id, pid)
        if added is False:
            return False
        if added is None and not isinstance(pid, Process):
            resource = table_key(lock_id[0])  # type: ignore[index]
            self.table.locks[resource].holders[pid] = monitor(pid)
        return True

    def del_lock(self, lock_id: object, pid: Pid) -> None:
        ref = self.table.del_lock(lock_id, pid)
        if ref is not None:
            demonitor(ref, flush=True)

    # -- global:sync() ---------------------------------------------------------------------------

    def sync(self, nodes: list[str], from_: From) -> bool:
        """A `{sync, Nodes}` call: True if it can be answered at once."""
        waiting = {n for n in nodes if n != self.node and n not in self.synced}
        dist = self.proc.rt.dist
        up = set(dist.nodes()) if isinstance(dist, Distribution) else set()
        waiting &= up
        if not waiting:
            return True
        self.syncers.append(_Syncer(waiting, from_))
        return False

    def notify_syncers(self, node: str) -> None:
        for syncer in list(self.syncers):
            syncer.nodes.discard(node)
            if not syncer.nodes:
                self.syncers.remove(syncer)
                syncer.from_.reply(_OK)


def table_key(term: object) -> object:
    return freeze(term)


def _extra_info(extra: object, key: str) -> object:
    """The value under `key` in OTP's `ExtraInfo` list `[{vsn, V}, {lock, LockId}]`."""
    if isinstance(extra, list):
        for item in extra:
            if type(item) is tuple and len(item) == 2 and item[0] == key:
                return item[1]
    return None


def _node_vsns(term: object) -> list[tuple[str, int]]:
    """OTP's node lists: `[Node | {Node, Vsn}]`, as `(node, vsn)` (0: not known yet)."""
    out: list[tuple[str, int]] = []
    if isinstance(term, list):
        for item in term:
            if isinstance(item, str):
                out.append((str(item), 0))
            elif type(item) is tuple and len(item) == 2 and isinstance(item[0], str):
                vsn = item[1] if isinstance(item[1], int) else 0
                out.append((str(item[0]), vsn))
    return out


__all__ = ["VSN", "Cluster", "table_key"]

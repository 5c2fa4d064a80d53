"""The tables and the server process of one `pg` scope.

A scope is a GenServer registered under the scope's name; its tables are
read and written in place by `otp.pg`'s functions (in `_pg`) in the calling
process, and by the server for what the scopes of other nodes send.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeVar, final

from .._behaviours._gen_server import GenServer, cast
from .._behaviours._results import NoReply
from .._runtime._ids import Pid, Ref
from .._runtime._mailbox import send
from .._runtime._messages import Down
from .._runtime._process import Process
from .._runtime._repr import show, shown
from .._runtime._scheduler import current_node, self_process
from .._runtime._signals import monitor as monitor_process
from .._runtime._terms import Atom, freeze
from ._node import Distribution

if TYPE_CHECKING:
    from .._runtime._node import Node

logger = logging.getLogger("otp")

_DISCOVER: Final = Atom("discover")
_JOIN: Final = Atom("join")
_LEAVE: Final = Atom("leave")
_SYNC: Final = Atom("sync")


class _NodeUp(NamedTuple):
    """A connection to `node` came up: look for its scope."""

    node: str


@final
class _Peer:
    """A scope on another node: our monitor on it and its members, by group."""

    __slots__ = ("groups", "ref")

    def __init__(self, ref: Ref) -> None:
        self.ref = ref
        self.groups: dict[object, list[Pid]] = {}


_P = TypeVar("_P", bound=Pid)


def _subtract(members: list[_P], pids: Iterable[Pid]) -> list[_P]:
    """Remove one occurrence of each of `pids` from `members` (Erlang's `--`).

    Returns the members removed.
    """
    removed: list[_P] = []
    for pid in pids:
        for i, member in enumerate(members):
            if member is pid:
                del members[i]
                removed.append(member)
                break
    return removed


# -- the tables of one scope ------------------------------------------------------------


@final
class _Scope:
    """What OTP keeps in the scope's ETS table and state, read and written in place."""

    __slots__ = (
        "closed",
        "groups",
        "index",
        "joined",
        "local",
        "name",
        "peers",
        "proc",
        "scope_monitors",
        "up_hook",
        "watching",
    )

    def __init__(self, name: str, proc: Process, index: _Index) -> None:
        self.name = name
        self.proc = proc
        self.index = index
        self.closed = False
        self.groups: dict[object, list[Pid]] = {}  # every member, remote ones too
        self.local: dict[object, list[Process]] = {}  # the members of this node
        self.joined: dict[Process, list[object]] = {}  # each local member's groups
        self.peers: dict[Pid, _Peer] = {}
        self.scope_monitors: dict[Ref, Process] = {}
        self.watching: dict[object, dict[Ref, Process]] = {}  # group monitors
        self.up_hook: Callable[[str], None] | None = None

    def __repr__(self) -> str:
        return (
            f"<pg scope {show(self.name)} {len(self.groups)} groups, {len(self.peers)} peer nodes>"
        )

    # -- local members ----------------------------------------------------------------

    def join(self, group: object, pids: list[Process], wire: object) -> None:
        for proc in pids:
            self.joined.setdefault(proc, []).append(group)
            self.index.add(proc, self)
        self.groups.setdefault(group, []).extend(pids)
        self.local.setdefault(group, []).extend(pids)
        self.broadcast((_JOIN, self.proc, group, wire))
        self.notify("join", group, pids)

    def leave(self, group: object, pids: list[Process]) -> bool:
        left = []
        for proc in pids:
            groups = self.joined.get(proc)
            if groups is None or group not in groups:
                continue
            groups.remove(group)
            if not groups:
                del self.joined[proc]
            left.append(proc)
        if not left:
            return False
        self.drop_local(group, left)
        self.broadcast((_LEAVE, self.proc, left, [group]))
        return True

    def drop_local(self, group: object, pids: list[Process]) -> None:
        local = self.local.get(group)
        if local is not None:
            _subtract(local, pids)
            if not local:
                del self.local[group]
        self.drop(group, pids)

    def drop(self, group: object, pids: Iterable[Pid]) -> None:
        members = self.groups.get(group)
        if members is None:
            return
        removed = _subtract(members, pids)
        if not members:
            del self.groups[group]
        if removed:
            self.notify("leave", group, removed)

    def purge(self, proc: Process) -> None:
        """`proc` exited: it leaves its groups and its subscriptions end."""
        groups = self.joined.pop(proc, None)
        if groups:
            for group in groups:
                self.drop_local(group, [proc])
            self.broadcast((_LEAVE, self.proc, proc, groups))
        for ref in [r for r, p in self.scope_monitors.items() if p is proc]:
            del self.scope_monitors[ref]
        for group, subscribers in list(self.watching.items()):
            for ref in [r for r, p in subscribers.items() if p is proc]:
                del subscribers[ref]
            if not subscribers:
                del self.watching[group]

    # -- members of other nodes ----------------------------------------------------------

    def remote_join(self, peer: Pid, group: object, pids: list[Pid]) -> None:
        record = self.peers.get(peer)
        if record is None:
            return  # a node outside the scope's network, or one that just left it
        record.groups.setdefault(group, []).extend(pids)
        self.groups.setdefault(group, []).extend(pids)
        self.notify("join", group, pids)

    def remote_leave(self, peer: Pid, pids: list[Pid], groups: list[object]) -> None:
        record = self.peers.get(peer)
        if record is None:
            return
        for group in groups:
            theirs = record.groups.get(group)
            if theirs is None:
                continue
            _subtract(theirs, pids)
            if not theirs:
                del record.groups[group]
            self.drop(group, pids)

    def sync(self, peer: Pid, groups: dict[object, list[Pid]]) -> None:
        """`peer` sent all its members: they replace what we knew of it."""
        record = self.peers.get(peer)
        if record is None:
            record = self.peers[peer] = _Peer(monitor_process(peer))
        old, record.groups = record.groups, groups
        for group, pids in groups.items():
            before = old.pop(group, [])
            left = list(before)
            _subtract(left, pids)  # before -- pids
            joined = list(pids)
            _subtract(joined, before)  # pids -- before
            if left:
                self.drop(group, left)
            if joined:
                self.groups.setdefault(group, []).extend(joined)
                self.notify("join", group, joined)
        for group, pids in old.items():
            self.drop(group, pids)

    def peer_down(self, ref: Ref, peer: Pid) -> None:
        record = self.peers.get(peer)
        if record is None or record.ref != ref:
            return
        del self.peers[peer]
        for group, pids in record.groups.items():
            self.drop(group, pids)

    # -- messages out ---------------------------------------------------------------------

    def local_groups(self) -> list[tuple[object, list[Process]]]:
        return [(group, list(pids)) for group, pids in self.local.items()]

    def broadcast(self, msg: object) -> None:
        """Send `msg` to every peer scope still connected (OTP sends with `noconnect`)."""
        if not self.peers:
            return
        dist = self.proc.rt.dist
        for peer in self.peers:
            if isinstance(dist, Distribution) and peer.node in dist.conns:
                try:
                    send(peer, msg)
                except (TypeError, ValueError) as exc:
                    logger.error(
                        "pg scope %r cannot tell %r of %r: %s", self.name, peer, shown(msg), exc
                    )

    def notify(self, action: str, group: object, pids: Sequence[Pid]) -> None:
        for ref, proc in self.scope_monitors.items():
            proc.enqueue((ref, action, group, list(pids)))
        subscribers = self.watching.get(group)
        if subscribers:
            for ref, proc in subscribers.items():
                proc.enqueue((ref, action, group, list(pids)))

    def close(self) -> None:
        self.closed = True
        dist = self.proc.rt.dist
        if isinstance(dist, Distribution) and self.up_hook in dist.up_hooks:
            dist.up_hooks.remove(self.up_hook)
        self.groups.clear()
        self.local.clear()
        self.joined.clear()
        self.peers.clear()
        self.scope_monitors.clear()
        self.watching.clear()


# -- the scope process ----------------------------------------------------------------------


class _ScopeServer(GenServer):
    """The process registered as the scope's name: it speaks `pg`'s protocol with its peers."""

    _otp_label = "pg scope"

    def __init__(self) -> None:
        self.scope: _Scope | None = None

    def init(self, arg: object) -> object:
        assert isinstance(arg, str)
        proc = self_process()
        index = _index_of(proc.rt)
        scope = self.scope = _Scope(arg, proc, index)
        index.servers[proc] = scope
        dist = proc.rt.dist
        if isinstance(dist, Distribution):

            def up(peer: str) -> None:
                proc.enqueue(_NodeUp(peer))

            scope.up_hook = up
            dist.up_hooks.append(up)
            for peer in dist.nodes():
                send((arg, peer), (_DISCOVER, proc))
        return scope

    def handle_cast(self, request: object, state: object) -> Any:
        assert isinstance(state, _Scope)
        # gen_server:cast(Peer, {sync, self(), [{Group, [Pid]}]}) from a peer scope
        if type(request) is tuple and len(request) == 3 and request[0] == _SYNC:
            peer, groups = request[1], request[2]
            if isinstance(peer, Pid) and not isinstance(peer, Process):
                state.sync(peer, _groups_from_wire(groups))
        return NoReply(state)

    def handle_info(self, msg: object, state: object) -> Any:
        assert isinstance(state, _Scope)
        if type(msg) is _NodeUp:
            send((state.name, msg.node), (_DISCOVER, state.proc))
        elif type(msg) is Down:
            if isinstance(msg.pid, Pid):
                state.peer_down(msg.ref, msg.pid)
        elif type(msg) is tuple and msg and isinstance(msg[0], Atom):
            _from_peer(state, msg)
        else:
            return super().handle_info(msg, state)
        return NoReply(state)


def _from_peer(scope: _Scope, msg: tuple[object, ...]) -> None:
    """A message of `pg`'s protocol from another node's scope."""
    tag, peer = msg[0], msg[1] if len(msg) > 1 else None
    if not isinstance(peer, Pid) or isinstance(peer, Process):
        return
    if not isinstance(scope.proc.rt.dist, Distribution):
        return  # not distributed: no peer can be reached
    if tag == _DISCOVER and len(msg) in (2, 3):  # OTP 26+ may add a protocol version
        cast(peer, (_SYNC, scope.proc, scope.local_groups()))
        if peer not in scope.peers:
            scope.peers[peer] = _Peer(monitor_process(peer))
            send(peer, (_DISCOVER, scope.proc))
    elif tag == _JOIN and len(msg) == 4:
        scope.remote_join(peer, freeze(msg[2]), _pids_from_wire(msg[3]))
    elif tag == _LEAVE and len(msg) == 4 and isinstance(msg[3], list):
        scope.remote_leave(peer, _pids_from_wire(msg[2]), [freeze(g) for g in msg[3]])


def _pids_from_wire(term: object) -> list[Pid]:
    if isinstance(term, Pid):
        return [term]
    if isinstance(term, list):
        return [pid for pid in term if isinstance(pid, Pid)]
    return []


def _groups_from_wire(term: object) -> dict[object, list[Pid]]:
    groups: dict[object, list[Pid]] = {}
    if isinstance(term, list):
        for entry in term:
            if type(entry) is tuple and len(entry) == 2:
                groups.setdefault(freeze(entry[0]), []).extend(_pids_from_wire(entry[1]))
    return groups


# -- the node's index of members ------------------------------------------------------------
#
# One `_Index` per node, kept in `node.exit_hooks` (found by type): it maps each
# process that joined a group or subscribed to changes to its scopes, and each
# scope process to its tables. A process that exits leaves its groups there and
# then, before anything else runs. An entry stays until the process exits.


@final
class _Index:
    __slots__ = ("by_pid", "servers")

    def __init__(self) -> None:
        self.by_pid: dict[Process, list[_Scope]] = {}
        self.servers: dict[Process, _Scope] = {}

    def __call__(self, proc: Process) -> None:
        scopes = self.by_pid.pop(proc, None)
        if scopes is not None:
            for scope in scopes:
                if not scope.closed:
                    scope.purge(proc)
        server = self.servers.pop(proc, None)
        if server is not None:
            server.close()

    def add(self, proc: Process, scope: _Scope) -> None:
        scopes = self.by_pid.setdefault(proc, [])
        if scope not in scopes:
            scopes.append(scope)


def _index_of(node: Node) -> _Index:
    return node.exit_hook(_Index)


def _find(scope: str) -> _Scope | None:
    if not isinstance(scope, str):
        raise TypeError(
            f"a pg scope is named by a str (an atom on Erlang nodes); got {show(scope)}"
        )
    proc = current_node().names.get(scope)
    impl = getattr(proc, "impl", None)
    if type(impl) is _ScopeServer and impl.scope is not None and not impl.scope.closed:
        return impl.scope
    return None

"""Process groups: OTP's `pg`, shared with Erlang and Elixir nodes.

A process group is a name (any hashable term) under which processes join;
any process can then ask who the members are and send them messages. A
member that exits leaves all its groups at once. A process may join a
group several times and then counts that many times.

Example::

    >>> import otp
    >>> async def worker(parent):
    ...     otp.pg.join("workers", otp.self())
    ...     otp.send(parent, "joined")
    ...     await otp.receive()
    >>> async def main():
    ...     await otp.pg.start_link()
    ...     for _ in range(3):
    ...         otp.spawn(worker, otp.self())
    ...     for _ in range(3):
    ...         await otp.receive()
    ...     for pid in otp.pg.get_members("workers"):
    ...         otp.send(pid, "work")
    ...     return len(otp.pg.get_members("workers")), otp.pg.which_groups()
    >>> otp.run(main)
    (3, ['workers'])

Scopes: groups live in a *scope*, a process registered under the scope's
name (`"pg"` by default) that `start_link(scope)` starts; every function
takes `scope=`. Scopes are independent of each other.

Client API: `join`, `leave`, `get_members`, `get_local_members`,
`which_groups`, `monitor`, `monitor_scope` and `demonitor` are plain
functions. They read or write the scope's tables directly in the calling
process, so a process that joined sees itself in `get_members` right after
(OTP's `pg:join` waits for its scope process to do the same). Only local
processes can join, as in OTP; reads of a scope that is not running return
nothing, as OTP's do.

Across nodes: a scope talks to the scope of the same name on every node it
connects to, Erlang, Elixir or Python, with OTP's `pg` protocol. When a
connection comes up it sends `{discover, Scope}`; the answer is a
`{sync, Scope, Groups}` cast with that node's local members, and from then
on each side sends `{join, ...}` and `{leave, ...}` messages as members
change. Each scope monitors the other: when a node goes away its members
leave. Membership is eventually consistent: two nodes may see changes from
a third one in different orders for a moment. On Erlang nodes the default
scope runs when `kernel` is started with `start_pg` set, or after
`pg:start_link()`.

Hidden nodes (the default for Python nodes): OTP's scopes only look for
visible nodes, so the Python side always makes the first move, when a
connection comes up or its scope starts. An Erlang scope that restarts
while the connection stays up does not find a hidden Python node again;
start the Python node with `hidden=False` if that matters.

Groups on the wire: a `str` group is an Erlang binary. To share a group
with Erlang code that names it with an atom, use `otp.Atom("name")`. Since
atoms equal strings in Python, a Python node counts `'name'` and
`<<"name">>` as one group, where Erlang counts two. List groups work (they
are stored as hashable `FrozenList`s, which are sent back as lists).

Notifications: `monitor(group)` and `monitor_scope()` subscribe the caller;
each change then arrives as a message `(ref, "join", group, pids)` or
`(ref, "leave", group, pids)`, OTP 25.1's `{Ref, join | leave, Group, Pids}`.

How to supervise: put `otp.pg.child_spec()` (or `child_spec("scope")`)
before the processes that join groups in it. Local memberships do not
survive a restart of the scope, as in OTP.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Final, NamedTuple, TypeVar, final

from .._behaviours._gen_server import GenServer, cast, start_server
from .._behaviours._results import NoReply
from .._errors import NoProc
from .._runtime._ids import Pid, Ref
from .._runtime._mailbox import send
from .._runtime._messages import Down
from .._runtime._process import Process
from .._runtime._scheduler import current_node, self_process
from .._runtime._signals import monitor as monitor_process
from .._runtime._terms import Atom, freeze
from ._node import Distribution

if TYPE_CHECKING:
    from .._behaviours._child import ChildSpec
    from .._runtime._node import Node

logger = logging.getLogger("otp")

DEFAULT_SCOPE: Final = "pg"
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
        return f"<pg scope {self.name!r} {len(self.groups)} groups, {len(self.peers)} peer nodes>"

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
                    logger.error("pg scope %r cannot tell %r of %r: %s", self.name, peer, msg, exc)

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

    def handle_cast(self, request: object, state: object) -> object:
        assert isinstance(state, _Scope)
        # gen_server:cast(Peer, {sync, self(), [{Group, [Pid]}]}) from a peer scope
        if type(request) is tuple and len(request) == 3 and request[0] == _SYNC:
            peer, groups = request[1], request[2]
            if isinstance(peer, Pid) and not isinstance(peer, Process):
                state.sync(peer, _groups_from_wire(groups))
        return NoReply(state)

    def handle_info(self, msg: object, state: object) -> object:
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
    for hook in node.exit_hooks:
        if type(hook) is _Index:
            return hook
    index = _Index()
    node.exit_hooks.append(index)
    return index


def _find(scope: str) -> _Scope | None:
    if not isinstance(scope, str):
        raise TypeError(f"a pg scope is named by a str (an atom on Erlang nodes); got {scope!r}")
    proc = current_node().names.get(scope)
    impl = getattr(proc, "impl", None)
    if type(impl) is _ScopeServer and impl.scope is not None and not impl.scope.closed:
        return impl.scope
    return None


def _running(scope: str, what: str) -> _Scope:
    found = _find(scope)
    if found is None:
        raise NoProc(
            "noproc",
            f"pg.{what}: no pg scope runs as {scope!r} on this node; start it first with "
            f"await otp.pg.start_link({scope!r}) (or otp.pg.child_spec({scope!r}) in a "
            f"supervisor)",
        )
    return found


def _local_pids(pids: Pid | Iterable[Pid], what: str) -> tuple[list[Process], object]:
    """The live local processes among `pids`, and `pids` in the wire form OTP sends."""
    many = not isinstance(pids, Pid)
    given: list[object] = list(pids) if many else [pids]  # type: ignore[arg-type]
    node = current_node()
    out: list[Process] = []
    for pid in given:
        if not isinstance(pid, Pid):
            raise TypeError(
                f"pg.{what} takes a pid or a list of pids; got {pid!r} ({type(pid).__name__})"
            )
        if pid.node != node.name or (isinstance(pid, Process) and pid.rt is not node):
            raise ValueError(
                f"pg.{what}: {pid!r} runs on node {pid.node!r}; only processes of this node "
                f"({node.name!r}) can {what} a group here, as in OTP: call otp.pg.{what} "
                f"on its own node"
            )
        if isinstance(pid, Process) and pid.alive:
            out.append(pid)
    return out, (list(out) if many else out[0] if out else [])


def _group_key(group: object) -> object:
    key = freeze(group)
    try:
        hash(key)
    except TypeError:
        raise TypeError(
            f"a pg group must be hashable (lists and dicts are frozen for you); got {group!r} "
            f"({type(group).__name__})"
        ) from None
    return key


# -- the public functions -------------------------------------------------------------------


async def start_link(scope: str = DEFAULT_SCOPE) -> Pid:
    """Start the scope `scope`, linked to the caller and registered under that name.

    >>> import otp
    >>> async def main():
    ...     pid = await otp.pg.start_link()
    ...     return otp.whereis("pg") == pid
    >>> otp.run(main)
    True

    Returns at once (the scope's set-up does not wait on other nodes); on
    a distributed node it then looks for the same scope on every connected
    node, and on each node that connects later.

    Raises:
        AlreadyStarted: the name is taken (`.pid` holds its owner).
    """
    if not isinstance(scope, str) or not scope:
        raise TypeError(f"a pg scope is named by a non-empty str; got {scope!r}")
    pid = await start_server(_ScopeServer, scope, scope, None, link=True)
    assert pid is not None
    return pid


async def start(scope: str = DEFAULT_SCOPE) -> Pid:
    """Like `start_link`, without the link."""
    if not isinstance(scope, str) or not scope:
        raise TypeError(f"a pg scope is named by a non-empty str; got {scope!r}")
    pid = await start_server(_ScopeServer, scope, scope, None, link=False)
    assert pid is not None
    return pid


def child_spec(scope: str = DEFAULT_SCOPE, **spec: object) -> ChildSpec:
    """A supervisor child spec that runs `start_link(scope)`; its id is the scope's name.

    >>> import otp
    >>> async def main():
    ...     await otp.Supervisor.start_link([otp.pg.child_spec("chat")])
    ...     return otp.whereis("chat") is not None
    >>> otp.run(main)
    True
    """
    from .._behaviours._child import ChildSpec

    async def run() -> Pid:
        return await start_link(scope)

    child = ChildSpec(id=scope, start=run)
    return child.replace(**spec) if spec else child


def join(group: object, pids: Pid | Iterable[Pid], scope: str = DEFAULT_SCOPE) -> None:
    """Make the process `pids` (or each pid of a list) a member of `group`.

    >>> import otp
    >>> async def main():
    ...     await otp.pg.start_link()
    ...     otp.pg.join("room", [otp.self(), otp.self()])
    ...     return len(otp.pg.get_members("room"))
    >>> otp.run(main)
    2

    A process may join a group several times (and must then leave it as
    many times). It leaves every group when it exits. The tables change
    before this returns; the scopes of other nodes learn of it in the
    order the changes were made on this node. A process that has already
    exited is not added.

    Raises:
        NoProc: no scope `scope` runs on this node.
        ValueError: a pid belongs to another node (join it on its own node).
    """
    found = _running(scope, "join")
    key = _group_key(group)
    procs, wire = _local_pids(pids, "join")
    if procs:
        found.join(key, procs, wire)


def leave(group: object, pids: Pid | Iterable[Pid], scope: str = DEFAULT_SCOPE) -> bool:
    """Take the process `pids` (or each pid of a list) out of `group`, once per listing.

    >>> import otp
    >>> async def main():
    ...     await otp.pg.start_link()
    ...     otp.pg.join("room", otp.self())
    ...     return otp.pg.leave("room", otp.self()), otp.pg.leave("room", otp.self())
    >>> otp.run(main)
    (True, False)

    Returns:
        False when none of them was a member (OTP's `not_joined`).

    Raises:
        NoProc: no scope `scope` runs on this node.
        ValueError: a pid belongs to another node.
    """
    found = _running(scope, "leave")
    key = _group_key(group)
    procs, _ = _local_pids(pids, "leave")
    return found.leave(key, procs)


def get_members(group: object, scope: str = DEFAULT_SCOPE) -> list[Pid]:
    """Every member of `group` on every node of the scope, in no specific order.

    A process that joined several times appears as many times. An unknown
    group, or a scope that is not running, has no members.
    """
    found = _find(scope)
    members = found.groups.get(_group_key(group)) if found is not None else None
    return list(members) if members else []


def get_local_members(group: object, scope: str = DEFAULT_SCOPE) -> list[Pid]:
    """The members of `group` that run on this node.

    >>> import otp
    >>> async def main():
    ...     await otp.pg.start_link()
    ...     otp.pg.join(("job", 1), otp.self())
    ...     return otp.pg.get_local_members(("job", 1)) == [otp.self()]
    >>> otp.run(main)
    True
    """
    found = _find(scope)
    members = found.local.get(_group_key(group)) if found is not None else None
    return list(members) if members else []


def which_groups(scope: str = DEFAULT_SCOPE) -> list[object]:
    """The groups with at least one member, on any node (a group without members is gone)."""
    found = _find(scope)
    return list(found.groups) if found is not None else []


def monitor(group: object, scope: str = DEFAULT_SCOPE) -> tuple[Ref, list[Pid]]:
    """Subscribe the caller to changes of `group`: return `(ref, current_members)`.

    >>> import otp
    >>> async def main():
    ...     await otp.pg.start_link()
    ...     ref, members = otp.pg.monitor("room")
    ...     otp.pg.join("room", otp.self())
    ...     got_ref, action, group, pids = await otp.receive()
    ...     return members, got_ref == ref, action, group, pids == [otp.self()]
    >>> otp.run(main)
    ([], True, 'join', 'room', True)

    From then on every change arrives as a message `(ref, "join", group,
    pids)` or `(ref, "leave", group, pids)`, in the order the scope saw
    them, until `demonitor(ref)` or the caller exits.

    Raises:
        NotInProcess: called outside an otp process.
        NoProc: no scope `scope` runs on this node.
    """
    proc = self_process()
    found = _running(scope, "monitor")
    key = _group_key(group)
    ref = proc.rt.make_ref()
    found.watching.setdefault(key, {})[ref] = proc
    found.index.add(proc, found)
    return ref, list(found.groups.get(key, ()))


def monitor_scope(scope: str = DEFAULT_SCOPE) -> tuple[Ref, dict[object, list[Pid]]]:
    """Subscribe the caller to changes of every group: return `(ref, {group: members})`.

    Changes arrive as `monitor`'s do.

    Raises:
        NotInProcess: called outside an otp process.
        NoProc: no scope `scope` runs on this node.
    """
    proc = self_process()
    found = _running(scope, "monitor_scope")
    ref = proc.rt.make_ref()
    found.scope_monitors[ref] = proc
    found.index.add(proc, found)
    return ref, {group: list(pids) for group, pids in found.groups.items()}


def demonitor(ref: Ref, scope: str = DEFAULT_SCOPE) -> bool:
    """End the subscription `ref` and drop its notifications still in the caller's mailbox.

    Returns:
        False when `ref` was not an active subscription of this scope.
    """
    proc = self_process()
    found = _find(scope)
    if found is None:
        return False
    if found.scope_monitors.pop(ref, None) is None:
        for group, subscribers in found.watching.items():
            if subscribers.pop(ref, None) is not None:
                if not subscribers:
                    del found.watching[group]
                break
        else:
            return False
    mailbox = proc.mailbox
    if mailbox:
        kept = [m for m in mailbox if not _notification_of(m, ref)]
        if len(kept) != len(mailbox):
            mailbox.clear()
            mailbox.extend(kept)
    return True


def _notification_of(msg: object, ref: Ref) -> bool:
    return (
        type(msg) is tuple
        and len(msg) == 4
        and type(msg[0]) is Ref
        and msg[0] == ref
        and msg[1] in ("join", "leave")
    )


__all__ = [
    "child_spec",
    "demonitor",
    "get_local_members",
    "get_members",
    "join",
    "leave",
    "monitor",
    "monitor_scope",
    "start",
    "start_link",
    "which_groups",
]

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

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from .._behaviours._gen_server import start_server
from .._errors import NoProc
from .._runtime._ids import Pid, Ref
from .._runtime._process import Process
from .._runtime._repr import show
from .._runtime._scheduler import current_node, self_process
from .._runtime._terms import freeze
from ._pg_scope import _find, _Scope, _ScopeServer

if TYPE_CHECKING:
    from .._behaviours._child import ChildSpec

DEFAULT_SCOPE: Final = "pg"


def _running(scope: str, what: str) -> _Scope:
    found = _find(scope)
    if found is None:
        raise NoProc(
            "noproc",
            f"pg.{what}: no pg scope runs as {show(scope)} on this node; start it first with "
            f"await otp.pg.start_link({show(scope)}) (or otp.pg.child_spec({show(scope)}) in a "
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
                f"pg.{what} takes a pid or a list of pids; got {show(pid)} ({type(pid).__name__})"
            )
        if pid.node != node.name or (isinstance(pid, Process) and pid.rt is not node):
            raise ValueError(
                f"pg.{what}: {show(pid)} runs on node {show(pid.node)}; "
                "only processes of this node "
                f"({show(node.name)}) can {what} a group here, as in OTP: call otp.pg.{what} "
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
            f"a pg group must be hashable (lists and dicts are frozen for you); got {show(group)} "
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
        raise TypeError(f"a pg scope is named by a non-empty str; got {show(scope)}")
    pid = await start_server(_ScopeServer, scope, scope, None, link=True)
    assert pid is not None
    return pid


async def start(scope: str = DEFAULT_SCOPE) -> Pid:
    """Like `start_link`, without the link."""
    if not isinstance(scope, str) or not scope:
        raise TypeError(f"a pg scope is named by a non-empty str; got {show(scope)}")
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

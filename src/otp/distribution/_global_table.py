"""One node's copy of `:global`'s tables: the global names and the locks.

Every node of a `:global` cluster keeps the same name table; the global
name server (`_global.py`) changes it for what other nodes ask, and keeps it
in step with theirs. The table is an exit hook of the node: a local process
that exits loses its name and its locks there and then, before anything else
runs (remote holders are monitored by the server, which calls `down`).

Names on the wire: `otp.Global("x")` is the atom `x`, as Erlang code writes
`{global, x}`; `otp.Atom` works the same. Any other term names as it
encodes (`bytes` for an Erlang binary, tuples, numbers); lists are frozen
so they can be keys. As atoms equal strings in Python, an Erlang name that
is the binary `<<"x">>` and the atom `x` are one name here.

Locks are OTP's `{ResourceId, LockRequesterId}`: a resource is held by one
requester id at a time, which any number of processes may share (the two
lockers of a connection share one id).

>>> from otp import Atom
>>> table = GlobalTable()
>>> key_of("x") == Atom("x"), type(key_of("x")).__name__, key_of([1, 2])
(True, 'Atom', FrozenList([1, 2]))
>>> table.whereis_name("x") is None
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, NamedTuple, Protocol, final

from .._runtime._ids import Pid, Ref
from .._runtime._names import GlobalHook
from .._runtime._process import Process
from .._runtime._repr import show
from .._runtime._terms import Atom, Export, freeze

if TYPE_CHECKING:
    from .._runtime._node import Node

GLOBAL: Final = Atom("global")
#: The method OTP's `global:register_name/2` uses: `fun global:random_exit_name/3`.
RANDOM_EXIT: Final = Export("global", "random_exit_name", 3)


def key_of(name: object) -> object:
    """The table key (and wire term) of the name in `otp.Global(name)`."""
    if type(name) is str:
        return Atom(name)
    key = freeze(name)
    try:
        hash(key)
    except TypeError:
        raise TypeError(
            f"otp.Global needs a hashable name (lists and dicts are frozen for you); "
            f"got {show(name)} ({type(name).__name__})"
        ) from None
    return key


class Service(Protocol):
    """Who registers this node's global names beyond it.

    The global name server of a visible node (`_global_cluster.Cluster`) is
    one; on a hidden node it is `_global_hidden.HiddenGlobal`, which
    registers through a visible peer (erpc to `global:register_name/2`).
    With none, names are this node's own.
    """

    async def register(self, key: object, pid: Pid) -> Pid | None:
        """Register `pid` as `key`: None if done, else the holder's pid."""
        ...


class Remote(Protocol):
    """Who knows the global names this table does not hold (a hidden node's peer).

    A visible node needs none: its table holds every name of its cluster.
    """

    async def whereis(self, key: object, timeout: float | None) -> Pid | None:
        """The holder of `key` as the peer sees it, or None."""
        ...

    def send(self, key: object, msg: object) -> bool:
        """Send `msg` to the holder of `key` through the peer; False if there is no peer."""
        ...


class Entry(NamedTuple):
    """A registered name: its process, OTP's resolve method, our monitor (remote pids)."""

    pid: Pid
    method: object
    ref: Ref | None


@final
class Lock:
    """A held resource: the requester id and each holder with our monitor on it."""

    __slots__ = ("holders", "req_id")

    def __init__(self, req_id: object) -> None:
        self.req_id = req_id
        self.holders: dict[Pid, Ref | None] = {}


@final
class GlobalTable:
    """The names and locks of one node (see the module docstring)."""

    __slots__ = ("global_lock_down", "locks", "names", "pid_names", "remote", "service")

    def __init__(self) -> None:
        self.names: dict[object, Entry] = {}
        self.pid_names: dict[Pid, object] = {}
        self.locks: dict[object, Lock] = {}
        #: True when the global lock went away because its holder died (OTP's flag).
        self.global_lock_down = False
        #: Registers names beyond this node (a visible node's name server), or None:
        #: names are then this node's only.
        self.service: Service | None = None
        #: Knows the names beyond this table (a hidden node's visible peer), or None.
        self.remote: Remote | None = None

    def __repr__(self) -> str:
        return f"<global table {len(self.names)} names, {len(self.locks)} locks>"

    # -- the runtime's GlobalNames ---------------------------------------------------

    def whereis_name(self, name: object) -> Pid | None:
        entry = self.names.get(key_of(name))
        if entry is None:
            return None
        if isinstance(entry.pid, Process) and not entry.pid.alive:
            return None
        return entry.pid

    async def register_name(self, name: object, pid: Pid) -> Pid | None:
        key = key_of(name)
        if self.service is not None:
            return await self.service.register(key, pid)
        holder = self.whereis_name(key)
        if holder is not None:
            return holder
        self.insert(key, pid, RANDOM_EXIT, None)
        return None

    async def lookup(self, name: object, timeout: float | None) -> Pid | None:
        if self.remote is None:
            return None
        return await self.remote.whereis(key_of(name), timeout)

    def send(self, name: object, msg: object) -> bool:
        return self.remote is not None and self.remote.send(key_of(name), msg)

    # -- names -------------------------------------------------------------------------

    def insert(self, key: object, pid: Pid, method: object, ref: Ref | None) -> None:
        self.delete(key)
        self.names[key] = Entry(pid, method, ref)
        self.pid_names[pid] = key

    def delete(self, key: object) -> Entry | None:
        """Remove `key`; return its entry (whose monitor the caller ends)."""
        entry = self.names.pop(key, None)
        if entry is not None and self.pid_names.get(entry.pid) == key:
            del self.pid_names[entry.pid]
        return entry

    def wire_names(self) -> list[tuple[object, Pid, object]]:
        """Every name as OTP's exchange sends them: `[{Name, Pid, Method}]`."""
        return [(key, e.pid, e.method) for key, e in self.names.items()]

    # -- locks -------------------------------------------------------------------------

    def can_set_lock(self, lock_id: object) -> bool:
        resource, req_id = _split(lock_id)
        lock = self.locks.get(resource)
        return lock is None or lock.req_id == req_id

    def set_lock(self, lock_id: object, pid: Pid) -> bool | None:
        """Add `pid` as a holder: False if taken, None if added, True if it held it already."""
        resource, req_id = _split(lock_id)
        lock = self.locks.get(resource)
        if lock is None:
            lock = self.locks[resource] = Lock(req_id)
        elif lock.req_id != req_id:
            return False
        if pid in lock.holders:
            return True
        lock.holders[pid] = None
        return None

    def del_lock(self, lock_id: object, pid: Pid, down: bool = False) -> Ref | None:
        """Remove `pid` as a holder; return our monitor on it (the caller ends it)."""
        resource, req_id = _split(lock_id)
        lock = self.locks.get(resource)
        if lock is None or lock.req_id != req_id or pid not in lock.holders:
            return None
        ref = lock.holders.pop(pid)
        if not lock.holders:
            del self.locks[resource]
            if resource == GLOBAL:
                self.global_lock_down = down
        return ref

    def is_global_lock_set(self) -> bool:
        return GLOBAL in self.locks

    # -- holders that go away -----------------------------------------------------------

    def __call__(self, proc: Process) -> None:
        """A local process exited: its name and its locks go."""
        key = self.pid_names.get(proc)
        if key is not None:
            self.delete(key)
        for resource, lock in list(self.locks.items()):
            if proc in lock.holders:
                self.del_lock((resource, lock.req_id), proc, down=True)

    def down(self, ref: Ref, pid: object) -> None:
        """Our monitor `ref` on the remote holder `pid` fired."""
        if isinstance(pid, Pid):
            key = self.pid_names.get(pid)
            if key is not None and self.names[key].ref == ref:
                self.delete(key)
            for resource, lock in list(self.locks.items()):
                if lock.holders.get(pid) == ref:
                    self.del_lock((resource, lock.req_id), pid, down=True)

    def drop_node(self, node: str) -> list[Ref]:
        """Forget every name and lock held by processes of `node`; return our monitors."""
        refs: list[Ref] = []
        for key, entry in list(self.names.items()):
            if entry.pid.node == node:
                self.delete(key)
                if entry.ref is not None:
                    refs.append(entry.ref)
        for resource, lock in list(self.locks.items()):
            for pid in [p for p in lock.holders if p.node == node]:
                ref = self.del_lock((resource, lock.req_id), pid, down=True)
                if ref is not None:
                    refs.append(ref)
        return refs


def _split(lock_id: object) -> tuple[object, object]:
    if type(lock_id) is not tuple or len(lock_id) != 2:
        raise TypeError(f"a global lock id is (resource, requester); got {show(lock_id)}")
    return freeze(lock_id[0]), freeze(lock_id[1])


def table_of(node: Node) -> GlobalTable:
    """The global table of `node` (made on first use)."""
    return node.exit_hook(GlobalTable)


GlobalHook.table = table_of

__all__ = [
    "GLOBAL",
    "RANDOM_EXIT",
    "Entry",
    "GlobalTable",
    "Lock",
    "Remote",
    "Service",
    "key_of",
    "table_of",
]

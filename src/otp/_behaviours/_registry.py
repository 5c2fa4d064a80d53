"""Registry: a local key-value store of processes (Elixir's Registry).

Processes register themselves under keys, with a value; any process looks
them up by key. Entries vanish the moment their process exits.

Example::

    >>> import otp
    >>> async def main():
    ...     await otp.Registry.start_link(keys="unique", name="rooms")
    ...     otp.Registry.register("rooms", "lobby", {"topic": "hello"})
    ...     [(pid, value)] = otp.Registry.lookup("rooms", "lobby")
    ...     return pid == otp.self(), value
    >>> otp.run(main)
    (True, {'topic': 'hello'})

Keys: a `"unique"` registry maps a key to at most one process (a second
`register` raises `otp.AlreadyRegistered`); a `"duplicate"` registry maps a
key to any number of entries, which makes a local pub/sub (see `dispatch`).
A process may hold many keys. Keys compare with Python's `==` and hash.

Client API: every function except `start_link` is a plain function that
reads or writes the registry's tables directly, in the calling process,
without waiting on the registry process: `register`, `unregister`,
`unregister_match`, `lookup`, `keys`, `values`, `match`, `count`,
`count_match`, `select`, `dispatch`, `update_value`, `meta`, `put_meta`,
`delete_meta`. `reg` is the name given to `start_link` (or its pid).

Patterns: where Elixir takes a match pattern and guards on the value
(`match`, `count_match`, `unregister_match`), these take a predicate on
the value, `lambda value: ...`; Elixir's full match specs (`select`)
become a predicate on `(key, pid, value)`. Predicates run in the caller,
outside the registry's locks.

Name registration: `otp.Via(reg, key)` names a process through a unique
registry wherever a server is accepted:
`await Worker.start_link(arg, name=otp.Via("workers", 42))`, then
`otp.call(otp.Via("workers", 42), request)`, `cast`, `send`, `stop`, `whereis`.

Links: as in Elixir, a registered process is linked to the registry
process (until it unregisters its last key), so the registrants of a
registry that crashes exit with it; the registry traps exits.

Partitions: `partitions=n` splits the tables (by key for unique
registries, by process for duplicate ones), each with its own lock, for
less contention between threads. A duplicate registry's `lookup` then reads
every partition, and `dispatch` calls its function once per partition.

How to supervise: start the registry before the processes that use it:
put `otp.Registry.child_spec(keys=..., name=...)` first in a supervisor's
children, with the `rest_for_one` strategy (its registrants exit with it).

When not to use it: for names of single long-lived servers, a plain
`name="..."` is simpler; a registry is for many dynamic keys.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, cast, final

from .._errors import AlreadyRegistered, NoProc
from .._runtime._ids import Pid
from .._runtime._messages import Exited
from .._runtime._process import Process
from .._runtime._repr import show
from .._runtime._scheduler import current_node, self_process
from .._runtime._signals import trap_exit
from ._gen_server import GenServer, start_server
from ._results import NoReply

if TYPE_CHECKING:
    from .._runtime._node import Node
    from ._child import ChildSpec

Keys = Literal["unique", "duplicate"]
Entry = tuple[Pid, object]
_StartArg = tuple[Keys, str, int, dict[object, object]]


@final
class Registry:
    """The functions of a registry; a registry is named by what `start_link` got as `name`.

    >>> import otp
    >>> async def subscriber(parent):
    ...     otp.Registry.register("pubsub", "news", None)
    ...     otp.send(parent, "subscribed")
    ...     otp.send(parent, await otp.receive())
    >>> async def main():
    ...     await otp.Registry.start_link(keys="duplicate", name="pubsub")
    ...     otp.spawn(subscriber, otp.self())
    ...     await otp.receive()
    ...     otp.Registry.dispatch("pubsub", "news",
    ...                           lambda entries: [otp.send(p, "extra!") for p, _ in entries])
    ...     return await otp.receive()
    >>> otp.run(main)
    'extra!'
    """

    def __init__(self) -> None:
        raise TypeError(
            "otp.Registry is used through its functions: start one with "
            "await otp.Registry.start_link(keys='unique', name='my_registry'), then call "
            "otp.Registry.register('my_registry', key, value)"
        )

    @staticmethod
    async def start_link(
        *,
        keys: Keys,
        name: str,
        partitions: int = 1,
        meta: dict[object, object] | None = None,
    ) -> Pid:
        """Start a registry process linked to the caller, registered as `name`.

        Waits until the registry is ready (no timeout: it starts at once).

        Args:
            keys: `"unique"` or `"duplicate"`.
            name: how every other function, and `otp.Via`, names the registry.
            partitions: how many independently locked tables to split it into.
            meta: initial metadata, read with `meta` and written with `put_meta`.

        Raises:
            AlreadyStarted: `name` is taken (`.pid` holds its owner).
        """
        if keys not in ("unique", "duplicate"):
            raise ValueError(
                f"Registry.start_link: keys must be 'unique' or 'duplicate'; got {show(keys)}"
            )
        if not isinstance(name, str) or not name:
            raise TypeError(f"Registry.start_link: name must be a non-empty str; got {show(name)}")
        if type(partitions) is not int or partitions < 1:
            raise ValueError(
                f"Registry.start_link: partitions must be a positive int; got {show(partitions)}"
            )
        arg = (keys, name, partitions, dict(meta or {}))
        pid = await start_server(_RegistryServer, arg, name, None, link=True)
        assert pid is not None
        return pid

    @staticmethod
    def child_spec(
        *,
        keys: Keys,
        name: str,
        partitions: int = 1,
        meta: dict[object, object] | None = None,
        **spec: object,
    ) -> ChildSpec:
        """A supervisor child spec that starts the registry with `start_link`.

        The id defaults to `name`; `spec` may override the spec fields
        (`id=`, `restart=`, `shutdown=`).
        """
        from ._child import ChildSpec

        async def start() -> Pid:
            return await Registry.start_link(keys=keys, name=name, partitions=partitions, meta=meta)

        child = ChildSpec(id=name, start=start)
        return child.replace(**spec) if spec else child

    @staticmethod
    def register(reg: str | Pid, key: object, value: object) -> None:
        """Register the calling process under `key` with `value`.

        In a duplicate registry a process may register the same key many times.

        Raises:
            AlreadyRegistered: a unique key held by another process, or by the caller.
            NotInProcess: called outside a process.
            NoProc: no registry is running as `reg`.
        """
        proc = self_process()
        _registry(reg, "register").register(proc, key, value)

    @staticmethod
    def unregister(reg: str | Pid, key: object) -> None:
        """Remove every entry of the calling process under `key` (none: nothing happens)."""
        proc = self_process()
        _registry(reg, "unregister").unregister(proc, key)

    @staticmethod
    def unregister_match(reg: str | Pid, key: object, pred: Callable[[object], object]) -> None:
        """Remove the calling process's entries under `key` whose value satisfies `pred(value)`.

        >>> import otp
        >>> async def main():
        ...     await otp.Registry.start_link(keys="duplicate", name="topics")
        ...     for n in range(4):
        ...         otp.Registry.register("topics", "news", n)
        ...     otp.Registry.unregister_match("topics", "news", lambda n: n % 2 == 0)
        ...     return otp.Registry.values("topics", "news", otp.self())
        >>> otp.run(main)
        [1, 3]

        Other processes' entries are never touched, whatever their values;
        no matching entry: nothing happens.
        """
        proc = self_process()
        _registry(reg, "unregister_match").unregister_match(proc, key, pred)

    @staticmethod
    def lookup(reg: str | Pid, key: object) -> list[Entry]:
        """The `(pid, value)` entries under `key`, in no particular order."""
        return _registry(reg, "lookup").lookup(key)

    @staticmethod
    def keys(reg: str | Pid, pid: Pid) -> list[object]:
        """The keys `pid` registered (a key once per registration in a duplicate registry)."""
        return _registry(reg, "keys").keys_of(pid)

    @staticmethod
    def values(reg: str | Pid, key: object, pid: Pid) -> list[object]:
        """The values that `pid` registered under `key`."""
        return [v for p, v in _registry(reg, "values").lookup(key) if p is pid]

    @staticmethod
    def match(reg: str | Pid, key: object, pred: Callable[[object], object]) -> list[Entry]:
        """The entries under `key` whose value satisfies `pred(value)`."""
        return [(p, v) for p, v in _registry(reg, "match").lookup(key) if pred(v)]

    @staticmethod
    def count_match(reg: str | Pid, key: object, pred: Callable[[object], object]) -> int:
        """How many entries under `key`, of any process, have a value satisfying `pred(value)`.

        >>> import otp
        >>> async def main():
        ...     await otp.Registry.start_link(keys="duplicate", name="sizes")
        ...     for size in (1, 5, 10):
        ...         otp.Registry.register("sizes", "shard", size)
        ...     return otp.Registry.count_match("sizes", "shard", lambda size: size > 2)
        >>> otp.run(main)
        2
        """
        return sum(1 for _, v in _registry(reg, "count_match").lookup(key) if pred(v))

    @staticmethod
    def count(reg: str | Pid) -> int:
        """How many entries the registry holds."""
        return _registry(reg, "count").count()

    @staticmethod
    def select(
        reg: str | Pid, pred: Callable[[object, Pid, object], object] | None = None
    ) -> list[tuple[object, Pid, object]]:
        """The `(key, pid, value)` entries, of every key, for which `pred(key, pid, value)` is true.

        >>> import otp
        >>> async def main():
        ...     await otp.Registry.start_link(keys="unique", name="users")
        ...     otp.Registry.register("users", "ann", {"admin": True})
        ...     otp.Registry.register("users", "bob", {"admin": False})
        ...     admins = otp.Registry.select("users", lambda key, pid, value: value["admin"])
        ...     return [key for key, _pid, _value in admins]
        >>> otp.run(main)
        ['ann']

        Elixir's `Registry.select/2` with a full match spec: the spec's
        pattern and guards are `pred` (None selects every entry), and its
        body is whatever the caller builds from the triples, e.g. a list
        comprehension. Entries come in no particular order.
        """
        entries = _registry(reg, "select").entries()
        if pred is None:
            return entries
        return [entry for entry in entries if pred(*entry)]

    @staticmethod
    def dispatch(reg: str | Pid, key: object, fn: Callable[[list[Entry]], object]) -> None:
        """Call `fn(entries)` with the `(pid, value)` entries under `key`, in the caller.

        `fn` is not called when there are none. In a duplicate registry with
        several partitions, it is called once per partition that has entries.
        The registered processes take no part unless `fn` sends to them.

        Raises:
            TypeError: `fn` is `async def` (dispatch cannot wait; send messages instead).
        """
        for entries in _registry(reg, "dispatch").groups(key):
            result = fn(entries)
            if inspect.iscoroutine(result):
                result.close()
                raise TypeError(
                    "Registry.dispatch calls fn without waiting, so fn must be a plain "
                    "function; send messages to the entries' pids instead of awaiting"
                )

    @staticmethod
    def update_value(
        reg: str | Pid, key: object, fn: Callable[[object], object]
    ) -> tuple[object, object] | None:
        """Replace the caller's value under a unique `key` by `fn(old)`; return `(new, old)`.

        Returns None when the caller holds no entry under `key`.

        Raises:
            ValueError: the registry has duplicate keys.
        """
        proc = self_process()
        return _registry(reg, "update_value").update_value(proc, key, fn)

    @staticmethod
    def meta(reg: str | Pid, key: object) -> object:
        """The registry metadata under `key`, or None."""
        return _registry(reg, "meta").meta.get(key)

    @staticmethod
    def put_meta(reg: str | Pid, key: object, value: object) -> None:
        """Store `value` as the registry metadata under `key`."""
        _registry(reg, "put_meta").meta[key] = value

    @staticmethod
    def delete_meta(reg: str | Pid, key: object) -> None:
        """Remove the registry metadata under `key` (absent: nothing happens)."""
        _registry(reg, "delete_meta").meta.pop(key, None)


# -- the tables ---------------------------------------------------------------------


@final
class _Partition:
    """One independently locked slice of a registry."""

    __slots__ = ("dup", "lock", "pids", "size", "unique")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.unique: dict[object, tuple[Process, object]] = {}
        self.dup: dict[object, dict[Process, list[object]]] = {}
        self.pids: dict[Process, list[object]] = {}  # each process's keys
        self.size = 0


@final
class _State:
    """The tables of one registry: its partitions and metadata."""

    __slots__ = ("closed", "index", "meta", "name", "parts", "proc", "unique")

    def __init__(
        self, proc: Process, keys: Keys, name: str, parts: int, meta: dict[object, object]
    ) -> None:
        self.proc = proc
        self.name = name
        self.unique = keys == "unique"
        self.parts = [_Partition() for _ in range(parts)]
        self.meta = meta
        self.closed = False
        self.index = _index_of(proc.rt)

    def __repr__(self) -> str:
        kind = "unique" if self.unique else "duplicate"
        return f"<Registry {show(self.name)} {kind}, {self.count()} entries>"

    def part_of(self, key: object, pid: Process) -> _Partition:
        """Unique registries partition by key, duplicate ones by process (as Elixir)."""
        parts = self.parts
        if len(parts) == 1:
            return parts[0]
        if self.unique:
            return parts[hash(key) % len(parts)]
        return parts[pid._id % len(parts)]

    # -- writes -----------------------------------------------------------------

    def register(self, proc: Process, key: object, value: object) -> None:
        _check_key(key)
        part = self.part_of(key, proc)
        with part.lock:
            if self.unique:
                holder = part.unique.get(key)
                if holder is not None:
                    owner = holder[0]
                    who = "the calling process" if owner is proc else repr(owner)
                    raise AlreadyRegistered(
                        owner,
                        f"the key {show(key)} of registry {show(self.name)} is already registered "
                        f"to {who}; use a duplicate registry to allow many entries per key",
                    )
                part.unique[key] = (proc, value)
            else:
                part.dup.setdefault(key, {}).setdefault(proc, []).append(value)
            part.pids.setdefault(proc, []).append(key)
            part.size += 1
        self.index.add(proc, self)

    def unregister(self, proc: Process, key: object) -> None:
        part = self.part_of(key, proc)
        with part.lock:
            if not self._drop(part, proc, key):
                return
        if not any(proc in p.pids for p in self.parts):
            self.index.discard(proc, self)

    def unregister_match(
        self, proc: Process, key: object, pred: Callable[[object], object]
    ) -> None:
        part = self.part_of(key, proc)
        with part.lock:
            if self.unique:
                entry = part.unique.get(key)
                values = [entry[1]] if entry is not None and entry[0] is proc else []
            else:
                values = list(part.dup.get(key, {}).get(proc, ()))
        # `pred` is user code: it runs outside the lock. Only `proc` (the
        # caller, running now) changes its own entries, so they are unchanged.
        drop = [bool(pred(v)) for v in values]
        n = sum(drop)
        if n == 0:
            return
        with part.lock:
            if n == len(values):
                self._drop(part, proc, key)
            else:  # some of a duplicate registry's entries stay
                part.dup[key][proc] = [v for v, d in zip(values, drop, strict=True) if not d]
                part.pids[proc] = _without(part.pids[proc], key, n)
                part.size -= n
        if not any(proc in p.pids for p in self.parts):
            self.index.discard(proc, self)

    def _drop(self, part: _Partition, proc: Process, key: object) -> bool:
        """Remove `proc`'s entries under `key` from `part` (lock held)."""
        mine = part.pids.get(proc)
        if mine is None or key not in mine:
            return False
        n = mine.count(key)
        kept = [k for k in mine if k != key]
        if kept:
            part.pids[proc] = kept
        else:
            del part.pids[proc]
        if self.unique:
            del part.unique[key]
        else:
            by_pid = part.dup[key]
            del by_pid[proc]
            if not by_pid:
                del part.dup[key]
        part.size -= n
        return True

    def purge(self, proc: Process) -> None:
        """`proc` exited: remove all its entries."""
        for part in self.parts:
            if proc not in part.pids:
                continue
            with part.lock:
                for key in set(part.pids.get(proc, ())):
                    self._drop(part, proc, key)

    def close(self) -> None:
        self.closed = True
        for part in self.parts:
            with part.lock:
                part.unique.clear()
                part.dup.clear()
                part.pids.clear()
                part.size = 0

    def update_value(
        self, proc: Process, key: object, fn: Callable[[object], object]
    ) -> tuple[object, object] | None:
        if not self.unique:
            raise ValueError(
                f"Registry.update_value needs a unique registry; {show(self.name)} has duplicate "
                f"keys: unregister and register again instead"
            )
        part = self.part_of(key, proc)
        with part.lock:
            entry = part.unique.get(key)
        if entry is None or entry[0] is not proc:
            return None
        old = entry[1]
        new = fn(old)
        with part.lock:
            if part.unique.get(key) is entry:
                part.unique[key] = (proc, new)
        return new, old

    # -- reads ------------------------------------------------------------------

    def lookup(self, key: object) -> list[Entry]:
        if self.unique:
            entry = self.part_of(key, self.proc).unique.get(key)
            return [] if entry is None else [entry]
        return [e for group in self.groups(key) for e in group]

    def groups(self, key: object) -> list[list[Entry]]:
        """The entries under `key`, one non-empty list per partition that has some."""
        if self.unique:
            part = self.parts[hash(key) % len(self.parts)] if len(self.parts) > 1 else self.parts[0]
            entry = part.unique.get(key)
            return [] if entry is None else [[entry]]
        out: list[list[Entry]] = []
        for part in self.parts:
            with part.lock:
                by_pid = part.dup.get(key)
                if by_pid:
                    out.append([(p, v) for p, vs in by_pid.items() for v in vs])
        return out

    def keys_of(self, pid: Pid) -> list[object]:
        if not isinstance(pid, Process):
            return []
        parts = self.parts if self.unique else [self.part_of(None, pid)]
        out: list[object] = []
        for part in parts:
            with part.lock:
                out.extend(part.pids.get(pid, ()))
        return out

    def count(self) -> int:
        return sum(part.size for part in self.parts)

    def entries(self) -> list[tuple[object, Pid, object]]:
        out: list[tuple[object, Pid, object]] = []
        for part in self.parts:
            with part.lock:
                if self.unique:
                    out.extend((k, p, v) for k, (p, v) in part.unique.items())
                else:
                    for k, by_pid in part.dup.items():
                        out.extend((k, p, v) for p, vs in by_pid.items() for v in vs)
        return out

    # -- the otp.Via protocol ----------------------------------------------------

    def whereis_name(self, key: object) -> Pid | None:
        self._via_only()
        entries = self.lookup(key)
        return entries[0][0] if entries else None

    def register_name(self, key: object, pid: Pid) -> bool:
        self._via_only()
        if not isinstance(pid, Process) or not pid.alive:
            return False
        try:
            self.register(pid, key, None)
        except AlreadyRegistered:
            return False
        return True

    def unregister_name(self, key: object) -> None:
        self._via_only()
        entries = self.lookup(key)
        if entries and isinstance(entries[0][0], Process):
            self.unregister(entries[0][0], key)

    def _via_only(self) -> None:
        if not self.unique:
            raise ValueError(
                f"otp.Via needs a registry with unique keys; {show(self.name)} has duplicate keys"
            )


def _without(keys: list[object], key: object, n: int) -> list[object]:
    """`keys` less `n` occurrences of `key`."""
    kept: list[object] = []
    for k in keys:
        if n and k == key:
            n -= 1
        else:
            kept.append(k)
    return kept


def _check_key(key: object) -> None:
    try:
        hash(key)
    except TypeError:
        raise TypeError(
            f"a registry key must be hashable; got {show(key)} ({type(key).__name__}): use a "
            f"tuple instead of a list, or a frozenset instead of a set"
        ) from None


# -- the registry process -----------------------------------------------------------


class _RegistryServer(GenServer):
    """The process behind a registry: it owns the tables and traps its registrants' exits.

    It also implements the `otp.Via` protocol, which is how the runtime
    resolves `otp.Via(name, key)` through the process registered as `name`.
    """

    _otp_label = "Registry"

    def __init__(self) -> None:
        self.registry: _State | None = None

    def init(self, arg: object) -> object:
        keys, name, partitions, meta = cast(_StartArg, arg)
        proc = self_process()
        trap_exit(True)
        state = _State(proc, keys, name, partitions, meta)
        state.index.servers[proc] = state
        self.registry = state
        return state

    def handle_info(self, msg: object, state: object) -> Any:
        if type(msg) is Exited:
            return NoReply(state)  # a registrant exited: its entries went with it
        return super().handle_info(msg, state)

    def whereis_name(self, key: object) -> Pid | None:
        return self._state().whereis_name(key)

    def register_name(self, key: object, pid: Pid) -> bool:
        return self._state().register_name(key, pid)

    def unregister_name(self, key: object) -> None:
        self._state().unregister_name(key)

    def _state(self) -> _State:
        state = self.registry
        if state is None or state.closed:
            raise NoProc("noproc", "otp.Via: the registry is not running")
        return state


def _registry(reg: object, what: str) -> _State:
    node = current_node()
    target = node.names.get(reg) if isinstance(reg, str) else reg
    impl = getattr(target, "impl", None)
    if type(impl) is _RegistryServer:
        state = impl.registry
        if state is not None and not state.closed:
            return state
    raise NoProc(
        "noproc",
        f"Registry.{what}: no registry is running as {show(reg)}; start one with "
        f"await otp.Registry.start_link(keys='unique', name={show(reg)})",
    )


# -- the node's index of registrants ------------------------------------------------
#
# One `_Index` per node, kept in `node.exit_hooks` (found by type), maps each
# registered process to the registries it has entries in, and each registry
# process to its tables. A process in no registry costs two dict membership
# tests when it dies.


@final
class _Index:
    __slots__ = ("by_pid", "lock", "servers")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_pid: dict[Process, set[_State]] = {}
        self.servers: dict[Process, _State] = {}

    def __call__(self, proc: Process) -> None:
        if proc in self.by_pid:
            with self.lock:
                states = self.by_pid.pop(proc, set())
            for state in states:
                state.purge(proc)
        if proc in self.servers:
            self.servers.pop(proc).close()

    def add(self, proc: Process, state: _State) -> None:
        with self.lock:
            states = self.by_pid.get(proc)
            if states is None:
                states = self.by_pid[proc] = set()
            if state in states:
                return
            states.add(state)
        if proc is not state.proc:
            proc.rt.route_link(proc, state.proc)

    def discard(self, proc: Process, state: _State) -> None:
        with self.lock:
            states = self.by_pid.get(proc)
            if states is None or state not in states:
                return
            states.discard(state)
            if not states:
                del self.by_pid[proc]
        if proc is not state.proc:
            proc.rt.route_unlink(proc, state.proc)


def registry_summaries(node: Node) -> list[dict[str, object]]:
    """Each running registry of `node`, as plain terms (for `otp.observer`)."""
    index = node.exit_hook(_Index, create=False)
    with index.lock:
        states = list(index.servers.values())
    return [
        {
            "name": s.name,
            "pid": str(s.proc),
            "keys": "unique" if s.unique else "duplicate",
            "partitions": len(s.parts),
            "size": s.count(),
        }
        for s in states
        if not s.closed
    ]


def _index_of(node: Node) -> _Index:
    return node.exit_hook(_Index)


__all__ = ["Registry"]

"""Tables: in-memory storage that many processes read without a server (Erlang's ets).

A table holds tuples keyed by their first element. It is owned by the
process that created it and is deleted when that process exits.

Example::

    >>> import otp
    >>> async def main():
    ...     table = otp.Table(name="prices")
    ...     table.insert([("apple", 3), ("pear", 5)])
    ...     table.update_counter("apple", 2)
    ...     return table.lookup("apple"), otp.Table.named("prices").lookup("kiwi")
    >>> otp.run(main)
    ([('apple', 5)], [])

Types: `"set"` (one object per key, the default), `"ordered_set"` (one per
key, iterated in key order, with range queries and `first`/`next`),
`"bag"` (many objects per key, no two equal) and `"duplicate_bag"` (many,
equal ones allowed). Keys compare with Python's `==` and hash; in an
`ordered_set` they must also be comparable with each other with `<`.

Access: `"protected"` (the default: the owner writes, everyone reads),
`"public"` (everyone reads and writes), `"private"` (only the owner).
Anything else raises `otp.TableError`, as does any use of a deleted table.
Every operation is atomic and safe to call from any thread; `select`
predicates run outside the table's lock, on a snapshot.

Ownership: a table must be created inside a process (a GenServer's `init`,
`otp.spawn`, `otp.run`'s main); it raises `otp.NotInProcess` elsewhere,
since a table owned by nobody would never be deleted. When the owner exits,
the table is deleted, unless it has an `heir`: a live process that then
becomes the owner and receives `("ETS-TRANSFER", table, from_pid,
heir_data)`. `give_away(pid, data)` hands a table over while the owner lives.

Name registration: `otp.Table(name="cache")` makes the table reachable
from any process of the node as `otp.Table.named("cache")` until it is deleted.

How to supervise: create the table in the `init` of a long-lived GenServer
under a supervisor, so the data lives as long as that server, and let
other processes read it directly: reads never wait for the owner.

When not to use it: for state that changes in steps that must be seen
together, use a GenServer; a table only makes single operations atomic.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from threading import get_ident
from typing import TYPE_CHECKING, Literal, Protocol, final

from sortedcontainers import SortedList  # type: ignore[import-untyped,unused-ignore]

from .._errors import NotInProcess, TableError
from .._runtime._ids import Pid
from .._runtime._process import Process
from .._runtime._repr import show
from .._runtime._scheduler import (
    current_node,
    current_process,
    node_of_loop,
    off_loop,
    running_nodes,
)
from ._table_owners import _tables_of

if TYPE_CHECKING:
    from .._runtime._node import Node

#: A table object: a tuple whose first element is its key.
Obj = tuple[object, ...]
TableType = Literal["set", "ordered_set", "bag", "duplicate_bag"]
Access = Literal["protected", "public", "private"]

_TYPES = ("set", "ordered_set", "bag", "duplicate_bag")
_ACCESS = ("protected", "public", "private")


class _KeyOrder(Protocol):
    """What the table needs of `sortedcontainers.SortedList`."""

    def add(self, value: object) -> None: ...
    def remove(self, value: object) -> None: ...
    def clear(self) -> None: ...
    def bisect_left(self, value: object) -> int: ...
    def bisect_right(self, value: object) -> int: ...
    def irange(
        self, minimum: object, maximum: object, inclusive: tuple[bool, bool]
    ) -> Iterator[object]: ...
    def __getitem__(self, index: int) -> object: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[object]: ...


@final
class Table:
    """A table of tuples keyed by their first element, owned by the creating process.

    >>> import otp
    >>> async def main():
    ...     t = otp.Table(type="ordered_set")
    ...     t.insert([(3, "c"), (1, "a"), (2, "b")])
    ...     return list(t), t.select_range(2, None), t.next(1)
    >>> otp.run(main)
    ([(1, 'a'), (2, 'b'), (3, 'c')], [(2, 'b'), (3, 'c')], 2)

    Args:
        name: makes the table reachable as `otp.Table.named(name)`.
        type: `"set"`, `"ordered_set"`, `"bag"` or `"duplicate_bag"`.
        access: `"protected"`, `"public"` or `"private"`.
        heir: a pid that becomes the owner when the owner exits.
        heir_data: the last element of the `"ETS-TRANSFER"` message the heir gets.

    Raises:
        NotInProcess: created outside a process, or off its node's event loop.
        AlreadyRegistered: `name` is taken by a live table (`.pid` is its owner).
    """

    __slots__ = (
        "__weakref__",
        "_access",
        "_bag",
        "_deleted",
        "_dup",
        "_heir",
        "_heir_data",
        "_lock",
        "_many",
        "_name",
        "_one",
        "_order",
        "_owner",
        "_size",
        "_tables",
        "_type",
    )

    def __init__(
        self,
        name: str | None = None,
        type: TableType = "set",
        access: Access = "protected",
        heir: Pid | None = None,
        heir_data: object = None,
    ) -> None:
        if type not in _TYPES:
            raise ValueError(f"otp.Table: type must be one of {_TYPES}; got {show(type)}")
        if access not in _ACCESS:
            raise ValueError(f"otp.Table: access must be one of {_ACCESS}; got {show(access)}")
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"otp.Table: a name must be a non-empty str or None; got {show(name)}")
        owner = current_process.get()
        if owner is not None and owner.rt.loop_thread != get_ident():
            raise off_loop("otp.Table", owner.rt, owner)  # e.g. in an asyncio.to_thread worker
        if owner is None and node_of_loop() is None and running_nodes():
            raise off_loop("otp.Table")  # a thread, while a node runs elsewhere
        if owner is None or not owner.alive:
            raise NotInProcess(
                "not_in_process",
                "otp.Table must be created inside an otp process, which owns it and whose "
                "exit deletes it: create it in a GenServer's init, in otp.run's main or "
                "in a process started with otp.spawn",
            )
        self._name = name
        self._type: TableType = type
        self._access: Access = access
        self._bag = type in ("bag", "duplicate_bag")
        self._dup = type == "duplicate_bag"
        self._one: dict[object, Obj] = {}
        self._many: dict[object, list[Obj]] = {}
        self._order: _KeyOrder | None = SortedList() if type == "ordered_set" else None
        self._size = 0
        self._lock = threading.Lock()
        self._deleted: str | None = None
        self._owner: Process = owner
        self._heir: Process | None = None
        self._heir_data: object = None
        if heir is not None:
            self._heir = _live_local(heir, "heir")
            self._heir_data = heir_data
        self._tables = _tables_of(owner.rt)
        self._tables.add(self)

    def __repr__(self) -> str:
        label = repr(self._name) if self._name is not None else f"at {id(self):#x}"
        if self._deleted is not None:
            return f"<Table {label} deleted>"
        return (
            f"<Table {label} {self._type} {self._access}, {self._size} objects, "
            f"owner {self._owner}>"
        )

    # -- properties -------------------------------------------------------------

    @property
    def name(self) -> str | None:
        """The name given at creation, or None."""
        return self._name

    @property
    def type(self) -> TableType:
        """`"set"`, `"ordered_set"`, `"bag"` or `"duplicate_bag"`."""
        return self._type

    @property
    def access(self) -> Access:
        """`"protected"`, `"public"` or `"private"`."""
        return self._access

    @property
    def owner(self) -> Pid | None:
        """The owning process, or None once the table is deleted."""
        return None if self._deleted is not None else self._owner

    @property
    def heir(self) -> Pid | None:
        """The process that inherits the table when the owner exits, or None."""
        return self._heir

    @property
    def deleted(self) -> bool:
        """Whether the table was deleted (its owner exited, or `delete_table`)."""
        return self._deleted is not None

    @classmethod
    def named(cls, name: str) -> Table:
        """The live table created with `name` on this node.

        A table found here may be used from any thread; the look-up itself
        needs the node's event loop (from another thread, do it in
        `otp.from_thread.run`).

        Raises:
            TableError: no live table has that name.
            NotInProcess: called off the node's event loop.
        """
        tables = _tables_of(current_node("otp.Table.named"), create=False)
        table = tables.named.get(name) if tables is not None else None
        if table is None:
            raise TableError(
                f"otp.Table.named: no table is named {show(name)} on this node. Create it "
                f"with otp.Table(name={show(name)}); a table is deleted when its owner exits "
                f"(give it an heir=, or create it in a long-lived process)"
            )
        return table

    # -- writing ----------------------------------------------------------------

    def insert(self, objects: Obj | list[Obj]) -> None:
        """Insert an object, or a list of objects, atomically.

        In a `set` or `ordered_set` an object replaces the one with the same
        key; a `bag` ignores an object equal to one it holds; a
        `duplicate_bag` keeps every copy.
        """
        if type(objects) is tuple and objects:
            # One object (the common case): skip building a list. Python
            # itself rejects an unhashable key before the table changes.
            with self._lock:
                self._check_write("insert")
                try:
                    self._put(objects)
                except TypeError:
                    _objects(objects, "insert")  # raises a clearer error for a bad key
                    raise
            return
        objs = _objects(objects, "insert")
        with self._lock:
            self._check_write("insert")
            for obj in objs:
                self._put(obj)

    def insert_new(self, objects: Obj | list[Obj]) -> bool:
        """Like `insert`, but insert nothing and return False if any key is present."""
        objs = _objects(objects, "insert_new")
        with self._lock:
            self._check_write("insert_new")
            store = self._many if self._bag else self._one
            if any(obj[0] in store for obj in objs):
                return False
            for obj in objs:
                self._put(obj)
            return True

    def delete(self, key: object) -> None:
        """Delete every object with `key` (nothing happens when there is none)."""
        with self._lock:
            self._check_write("delete")
            self._drop_key(key)

    def delete_object(self, obj: Obj) -> None:
        """Delete the objects equal to `obj` (every copy in a `duplicate_bag`)."""
        (obj,) = _objects(obj, "delete_object")
        key = obj[0]
        with self._lock:
            self._check_write("delete_object")
            if not self._bag:
                if key in self._one and self._one[key] == obj:
                    self._drop_key(key)
                return
            kept = [o for o in self._many.get(key, ()) if o != obj]
            self._drop_key(key)
            if kept:
                self._many[key] = kept
                self._size += len(kept)

    def delete_all_objects(self) -> None:
        """Empty the table."""
        with self._lock:
            self._check_write("delete_all_objects")
            self._clear()

    def take(self, key: object) -> list[Obj]:
        """Delete the objects with `key` and return them."""
        with self._lock:
            self._check_write("take")
            found = self._get(key)
            self._drop_key(key)
            return found

    def update_counter(self, key: object, n: int, default: Obj | None = None) -> int:
        """Add `n` to the second element of the object with `key`; return the new value.

        >>> import otp
        >>> async def main():
        ...     hits = otp.Table()
        ...     hits.update_counter("/", 1, default=("/", 0))
        ...     return hits.update_counter("/", 10), hits.lookup("/")
        >>> otp.run(main)
        (11, [('/', 11)])

        When no object has `key`, `default` (whose first element is replaced
        by `key`) is inserted first. Works on `set` and `ordered_set` tables.

        Raises:
            KeyError: no object has `key` and no `default` was given.
            TypeError: the second element is not an int.
            TableError: a bag, or no write access.
        """
        if default is not None:
            (default,) = _objects(default, "update_counter default")
        with self._lock:
            self._check_write("update_counter")
            if self._bag:
                raise TableError(
                    f"update_counter works on set and ordered_set tables; {show(self)} is a "
                    f"{self._type}. Read, compute and insert instead."
                )
            obj = self._one.get(key)
            if obj is None:
                if default is None:
                    raise KeyError(
                        f"update_counter: no object has key {show(key)}; pass "
                        f"default=({show(key)}, 0) to start a counter"
                    )
                obj = (key, *default[1:])
            if len(obj) < 2 or not isinstance(obj[1], int) or isinstance(obj[1], bool):
                raise TypeError(
                    f"update_counter: the second element of {show(obj)} must be an int counter"
                )
            new = obj[1] + n
            self._put((obj[0], new, *obj[2:]))
            return new

    # -- reading ----------------------------------------------------------------

    def lookup(self, key: object) -> list[Obj]:
        """The objects with `key`: a list of zero or one for sets, any number for bags."""
        with self._lock:
            if self._deleted is not None or self._access == "private":
                self._check_read("lookup")
            if self._bag:
                return list(self._many.get(key, ()))
            obj = self._one.get(key)
            return [] if obj is None else [obj]

    def member(self, key: object) -> bool:
        """Whether an object has `key` (also `key in table`)."""
        with self._lock:
            self._check_read("member")
            return key in (self._many if self._bag else self._one)

    def __contains__(self, key: object) -> bool:
        return self.member(key)

    def __len__(self) -> int:
        """The number of objects (every copy in a bag)."""
        with self._lock:
            self._check_read("len")
            return self._size

    def __iter__(self) -> Iterator[Obj]:
        """Iterate over a snapshot of the objects (key order for an `ordered_set`)."""
        with self._lock:
            self._check_read("iterate")
            return iter(self._snapshot())

    def keys(self) -> list[object]:
        """Every key, once each (in order for an `ordered_set`)."""
        with self._lock:
            self._check_read("keys")
            if self._order is not None:
                return list(self._order)
            return list(self._many if self._bag else self._one)

    def select(self, pred: Callable[[Obj], object]) -> list[Obj]:
        """The objects for which `pred(obj)` is true (in iteration order).

        `pred` runs outside the table's lock, on a snapshot, so it may use
        the table itself.
        """
        return [obj for obj in self if pred(obj)]

    def select_delete(self, pred: Callable[[Obj], object]) -> int:
        """Delete the objects for which `pred(obj)` is true; return how many matched."""
        with self._lock:
            self._check_write("select_delete")
        matched = [obj for obj in self if pred(obj)]
        with self._lock:
            self._check_write("select_delete")
            for obj in matched:
                self._drop_object(obj)
        return len(matched)

    # -- ordered_set ------------------------------------------------------------

    def select_range(
        self,
        lo: object = None,
        hi: object = None,
        *,
        inclusive: tuple[bool, bool] = (True, False),
    ) -> list[Obj]:
        """The objects of an `ordered_set` with `lo <= key < hi`, in key order.

        `None` leaves a side open; `inclusive=(True, True)` includes `hi`.
        """
        order = self._ordered("select_range")
        with self._lock:
            self._check_read("select_range")
            return [self._one[k] for k in order.irange(lo, hi, inclusive)]

    def first(self) -> object:
        """The smallest key of an `ordered_set`, or None when it is empty."""
        order = self._ordered("first")
        with self._lock:
            self._check_read("first")
            return order[0] if order else None

    def last(self) -> object:
        """The largest key of an `ordered_set`, or None when it is empty."""
        order = self._ordered("last")
        with self._lock:
            self._check_read("last")
            return order[-1] if order else None

    def next(self, key: object) -> object:
        """The smallest key greater than `key` (present or not), or None."""
        order = self._ordered("next")
        with self._lock:
            self._check_read("next")
            i = order.bisect_right(key)
            return order[i] if i < len(order) else None

    def prev(self, key: object) -> object:
        """The largest key smaller than `key` (present or not), or None."""
        order = self._ordered("prev")
        with self._lock:
            self._check_read("prev")
            i = order.bisect_left(key)
            return order[i - 1] if i > 0 else None

    # -- ownership --------------------------------------------------------------

    def give_away(self, pid: Pid, data: object = None) -> None:
        """Make `pid` the owner; it receives `("ETS-TRANSFER", table, from_pid, data)`.

        Raises:
            TableError: the caller is not the owner, or the table is deleted.
            ValueError: `pid` is the owner, or is not a live local process.
        """
        target = _live_local(pid, "give_away")
        with self._lock:
            self._check_owner("give_away")
            old = self._owner
            if target is old:
                raise ValueError(f"give_away: {show(pid)} already owns {show(self)}")
            self._owner = target
        self._tables.move(self, old, target)
        target.enqueue(("ETS-TRANSFER", self, old, data))

    def set_heir(self, pid: Pid | None, data: object = None) -> None:
        """Set (or with None, clear) the process that inherits the table. Owner only."""
        heir = _live_local(pid, "set_heir") if pid is not None else None
        with self._lock:
            self._check_owner("set_heir")
            self._heir = heir
            self._heir_data = data

    def delete_table(self) -> None:
        """Delete the table now (needs write access); later use raises `TableError`."""
        with self._lock:
            self._check_write("delete_table")
        self._destroy(f"it was deleted by {current_process.get() or 'a thread'}")

    # -- internals (called with the lock held) -----------------------------------

    def _put(self, obj: Obj) -> None:
        key = obj[0]
        if not self._bag:
            if key not in self._one:
                if self._order is not None:
                    _add_key(self._order, key, self)
                self._size += 1
            self._one[key] = obj
            return
        objs = self._many.get(key)
        if objs is None:
            self._many[key] = [obj]
        elif self._dup or obj not in objs:
            objs.append(obj)
        else:
            return
        self._size += 1

    def _get(self, key: object) -> list[Obj]:
        if self._bag:
            return list(self._many.get(key, ()))
        obj = self._one.get(key)
        return [] if obj is None else [obj]

    def _drop_key(self, key: object) -> None:
        if self._bag:
            objs = self._many.pop(key, None)
            if objs is not None:
                self._size -= len(objs)
        elif self._one.pop(key, None) is not None:
            self._size -= 1
            if self._order is not None:
                self._order.remove(key)

    def _drop_object(self, obj: Obj) -> None:
        key = obj[0]
        if not self._bag:
            if key in self._one and self._one[key] == obj:
                self._drop_key(key)
            return
        objs = self._many.get(key)
        if objs is not None and obj in objs:
            objs.remove(obj)
            self._size -= 1
            if not objs:
                del self._many[key]

    def _snapshot(self) -> list[Obj]:
        if self._order is not None:
            one = self._one
            return [one[k] for k in self._order]
        if self._bag:
            return [obj for objs in self._many.values() for obj in objs]
        return list(self._one.values())

    def _clear(self) -> None:
        self._one.clear()
        self._many.clear()
        if self._order is not None:
            self._order.clear()
        self._size = 0

    def _ordered(self, what: str) -> _KeyOrder:
        if self._order is None:
            raise TableError(
                f"{what} works on ordered_set tables; {show(self)} is a {self._type}. "
                f"Create it with type='ordered_set', or iterate with `for obj in table`."
            )
        return self._order

    # -- access rules -----------------------------------------------------------

    def _check_read(self, what: str) -> None:
        if self._deleted is not None:
            raise self._deleted_error(what)
        if self._access == "private" and current_process.get() is not self._owner:
            raise TableError(
                f"{what}: {show(self)} is private: only its owner may use it. Ask the owner "
                f"(e.g. with a GenServer call), or create it with access='protected' "
                f"to let every process read it."
            )

    def _check_write(self, what: str) -> None:
        if self._deleted is not None:
            raise self._deleted_error(what)
        if self._access != "public" and current_process.get() is not self._owner:
            raise TableError(
                f"{what}: {show(self)} is {self._access}: only its owner may write to it. "
                f"Write through the owner (e.g. a GenServer call), or create it with "
                f"access='public'."
            )

    def _check_owner(self, what: str) -> None:
        if self._deleted is not None:
            raise self._deleted_error(what)
        if current_process.get() is not self._owner:
            raise TableError(f"{what}: only the owner of {show(self)} may do this")

    def _deleted_error(self, what: str) -> TableError:
        label = repr(self._name) if self._name is not None else "this table"
        return TableError(
            f"{what}: {label} no longer exists: {self._deleted}. A table lives as long "
            f"as its owner: create it in a long-lived process (e.g. a supervised "
            f"GenServer) or give it an heir=."
        )

    # -- lifecycle (called by the node's table index) ------------------------------

    def _owner_exited(self, owner: Process) -> bool:
        """The owner died: pass the table to a live heir (True) or delete it (False)."""
        heir = self._heir
        if heir is not None and heir is not owner and heir.alive:
            with self._lock:
                self._owner = heir
            heir.enqueue(("ETS-TRANSFER", self, owner, self._heir_data))
            return True
        self._destroy(f"its owner {owner} exited with {show(owner.reason)}", index=False)
        return False

    def _destroy(self, why: str, index: bool = True) -> None:
        with self._lock:
            if self._deleted is not None:
                return
            self._deleted = why
            self._clear()
            owner = self._owner
        self._tables.remove(self, owner if index else None)


def table_summaries(node: Node) -> list[dict[str, object]]:
    """Each live table of `node`, as plain terms (for `otp.observer`): no objects read."""
    tables = _tables_of(node, create=False)
    with tables.lock:
        live = [t for owned in tables.owned.values() for t in owned]
    return [
        {
            "name": t._name,
            "owner": str(t._owner),
            "type": t._type,
            "access": t._access,
            "size": t._size,
            "heir": None if t._heir is None else str(t._heir),
        }
        for t in live
        if t._deleted is None
    ]


def _add_key(order: _KeyOrder, key: object, table: Table) -> None:
    try:
        order.add(key)
    except TypeError:
        raise TypeError(
            f"{show(table)} is an ordered_set: its keys must be comparable with `<`, and "
            f"{show(key)} ({type(key).__name__}) is not comparable with the keys it holds"
        ) from None


def _objects(objects: object, what: str) -> list[Obj]:
    """Validate one object or a list of objects: non-empty tuples with hashable keys."""
    objs = [objects] if isinstance(objects, tuple) else objects
    if not isinstance(objs, list):
        raise TypeError(
            f"{what}: expected a tuple object (key, ...) or a list of them; "
            f"got {show(objects)} ({type(objects).__name__})"
        )
    for obj in objs:
        if not isinstance(obj, tuple) or not obj:
            raise TypeError(
                f"{what}: table objects are non-empty tuples keyed by their first "
                f"element, like ('key', value); got {show(obj)}"
            )
        try:
            hash(obj[0])
        except TypeError:
            raise TypeError(
                f"{what}: the key {show(obj[0])} is not hashable; use a tuple instead of a "
                f"list, or a frozenset instead of a set"
            ) from None
    return objs


def _live_local(pid: object, what: str) -> Process:
    if not isinstance(pid, Process) or not pid.alive:
        raise ValueError(f"{what}: {show(pid)} is not a live process of this node")
    return pid


__all__ = ["Table"]

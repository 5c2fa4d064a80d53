"""The node's index of tables: which process owns which table, and each table's name.

`otp.Table` registers every table here when it is created; when a process
exits, the index hands each table it owned to the table, which passes itself
to its heir or deletes itself.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, final

from .._errors import AlreadyRegistered
from .._runtime._process import Process
from .._runtime._repr import show

if TYPE_CHECKING:
    from .._runtime._node import Node
    from ._table import Table


# -- the node's index of tables ----------------------------------------------------
#
# One `_Tables` per node, kept in `node.exit_hooks` (found by type), maps each
# owner to its tables and each name to its table. A process that owns no
# table costs one dict membership test when it dies.


@final
class _Tables:
    __slots__ = ("lock", "named", "owned")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.owned: dict[Process, list[Table]] = {}
        self.named: dict[str, Table] = {}

    def __call__(self, proc: Process) -> None:
        if proc not in self.owned:
            return
        with self.lock:
            tables = self.owned.pop(proc, [])
        for table in tables:
            if table._owner_exited(proc):
                with self.lock:
                    self.owned.setdefault(table._owner, []).append(table)

    def add(self, table: Table) -> None:
        with self.lock:
            name = table._name
            if name is not None:
                holder = self.named.get(name)
                if holder is not None:
                    raise AlreadyRegistered(
                        holder._owner,
                        f"a table named {show(name)} already exists: {show(holder)}. "
                        f"Use otp.Table.named({show(name)}), or pick another name",
                    )
                self.named[name] = table
            self.owned.setdefault(table._owner, []).append(table)

    def move(self, table: Table, old: Process, new: Process) -> None:
        with self.lock:
            self._unindex(table, old)
            self.owned.setdefault(new, []).append(table)

    def remove(self, table: Table, owner: Process | None) -> None:
        with self.lock:
            if owner is not None:
                self._unindex(table, owner)
            if table._name is not None and self.named.get(table._name) is table:
                del self.named[table._name]

    def _unindex(self, table: Table, owner: Process) -> None:
        tables = self.owned.get(owner)
        if tables is not None and table in tables:
            tables.remove(table)
            if not tables:
                del self.owned[owner]


def _tables_of(node: Node, create: bool = True) -> _Tables:
    return node.exit_hook(_Tables, create)

"""PartitionSupervisor: many copies of one child, each reached by a key.

Example::

    >>> import otp
    >>> class Shard(otp.GenServer):
    ...     def init(self, partition):
    ...         return partition
    ...     def handle_call(self, request, from_, state):
    ...         return otp.Reply(state, state)
    >>> async def main():
    ...     await otp.PartitionSupervisor.start_link(
    ...         lambda partition: (Shard, partition), name="shards", partitions=4
    ...     )
    ...     return [await otp.call(otp.PartitionSupervisor.via("shards", key), "which")
    ...             for key in (0, 5, -6, 7)]
    >>> otp.run(main)
    [0, 1, 2, 3]

The child is given as a `Supervisor` child is: an `otp.ChildSpec`, a
class (started with `start_link(None)`) or `(class, arg)`, which every
partition gets the same; or a function of the partition number returning
one of those, to pass each partition its number (Elixir's
`:with_arguments`).

The answer to a singleton bottleneck: instead of one server that every
caller queues for, run `partitions` of them and route each request by a
key (a user id, a session id), so requests for different keys are
handled by different processes. `via(name, key)` names the partition of
`key` wherever a server is accepted.

Routing: an `int` key goes to partition `abs(key) % partitions`; any
other key by a hash of its `repr` (CRC-32), which is the same across runs
and machines for keys whose repr is stable: str, bytes, int, float, and
tuples of those. Python's `hash` is not used, as it changes per run for
strings.

What partitioning buys on one event loop: partitions do not run in
parallel (there is one thread), so CPU-bound handlers gain nothing. They
gain when handlers wait (I/O in an `async def` callback, which makes one
server busy while the others keep serving) and they remove the single
mailbox that every caller queues in.

Across nodes: with `nodes=[...]`, partition `i` starts on `nodes[i %
len(nodes)]` (linked to the supervisor across the connection), so
CPU-bound partitions run in parallel, one OS process per node
(`otp.peer.start_pool()` starts a node per core). A partition whose node
is lost exits with `"noconnection"` and is restarted on the next node of
the list that can be reached. Requests and replies that are not Erlang
terms travel pickled.

Children have ids `0..partitions-1`. Under the hood it is an
`otp.Supervisor` (strategy `one_for_one` by default) with one child per
partition.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .._errors import NoProc
from .._runtime._ids import Pid
from .._runtime._messages import Via
from .._runtime._repr import show
from .._runtime._scheduler import current_node
from ._child import Child, ChildSpec, to_spec
from ._gen_server import GenServer
from ._remote_start import node_names
from ._supervisor import AutoShutdown, Strategy, Supervisor, SupervisorSpec
from ._supervisor_children import SupervisorState
from ._supervisor_server import _SupervisorServer

if TYPE_CHECKING:
    from .._runtime._names import Dest


def partition_of(key: object, partitions: int) -> int:
    """The partition `key` routes to.

    >>> partition_of(7, 4), partition_of(-7, 4), partition_of("user-42", 4)
    (3, 3, 1)
    """
    if isinstance(key, int) and not isinstance(key, bool):
        return abs(key) % partitions
    return zlib.crc32(repr(key).encode()) % partitions


class PartitionSupervisor:
    """Start `partitions` copies of a child and route to them by key."""

    @classmethod
    async def start_link(
        cls,
        child_spec: ChildSpec | type | tuple[type, object] | Callable[[int], object],
        *,
        name: str,
        partitions: int | None = None,
        strategy: Strategy = "one_for_one",
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        auto_shutdown: AutoShutdown = "never",
        timeout: float | None = None,
        nodes: Sequence[str] | None = None,
    ) -> Pid:
        """Start the partitions (children `0..partitions-1`) under a supervisor named `name`.

        `child_spec` is what every partition starts, as in a `Supervisor`
        children list: an `otp.ChildSpec`, a class (`start_link(None)`) or
        `(class, arg)`; or a function of the partition number returning one
        of those (use it to pass the partition to the child, or give each
        partition its own name). Each partition's id is set to its number.
        `partitions` defaults to the number of CPUs, or with `nodes` to
        their number.

        With `nodes=[...]` (Python nodes; this node's own name may be one),
        partition `i` runs on `nodes[i % len(nodes)]`, and is restarted on
        the next node of the list when its node cannot be reached; the
        child must then be a GenServer class or `(class, arg)` (or a
        function of the partition returning one), which those nodes import.
        Note that a lost node takes all its partitions down at once: each
        is a restart for `max_restarts`.

        Raises:
            TypeError: `child_spec` is none of those (raised here, in the caller).
        """
        if nodes is not None:
            nodes = node_names(nodes, "PartitionSupervisor")
        if not isinstance(name, str):
            raise TypeError(
                f"PartitionSupervisor needs a name (a str) to route through; got {show(name)}"
            )
        default = len(nodes) if nodes else (os.cpu_count() or 1)
        count = partitions if partitions is not None else default
        if not isinstance(count, int) or count < 1:
            raise ValueError(f"partitions must be a positive int; got {show(partitions)}")
        specs = [_partition_spec(child_spec, i, nodes) for i in range(count)]
        spec = SupervisorSpec(specs, strategy, max_restarts, max_seconds, auto_shutdown)
        pid = await _PartitionServer.start_link(
            (Supervisor, None, spec), name=name, timeout=timeout
        )
        assert pid is not None
        return pid

    @staticmethod
    def partitions(name: str | Pid) -> int:
        """How many partitions the PartitionSupervisor `name` has.

        >>> import otp
        >>> class Shard(otp.GenServer):
        ...     pass
        >>> async def main():
        ...     await otp.PartitionSupervisor.start_link(Shard, name="shards", partitions=3)
        ...     return otp.PartitionSupervisor.partitions("shards")
        >>> otp.run(main)
        3

        Raises:
            NoProc: no PartitionSupervisor is running as `name`.
        """
        node = current_node()
        target = node.names.get(name) if isinstance(name, str) else name
        impl = getattr(target, "impl", None)
        if isinstance(impl, _PartitionServer) and impl.count is not None:
            return impl.count
        raise NoProc(
            "noproc",
            f"PartitionSupervisor.partitions: no PartitionSupervisor is running as {show(name)}; "
            f"start one with await otp.PartitionSupervisor.start_link(child, name={show(name)})",
        )

    @staticmethod
    def via(name: str, key: object) -> Via:
        """The partition of `key` under the PartitionSupervisor `name`, as a server name."""
        return Via(name, key)

    @staticmethod
    async def which_children(name: Dest) -> list[Child]:
        """One `Child(partition, pid, type, modules)` per partition, in order."""
        return await Supervisor.which_children(name)

    @staticmethod
    async def count_children(name: Dest) -> dict[str, int]:
        """Counts: `specs`, `active`, `supervisors`, `workers`."""
        return await Supervisor.count_children(name)


def _partition_spec(child_spec: object, i: int, nodes: list[str] | None) -> ChildSpec:
    spec = child_spec
    if not (isinstance(spec, ChildSpec | type) or type(spec) is tuple) and callable(spec):
        spec = spec(i)
    if nodes is not None:
        return _placed(spec, i, nodes)
    try:
        return to_spec(spec).replace(id=i)
    except TypeError as exc:
        raise TypeError(
            f"PartitionSupervisor needs what a supervisor child is: an otp.ChildSpec, a "
            f"GenServer class or a (class, arg) tuple, or a function of the partition "
            f"returning one (e.g. lambda p: (Worker, p)); got {show(spec)} ({type(spec).__name__})"
        ) from exc


def _placed(spec: object, i: int, nodes: list[str]) -> ChildSpec:
    """Partition `i` on `nodes[i % len]`, then on the nodes after it when unreachable."""
    cls: object = spec
    arg: object = None
    if type(spec) is tuple and len(spec) == 2:
        cls, arg = spec
    if not (isinstance(cls, type) and issubclass(cls, GenServer)):
        raise TypeError(
            f"PartitionSupervisor with nodes= starts each partition on another node, so "
            f"the child must be a GenServer class or a (class, arg) tuple (or a function "
            f"of the partition returning one), which that node imports; got {show(spec)}"
        )
    first = i % len(nodes)
    return cls.child_spec(arg, node=nodes[first:] + nodes[:first]).replace(id=i)


class _PartitionServer(_SupervisorServer):
    """A supervisor that also resolves `otp.Via(name, key)` to a partition's pid."""

    def __init__(self) -> None:
        self.sup_state: SupervisorState | None = None
        self.count: int | None = None

    async def init(self, arg: object) -> object:
        assert type(arg) is tuple and isinstance(arg[2], SupervisorSpec)
        self.count = len(arg[2].children)
        result = await super().init(arg)
        state = getattr(result, "state", None)
        if isinstance(state, SupervisorState):
            self.sup_state = state
        return result

    def whereis_name(self, key: object) -> Pid | None:
        state = self.sup_state
        if state is None or self.count is None:
            return None
        i = partition_of(key, self.count)
        children = state.children
        if len(children) == self.count:
            return children[i].pid
        # A temporary partition that exited left the list: the others keep
        # their keys, and the keys of the gone one reach no process.
        child = state.find(i)
        return None if child is None else child.pid

    def register_name(self, key: object, pid: Pid) -> bool:
        raise TypeError(
            "a PartitionSupervisor routes to its own partitions: a process cannot be "
            "registered through PartitionSupervisor.via; register it with a Registry instead"
        )

    def unregister_name(self, key: object) -> None:
        raise TypeError("a PartitionSupervisor's partitions cannot be unregistered")

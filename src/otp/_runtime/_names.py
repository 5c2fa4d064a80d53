"""Registered names, and the resolution of every kind of destination.

A destination is a pid, a registered name (`str`), `otp.Via(registry, key)`,
`otp.Global(name)` or `(name, node)`. `resolve` turns them into a pid.

`otp.Global` names live in the node's copy of `:global`'s name table, which
the distribution layer keeps (`otp.distribution._global`); the runtime finds
it through `GlobalHook.table`, which that layer sets when it is imported.
`resolve` only reads that table; a name it does not hold may still be known
beyond this node (a hidden node asks a visible peer, see
`otp.distribution._global_hidden`): `call` and `stop` then ask
`GlobalNames.lookup`, `send` and `cast` hand the message to
`GlobalNames.send`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeGuard, final, runtime_checkable

from .._errors import AlreadyRegistered, NoProc
from ._ids import Pid
from ._messages import Global, Via
from ._process import Process
from ._repr import show
from ._scheduler import current_node

if TYPE_CHECKING:
    from ._node import Node

#: What names a process. Not `None`: a start whose `init` returned `Ignore()`
#: gives None, which names nothing (at run time it raises a TypeError that
#: says so), so check the result of a start before passing it on.
Dest = Pid | str | Via | Global | tuple[str, str]


@runtime_checkable
class ViaRegistry(Protocol):
    """What `otp.Via(registry, key)` needs of a registry (Elixir's `:via` callbacks)."""

    def whereis_name(self, key: object) -> Pid | None: ...
    def register_name(self, key: object, pid: Pid) -> bool: ...
    def unregister_name(self, key: object) -> None: ...


class GlobalNames(Protocol):
    """What `otp.Global(name)` needs of a node: its copy of the `:global` name table."""

    def whereis_name(self, name: object) -> Pid | None: ...
    async def register_name(self, name: object, pid: Pid) -> Pid | None:
        """Register `pid` as `name` cluster-wide: None if done, else the holder's pid."""
        ...

    async def lookup(self, name: object, timeout: float | None) -> Pid | None:
        """The holder of a name this table does not hold, asked beyond this node; or None."""
        ...

    def send(self, name: object, msg: object) -> bool:
        """Pass `msg` on to the holder of a name this table does not hold.

        False when there is nobody to ask (the name is then unknown); True
        when the message went on its way, to be dropped there if nobody
        holds the name.
        """
        ...


@final
class GlobalHook:
    """Where the runtime finds a node's `GlobalNames` (set by the distribution layer)."""

    table: ClassVar[Callable[[Node], GlobalNames] | None] = None


def global_names(node: Node) -> GlobalNames:
    """The `otp.Global` name table of `node`."""
    if GlobalHook.table is None:
        raise RuntimeError("otp.Global needs the distribution layer: import otp first")
    return GlobalHook.table(node)


def via_registry(node: Node, registry: object) -> ViaRegistry:
    """The object behind `Via(registry, ...)`.

    `registry` is a registered name (what `otp.Registry.start_link` got as
    `name`), a pid, or an object with the three `ViaRegistry` functions. A
    name or pid stands for its process's behaviour implementation (its
    `impl`, as a GenServer has) when that provides the functions, as the
    process behind `otp.Registry` does, or for the process itself.
    """
    if not isinstance(registry, str | Pid) and _is_via(registry):
        return registry
    target = node.names.get(registry) if isinstance(registry, str) else registry
    impl = getattr(target, "impl", None)
    if impl is not None and _is_via(impl) and getattr(target, "alive", False):
        return impl
    if target is not None and _is_via(target):
        return target
    raise NoProc(
        "noproc",
        f"otp.Via: {show(registry)} is not a running registry; start one with "
        f"await otp.Registry.start_link(keys='unique', name={show(registry)})",
    )


def _is_via(obj: object) -> TypeGuard[ViaRegistry]:
    """`isinstance(obj, ViaRegistry)`, without the cost of a runtime protocol check."""
    cls = type(obj)
    return (
        callable(getattr(cls, "whereis_name", None))
        and callable(getattr(cls, "register_name", None))
        and callable(getattr(cls, "unregister_name", None))
    )


def resolve(node: Node, dest: object, what: str = "send") -> Pid | None:
    """The pid behind `dest`, or None when a name is not registered.

    Raises TypeError for something that cannot name a process.
    """
    if isinstance(dest, Pid):
        return dest
    if dest is None:
        raise TypeError(
            f"{what}: the destination is None. Was it the result of a start whose "
            f"init returned otp.Ignore()? Pass a Pid, a name or otp.Via(...)"
        )
    if isinstance(dest, str):
        return node.names.get(dest)
    if isinstance(dest, Via):
        return via_registry(node, dest.registry).whereis_name(dest.key)
    if isinstance(dest, Global):
        return global_names(node).whereis_name(dest.name)
    if type(dest) is tuple and len(dest) == 2 and isinstance(dest[1], str):
        name, node_name = dest
        if node_name == node.name:
            return resolve(node, name, what)
        return None
    raise TypeError(
        f"{what}: a destination must be a Pid, a registered name (str), "
        f"otp.Via(registry, key), otp.Global(name) or (name, node); "
        f"got {show(dest)} ({type(dest).__name__})"
    )


def noproc(dest: object, what: str) -> NoProc:
    node = current_node()
    return NoProc(
        "noproc",
        f"{what} {show(dest)} failed: no process is registered as {show(dest)} on node "
        f"{show(node.name)}. Start it first (e.g. under a supervisor) or check "
        f"otp.whereis({show(dest)}).",
    )


def register(name: str, pid: Pid) -> None:
    """Register `pid` under `name` on this node.

    >>> import otp
    >>> async def main():
    ...     otp.register("me", otp.self())
    ...     return otp.whereis("me") == otp.self()
    >>> otp.run(main)
    True

    Raises:
        AlreadyRegistered: the name is taken (`.pid` holds its owner), or
            the process already has a name.
        NoProc: `pid` is not alive.
    """
    node = current_node("otp.register")
    if not isinstance(name, str) or not name:
        raise TypeError(f"register: a name must be a non-empty str; got {show(name)}")
    if name in ("undefined",):
        raise ValueError("register: 'undefined' is reserved and cannot be a name")
    holder = node.names.get(name)
    if holder is not None:
        raise AlreadyRegistered(
            holder, f"the name {show(name)} is already registered to {show(holder)}"
        )
    if not isinstance(pid, Process) or not pid.alive:
        raise NoProc("noproc", f"register: {show(pid)} is not a live process of this node")
    if pid.name is not None:
        raise AlreadyRegistered(pid, f"{show(pid)} is already registered as {show(pid.name)}")
    node.names[name] = pid
    pid.name = name


def unregister(name: str) -> None:
    """Remove the registered name `name`.

    Raises:
        ValueError: no process is registered under `name`.
    """
    node = current_node("otp.unregister")
    proc = node.names.pop(name, None)
    if proc is None:
        raise ValueError(f"unregister: no process is registered as {show(name)}")
    proc.name = None


def whereis(name: object) -> Pid | None:
    """The pid registered as `name` (a `str`, `otp.Via` or `otp.Global`), or None."""
    node = current_node("otp.whereis")
    pid = resolve(node, name, "whereis")
    if isinstance(pid, Process) and not pid.alive:
        return None
    return pid


def registered() -> list[str]:
    """Every name registered on this node."""
    return list(current_node("otp.registered").names)

"""Starting a GenServer on another node: `await Counter.start_link(arg, node="b@h")`.

The caller's node asks the other node (through erpc, `Node.remote()`) to
run `start_here` with the class's module and qualified name: the other
node imports the class, starts the server there and answers `("ok", pid)`
or `("error", exception)`. The other node must be a Python node whose
`rpc=` allow-list admits the class's module.

For `start_link`, the caller's pid goes along: the server is linked to it
before its `init` runs and has it as its parent, as `gen_server:start_link`
links its parent. The link travels (LINK) ahead of the answer on the same
connection, so the caller's node holds it when `start_link` returns: a
server that dies at once is seen, an exit signal from the caller stops the
server as its parent's does (a trapping server's `terminate` runs), and
losing the connection fires the link both ways with `noconnection`. A
start that fails unlinks first, so the caller gets `StartError`, not also
an exit signal.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from .._errors import NoConnection, RemoteException, StartError
from .._runtime._ids import Pid
from .._runtime._repr import show
from .._runtime._scheduler import current_node, current_process
from .._runtime._terms import Atom

if TYPE_CHECKING:
    from ._gen_server import GenServer

_OK: Final = Atom("ok")
_ERROR: Final = Atom("error")


async def start_elsewhere(
    cls: type[GenServer], arg: object, name: object, timeout: float | None, link: bool, node: str
) -> Pid | None:
    """Start `cls(arg)` on `node`; link it to the caller for start_link."""
    rt = current_node("GenServer.start")
    caller = current_process.get()
    if link and caller is None:
        raise TypeError("start_link(node=...) must be called from an otp process: use start")
    try:
        parent = caller if link else None
        answer = await rt.remote().call_function(
            node, start_here, (cls.__module__, cls.__qualname__, arg, name, timeout, parent), None
        )
    except NoConnection:
        raise
    except RemoteException as exc:
        raise StartError(
            exc.reason, f"could not start {cls.__qualname__} on node {node!r}: {exc}"
        ) from None
    if type(answer) is not tuple or len(answer) != 2:
        raise StartError(
            answer, f"node {node!r} answered the start of {cls.__qualname__} with {show(answer)}"
        )
    if answer[0] == _ERROR:
        if isinstance(answer[1], BaseException):
            raise answer[1]
        raise StartError(answer[1])
    pid = answer[1]
    return pid if isinstance(pid, Pid) else None


def node_names(nodes: object, what: str) -> list[str]:
    """`nodes` as a list, checked: a non-empty sequence of node names."""
    if (
        isinstance(nodes, str)
        or not isinstance(nodes, Sequence)
        or not nodes
        or not all(isinstance(n, str) for n in nodes)
    ):
        raise TypeError(f"{what}: nodes must be a non-empty list of node names; got {show(nodes)}")
    return list(nodes)


async def start_on_first(
    cls: type[GenServer],
    arg: object,
    nodes: Sequence[str],
    name: object,
    timeout: float | None,
) -> Pid | None:
    """`cls.start_link(arg)` on the first of `nodes` that can be reached.

    A node that cannot be reached (NoConnection) is skipped; any other
    failure of the start is raised as it is. This node's own name may be
    in the list. What a child spec's `node=[...]` does, so that a
    supervisor restarts a child whose node died on the next node.
    """
    for node in nodes:
        try:
            return await cls.start_link(arg, name=name, timeout=timeout, node=node)
        except NoConnection:
            continue
    raise StartError(
        "noconnection",
        f"could not start {cls.__qualname__} on any of the nodes {list(nodes)}: none of "
        f"them could be reached (check that they run and share this node's cookie)",
    )


async def start_here(
    module: str,
    qualname: str,
    arg: object,
    name: object,
    timeout: float | None,
    parent: Pid | None = None,
) -> tuple[Atom, object]:
    """On the server's node: import the class and start it; `(ok, pid)` or `(error, exc)`.

    With `parent` (the caller of `start_link`, on another node) the server
    is linked to it from its start and has it as its parent.
    """
    from ._gen_server import GenServer, start_server

    options = current_node("GenServer.start").dist_options
    rpc = "*" if options is None else options.rpc
    if not (isinstance(rpc, str) and rpc == "*") and module not in rpc:
        return _ERROR, StartError(
            ("rpc_not_allowed", module),
            f"module {module!r} is not in this node's rpc= allow-list {show(rpc)}",
        )
    found: object = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if not (isinstance(found, type) and issubclass(found, GenServer)):
        return _ERROR, StartError("undef", f"{module}.{qualname} is not a GenServer here")
    try:
        return _OK, await start_server(found, arg, name, timeout, False, remote_parent=parent)
    except StartError as exc:
        return _ERROR, exc


__all__ = ["node_names", "start_elsewhere", "start_here", "start_on_first"]

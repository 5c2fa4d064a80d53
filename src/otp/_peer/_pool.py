"""A node per core: peers under a supervisor, and their child specs.

`start_pool(n)` is a one_for_one Supervisor of `n` peers named
`<prefix>1@host` ... `<prefix>n@host` (`pool_nodes` computes those names
ahead, for a later sibling such as a PartitionSupervisor given
`nodes=`). A lost worker's control process exits with `"noconnection"`,
and the supervisor starts a new worker under the same name.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import final

from .._behaviours._child import ChildSpec, Restart
from .._behaviours._gen_server import stop as stop_server
from .._behaviours._supervisor import Supervisor
from .._errors import NoConnection, NoProc
from .._runtime._ids import Pid
from .._runtime._repr import show
from .._runtime._scheduler import current_node
from .._runtime._signals import unlink
from ._control import STOP_TIMEOUT, start_link


@final
@dataclass(frozen=True, slots=True)
class Pool:
    """Peers under one supervisor (`start_pool`): their node names and the supervisor's pid."""

    nodes: list[str]
    pid: Pid


def child_spec(
    name: str,
    *,
    cookie: str | None = None,
    args: tuple[str, ...] | list[str] = (),
    env: dict[str, str] | None = None,
    timeout: float | None = 15.0,
    restart: Restart = "permanent",
) -> ChildSpec:
    """A child spec for a supervisor: the peer `name` (also its id), its pid the control process."""
    if not isinstance(name, str) or not name:
        raise TypeError(
            f"a supervised peer needs its name ('name@host' or 'name', for this host), "
            f"which is also the child's id; got {show(name)}"
        )
    start = functools.partial(_start_pid, name, cookie=cookie, args=args, env=env, timeout=timeout)
    return ChildSpec(name, start, restart=restart, shutdown=2 * STOP_TIMEOUT)


async def _start_pid(
    name: str,
    *,
    cookie: str | None,
    args: tuple[str, ...] | list[str],
    env: dict[str, str] | None,
    timeout: float | None,
) -> Pid:
    peer = await start_link(name, cookie=cookie, args=args, env=env, timeout=timeout)
    return peer.pid


def pool_nodes(size: int | None = None, prefix: str | None = None) -> list[str]:
    """The names of the peers `start_pool(size, prefix=prefix)` starts, in order.

    Call it inside a distributed node: the names are on its host, and the
    default prefix is its name and a dash (`app@h` gives `app-1@h`, ...).
    `size` defaults to `os.cpu_count()`.
    """
    node = current_node("otp.peer.pool_nodes")
    if node.dist is None:
        raise NoConnection(
            "noconnection",
            "peers are named after the node that starts them, which must be distributed: "
            "give it a name, e.g. otp.run(main, node='app@127.0.0.1')",
        )
    alive, _, host = node.name.partition("@")
    count = (os.cpu_count() or 1) if size is None else size
    if type(count) is not int or count < 1:
        raise ValueError(
            f"size must be a number of peers >= 1 (None: one per core); got {show(size)}"
        )
    if prefix is None:
        prefix = f"{alive}-"
    if not isinstance(prefix, str) or not prefix or "@" in prefix:
        raise ValueError(
            f"prefix must be the start of the peers' names, without '@' (they get 1, 2, "
            f"... and this node's host); got {show(prefix)}"
        )
    return [f"{prefix}{i}@{host}" for i in range(1, count + 1)]


async def start_pool(
    size: int | None = None,
    *,
    prefix: str | None = None,
    cookie: str | None = None,
    args: tuple[str, ...] | list[str] = (),
    env: dict[str, str] | None = None,
    timeout: float | None = 15.0,
) -> Pool:
    """Start `size` peers under a supervisor linked to the caller; once all are up."""
    nodes = pool_nodes(size, prefix)
    pid = await _start_supervisor(nodes, cookie, args, env, timeout)
    return Pool(nodes, pid)


async def _start_supervisor(
    nodes: list[str],
    cookie: str | None,
    args: tuple[str, ...] | list[str],
    env: dict[str, str] | None,
    timeout: float | None,
) -> Pid:
    children = [child_spec(n, cookie=cookie, args=args, env=env, timeout=timeout) for n in nodes]
    pid = await Supervisor.start_link(children, strategy="one_for_one")
    assert pid is not None
    return pid


def pool_spec(
    size: int | None = None,
    *,
    prefix: str | None = None,
    id: object = "peers",  # OTP's name
    cookie: str | None = None,
    args: tuple[str, ...] | list[str] = (),
    env: dict[str, str] | None = None,
    timeout: float | None = 15.0,
) -> ChildSpec:
    """A child spec of a pool (`start_pool`) for a supervision tree."""

    async def start() -> Pid:
        return await _start_supervisor(pool_nodes(size, prefix), cookie, args, env, timeout)

    return ChildSpec(id, start, type="supervisor")


async def stop_pool(pool: Pool) -> None:
    """Stop the pool's supervisor, and so its peers; nothing if it has stopped."""
    unlink(pool.pid)
    try:
        await stop_server(pool.pid)
    except NoProc:
        pass


__all__ = ["Pool", "child_spec", "pool_nodes", "pool_spec", "start_pool", "stop_pool"]

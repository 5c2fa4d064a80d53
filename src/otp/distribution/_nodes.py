"""The node functions of the public surface: `nodes`, `connect`, `disconnect`, `monitor_node`."""

from __future__ import annotations

from .._errors import NoConnection
from .._runtime._scheduler import current_node, self_process
from ._node import Distribution


def _dist() -> Distribution:
    dist = current_node().dist
    if not isinstance(dist, Distribution):
        raise NoConnection(
            "noconnection",
            "this node is not distributed: start it with a name, e.g. "
            "otp.run(main, node='py@127.0.0.1', cookie='secret')",
        )
    return dist


def nodes() -> list[str]:
    """The nodes this node is connected to (hidden or not), without itself.

    >>> import otp
    >>> async def main():
    ...     return otp.nodes()
    >>> otp.run(main)
    []
    """
    dist = current_node().dist
    return dist.nodes() if isinstance(dist, Distribution) else []


async def connect(node: str) -> bool:
    """Connect to `node` (`name@host`); True once connected, False if it cannot be reached.

    Waits for epmd and the handshake (at most about 7 s each, Erlang's
    `net_setuptime`). Connecting is seldom needed: the first message,
    link, monitor or call to a node connects to it. Cancelling the caller
    leaves the connection attempt running.

    Raises:
        NoConnection: this node is not distributed.
    """
    return await _dist().connect(node)


def disconnect(node: str) -> bool:
    """Close the connection to `node`; False when there was none.

    Links and monitors across it fire with reason `"noconnection"`,
    node monitors get `NodeDown(node)`, pending calls raise `NoConnection`.
    """
    return _dist().disconnect(node)


def monitor_node(node: str, flag: bool = True) -> None:
    """Deliver `otp.NodeDown(node)` to the calling process when the connection to `node` ends.

    Connects to `node` when not connected; if that fails, `NodeDown`
    arrives at once. Each call with `flag=True` adds one monitor, which
    fires once; `flag=False` removes one.

    Raises:
        NotInProcess: called outside an otp process.
        NoConnection: this node is not distributed.
    """
    proc = self_process()
    _dist().monitor_node(proc, node, flag)


__all__ = ["connect", "disconnect", "monitor_node", "nodes"]

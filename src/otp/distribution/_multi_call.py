"""`multi_call` and `abcast`: one request to the server of a name on many nodes.

Erlang's `gen_server:multi_call` and `abcast` (Elixir's `GenServer.multi_call`
and `GenServer.abcast`):

    >>> import otp
    >>> class Echo(otp.GenServer):
    ...     def handle_call(self, request, from_, state):
    ...         return otp.Reply(("echo", request), state)
    >>> async def main():
    ...     await Echo.start(None, name="echo")
    ...     return await otp.multi_call("echo", "hi")
    >>> otp.run(main)
    ([('nonode@nohost', ('echo', 'hi'))], [])

Each node's server is called as `otp.call` calls it: gen:call's wire shape,
`{'$gen_call', {Caller, [alias | Ref]}, Request}` to `{Name, Node}` with a
monitor, so any gen_server answers it, and a reply that comes after the
timeout is dropped with the alias. Erlang spawns a middleman process to
drop late replies; the aliases do that here. The calls run concurrently,
so `timeout` bounds the whole multi_call. A node that is down, has no such
server, whose server exits during the call, or that does not answer in time
goes to `bad_nodes`. A server of this node gets the request from Erlang's
`multi_call` with the tag `{Ref, Node}` and answers it as any call.
"""

from __future__ import annotations

import asyncio

from .._behaviours._gen_server_client import call, cast
from .._errors import Exit
from .._runtime._call_timeouts import check_timeout
from .._runtime._scheduler import current_node
from ._nodes import nodes as connected

_BAD = object()


def _nodes(nodes: list[str] | None) -> list[str]:
    node = current_node()
    if nodes is not None:
        if isinstance(nodes, str) or not all(isinstance(n, str) for n in nodes):
            raise TypeError(f"nodes must be a list of node names (str); got {nodes!r}")
        return list(nodes)
    return [node.name, *connected()]


async def multi_call(
    name: str, request: object, *, nodes: list[str] | None = None, timeout: float | None = 5.0
) -> tuple[list[tuple[str, object]], list[str]]:
    """Call the server registered as `name` on each node; `(replies, bad_nodes)`.

    `replies` holds `(node, reply)` for each node that answered, in the order
    of `nodes`; `bad_nodes` the others. `nodes` defaults to this node and
    every connected node. Waits at most `timeout` seconds in all.

    Raises:
        TypeError: `name` is not a str or `nodes` is not a list of names.
    """
    if not isinstance(name, str):
        raise TypeError(f"multi_call needs a registered name (str); got {name!r}")
    check_timeout(timeout, "otp.multi_call")
    targets = _nodes(nodes)
    here = current_node().name

    async def one(node: str) -> object:
        try:
            return await call(name if node == here else (name, node), request, timeout)
        except Exit:  # noproc, noconnection, timeout, the server exited
            return _BAD

    results = await asyncio.gather(*(one(node) for node in targets))
    replies = [(n, r) for n, r in zip(targets, results, strict=True) if r is not _BAD]
    bad = [n for n, r in zip(targets, results, strict=True) if r is _BAD]
    return replies, bad


def abcast(name: str, request: object, *, nodes: list[str] | None = None) -> None:
    """Cast `request` to the server registered as `name` on each node; never waits.

    `nodes` defaults to this node and every connected node. A node without
    such a server, or that cannot be reached, drops the cast, as in Erlang.
    """
    if not isinstance(name, str):
        raise TypeError(f"abcast needs a registered name (str); got {name!r}")
    here = current_node().name
    for node in _nodes(nodes):
        cast(name if node == here else (name, node), request)


__all__ = ["abcast", "multi_call"]

"""Worker nodes in new OS processes, linked to the caller: Erlang's `peer`.

A peer is an otp node in a new OS process, running the same Python with
the same `sys.path`, connected to the node that started it (the starter)
and linked to the process that started it. Python runs one thread of
Python code at a time per process; peers are how one program uses every
core.

Example::

    >>> import os, otp
    >>> async def main():
    ...     peer = await otp.peer.start_link()
    ...     pid = await otp.erpc.call(peer.node, "os", "getpid", [])
    ...     await otp.peer.stop(peer)
    ...     return pid == peer.os_pid != os.getpid()
    >>> otp.run(main, node="peer_doc@127.0.0.1")
    True

The caller must be an otp process on a distributed node (one started
with a name). `peer.node` is the worker's name: everything that takes a
node takes it (`otp.erpc.call(peer.node, ...)`, `otp.spawn(fn, node=...)`,
`Counter.start_link(arg, node=peer.node)`, `(name, peer.node)` as a
server). Functions and classes defined in the starter's script work
there too: the worker loads the script as `__mp_main__` (so its
`if __name__ == "__main__":` block does not run), as multiprocessing's
spawn does.

Supervising::

    children = [otp.peer.child_spec("calc"), ...]   # id "calc", restarted as calc@host
    pool = await otp.peer.start_pool()              # a node per core: app-1@host, ...
    otp.peer.pool_spec(4, prefix="w")               # the same, as a child: w1@host...w4@host
    otp.peer.pool_nodes(4, prefix="w")              # their names, for the children after it

Failure semantics, as Erlang's:

- `peer.pid`, the control process in the starter, is linked to the
  caller. When the worker is lost (its OS process exits or is killed,
  or the connection drops) it exits with `"noconnection"`: a caller that
  does not trap exits dies with that reason, one that does gets
  `otp.Exited(peer.pid, "noconnection")`, and monitors of `peer.pid`
  get `Down(..., "noconnection")`. Pids on the worker fail the same way.
- When the caller exits (or a supervisor stops the child), the worker
  is stopped before the control process exits: asked first (its node
  shuts its processes down as `otp.run` does), killed after 5 s.
- The worker never outlives the starter, even one killed with SIGKILL:
  it halts as soon as its stdin (a pipe from the starter) ends or its
  connection to the starter drops.
- `start_link` returns once the worker is connected and ready, or
  raises `otp.StartError`: with the end of the worker's stderr if it
  exited first, or after `timeout` seconds (the worker killed).

Logs: the worker's stdout lines are logged on the starter's logger
`"otp.peer"` at INFO and its stderr lines at WARNING; its log records
(crash reports, supervisor reports, your own loggers, at the levels the
starter's root and `"otp"` loggers had when it started) are re-emitted on
the starter's logger of the same name. Each says `[node] ...` and
carries `extra={"otp_node": node}`.

How it works: `start_link` spawns the control process, which runs
`python [args] -m otp._peer._worker` with the caller's environment
(`env=` merged over it) and current directory. The cookie and the
distribution options (hidden, net_ticktime, bind, tls, pickle, rpc; not
the port) go through the worker's stdin, never its arguments or
environment, which other users may read. The worker connects to the
starter and sends the control process a ready message over that
connection; its log records travel as marked lines on its stderr,
written at once, so a record logged just before a crash arrives.

When not to use it: for a few calls to blocking C code, a thread
(`asyncio.to_thread`) is cheaper; a peer costs an interpreter (tens of
MB, a few tenths of a second to start). For nodes on other machines,
start them as you deploy them and `otp.connect` to them.
"""

from __future__ import annotations

from ._peer._control import Peer as Peer
from ._peer._control import start_link as start_link
from ._peer._control import stop as _stop_peer
from ._peer._pool import Pool as Pool
from ._peer._pool import child_spec as child_spec
from ._peer._pool import pool_nodes as pool_nodes
from ._peer._pool import pool_spec as pool_spec
from ._peer._pool import start_pool as start_pool
from ._peer._pool import stop_pool as _stop_pool
from ._runtime._repr import show


async def stop(peer: Peer | Pool) -> None:
    """Stop a peer (or a pool of them) and wait until its OS process has exited.

    Unlinks the caller first, so no exit signal reaches it; the control
    process exits with reason `normal`. The worker's node shuts its
    processes down as `otp.run` does at exit; a worker still running 5 s
    later is killed. Stopping a stopped peer does nothing. If the caller
    is cancelled while it waits, the peer still stops.
    """
    if isinstance(peer, Peer):
        await _stop_peer(peer)
    elif isinstance(peer, Pool):
        await _stop_pool(peer)
    else:
        raise TypeError(
            f"otp.peer.stop takes what otp.peer.start_link or start_pool returned; got {show(peer)}"
        )


for _value in (Peer, Pool, start_link, child_spec, pool_nodes, pool_spec, start_pool):
    _value.__module__ = __name__
del _value

__all__ = [
    "Peer",
    "Pool",
    "child_spec",
    "pool_nodes",
    "pool_spec",
    "start_link",
    "start_pool",
    "stop",
]

"""A distributed node: listens, registers with epmd, connects to other nodes.

`otp.Node("py@127.0.0.1", cookie="secret")` (or `otp.run(main, node=...)`)
gives its runtime a `Distribution`: the object `Node.route_*` hands every
signal for a remote pid to. It accepts connections on a TCP port
registered with epmd (`bind=` and `port=`: `_listen.py`; TLS with `tls=`:
`_tls.py`), opens connections on demand (the first send, link,
monitor or call to a node connects to it, as in Erlang), and keeps one
`Connection` per peer node.

Names: `name@host` as given; a name without `@` gets this machine's short
host name (like `erl -sname`). The node is hidden by default (not in the
`nodes()` of Erlang peers, and no `global` traffic); `hidden=False` makes it
visible. The cookie defaults to the contents of `~/.erlang.cookie`, as `erl`
reads it.

Where the rest is: connection set-up in `_setup.py`, one connection in
`_connection.py`, the control messages in `_control.py`, remote calls in
`_remote_call.py`, the cookie in `_cookie.py`, the public functions in
`_nodes.py`. The runtime finds this layer through
`Node.distribution_factory`, which importing this module sets.

>>> import otp
>>> async def main():
...     return otp.node(), otp.nodes()
>>> otp.run(main)
('nonode@nohost', [])
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import weakref
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Final, NamedTuple, final

from .._runtime._ids import Pid, Ref, _new_remote_pid
from .._runtime._node import Node
from .._runtime._node_options import DistOptions
from .._runtime._process import Process
from .._runtime._scheduler import current_process
from .._runtime._terms import Atom
from . import _epmd, _global_table, _tls  # noqa: F401 (_global_table: the runtime's otp.Global hook)
from ._connection import Connection
from ._control import REG_SEND, SEND
from ._cookie import read_cookie
from ._erpc import call as erpc_call
from ._handshake import OUR_FLAGS, PUBLISHED
from ._listen import listen
from ._remote_call import remote_call
from ._remote_task import spawn_task
from ._setup import accepted, dial
from ._spawn import spawn_request
from ._spawned import rex_message
from ._task_supervised import start_task as _start_task  # noqa: F401  (registers it)

logger = logging.getLogger("otp")

DEFAULT_TICKTIME: Final = 60.0
_EMPTY: Final = Atom("")
_GEN_CALL: Final = Atom("$gen_call")
_YES: Final = Atom("yes")


@final
class NodeDown(NamedTuple):
    """Delivered to a process that called `otp.monitor_node(node)` when `node` goes down.

    Erlang's `{nodedown, Node}`; also delivered when the node cannot be reached.
    """

    node: str


class Distribution:
    """The distribution layer of one node (see the module docstring)."""

    def __init__(self, node: Node, options: DistOptions, cookie: bytes) -> None:
        self.node = node
        self.name = node.name
        self.options = options
        self.cookie = cookie
        self.hidden = options.hidden
        self.net_ticktime = options.net_ticktime
        self.flags = OUR_FLAGS | (0 if options.hidden else PUBLISHED)
        self.tls = _tls.contexts(options.tls)  # None: plain TCP
        self.loop = node.loop
        self.conns: dict[str, Connection] = {}
        self.node_monitors: dict[str, list[Process]] = {}
        #: Called with the peer's name each time a connection comes up (pg discovery).
        self.up_hooks: list[Callable[[str], None]] = []
        self.pids: weakref.WeakValueDictionary[tuple[str, int, int, int], Pid] = (
            weakref.WeakValueDictionary()
        )
        self.port = 0
        self._server: asyncio.Server | None = None
        self._registration: _epmd.Registration | None = None
        self._epmd: _epmd.EpmdHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def create(cls, node: Node, options: DistOptions) -> Distribution:
        """The distribution of `node` (the runtime's `Node.distribution_factory`)."""
        return cls(node, options, read_cookie(options.cookie))

    def __repr__(self) -> str:
        return f"<Distribution {self.name!r} port {self.port} {len(self.conns)} connections>"

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Listen, register with epmd (starting one if none runs), set the creation."""
        # `bind`, else IPv4 on every interface, as erl listens (see `_listen`).
        # Started in a context of its own, which its connections' callbacks
        # then run in: none of them belongs to the process that started the node.
        self._server = await self.loop.create_task(
            listen(
                partial(accepted, self),
                self.options.bind,
                self.options.port,
                paused=self.tls is not None,
            ),
            context=contextvars.Context(),
        )
        self.port = self._server.sockets[0].getsockname()[1]
        try:
            self._epmd = await _epmd.ensure_epmd()
            self._registration = await _epmd.register(
                self.name.partition("@")[0], self.port, hidden=self.hidden
            )
        except BaseException:
            await self.stop()
            raise
        self.node.creation = self._registration.creation
        self.node.flush_writes = self.flush_writes
        # Both answer erpc to global's functions; a hidden node registers through a peer.
        from ._global_hidden import install  # they need this module: imported here

        if not self.hidden:
            from ._global import start_global

            await start_global(self)
        else:
            install(self)

    async def stop(self) -> None:
        """Close every connection, unregister from epmd, stop listening."""
        self.node.flush_writes = None
        for conn in list(self.conns.values()):
            conn.close("this node stopped")
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(OSError):
                await self._server.wait_closed()
            self._server = None
        if self._registration is not None:
            await self._registration.close()
            self._registration = None
        if self._epmd is not None:
            await self._epmd.close()
            self._epmd = None

    def flush_writes(self) -> None:
        """Write what every connection holds for the end of this loop step, now.

        Frames of one step leave in one write (`_framing.py`); a server
        that computes for milliseconds per message would otherwise hold
        the reply to one caller until it has handled the next message too.
        """
        for conn in self.conns.values():
            if conn.pending:
                conn.write_held()

    def _spawn(self, coro: Coroutine[object, object, None]) -> None:
        task = self.loop.create_task(coro, context=contextvars.Context())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- pids ----------------------------------------------------------------------

    def pid_hook(self, node: str, id_: int, serial: int, creation: int) -> Pid:
        """A decoded pid: the local process, or one interned object per remote pid."""
        if node == self.name and creation == self.node.creation and serial == 0:
            proc = self.node.procs.get(id_)
            if proc is not None:
                return proc
        key = (node, id_, serial, creation)
        pid = self.pids.get(key)
        if pid is None:
            pid = self.pids[key] = _new_remote_pid(node, id_, serial, creation)
        return pid

    def anonymous_pid(self) -> Pid:
        """A pid for a sender that is not a process (a plain asyncio task)."""
        return _new_remote_pid(self.name, self.node.next_pid_id(), 0, self.node.creation)

    # -- connections ---------------------------------------------------------------

    def connection(self, peer: str) -> Connection:
        """The connection to `peer`, opening one if there is none."""
        conn = self.conns.get(peer)
        if conn is None:
            if peer == self.name:
                raise ValueError(f"{peer!r} is this node: there is no connection to itself")
            conn = self.conns[peer] = Connection(self, peer)
            self._spawn(dial(self, conn))
        return conn

    def node_up(self, peer: str) -> None:
        for hook in list(self.up_hooks):
            hook(peer)

    def closed(self, conn: Connection) -> None:
        """A connection ended: forget it and tell the node monitors."""
        if self.conns.get(conn.peer) is conn:
            del self.conns[conn.peer]
        for proc in self.node_monitors.pop(conn.peer, ()):
            proc.enqueue(NodeDown(conn.peer))

    def is_system_name(self, name: str) -> bool:
        return name in _SYSTEM_NAMES

    def system_message(self, conn: Connection, name: str, msg: object) -> None:
        """A message to a name no process holds: answer `net_adm:ping` and rpc, drop the rest."""
        answer = _SYSTEM_NAMES.get(name)
        if answer is not None:
            answer(self, conn, msg)

    # -- the Distribution protocol of the runtime ------------------------------------

    def send(self, pid: Pid, msg: object) -> None:
        if pid._node_name == self.name:
            return  # a process of this node that is gone
        self.connection(pid._node_name).send((SEND, _EMPTY, pid), msg)

    def send_name(self, name: str, node: str, msg: object) -> None:
        sender = current_process.get() or self.anonymous_pid()
        self.connection(node).send((REG_SEND, sender, _EMPTY, Atom(name)), msg)

    def exit(self, target: Pid, sender: Pid, reason: object, linked: bool) -> None:
        if target._node_name == self.name:
            return
        conn = self.conns.get(target._node_name) if linked else self.connection(target.node)
        if conn is None:
            return
        if linked and isinstance(sender, Process):
            conn.links.discard((sender, target))
        conn.send_exit(sender, target, reason, linked)

    def link(self, target: Pid, sender: Pid) -> None:
        assert isinstance(sender, Process)
        if target._node_name == self.name:
            # A gone process of this node: the link breaks at once.
            self.loop.call_soon(_noproc_exit, sender, target)
            return
        self.connection(target._node_name).link(sender, target)

    def unlink(self, target: Pid, sender: Pid) -> None:
        conn = self.conns.get(target._node_name)
        if conn is not None and isinstance(sender, Process):
            conn.unlink(sender, target)

    def monitor(self, target: object, watcher: Pid, ref: Ref) -> None:
        assert isinstance(watcher, Process)
        wire: object
        as_: object
        if isinstance(target, Pid):
            node, wire, as_ = target._node_name, target, target
        else:
            assert type(target) is tuple
            node, wire, as_ = target[1], Atom(target[0]), target
        if node == self.name:
            watcher.deliver_down(ref, as_, "noproc")
            return
        self.connection(node).monitor(watcher, wire, as_, ref)

    def demonitor(self, target: object, ref: Ref) -> None:
        node = target._node_name if isinstance(target, Pid) else target[1]  # type: ignore[index]
        conn = self.conns.get(node)
        if conn is not None:
            conn.demonitor(ref)

    def down(self, watcher: Pid, ref: Ref, pid: object, reason: object) -> None:
        conn = self.conns.get(watcher._node_name)
        if conn is None:
            return
        record = conn.watchers.pop(ref, None)
        if record is not None:
            conn.send_down(record[2], watcher, ref, reason)

    call = remote_call
    spawn_request = spawn_request
    spawn_task = spawn_task

    async def call_function(
        self, node: str, fn: object, args: tuple[object, ...], timeout: float | None
    ) -> object:
        """Run `fn(*args)` on `node` through erpc; its result (`_erpc.call`)."""
        return await erpc_call(self, node, fn, list(args), (), timeout)

    # -- public operations -------------------------------------------------------------

    def nodes(self) -> list[str]:
        return [peer for peer, conn in self.conns.items() if conn.state == "up"]

    async def connect(self, peer: str) -> bool:
        if peer == self.name:
            return True
        conn = self.connection(peer)
        return await asyncio.shield(conn.ready)

    def disconnect(self, peer: str) -> bool:
        conn = self.conns.get(peer)
        if conn is None or conn.state != "up":
            return False
        conn.close("disconnected by this node")
        return True

    def monitor_node(self, proc: Process, peer: str, flag: bool) -> None:
        watchers = self.node_monitors.setdefault(peer, [])
        if not flag:
            with contextlib.suppress(ValueError):
                watchers.remove(proc)
            if not watchers:
                del self.node_monitors[peer]
            return
        watchers.append(proc)
        if peer != self.name:
            self.connection(peer)


def _net_kernel(dist: Distribution, conn: Connection, msg: object) -> None:
    """`net_adm:ping`'s `{'$gen_call', From, {is_auth, Node}}`: answer `yes`."""
    if type(msg) is not tuple or len(msg) != 3:
        return
    if msg[0] != _GEN_CALL or type(msg[1]) is not tuple or len(msg[1]) != 2:
        return
    request = msg[2]
    if type(request) is tuple and request and request[0] == "is_auth":
        caller, tag = msg[1]
        if isinstance(caller, Pid):
            conn.reply(tag, caller, dist.anonymous_pid(), _YES)


#: The names this node answers without a process of that name: Erlang's
#: `net_kernel` (pings) and `rex` (rpc; `_spawned.rex_message`).
_SYSTEM_NAMES: Final[dict[str, Callable[[Distribution, Connection, object], None]]] = {
    "net_kernel": _net_kernel,
    "rex": rex_message,
}


def _noproc_exit(proc: Process, target: Pid) -> None:
    if proc.links and target in proc.links:
        proc.remove_link(target)
        proc.exit_signal(target, "noproc", True)


Node.distribution_factory = Distribution.create

__all__ = ["Distribution", "NodeDown"]

"""A distributed node: listens, registers with epmd, connects to other nodes.

`otp.Node("py@127.0.0.1", cookie="secret")` (or `otp.run(main, node=...)`)
gives its runtime a `Distribution`: the object `Node.route_*` hands every
signal for a remote pid to. It accepts connections on an ephemeral TCP port
registered with epmd, opens connections on demand (the first send, link,
monitor or call to a node connects to it, as in Erlang), and keeps one
`Connection` per peer node.

Names: `name@host` as given; a name without `@` gets this machine's short
host name (like `erl -sname`). The node is hidden by default (not in the
`nodes()` of Erlang peers, and no `global` traffic); `hidden=False` makes it
visible. The cookie defaults to the contents of `~/.erlang.cookie`, as `erl`
reads it.

Calls to processes on other nodes use OTP's wire shape: the caller monitors
the server (by name or pid), sends `{'$gen_call', {Pid, [alias | Ref]},
Request}`, and takes the reply from the alias, which is dropped once the
call is over, so a late reply never reaches a mailbox. A reply sent to the
caller's pid instead (by a node without aliases, or a server that answers
`Pid ! {Tag, Reply}` itself) is known by its tag, and dropped as late too.

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
import os
import socket
import weakref
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Final, NamedTuple, final

from .._errors import NoConnection, NoProc
from .._runtime._call_timeouts import timeouts_for
from .._runtime._ids import Pid, Ref, _new_remote_pid
from .._runtime._process import Process
from .._runtime._repr import safe_repr
from .._runtime._scheduler import current_node, current_process, self_process
from .._runtime._terms import Atom, ImproperList
from . import _epmd
from ._connection import (
    _EMPTY,
    _GEN_CALL,
    DEMONITOR_P,
    MONITOR_P,
    REG_SEND,
    SEND,
    Connection,
    alias_of,
)
from ._handshake import OUR_FLAGS, PUBLISHED, HandshakeError, accept, initiate

if TYPE_CHECKING:
    from .._runtime._node import Node

logger = logging.getLogger("otp")

#: Seconds a connection may take to set up (Erlang's `net_setuptime`).
SETUP_TIME: Final = 7.0
DEFAULT_TICKTIME: Final = 60.0
_ALIAS = Atom("alias")
_YES = Atom("yes")


@final
class NodeDown(NamedTuple):
    """Delivered to a process that called `otp.monitor_node(node)` when `node` goes down.

    Erlang's `{nodedown, Node}`; also delivered when the node cannot be reached.
    """

    node: str


def full_name(name: str) -> str:
    """`name@host`: a name without a host gets this machine's short host name.

    >>> full_name("py@127.0.0.1")
    'py@127.0.0.1'
    >>> full_name("py") == "py@" + socket.gethostname().split(".")[0]
    True
    """
    alive, at, host = name.partition("@")
    if not alive or (at and not host) or "@" in host:
        raise ValueError(f"a node name is 'name@host' or 'name' (for name@this-host); got {name!r}")
    return name if at else f"{alive}@{socket.gethostname().split('.')[0]}"


def read_cookie(cookie: str | None) -> bytes:
    """The cookie: the argument, else the contents of `~/.erlang.cookie` as `erl` reads it."""
    if cookie is not None:
        return cookie.encode("utf-8")
    path = Path(os.environ.get("HOME", str(Path.home()))) / ".erlang.cookie"
    try:
        text = path.read_text("utf-8").strip()
    except OSError as exc:
        raise ValueError(
            f"a distributed node needs a cookie: pass cookie='...' or create {path} "
            f"(erl creates it on its first distributed start); reading it failed: {exc}"
        ) from None
    if not text:
        raise ValueError(f"{path} is empty: write the cookie in it, or pass cookie='...'")
    return text.encode("utf-8")


class Distribution:
    """The distribution layer of one node (see the module docstring)."""

    def __init__(
        self, node: Node, cookie: bytes, hidden: bool = True, net_ticktime: float = 60.0
    ) -> None:
        if net_ticktime <= 0:
            raise ValueError(
                f"net_ticktime must be a positive number of seconds; got {net_ticktime}"
            )
        self.node = node
        self.name = node.name
        self.cookie = cookie
        self.hidden = hidden
        self.net_ticktime = net_ticktime
        self.flags = OUR_FLAGS | (0 if hidden else PUBLISHED)
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

    def __repr__(self) -> str:
        return f"<Distribution {self.name!r} port {self.port} {len(self.conns)} connections>"

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Listen, register with epmd (starting one if none runs), set the creation."""
        # IPv4 on every interface, as erl listens (epmd announces TCP over IPv4).
        # Started in a context of its own, which its connections' callbacks
        # then run in: none of them belongs to the process that started the node.
        self._server = await self.loop.create_task(
            asyncio.start_server(self._accepted, host="0.0.0.0", port=0),
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

    async def stop(self) -> None:
        """Close every connection, unregister from epmd, stop listening."""
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
            self._spawn(self._dial(conn))
        return conn

    async def _dial(self, conn: Connection) -> None:
        alive, _, host = conn.peer.partition("@")
        try:
            info = await _epmd.port_please(alive, host)
            if info is None:
                raise ConnectionError(f"epmd on {host!r} knows no node named {alive!r}")
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, info.port), SETUP_TIME
            )
        except (OSError, _epmd.EpmdError, ValueError, TimeoutError) as exc:
            logger.info("Cannot connect to node %r: %s", conn.peer, exc)
            conn.close(f"cannot connect: {exc}")
            return
        try:
            peer = await asyncio.wait_for(
                initiate(reader, writer, self.name, self.node.creation, self.cookie, self.flags),
                SETUP_TIME,
            )
        except (OSError, HandshakeError, asyncio.IncompleteReadError, TimeoutError) as exc:
            writer.close()
            await self._lost_race(conn, exc)
            return
        if conn.state != "connecting" or peer.name != conn.peer:
            writer.close()  # the peer's own connection to us won the race, or a wrong peer
            if conn.state == "connecting":
                conn.close(f"connected to {peer.name!r} instead")
            return
        conn.attach(reader, writer, peer.flags)
        self.node_up(conn.peer)

    async def _lost_race(self, conn: Connection, exc: BaseException) -> None:
        # Refused with `nok`: the peer is connecting to us at the same time
        # and its attempt wins; our accept side will attach it to `conn`.
        if isinstance(exc, HandshakeError) and str(exc).endswith(": nok"):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(conn.ready), SETUP_TIME)
            if conn.state == "up":
                return
        logger.info("Handshake with node %r failed: %s", conn.peer, exc)
        conn.close(f"handshake failed: {exc}")

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            peer = await asyncio.wait_for(
                accept(
                    reader,
                    writer,
                    self.name,
                    self.node.creation,
                    self.cookie,
                    self.flags,
                    self._decide,
                    self._on_alive,
                ),
                SETUP_TIME,
            )
        except (OSError, HandshakeError, asyncio.IncompleteReadError, TimeoutError) as exc:
            logger.debug("Refused an incoming connection: %s", exc)
            writer.close()
            return
        conn = self.conns.get(peer.name)
        if conn is None or conn.state != "connecting":
            conn = self.conns[peer.name] = Connection(self, peer.name)
        conn.attach(reader, writer, peer.flags)
        self.node_up(peer.name)

    def node_up(self, peer: str) -> None:
        for hook in list(self.up_hooks):
            hook(peer)

    def _decide(self, peer: str) -> str:
        """The handshake status for an incoming connection from `peer`."""
        conn = self.conns.get(peer)
        if peer == self.name:
            return "not_allowed"
        if conn is None:
            return "ok"
        if conn.state == "up":
            return "alive"
        # Both nodes connect to each other at once: the greater name's attempt wins.
        return "ok_simultaneous" if peer > self.name else "nok"

    def _on_alive(self, peer: str) -> None:
        """A node we are connected to connects again and proved the cookie: it restarted."""
        # Our connection to its old incarnation is dead, even if we have not
        # noticed yet. (One still connecting is kept: this handshake attaches to it.)
        conn = self.conns.get(peer)
        if conn is not None and conn.state == "up":
            conn.close("the node restarted")

    def closed(self, conn: Connection) -> None:
        """A connection ended: forget it and tell the node monitors."""
        if self.conns.get(conn.peer) is conn:
            del self.conns[conn.peer]
        for proc in self.node_monitors.pop(conn.peer, ()):
            proc.enqueue(NodeDown(conn.peer))

    def is_system_name(self, name: str) -> bool:
        return name == "net_kernel"

    def system_message(self, conn: Connection, name: str, msg: object) -> None:
        """A message to a name no process holds: answer `net_adm:ping`, drop the rest."""
        if name != "net_kernel" or type(msg) is not tuple or len(msg) != 3:
            return
        if msg[0] != _GEN_CALL or type(msg[1]) is not tuple or len(msg[1]) != 2:
            return
        request = msg[2]
        if type(request) is tuple and request and request[0] == "is_auth":
            caller, tag = msg[1]
            if isinstance(caller, Pid):
                conn.reply(tag, caller, self.anonymous_pid(), _YES)

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

    async def call(
        self,
        target: Pid | tuple[str, str],
        request: object,
        timeout: float | None,
        label: str = "$gen_call",
    ) -> object:
        """Call a process on another node as `gen:call` does; return its reply.

        Raises NoProc, NoConnection, CallTimeout or Exit(reason) (the server
        exited during the call).
        """
        wire: object
        if isinstance(target, Pid):
            peer, wire = target._node_name, target
        else:
            peer, wire = target[1], Atom(target[0])
        if peer == self.name:
            raise NoProc("noproc", f"call to {safe_repr(target)} failed: the process is not alive")
        conn = self.connection(peer)
        caller = current_process.get() or self.anonymous_pid()
        ref = self.node.make_ref()
        fut: asyncio.Future[object] = self.loop.create_future()
        conn.calls[ref] = (fut, target)
        conn.send((MONITOR_P, caller, wire, ref))
        message = (Atom(label), (caller, ImproperList([_ALIAS], ref)), request)
        try:
            if isinstance(target, Pid):
                conn.send((SEND, _EMPTY, target), message)
            else:
                conn.send((REG_SEND, caller, _EMPTY, wire), message)
        except BaseException:
            conn.calls.pop(ref, None)
            raise
        conn.flush_now()  # the call leaves now: nothing else is sent while we wait
        if timeout is None:
            try:
                return await fut
            finally:
                self._end_call(conn, ref, caller, wire)
        # The deadline is kept with the node's other calls of the same
        # timeout (one loop timer for all), which fails `fut` with CallTimeout.
        waiting = _Waiting(fut, request)
        timeouts = timeouts_for(self.node, timeout)
        timeouts.add(waiting, target)
        try:
            return await fut
        finally:
            waiting.done = True
            timeouts.settle()
            self._end_call(conn, ref, caller, wire)

    def _end_call(self, conn: Connection, ref: Ref, caller: Pid, wire: object) -> None:
        # Still monitoring: end the monitor, which also drops the alias, so
        # that a late reply is dropped.
        if conn.calls.pop(ref, None) is not None:
            conn.send((DEMONITOR_P, caller, wire, ref))

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


def _noproc_exit(proc: Process, target: Pid) -> None:
    if proc.links and target in proc.links:
        proc.remove_link(target)
        proc.exit_signal(target, "noproc", True)


class _Waiting:
    """A remote call waiting for its reply, as the node's call timeouts see it."""

    __slots__ = ("done", "fut", "request")

    def __init__(self, fut: asyncio.Future[object], request: object) -> None:
        self.fut: asyncio.Future[object] | None = fut
        self.request = request
        self.done = False


# -- the public functions ----------------------------------------------------------------


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


__all__ = [
    "Distribution",
    "NodeDown",
    "alias_of",
    "connect",
    "disconnect",
    "full_name",
    "monitor_node",
    "nodes",
    "read_cookie",
]

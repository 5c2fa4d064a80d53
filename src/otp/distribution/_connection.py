"""One connection to another node: framing, control messages, ticks, clean-up.

After the handshake every packet is `Len:32 | Data`; a zero length is a
tick (`_framing.py` reads and writes them). This node sends *pass-through*
packets, `112 | Control | [Payload]`, each term with its own 131 version
byte, and it never negotiates the atom cache or fragments, so that is all
the peer sends too.

A `Connection` exists before its transport does: a `send` to a node that is
not connected yet creates one in state "connecting" and queues the packets,
which leave in order once the handshake is done. What crosses the
connection is remembered so that losing it fires, with reason
`noconnection`, every link and monitor between the two nodes and fails
every pending call, as Erlang does.

Control messages (`{Op, ...}`): LINK 1, SEND 2, EXIT 3, REG_SEND 6, EXIT2 8,
MONITOR_P 19, DEMONITOR_P 20, MONITOR_P_EXIT 21, SEND_SENDER 22,
PAYLOAD_EXIT 24, PAYLOAD_EXIT2 26, PAYLOAD_MONITOR_P_EXIT 28, ALIAS_SEND 33,
UNLINK_ID 35, UNLINK_ID_ACK 36, and the `_TT` forms with a trace token,
which is ignored. A packet that cannot be decoded is logged and dropped;
the connection and every process carry on.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Final

from .._behaviours._server_messages import GEN_CAST, From, System
from .._behaviours._server_process import ServerProcess
from .._errors import Exit, NoConnection, NoProc
from .._runtime._ids import Pid, Ref
from .._runtime._process import Process
from .._runtime._repr import safe_repr
from .._runtime._terms import Atom, ImproperList
from ._framing import Framing, take_over
from ._handshake import ALIAS, EXIT_PAYLOAD
from ._term import DecodeError, Decoder, encode

if TYPE_CHECKING:
    from ._node import Distribution

logger = logging.getLogger("otp")

#: A packet's length and its pass-through tag, 112 (`p`).
_HEAD = struct.Struct(">IB")
_TICK: Final = b"\0\0\0\0"
_EMPTY: Final = Atom("")
_ALIAS: Final = Atom("alias")
_GEN_CALL: Final = Atom("$gen_call")
_GEN_CAST: Final = Atom("$gen_cast")
_SYSTEM: Final = Atom("system")
_TERMINATE: Final = Atom("terminate")
_NO_PAYLOAD: Final = object()
#: How much of a peer's term a log line shows.
_SHOWN: Final = 1000

LINK, SEND, EXIT, REG_SEND, EXIT2 = 1, 2, 3, 6, 8
MONITOR_P, DEMONITOR_P, MONITOR_P_EXIT, SEND_SENDER = 19, 20, 21, 22
PAYLOAD_EXIT, PAYLOAD_EXIT2, PAYLOAD_MONITOR_P_EXIT = 24, 26, 28
ALIAS_SEND, UNLINK_ID, UNLINK_ID_ACK = 33, 35, 36


def wire_reason(reason: object) -> object:
    """A Python exit reason in its Erlang form: `"normal"` becomes the atom `normal`.

    >>> wire_reason("normal"), wire_reason(("shutdown", "x"))
    (Atom('normal'), (Atom('shutdown'), 'x'))
    """
    if type(reason) is str:
        return Atom(reason)
    if type(reason) is tuple and len(reason) == 2 and type(reason[0]) is str:
        return (Atom(reason[0]), reason[1])
    return reason


def alias_of(tag: object) -> Ref | None:
    """The alias in a call tag, as `gen:reply/2` finds it; else None.

    The tag is `[alias | Ref]` (a call with an alias), `[[alias | Ref] | _]`
    (the same, with more after it), or anything else, which the reply goes
    back with, to the caller's pid (OTP's plain `{Pid, Ref}` calls, and any
    tag a peer chose: `[]`, `[alias, x | Ref]`...).

    >>> from otp._runtime._ids import _new_ref
    >>> ref = _new_ref("a@h", 1, (7,))
    >>> alias_of(ImproperList([_ALIAS], ref)) is ref, alias_of([ImproperList([_ALIAS], ref)]) is ref
    (True, True)
    >>> alias_of([]), alias_of(ref), alias_of(ImproperList([_ALIAS, 1], ref))
    (None, None, None)
    """
    first: object
    if type(tag) is ImproperList:
        alias = _alias(tag)
        if alias is not None:
            return alias
        first = tag.items[0]
    elif type(tag) is list and tag:
        first = tag[0]
    else:
        return None
    return _alias(first) if type(first) is ImproperList else None


def _alias(tag: ImproperList) -> Ref | None:
    """The Ref of `[alias | Ref]`; None for any other improper list."""
    tail, items = tag.tail, tag.items
    if type(tail) is Ref and len(items) == 1 and type(items[0]) is Atom and items[0] == _ALIAS:
        return tail
    return None


def _encodes(term: object) -> bool:
    try:
        encode(term)
    except (TypeError, ValueError):
        return False
    return True


def call_failure(reason: object, target: object, node: str) -> Exit:
    """The exception a remote call raises when its monitor fires with `reason`."""
    if isinstance(reason, str) and reason == "noproc":
        return NoProc(
            "noproc",
            f"call to {safe_repr(target)} failed: no such process on node {node!r}. Start it "
            f"first, or check the name and the node.",
        )
    if isinstance(reason, str) and reason == "noconnection":
        return NoConnection(
            "noconnection",
            f"call to {safe_repr(target)} failed: the connection to {node!r} was lost",
        )
    return Exit(
        reason, f"the server {safe_repr(target)} on {node!r} exited with {safe_repr(reason)}"
    )


class Connection(Framing):
    """The link to one peer node (see the module docstring)."""

    def __init__(self, dist: Distribution, peer: str) -> None:
        super().__init__(dist.loop)
        self.dist = dist
        self.peer = peer
        self.state = "connecting"  # then "up", then "closed"
        self.flags = 0
        self.queued: list[bytes] | None = []  # until the handshake is done
        self.writer: asyncio.StreamWriter | None = None
        self.decoder = Decoder(pids=dist.pid_hook)
        self.ready: asyncio.Future[bool] = dist.loop.create_future()
        self.links: set[tuple[Process, Pid]] = set()
        self.unlinking: dict[tuple[Process, Pid], int] = {}
        self.monitors: dict[Ref, tuple[Process, object, object]] = {}  # ours: watcher, as, target
        self.watchers: dict[Ref, tuple[Process, Pid, object]] = {}  # theirs: target, watcher, as
        self.calls: dict[Ref, tuple[asyncio.Future[object], object]] = {}
        self._seen_reads = self._seen_writes = 0
        self._silent = 0
        self._unlink_ids = 0
        self._tick: asyncio.TimerHandle | None = None

    def __repr__(self) -> str:
        return f"<Connection {self.peer!r} {self.state}>"

    # -- lifecycle ------------------------------------------------------------

    def attach(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, flags: int
    ) -> None:
        """The handshake succeeded: flush what was queued and take the transport over."""
        transport, buffered, ended = take_over(reader, writer)
        self.writer = writer  # kept: a StreamWriter that is collected closes its transport
        self.state = "up"
        self.flags = flags
        queued, self.queued = self.queued, None
        if queued:
            transport.write(b"".join(queued))
        self._schedule_tick()
        if not self.ready.done():
            self.ready.set_result(True)
        self.start(transport, buffered)
        if ended:
            self.close("the peer closed it")

    def close(self, reason: str = "connection closed") -> None:
        """Drop the connection: every link, monitor and call across it fires."""
        if self.state == "closed":
            return
        was_up = self.state == "up"
        self.state = "closed"
        self.queued = None
        if self._tick is not None:
            self._tick.cancel()
        if self.transport is not None:
            if was_up:
                self.drain_pending()  # e.g. exit signals just sent
            self.pending = []
            self.up = False
            self.transport.close()
        if not self.ready.done():
            self.ready.set_result(False)
        if was_up:
            logger.info("Connection to node %r closed: %s", self.peer, reason)
        self._fire_noconnection()
        self.dist.closed(self)

    def _fire_noconnection(self) -> None:
        links, self.links = self.links, set()
        for proc, remote in links:
            proc.remove_link(remote)
            proc.exit_signal(remote, "noconnection", True)
        monitors, self.monitors = self.monitors, {}
        for ref, (watcher, as_, _) in monitors.items():
            watcher.deliver_down(ref, as_, "noconnection")
        watchers, self.watchers = self.watchers, {}
        for ref, (proc, _, _) in watchers.items():
            proc.remove_watcher(ref)
        calls, self.calls = self.calls, {}
        for fut, called in calls.values():
            if not fut.done():
                fut.set_exception(call_failure("noconnection", called, self.peer))

    def lost(self, reason: str) -> None:
        self.close(reason)

    # -- ticks ----------------------------------------------------------------
    #
    # Every ticktime/4 seconds: send a tick if nothing was written in that
    # period, and count the periods in which nothing arrived; after four
    # (about `net_ticktime`), the peer is dead (`net_tick_timeout`).

    def _schedule_tick(self) -> None:
        period = self.dist.net_ticktime / 4
        self._tick = self.loop.call_later(period, self._on_tick, context=self.ctx)

    def _on_tick(self) -> None:
        if self.state != "up":
            return
        if self.reads == self._seen_reads:
            self._silent += 1
            if self._silent >= 4:
                self.close("net_tick_timeout: no data from the peer within net_ticktime")
                return
        else:
            self._silent = 0
            self._seen_reads = self.reads
        if self.writes == self._seen_writes:
            self.write_now(_TICK)
        self._seen_writes = self.writes
        self._schedule_tick()

    # -- sending ----------------------------------------------------------------

    def send(self, control: tuple[object, ...], payload: object = _NO_PAYLOAD) -> None:
        """Send a control message (and its payload) or queue it until the handshake is done.

        Raises TypeError or ValueError (from `encode`) for a term that cannot
        be sent; nothing is sent then.
        """
        # The frame's parts, joined only with the other frames of its write.
        head = encode(control)
        parts: tuple[bytes, ...]
        if payload is _NO_PAYLOAD:
            parts = (_HEAD.pack(len(head) + 1, 112), head)
        else:
            body = encode(payload)
            parts = (_HEAD.pack(len(head) + len(body) + 1, 112), head, body)
        if self.up:
            # Frames sent in one burst or loop step go out in one write: a
            # call is three (monitor, send, demonitor), and a write a syscall.
            self.write_frame(*parts)
        elif self.queued is not None:
            self.queued.append(b"".join(parts))

    def send_exit(self, sender: Pid, target: Pid, reason: object, linked: bool) -> None:
        reason = wire_reason(reason)
        if self.flags & EXIT_PAYLOAD:
            self.send((PAYLOAD_EXIT if linked else PAYLOAD_EXIT2, sender, target), reason)
        else:
            self.send((EXIT if linked else EXIT2, sender, target, reason))

    def send_down(self, target: object, watcher: Pid, ref: Ref, reason: object) -> None:
        reason = wire_reason(reason)
        if self.flags & EXIT_PAYLOAD:
            self.send((PAYLOAD_MONITOR_P_EXIT, target, watcher, ref), reason)
        else:
            self.send((MONITOR_P_EXIT, target, watcher, ref, reason))

    def link(self, proc: Process, remote: Pid) -> None:
        self.unlinking.pop((proc, remote), None)
        self.links.add((proc, remote))
        self.send((LINK, proc, remote))

    def unlink(self, proc: Process, remote: Pid) -> None:
        self.links.discard((proc, remote))
        self._unlink_ids += 1
        self.unlinking[(proc, remote)] = self._unlink_ids
        self.send((UNLINK_ID, self._unlink_ids, proc, remote))

    def monitor(self, watcher: Process, target: object, as_: object, ref: Ref) -> None:
        self.monitors[ref] = (watcher, as_, target)
        self.send((MONITOR_P, watcher, target, ref))

    def demonitor(self, ref: Ref) -> None:
        record = self.monitors.pop(ref, None)
        if record is not None:
            watcher, _, target = record
            self.send((DEMONITOR_P, watcher, target, ref))

    def reply(self, tag: object, caller: Pid, server: Pid, value: object) -> None:
        """Answer a call from the peer, through its alias when it has one."""
        if self.state == "closed":
            return
        alias = alias_of(tag)
        try:
            if alias is not None and self.flags & ALIAS:
                self.send((ALIAS_SEND, server, alias), (tag, value))
            else:
                self.send((SEND, _EMPTY, caller), (tag, value))
        except (TypeError, ValueError):
            if _encodes(tag):
                raise  # the reply has no Erlang form: the server's error, as for a send
            # The peer's own tag cannot go back (it decodes deeper than this
            # node encodes): the server did nothing wrong, so it carries on.
            logger.error(
                "Dropped the reply to a call from %s on node %r: the call's tag "
                "cannot be encoded back (nested too deeply)",
                caller,
                self.peer,
            )

    # -- receiving ---------------------------------------------------------------

    def on_packet(self, data: bytes, start: int, end: int) -> None:
        """Decode the packet `data[start:end]` and act on it; a bad packet is logged and dropped."""
        if data[start] != 112:
            logger.error(
                "Dropped a packet from node %r: it starts with byte %d, not a pass-through "
                "packet (112); distribution headers were not negotiated",
                self.peer,
                data[start],
            )
            return
        try:
            # Decoded in place, from the chunk the packet arrived in: a term
            # that runs past the packet's end is a bad packet.
            decoder = self.decoder
            control, at = decoder.decode_from(data, start + 1)
            payload = None
            if at < end:
                payload, at = decoder.decode_from(data, at)
            if at > end:
                raise DecodeError(f"the terms run {at - end} bytes past the packet's end", end)
        except DecodeError as exc:
            logger.error(
                "Dropped a message from node %r that cannot be decoded: %s", self.peer, exc
            )
            return
        except Exception:  # a bug of the decoder: the connection carries on all the same
            logger.exception("Dropped a message from node %r: decoding it failed", self.peer)
            return
        # What a peer sent is shown with safe_repr: its repr() may raise or be huge.
        if type(control) is not tuple or not control or type(control[0]) is not int:
            logger.error(
                "Dropped a malformed control message from node %r: %s",
                self.peer,
                safe_repr(control, _SHOWN),
            )
            return
        handler = _HANDLERS.get(control[0])
        if handler is None:
            logger.warning(
                "Ignored control message %s from node %r: not supported",
                safe_repr(control[0], _SHOWN),
                self.peer,
            )
            return
        try:
            handler(self, control, payload)
        except Exception:
            logger.exception(
                "Failed to handle control message %s from node %r",
                safe_repr(control, _SHOWN),
                self.peer,
            )

    def deliver(self, to: object, msg: object) -> None:
        """A message for a local process, with OTP's call and cast shapes translated."""
        if not isinstance(to, Process):
            if type(to) is Atom:
                self.deliver_named(to, msg)
            return  # a process of this node that is gone
        if type(msg) is tuple and len(msg) in (2, 3) and type(msg[0]) is Atom:
            msg = self._translate(to, msg)
        elif type(msg) is tuple and len(msg) == 2 and (self.calls or type(msg[0]) is ImproperList):
            if self._answer(msg):
                return  # a reply by plain send, not through the alias
        if type(msg) is From and type(to) is ServerProcess:
            # Served in this step: the reply goes out with this burst's write.
            to.serve_now(msg)
            return
        to.enqueue(msg)

    def deliver_named(self, name: str, msg: object) -> None:
        proc = self.dist.node.names.get(name)
        if proc is not None:
            self.deliver(proc, msg)
        else:
            self.dist.system_message(self, name, msg)

    def _translate(self, to: Process, msg: tuple[object, ...]) -> object:
        tag = msg[0]
        if len(msg) == 2 and tag == _GEN_CAST:
            return (GEN_CAST, msg[1])
        if len(msg) == 3 and tag in (_GEN_CALL, _SYSTEM):
            sender = msg[1]
            if not (type(sender) is tuple and len(sender) == 2 and isinstance(sender[0], Pid)):
                return msg
            caller, call_tag = sender
            request = msg[2]
            if tag == _SYSTEM:
                if (
                    type(to) is ServerProcess
                    and type(request) is tuple
                    and len(request) == 2
                    and request[0] == _TERMINATE
                ):
                    # sys:terminate (GenServer.stop) waits for `ok` before it
                    # watches the exit, as gen_server replies before stopping.
                    self.reply(call_tag, caller, to, Atom("ok"))
                    return System("stop", request[1], None)
                return msg
            server = to if type(to) is ServerProcess else None
            from_ = From(caller, request, server)
            from_.remote = self._replier(call_tag, caller, to)
            return from_ if server is not None else ("$gen_call", from_, request)
        return msg

    def _replier(self, tag: object, caller: Pid, server: Pid) -> Callable[[object], None]:
        # A partial, not a closure: built in C, without a frame or cells.
        return partial(self.reply, tag, caller, server)

    def _answer(self, msg: tuple[object, ...]) -> bool:
        """True if `msg` is the reply to a call of ours (sent to the pid, not the alias)."""
        tag = msg[0]
        ref = _alias(tag) if type(tag) is ImproperList else tag
        if type(ref) is not Ref:
            return False
        call = self.calls.get(ref)
        if call is None:
            # `[alias | Ref]` with one of our refs: the reply to a call that is
            # over (it timed out), from a server that replied to the pid.
            # Dropped, as the alias would have dropped it.
            dist = self.dist
            return (
                type(tag) is ImproperList
                and ref._node_name == dist.name
                and ref._creation == dist.node.creation
            )
        if not call[0].done():
            call[0].set_result(msg[1])
        return True


# -- handlers of incoming control messages -------------------------------------------

_Handler = Callable[[Connection, tuple[object, ...], object], None]


def _on_send(c: Connection, ctl: tuple[object, ...], msg: object) -> None:
    c.deliver(ctl[2], msg)


def _on_reg_send(c: Connection, ctl: tuple[object, ...], msg: object) -> None:
    name = ctl[3]
    if isinstance(name, str):
        if type(msg) is tuple and len(msg) == 2 and msg[0] == _GEN_CAST:
            # GenServer.cast({name, node}, ...), the bulk of a busy link's
            # traffic: `deliver_named`, `deliver` and `_translate` in one.
            proc = c.dist.node.names.get(name)
            if type(proc) is ServerProcess:
                proc.enqueue((GEN_CAST, msg[1]))
                return
        c.deliver_named(name, msg)


def _on_alias_send(c: Connection, ctl: tuple[object, ...], msg: object) -> None:
    call = c.calls.get(ctl[2]) if type(ctl[2]) is Ref else None
    if call is not None and not call[0].done() and type(msg) is tuple and len(msg) == 2:
        call[0].set_result(msg[1])
    # Otherwise a late reply to a call that is over: dropped, as its alias is gone.


def _on_link(c: Connection, ctl: tuple[object, ...], _: object) -> None:
    sender, to = ctl[1], ctl[2]
    if not isinstance(sender, Pid):
        return
    if isinstance(to, Process) and to.alive:
        if (to, sender) in c.unlinking:
            return  # our unlink is not acknowledged yet: it wins
        to.add_link(sender)
        c.links.add((to, sender))
    else:
        c.send_exit(to if isinstance(to, Pid) else sender, sender, "noproc", True)


def _exit(c: Connection, sender: object, to: object, reason: object, linked: bool) -> None:
    if not isinstance(to, Process) or not isinstance(sender, Pid):
        return
    if linked:
        if (to, sender) not in c.links:
            return  # unlinked meanwhile
        c.links.discard((to, sender))
        to.remove_link(sender)
    to.exit_signal(sender, reason, linked)


def _on_exit(c: Connection, ctl: tuple[object, ...], _: object) -> None:
    _exit(c, ctl[1], ctl[2], ctl[-1], True)


def _on_payload_exit(c: Connection, ctl: tuple[object, ...], reason: object) -> None:
    _exit(c, ctl[1], ctl[2], reason, True)


def _on_exit2(c: Connection, ctl: tuple[object, ...], _: object) -> None:
    _exit(c, ctl[1], ctl[2], ctl[-1], False)


def _on_payload_exit2(c: Connection, ctl: tuple[object, ...], reason: object) -> None:
    _exit(c, ctl[1], ctl[2], reason, False)


def _on_monitor(c: Connection, ctl: tuple[object, ...], _: object) -> None:
    watcher, target, ref = ctl[1], ctl[2], ctl[3]
    if not isinstance(watcher, Pid) or type(ref) is not Ref:
        return
    proc = c.dist.node.names.get(target) if isinstance(target, str) else target
    if isinstance(proc, Process) and proc.alive:
        proc.add_watcher(ref, watcher)
        c.watchers[ref] = (proc, watcher, target)
    elif not (isinstance(target, str) and c.dist.is_system_name(target)):
        c.send_down(target, watcher, ref, "noproc")


def _on_demonitor(c: Connection, ctl: tuple[object, ...], _: object) -> None:
    ref = ctl[3]
    if not isinstance(ref, Ref):
        return
    record = c.watchers.pop(ref, None)
    if record is not None:
        record[0].remove_watcher(ref)


def _down(c: Connection, target: object, to: object, ref: object, reason: object) -> None:
    if type(ref) is not Ref:
        return
    call = c.calls.pop(ref, None)
    if call is not None:
        fut, called = call
        if not fut.done():
            fut.set_exception(call_failure(reason, called, c.peer))
        return
    record = c.monitors.pop(ref, None)
    if record is not None:
        record[0].deliver_down(ref, record[1], reason)


def _on_monitor_exit(c: Connection, ctl: tuple[object, ...], _: object) -> None:
    _down(c, ctl[1], ctl[2], ctl[3], ctl[4])


def _on_payload_monitor_exit(c: Connection, ctl: tuple[object, ...], reason: object) -> None:
    _down(c, ctl[1], ctl[2], ctl[3], reason)


def _on_unlink_id(c: Connection, ctl: tuple[object, ...], _: object) -> None:
    id_, sender, to = ctl[1], ctl[2], ctl[3]
    if isinstance(to, Process) and isinstance(sender, Pid):
        to.remove_link(sender)
        c.links.discard((to, sender))
    c.send((UNLINK_ID_ACK, id_, to, sender))


def _on_unlink_id_ack(c: Connection, ctl: tuple[object, ...], _: object) -> None:
    id_, sender, to = ctl[1], ctl[2], ctl[3]
    if isinstance(to, Process) and isinstance(sender, Pid):
        key = (to, sender)
        if c.unlinking.get(key) == id_:
            del c.unlinking[key]


def _drop_token(handler: _Handler, token_at: int) -> _Handler:
    """The handler of a `_TT` form: the same message with a trace token at `token_at`."""

    def without_token(c: Connection, ctl: tuple[object, ...], payload: object) -> None:
        handler(c, ctl[:token_at] + ctl[token_at + 1 :], payload)

    return without_token


_HANDLERS: dict[int, _Handler] = {
    LINK: _on_link,
    SEND: _on_send,
    EXIT: _on_exit,
    REG_SEND: _on_reg_send,
    EXIT2: _on_exit2,
    MONITOR_P: _on_monitor,
    DEMONITOR_P: _on_demonitor,
    MONITOR_P_EXIT: _on_monitor_exit,
    SEND_SENDER: _on_send,
    PAYLOAD_EXIT: _on_payload_exit,
    PAYLOAD_EXIT2: _on_payload_exit2,
    PAYLOAD_MONITOR_P_EXIT: _on_payload_monitor_exit,
    ALIAS_SEND: _on_alias_send,
    UNLINK_ID: _on_unlink_id,
    UNLINK_ID_ACK: _on_unlink_id_ack,
    12: _drop_token(_on_send, 3),  # SEND_TT
    13: _drop_token(_on_exit, 3),  # EXIT_TT
    16: _drop_token(_on_reg_send, 4),  # REG_SEND_TT
    18: _drop_token(_on_exit2, 3),  # EXIT2_TT
    23: _drop_token(_on_send, 3),  # SEND_SENDER_TT
    25: _drop_token(_on_payload_exit, 3),  # PAYLOAD_EXIT_TT
    27: _drop_token(_on_payload_exit2, 3),  # PAYLOAD_EXIT2_TT
    34: _drop_token(_on_alias_send, 3),  # ALIAS_SEND_TT
}

__all__ = ["Connection", "alias_of", "call_failure", "wire_reason"]

"""One connection to another node: framing, ticks, sending, receiving, clean-up.

After the handshake every packet is `Len:32 | Data`; a zero length is a
tick (`_framing.py` reads and writes them). This node sends *pass-through*
packets, `112 | Control | [Payload]`, each term with its own 131 version
byte, and it never negotiates the atom cache or fragments, so that is all
the peer sends too. What each control message does is in `_control.py`.

A `Connection` exists before its transport does: a `send` to a node that is
not connected yet creates one in state "connecting" and queues the packets,
which leave in order once the handshake is done. What crosses the
connection is remembered so that losing it fires, with reason
`noconnection`, every link and monitor between the two nodes and fails
every pending call, as Erlang does.

A packet that cannot be decoded is logged and dropped; the connection and
every process carry on. When only its payload cannot be decoded, the
process waiting for it is told at once (`_undecodable.py`).
"""

from __future__ import annotations

import asyncio
import logging
import struct
from typing import TYPE_CHECKING, Final

from .._runtime._ids import Pid, Ref
from .._runtime._process import Process
from .._runtime._repr import safe_repr
from .._runtime._terms import Atom, ImproperList
from .._runtime._wire import wire_receiver
from ._control import (
    ALIAS_SEND,
    DEMONITOR_P,
    EXIT,
    EXIT2,
    HANDLERS,
    LINK,
    MONITOR_P,
    MONITOR_P_EXIT,
    PAYLOAD_EXIT,
    PAYLOAD_EXIT2,
    PAYLOAD_MONITOR_P_EXIT,
    SEND,
    UNLINK_ID,
    alias_of,
    alias_ref,
    call_failure,
    encodes,
    wire_reason,
)
from ._framing import Framing, take_over
from ._handshake import ALIAS, EXIT_PAYLOAD
from ._no_pickle import refuse_pickles
from ._term import DecodeError, Decoder, encode
from ._undecodable import undecodable_payload

if TYPE_CHECKING:
    from ._node import Distribution
    from ._remote_task import RemoteTask
    from ._spawn import Spawning

logger = logging.getLogger("otp")

#: A packet's length and its pass-through tag, 112 (`p`).
_HEAD = struct.Struct(">IB")
_TICK: Final = b"\0\0\0\0"
_EMPTY: Final = Atom("")
_NO_PAYLOAD: Final = object()
#: The control messages whose payload is an exit or DOWN reason.
_REASONS: Final = frozenset((PAYLOAD_EXIT, PAYLOAD_EXIT2, PAYLOAD_MONITOR_P_EXIT))
#: How much of a peer's term a log line shows.
_SHOWN: Final = 1000


class Connection(Framing):
    """The link to one peer node (see the module docstring)."""

    def __init__(self, dist: Distribution, peer: str) -> None:
        super().__init__(dist.loop)
        self.dist = dist
        self.peer = peer
        self.state = "connecting"  # then "up", then "closed"
        self.flags = 0
        #: The peer is a visible node (its handshake flags have PUBLISHED, which
        #: `flags`, the shared ones, lack when this node is hidden).
        self.published = False
        self.queued: list[bytes] | None = []  # until the handshake is done
        self.writer: asyncio.StreamWriter | None = None
        self.decoder = Decoder(pids=dist.pid_hook, allow_pickle=dist.options.pickle)
        self.refuses_pickles = not dist.options.pickle  # then sends none either
        self.ready: asyncio.Future[bool] = dist.loop.create_future()
        self.links: set[tuple[Process, Pid]] = set()
        self.unlinking: dict[tuple[Process, Pid], int] = {}
        self.monitors: dict[Ref, tuple[Process, object, object]] = {}  # ours: watcher, as, target
        self.watchers: dict[Ref, tuple[Process, Pid, object]] = {}  # theirs: target, watcher, as
        self.calls: dict[Ref, tuple[asyncio.Future[object], object]] = {}
        self.spawns: dict[Ref, Spawning] = {}  # our spawn requests, by ReqId (`_spawn.py`)
        self.tasks: dict[Ref, RemoteTask] = {}  # our tasks there, by ref (`_remote_task.py`)
        self._seen_reads = self._seen_writes = 0
        self._silent = 0
        self._unlink_ids = 0
        self._tick: asyncio.TimerHandle | None = None
        #: `reply`, bound once: the wire receivers get it with every message.
        self.replier = self.reply

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
        tasks, self.tasks = self.tasks, {}
        for task in tasks.values():
            task.lost()
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
        spawns, self.spawns = self.spawns, {}
        for spawning in spawns.values():
            spawning.lost()

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
            if self.refuses_pickles and control[0] not in _REASONS:
                refuse_pickles(payload, body)  # a crash's reason still goes (_no_pickle)
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
            if encodes(tag):
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
        control: object = _NO_PAYLOAD
        payload_at = end
        try:
            # Decoded in place, from the chunk the packet arrived in: a term
            # that runs past the packet's end is a bad packet.
            decoder = self.decoder
            control, at = decoder.decode_from(data, start + 1)
            payload = None
            if at < end:
                payload_at = at
                payload, at = decoder.decode_from(data, at)
            if at > end:
                raise DecodeError(f"the terms run {at - end} bytes past the packet's end", end)
        except DecodeError as exc:
            if control is not _NO_PAYLOAD and payload_at < end:
                # Who waits for this message is told at once (`_undecodable.py`).
                undecodable_payload(self, control, data, payload_at, end, exc)
                return
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
        handler = HANDLERS.get(control[0])
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
        if type(msg) is tuple and msg:
            first = msg[0]
            if type(first) is Atom:
                # OTP's shapes ({'$gen_call', From, Req}...): the behaviour that
                # owns the atom takes the message in (see `otp._runtime._wire`).
                receiver = wire_receiver(first)
                if receiver is not None and receiver(to, msg, self.replier):
                    return
            elif len(msg) == 2 and (self.calls or self.tasks or type(first) is ImproperList):
                if self._answer(msg):
                    return  # a reply by plain send, not through the alias
        to.enqueue(msg)

    def deliver_named(self, name: str, msg: object) -> None:
        proc = self.dist.node.names.get(name)
        if proc is not None:
            self.deliver(proc, msg)
        else:
            self.dist.system_message(self, name, msg)

    def _answer(self, msg: tuple[object, ...]) -> bool:
        """True if `msg` is the reply to a call of ours (sent to the pid, not the alias)."""
        tag = msg[0]
        ref = alias_ref(tag) if type(tag) is ImproperList else tag
        if type(ref) is not Ref:
            return False
        call = self.calls.get(ref)
        if call is None:
            task = self.tasks.get(ref)
            if task is not None:  # a task's result (`_remote_task.py`): swallowed if let go
                return not task.result(msg[1])
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


__all__ = ["Connection"]

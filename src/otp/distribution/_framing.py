"""The bytes of a connection after the handshake: framed packets, read and written in bursts.

Every packet is `Len:32 | Data`; a zero length is a tick. `Framing` is the
asyncio protocol of the connection's transport (the handshake reads and
writes through streams; `take_over` then moves the transport to the
connection). Its aim is to spend as few loop iterations and copies per
message as it can: a remote call is a few frames of a hundred bytes.

Reading. The transport hands `data_received` what the socket had, and each
whole packet in it is decoded and acted on in that same callback: no
reader task, no wake-up of a stream.

- A chunk that holds whole frames only (the common case) is not copied:
  each packet is handed to `on_packet` as `(chunk, start, end)`.
- A frame cut across chunks waits as a list of its chunks (no copy), which
  is joined once, when the frame is whole; what follows the last whole
  frame of a chunk is kept as a memoryview of it.
- A tick is counted, as any data received (see `Connection._on_tick`).

Writing. Frames wait in `pending` and leave together, in one write:

- frames produced while a burst is handled (a reply sent from inside a
  handler, an `UNLINK_ID_ACK`) leave at the end of `data_received`;
- a burst that handed over packets then schedules one flush with
  `call_soon`. It runs in the next loop iteration after the callbacks the
  burst woke up (a server's `run`, a task waiting for its reply), which
  were scheduled before it, so what they send (the reply to a call, the
  caller's next call) leaves in that iteration, in one write, without a
  loop iteration of its own;
- any other frame (a process sending on its own) schedules the flush if
  none is due: the frames of one loop step leave in one write;
- a sender about to wait for the answer (a remote call) writes what is
  pending at once with `flush_now`, outside a burst: its request does not
  wait a loop iteration for the flush;
- a GenServer whose message held the loop for a millisecond or more
  writes what is pending right after that message (`write_held`), in a
  burst too: the reply to a slow call does not wait for the next one.

While the transport asks to pause writing (its buffer is above its
high-water mark: the peer reads slower than this node writes), frames stay
in `pending` and leave in one write when it resumes. Sending never blocks
a process, and reading goes on meanwhile (a peer that waits for this node
to read before it reads would otherwise never read again, and its ticks
would go unseen), so a peer that stops reading makes `pending` grow until
the tick timeout closes the connection, as the transport's buffer grew
before.
"""

from __future__ import annotations

import asyncio
import contextvars
import struct
from typing import Final, cast

_U32: Final = struct.Struct(">I")


def take_over(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> tuple[asyncio.Transport, bytes, bool]:
    """The streams' transport, the bytes `reader` holds, and whether the peer closed it already.

    The handshake reads through a `StreamReader`, which may have read the
    first frames after it too: the caller hands them to its protocol
    before anything else arrives.
    """
    # A socket's transport, plain or TLS, of asyncio or uvloop (which does not
    # subclass asyncio's classes): it reads and writes.
    transport = cast(asyncio.Transport, writer.transport)
    buffer: bytearray = reader._buffer  # type: ignore[attr-defined]  # no public way to take it
    buffered = bytes(buffer)
    buffer.clear()
    ended = reader.at_eof() or reader.exception() is not None or transport.is_closing()
    return transport, buffered, ended


class Framing(asyncio.Protocol):
    """The framing of one connection (see the module docstring).

    Subclasses act on each packet in `on_packet` and clean up in `lost`;
    `up` tells whether frames may be written.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.pending: list[bytes] = []  # the parts of frames not written yet, in order
        self.reads = self.writes = 0  # data received, frames sent (for the ticks)
        self.up = False
        # The context that flushes (and ticks) run in: one per connection,
        # empty, as nothing done for the connection belongs to a process.
        self.ctx = contextvars.Context()
        self._chunks: list[bytes | memoryview] = []  # a frame cut across chunks
        self._have = 0  # bytes in _chunks
        self._need = 0  # bytes of the frame in _chunks, its length included; 0 until known
        self._in_burst = False
        self._armed = False  # a flush is scheduled
        self._paused = False

    def start(self, transport: asyncio.Transport, buffered: bytes) -> None:
        """Become `transport`'s protocol; `buffered` is what arrived before."""
        self.transport = transport
        self.up = True
        transport.set_protocol(self)
        if buffered:
            self.data_received(buffered)
        if self.up and not transport.is_reading():
            transport.resume_reading()  # the stream paused it, its buffer being full

    # -- asyncio.Protocol ---------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self.reads += 1
        if self._chunks:
            whole = self._gather(data)
            if whole is None:
                return  # the frame is not whole yet
            data = whole
        self._in_burst = True
        try:
            handed = self._split(data)
        finally:
            self._in_burst = False
        if self.pending:
            self._write_pending()
        if handed and not self._armed and self.up:
            self._armed = True
            self.loop.call_soon(self._flush, context=self.ctx)

    def eof_received(self) -> bool | None:
        return None  # the transport closes, then calls connection_lost

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost("the peer closed it" if exc is None else f"{type(exc).__name__}: {exc}")

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self.pending:
            self._write_pending()

    # -- reading ---------------------------------------------------------------------

    def _split(self, data: bytes) -> bool:
        """Hand over each whole packet of `data`; keep the rest. True if any was handed."""
        end = len(data)
        pos = 0
        handed = False
        while end - pos >= 4:
            (n,) = _U32.unpack_from(data, pos)
            stop = pos + 4 + n
            if stop > end:
                self._keep(data, pos, stop - pos)
                return handed
            if n:
                handed = True
                self.on_packet(data, pos + 4, stop)
                if not self.up:
                    return handed  # the packet closed the connection
            pos = stop
        if pos < end:
            self._keep(data, pos, 0)
        return handed

    def _keep(self, data: bytes, pos: int, need: int) -> None:
        self._chunks.append(memoryview(data)[pos:] if pos else data)
        self._have = len(data) - pos
        self._need = need

    def _gather(self, data: bytes) -> bytes | None:
        """Add `data` to the frame in `_chunks`: all of it, joined, once the frame is whole."""
        chunks = self._chunks
        chunks.append(data)
        self._have += len(data)
        if not self._need:
            if self._have < 4:
                return None
            # Fewer than 4 bytes came before `data`: its length is in them and `data`.
            head = b"".join(chunks[:-1]) + data[:4]
            self._need = 4 + _U32.unpack_from(head)[0]
        if self._have < self._need:
            return None
        whole = b"".join(chunks)
        chunks.clear()
        self._have = self._need = 0
        return whole

    def on_packet(self, data: bytes, start: int, end: int) -> None:  # pragma: no cover
        """Act on the packet `data[start:end]` (never empty)."""
        raise NotImplementedError

    def lost(self, reason: str) -> None:  # pragma: no cover
        """The transport is gone, for `reason`."""
        raise NotImplementedError

    # -- writing ---------------------------------------------------------------------

    def write_frame(self, *parts: bytes) -> None:
        """Write the frame made of `parts` with the other frames of this burst or loop step."""
        self.writes += 1
        self.pending.extend(parts)
        if not self._armed and not self._in_burst:
            self._armed = True
            self.loop.call_soon(self._flush, context=self.ctx)

    def flush_now(self) -> None:
        """Write the frames of this step at once: their sender is about to wait.

        A remote call's frames leave before the caller waits, instead of a
        loop turn later with the step's other frames; frames sent after it
        in the same step still go out together.
        """
        if self.pending and not self._in_burst and self.up:
            self._write_pending()

    def write_held(self) -> None:
        """Write the frames held for the end of this burst or step (`Distribution.flush_writes`)."""
        if self.pending and self.up:
            self._write_pending()

    def write_now(self, data: bytes) -> None:
        """Write `data` (a tick) at once, even while the transport asks to pause."""
        if self.transport is not None:
            self.transport.write(data)

    def drain_pending(self) -> None:
        """Write every pending frame now (before closing), even while paused."""
        self._paused = False
        if self.pending:
            self._write_pending()

    def _flush(self) -> None:
        self._armed = False
        if self.pending and self.up:
            self._write_pending()

    def _write_pending(self) -> None:
        if self._paused or self.transport is None:
            return
        pending = self.pending
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        self.pending = []
        self.transport.write(data)


__all__ = ["Framing", "take_over"]
